"""eval.py against hand-computed values and naive references, on tiny inputs."""
import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn as nn

import common
import eval
import scoring
import smf_mini
import tasks


@pytest.fixture(scope="module")
def tok():
    from transformers import AutoTokenizer

    t = AutoTokenizer.from_pretrained(common.offline_model_dir())
    t.pad_token = t.eos_token
    return t


@pytest.fixture(scope="module")
def tiny(tok):
    return common.tiny_random_model("llama", vocab_size=len(tok), seed=3)


class UniformLM(nn.Module):
    """A 'model' whose next-token distribution is uniform: every log-prob is -log V."""

    def __init__(self, vocab):
        super().__init__()
        self.lm_head = nn.Linear(4, vocab, bias=False)
        nn.init.zeros_(self.lm_head.weight)

        class Cache:
            def batch_repeat_interleave(self, n):
                pass

        class Out(dict):
            __getattr__ = dict.__getitem__

        class Body(nn.Module):
            def forward(self, input_ids, attention_mask=None, use_cache=False, **kw):
                return Out(last_hidden_state=torch.zeros(*input_ids.shape, 4), cache=Cache())

        self.model = Body()


def test_perplexity_of_uniform_model_is_vocab_size(tok):
    lm = UniformLM(len(tok))
    text = "The quick brown fox jumps over the lazy dog. " * 5
    n = len(tok(text, add_special_tokens=False)["input_ids"])
    for window, stride in ((7, None), (1000, None), (8, 4)):
        r = scoring.rolling_loglik(lm, tok, [text], window, stride, prefix_token=tok.bos_token_id)
        assert r["tokens"] == n  # every token scored exactly once (the first from the prefix token)
        assert r["loglik"] == pytest.approx(-n * math.log(len(tok)), rel=1e-6)  # fp32 log-softmax
    assert scoring.perplexity(lm, tok, [text], 16)["ppl"] == pytest.approx(len(tok), rel=1e-6)


def test_rolling_windows_match_naive_windows(tiny, tok):
    text = "Alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho."
    ids = [tok.bos_token_id] + tok(text, add_special_tokens=False)["input_ids"]
    W = 6
    ref = 0.0
    n = len(ids) - 1  # targets ids[1:]
    for begin in range(0, n, W):  # non-overlapping predictions of W targets each
        end = min(begin + W, n)
        start = max(0, end - W)  # the last, shorter window keeps W tokens of context (as the harness does)
        chunk = ids[start : end + 1]
        with torch.no_grad():
            lp = torch.log_softmax(tiny(torch.tensor([chunk])).logits[0, :-1], -1)
        lp = lp.gather(1, torch.tensor(chunk[1:]).unsqueeze(1)).squeeze(1)
        ref += float(lp[-(end - begin):].sum())
    got = scoring.rolling_loglik(tiny, tok, [text], W, prefix_token=tok.bos_token_id, batch_size=3)
    assert got["tokens"] == len(ids) - 1
    assert got["loglik"] == pytest.approx(ref, rel=1e-5)


def test_shared_prompt_scoring_matches_pairwise(tiny, tok):
    items = tasks.fictional_facts(4)["eval"][:3] + tasks.general_knowledge()[:3] + tasks.world_facts()[:2]
    fast = scoring.shared_prompt_logprobs(tiny, tok, [i["prompt"] for i in items], [i["choices"] for i in items], batch_size=4)
    slow = scoring.continuation_logprobs(tiny, tok, [(i["prompt"], " " + c) for i in items for c in i["choices"]], batch_size=5)
    flat = [x for row in fast for x in row]
    assert max(abs(a - b) for a, b in zip(flat, slow)) < 1e-4
    fast_m = scoring.shared_prompt_logprobs(tiny, tok, [i["prompt"] for i in items], [i["choices"] for i in items], 4, mean=True)
    slow_m = scoring.continuation_logprobs(tiny, tok, [(i["prompt"], " " + c) for i in items for c in i["choices"]], mean=True)
    assert max(abs(a - b) for a, b in zip([x for r in fast_m for x in r], slow_m)) < 1e-5


def test_letter_accuracy_matches_one_by_one(tiny, tok):
    prompts = [tasks.medmcqa_harness_prompt({"question": q, "opa": "x", "opb": "yy", "opc": "z z", "opd": "w"}) for q in
               ["Short?", "A much longer question about anatomy and more?", "Mid length one?"]]
    letters = [tok(" " + L, add_special_tokens=False)["input_ids"][0] for L in "ABCD"]
    golds = []
    for p in prompts:
        with torch.no_grad():
            logits = tiny(torch.tensor([tok(p)["input_ids"]])).logits[0, -1]
        golds.append(int(logits[letters].argmax()))
    assert scoring.letter_accuracy(tiny, tok, prompts, golds, batch_size=3)["acc"] == 1.0


def test_greedy_generation_batched_equals_single(tiny, tok):
    prompts = ["Question: what?\nAnswer:", "Question: a longer question here, really?\nAnswer:"]
    batched = scoring.greedy_generate(tiny, tok, prompts, 6, stop=("\n",), batch_size=2)
    single = [scoring.greedy_generate(tiny, tok, [p], 6, stop=("\n",), batch_size=1)[0] for p in prompts]
    assert batched == single
    assert all("\n" not in x for x in batched)


@pytest.mark.parametrize("raw,harness,paper", [
    ("St. Louis", "st louis", "st louis"),
    ("The Beatles", "the beatles", "beatles"),
    ("U.S.A.", "usa", "usa"),
    ("  Rock 'n' Roll!  ", "rock n roll", "rock n roll"),
])
def test_triviaqa_normalisers(raw, harness, paper):
    assert eval.normalize_harness(raw) == harness
    assert eval.normalize_paper(raw) == paper


def test_prompts_rendered_exactly():
    row = {"question": "Which nerve?", "opa": "Ulnar", "opb": "Radial", "opc": "Median", "opd": "Axillary", "cop": 2}
    assert tasks.medmcqa_harness_prompt(row) == "Question: Which nerve?\nChoices:\nA. Ulnar\nB. Radial\nC. Median\nD. Axillary\nAnswer:"
    assert tasks.mcq_prompt("Q?", ["a", "b", "c", "d"]) == "Question: Q?\nChoices:\nA. a\nB. b\nC. c\nD. d\nAnswer:"


def test_wikitext_documents_words_and_bytes(tok):
    lines = ["", " = Alpha = \n", "", " One two @-@ three . \n", " = = Part = = \n", " Four \n", " = Beta = \n", " Five six \n"]
    docs = eval.wikitext_documents(lines)
    # by hand: blank rows come back as " \n"; every page but the last loses its final newline
    assert docs == [" = Alpha = \n \n One two @-@ three . \n = = Part = = \n Four ", " = Beta = \n Five six \n"]
    assert eval.wikitext_detokenize(" One two @-@ three . \n") == " One two-three. \n".replace(" \n", "\n")
    lm = UniformLM(len(tok))
    r = eval.wikitext_harness(lm, tok, lines, max_length=64)
    import re

    words = sum(len(re.split(r"\s+", d)) for d in docs)
    nbytes = sum(len(d.encode()) for d in docs)
    n_tok = sum(len(tok(eval.wikitext_detokenize(d), add_special_tokens=False)["input_ids"]) for d in docs)
    ll = -n_tok * math.log(len(tok))
    assert r["wikitext_word_ppl"] == pytest.approx(math.exp(-ll / words), rel=1e-5)  # fp32 log-softmax
    assert r["wikitext_byte_ppl"] == pytest.approx(math.exp(-ll / nbytes), rel=1e-6)
    assert r["wikitext_bits_per_byte"] == pytest.approx(math.log2(math.exp(-ll / nbytes)), rel=1e-5)


def test_choice_accuracy_hand_case(tok):
    lm = UniformLM(len(tok))  # all choices of equal token length tie; ties go to the first
    items = [{"prompt": "Q:", "choices": ["a", "b", "c", "d"], "gold": 0}, {"prompt": "Q:", "choices": ["a", "b", "c", "d"], "gold": 2}]
    r = scoring.choice_accuracy(lm, tok, items)
    assert r["acc"] == 0.5


def test_eval_cli_errors(tmp_path):
    with pytest.raises(SystemExit, match="unknown task 'mmlu'"):
        eval.main(["--model", "x", "--tasks", "mmlu"])
    with pytest.raises(SystemExit, match="--window must be at least 2"):
        eval.main(["--model", "x", "--window", "0"])
    (tmp_path / "run").mkdir()
    with pytest.raises(SystemExit, match="not a finished run"):
        eval.main([str(tmp_path / "run")])
    (tmp_path / "run" / "config.json").write_text(json.dumps({"method": "smf", "model": "x"}))
    with pytest.raises(SystemExit, match="no checkpoint"):
        eval.main([str(tmp_path / "run")])
    with pytest.raises(SystemExit, match="none of the given folders"):
        eval.main(["--compare", str(tmp_path / "run")])
    with pytest.raises(ValueError, match="no WikiText documents"):
        eval.wikitext_harness(None, None, ["just a line\n"])


def test_harness_and_paper_suites_on_local_files(tiny, tok, tmp_path):
    """Both protocols read hub-schema files from --data-dir and report their own metrics."""
    med = tmp_path / "medmcqa"
    med.mkdir()
    rows = [{"id": str(i), "question": f"Which nerve {i}?", "opa": "Ulnar", "opb": "Radial", "opc": "Median", "opd": "Axillary",
             "cop": i % 4, "choice_type": "single", "exp": None, "subject_name": "Anatomy", "topic_name": None} for i in range(3)]
    (med / "validation.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    tq = tmp_path / "trivia_qa"
    tq.mkdir()
    (tq / "validation.jsonl").write_text(json.dumps({"question": "Capital of France", "answer": {"value": "Paris", "aliases": ["Paris"]}}) + "\n")
    lines = ["", " = Alpha = \n", " One two three . \n", " = Beta = \n", " Four five . \n"]
    for cfg_name in ("wikitext-2-raw-v1", "wikitext-2-v1"):
        d = tmp_path / "wikitext" / cfg_name
        d.mkdir(parents=True)
        (d / "test.jsonl").write_text("".join(json.dumps({"text": l}) + "\n" for l in lines))
    cfg = {"data_dir": str(tmp_path), "eval_window": 64}
    h = eval.run_suite(tiny, tok, cfg, "harness")
    assert h["n"] == {"medmcqa": 3, "wikitext_docs": 2, "triviaqa": 1}
    assert 0 <= h["medmcqa_acc"] <= 1 and h["wikitext_word_ppl"] > 1 and h["triviaqa_em"] in (0.0, 1.0)
    p = eval.run_suite(tiny, tok, cfg, "paper", which=("medmcqa", "wikitext", "triviaqa"))
    assert p["n"]["medmcqa"] == 3 and p["wikitext_ppl"] > 1 and "triviaqa_acc" in p


def test_every_scorer_tokenizes_the_same_way(tiny, tok, monkeypatch):
    """Whatever common.prefix_and_pad decides a sequence starts with (here: BOS, which this
    tokenizer itself does not add), the letter protocol (one forward, left padding) picks the
    same letter as scoring ' A'..' D' as continuations (right padding), and generation starts
    from the same ids: all of them go through common.encode. (They once differed: the letter
    scorer and generation called the tokenizer with add_special_tokens, the others did not.)"""
    real = common.prefix_and_pad
    monkeypatch.setattr(common, "prefix_and_pad", lambda t: ([t.bos_token_id], real(t)[1]))
    prompts = [tasks.mcq_prompt(f"Which river {i}?", ["Nile", "Amazon", "Danube", "Volga"]) for i in range(6)]
    lp = scoring.continuation_logprobs(tiny, tok, [(p, " " + L) for p in prompts for L in "ABCD"])
    letters = scoring.letter_logprobs(tiny, tok, prompts, batch_size=4)
    assert torch.allclose(letters.double(), torch.tensor(lp, dtype=torch.float64).view(6, 4), atol=2e-5)
    assert common.encode(tok, "x")[0] == tok.bos_token_id
    gen = scoring.greedy_generate(tiny, tok, prompts[:2], max_new_tokens=1)
    first = tiny(torch.tensor([common.encode(tok, prompts[0])])).logits[0, -1].argmax()
    assert gen[0] == tok.decode([int(first)], skip_special_tokens=True)


SHARED_WIKI = Path(__file__).resolve().parents[2] / "shared" / "data" / "wikitext" / "wikitext-2-raw-v1" / "test.jsonl"


@pytest.mark.skipif(not SHARED_WIKI.exists(), reason="needs the project's shared WikiText rows (present on the dev and CI machines)")
def test_wikitext_pages_match_the_harness_byte_count():
    """Independent reference: lm-evaluation-harness's wikitext-2-raw-v1 test pages hold 62
    documents and 1,290,527 UTF-8 bytes in total (counted from its document-level dataset)."""
    rows = [json.loads(l)["text"] for l in SHARED_WIKI.open()]
    pages = eval.wikitext_documents(rows)
    assert len(pages) == 62 and sum(len(p.encode("utf-8")) for p in pages) == 1_290_527
