"""eval.py against hand-computed values and naive references, on tiny inputs."""
import json
import math
import re
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


class StubLM(nn.Module):
    """A 'model' with log-probabilities we can write down by hand.

    hidden(p) = [p, 1] at input position p (right padding keeps real tokens at 0, 1, ...),
    and the head's weight row v is [pos_weight[v], bias[v]], so the logit of token v at
    position p is pos_weight[v] * p + bias[v], whatever the context says:
      - all zeros: the uniform model, every log-prob is -log V;
      - bias only: a unigram model, log p(v) = log_softmax(bias)[v] everywhere;
      - pos_weight = 1 on one token t: log p(t at position p) = p - log(e^p + V - 1),
        which tells how many tokens of context a scorer showed the model.
    """

    def __init__(self, vocab, bias=None, pos_weight=None):
        super().__init__()
        self.lm_head = nn.Linear(2, vocab, bias=False)
        with torch.no_grad():
            self.lm_head.weight.zero_()
            if pos_weight is not None:
                self.lm_head.weight[:, 0] = pos_weight
            if bias is not None:
                self.lm_head.weight[:, 1] = bias

        class Cache:
            def batch_repeat_interleave(self, n):
                pass

        class Out(dict):
            __getattr__ = dict.__getitem__

        class Body(nn.Module):
            def forward(self, input_ids, attention_mask=None, use_cache=False, **kw):
                B, L = input_ids.shape
                pos = torch.arange(L, dtype=torch.float32).expand(B, L)
                return Out(last_hidden_state=torch.stack([pos, torch.ones(B, L)], -1), cache=Cache())

        self.model = Body()


def UniformLM(vocab):
    return StubLM(vocab)


def unigram_lm(tok, favoured: dict[str, float]):
    """A unigram StubLM: each word's single token gets the given logit, every other token 0."""
    bias = torch.zeros(len(tok))
    for word, logit in favoured.items():
        ids = tok(word, add_special_tokens=False)["input_ids"]
        assert len(ids) == 1, word
        bias[ids[0]] = logit
    return StubLM(len(tok), bias=bias), torch.log_softmax(bias.double(), -1)


def test_mcq_task_is_scored_by_option_text_held_out_from_validation_seen_from_train(tok, tmp_path):
    """--task mcq under the tiny protocol: held-out items are the validation rows, seen items the
    train rows, each scored by the option's TEXT after the listed options. A unigram model that
    favours ' cat' picks the option 'cat' wherever it stands, so the outcomes are known by hand:
    right exactly where the gold option is 'cat' (a letter scorer would see the same ' A'..' D'
    logits everywhere and could not follow the cat around)."""
    lm, _ = unigram_lm(tok, {" cat": 5.0})
    opts = [["cat", "dog", "fish", "bird"], ["dog", "fish", "cat", "bird"], ["dog", "cat", "fish", "bird"]]
    def rows(golds):
        return [tasks.mcq_row(i, f"Question {i}?", o, g, "", "x") for i, (o, g) in enumerate(zip(opts, golds))]
    d = tmp_path / "medmcqa"
    d.mkdir()
    (d / "validation.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows([0, 2, 2])))  # cat, cat, fish
    (d / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows([1, 1, 1])))  # dog, fish, cat
    cfg = {"task": "mcq", "data_dir": str(tmp_path), "split": "dev"}
    r = eval.tiny_suite(lm, tok, cfg, limit=2)
    assert r["items"]["task"] == [1, 1] and r["task_acc"] == 1.0  # first 2 validation rows: both golds are 'cat'
    assert r["items"]["task_seen"] == [0, 0] and r["task_seen_acc"] == 0.0  # first 2 train rows: dog, fish
    full = eval.tiny_suite(lm, tok, cfg, limit=None)
    assert full["items"]["task"] == [1, 1, 0] and full["items"]["task_seen"] == [0, 0, 1]
    assert eval.default_protocol(cfg) == "tiny"


def test_mcq_views_give_each_fact_in_the_forms_asked_for():
    """--mcq-views: each view's pairs, checked by hand on two rows (one without an explanation):
    the question as written, the explanation as an all-trained statement, the options rotated
    so the answer moves to another letter with the same text after 'Answer:', and the question
    with no options listed."""
    rows = [tasks.mcq_row(0, "Which drug treats X?", ["a1", "b1", "c1", "d1"], 2, "X is treated with c1.", "drug"),
            tasks.mcq_row(1, "Which organ does Y harm?", ["a2", "b2", "c2", "d2"], 0, "  ", "organ"),
            tasks.mcq_row(2, "What causes Z?", ["a3", "b3", "c3", "d3"], 3, "Z is caused by d3.", "pathogen")]
    q, s, sh, b = (tasks.mcq_training_pairs(rows, [v]) for v in tasks.MCQ_VIEWS)
    assert q == [(tasks.mcq_prompt("Which drug treats X?", ["a1", "b1", "c1", "d1"]), " c1"),
                 (tasks.mcq_prompt("Which organ does Y harm?", ["a2", "b2", "c2", "d2"]), " a2"),
                 (tasks.mcq_prompt("What causes Z?", ["a3", "b3", "c3", "d3"]), " d3")]
    assert s == [("", "X is treated with c1."), ("", "Z is caused by d3.")]  # the blank explanation gives no statement
    assert sh == [(tasks.mcq_prompt("Which drug treats X?", ["b1", "c1", "d1", "a1"]), " c1"),  # rotated by 1: C -> B
                  (tasks.mcq_prompt("Which organ does Y harm?", ["c2", "d2", "a2", "b2"]), " a2"),  # by 2: A -> C
                  (tasks.mcq_prompt("What causes Z?", ["d3", "a3", "b3", "c3"]), " d3")]  # by 3: D -> A
    assert b == [("Question: Which drug treats X?\nAnswer:", " c1"), ("Question: Which organ does Y harm?\nAnswer:", " a2"),
                 ("Question: What causes Z?\nAnswer:", " d3")]
    assert tasks.mcq_training_pairs(rows) == q + s + sh + b  # the default: all four
    assert tasks.mcq_training_pairs(rows, ["bare", "question"]) == q + b  # views come in MCQ_VIEWS's order
    with pytest.raises(ValueError, match="--mcq-views takes"):
        tasks.mcq_training_pairs(rows, ["question", "paraphrase"])


def test_perplexity_of_uniform_model_is_vocab_size(tok):
    lm = UniformLM(len(tok))
    text = "The quick brown fox jumps over the lazy dog. " * 5
    n = len(tok(text, add_special_tokens=False)["input_ids"])
    for window, stride in ((7, None), (1000, None), (8, 4)):
        r = scoring.rolling_loglik(lm, tok, [text], window, stride, prefix_token=tok.bos_token_id)
        assert r["tokens"] == n  # every token scored exactly once (the first from the prefix token)
        assert r["loglik"] == pytest.approx(-n * math.log(len(tok)), rel=1e-6)  # fp32 log-softmax
    assert scoring.perplexity(lm, tok, [text], 16)["ppl"] == pytest.approx(len(tok), rel=1e-6)


@pytest.mark.parametrize("n,window,stride,positions", [
    # Hand-written layouts: the input position (= tokens of context shown) from which each
    # of the n targets is predicted. Targets are the n words after the prefix token.
    (10, 4, None, [0, 1, 2, 3, 0, 1, 2, 3, 2, 3]),  # harness: disjoint windows of 4; the last
    # window still shows 4 tokens, so its two targets sit at positions 2 and 3, not 0 and 1
    (10, 4, 2, [0, 1, 2, 3, 2, 3, 2, 3, 2, 3]),  # paper-style 4/2: after the first window, each
    # target sees 2 or 3 tokens of context, exactly as a window of 4 moving by 2
    (3, 8, None, [0, 1, 2]),  # shorter than a window: one window
])
def test_rolling_windows_show_each_token_the_context_the_protocol_says(tok, n, window, stride, positions):
    """With the position-revealing StubLM, the log-likelihood of a text of n identical words
    is a sum of f(position) = p - log(e^p + V - 1), one term per target, so the total says
    which context each token was scored with, and is computed here by hand from the layout."""
    the = tok(" the", add_special_tokens=False)["input_ids"][0]
    V = len(tok)
    pos_weight = torch.zeros(V)
    pos_weight[the] = 1.0
    lm = StubLM(V, pos_weight=pos_weight)
    text = " the" * n
    f = lambda p: p - math.log(math.exp(p) + V - 1)
    r = scoring.rolling_loglik(lm, tok, [text], window, stride, prefix_token=tok.eos_token_id, batch_size=3)
    assert r["tokens"] == n
    assert r["loglik"] == pytest.approx(sum(f(p) for p in positions), rel=1e-5)  # fp32 log-softmax over 49k logits


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
    words = sum(len(re.split(r"\s+", d)) for d in docs)
    nbytes = sum(len(d.encode()) for d in docs)
    n_tok = sum(len(tok(eval.wikitext_detokenize(d), add_special_tokens=False)["input_ids"]) for d in docs)
    ll = -n_tok * math.log(len(tok))
    assert r["wikitext_word_ppl"] == pytest.approx(math.exp(-ll / words), rel=1e-5)  # fp32 log-softmax
    assert r["wikitext_byte_ppl"] == pytest.approx(math.exp(-ll / nbytes), rel=1e-6)
    assert r["wikitext_bits_per_byte"] == pytest.approx(math.log2(math.exp(-ll / nbytes)), rel=1e-5)


def test_choice_accuracy_sums_and_paper_protocol_averages_by_hand(tok):
    """One unigram model, two rules, hand-computed outcomes. ' cat' is favoured (logit 5), so
    'cat cat cat cat' has the best log-prob per token but, being 4 tokens, a worse sum than
    'dog'. The cloze rule (choice_accuracy, harness acc) sums and picks 'dog'; the seed
    paper's MedMCQA rule averages over the tokens of ' X. option' and picks the cat line."""
    lm, lp = unigram_lm(tok, {" cat": 5.0})
    ids = lambda text: tok(text, add_special_tokens=False)["input_ids"]
    total = lambda text: float(sum(lp[i] for i in ids(text)))
    choices = ["cat cat cat cat", "dog", "dog dog", "cat dog"]
    items = [{"prompt": "Q:", "choices": choices, "gold": 1}, {"prompt": "Q:", "choices": choices, "gold": 0}]
    r = scoring.choice_accuracy(lm, tok, items)
    assert total(" dog") > total(" cat dog") > total(" cat cat cat cat")  # the hand ranking of sums
    assert r["correct"] == [1, 0] and r["acc"] == 0.5
    assert r["gold_nll"] == pytest.approx(-(total(" dog") + total(" cat cat cat cat")) / 2, rel=1e-5)

    row = {"question": "Which?", "opa": "cat cat cat cat", "opb": "dog", "opc": "dog dog", "opd": "cat dog", "cop": 0,
           "choice_type": "single"}
    mean = {L: total(f" {L}. {o}") / len(ids(f" {L}. {o}")) for L, o in zip("ABCD", choices)}
    assert max(mean, key=mean.get) == "A"  # by hand: the cat line wins on mean log-prob
    rows = [row, dict(row, question="Which one?"), dict(row, cop=1, choice_type="multi")]
    r = eval.medmcqa_paper(lm, tok, rows)
    assert r == {"medmcqa_acc": 1.0, "n": 2}  # the sum rule would score 0; the multi-choice row is not scored


def test_triviaqa_rules_by_hand(monkeypatch):
    """Paper: prompt without '?', 32 free tokens, any normalised alias contained in the
    normalised prediction. Harness: prompt with '?', stop at newline / '.' / ',', exact
    match of the normalised strings. The model is replaced by fixed predictions."""
    rows = [{"question": "Capital of France", "answer": {"aliases": ["Paris"]}},
            {"question": "Band from Liverpool", "answer": {"aliases": ["The Beatles", "Beatles"]}},
            {"question": "Largest ocean", "answer": {"aliases": ["Pacific", ""]}}]
    preds = ["The answer is Paris, France", "the Beatles", "Atlantic"]
    seen = {}

    def fake_generate(model, tok, prompts, max_new_tokens=32, stop=(), batch_size=16):
        seen.update(prompts=prompts, max_new_tokens=max_new_tokens, stop=stop)
        return preds

    monkeypatch.setattr(eval, "greedy_generate", fake_generate)
    assert eval.triviaqa_paper(None, None, rows) == {"triviaqa_acc": 2 / 3, "n": 3}  # '' alias never matches
    assert seen == {"prompts": ["Question: Capital of France\nAnswer:", "Question: Band from Liverpool\nAnswer:",
                                "Question: Largest ocean\nAnswer:"], "max_new_tokens": 32, "stop": ()}
    assert eval.triviaqa_harness(None, None, rows) == {"triviaqa_em": 1 / 3, "n": 3}  # only 'the Beatles' is exact
    assert seen["prompts"][0] == "Question: Capital of France?\nAnswer:" and seen["stop"] == ("\n", ".", ",")


def test_wikitext_paper_rules_by_hand(tok, monkeypatch):
    """Paper WikiText: the first `limit` non-empty lines, stripped, joined by a blank line,
    one text, windows of 1024 moving by 512, token perplexity exp(-LL / tokens)."""
    lines = ["", " = T = \n", " one . \n", "", "   \n", " two \n", " three \n"]
    seen = {}

    def fake_rolling(model, tok, texts, max_length=1024, stride=None, batch_size=4, prefix_token=None):
        seen.update(texts=texts, max_length=max_length, stride=stride)
        return {"loglik": -20.0, "tokens": 10, "per_text": [[-20.0, 10]]}

    monkeypatch.setattr(eval, "rolling_loglik", fake_rolling)
    r = eval.wikitext_paper(None, tok, lines, limit=3)
    assert seen == {"texts": ["= T =\n\none .\n\ntwo"], "max_length": 1024, "stride": 512}
    assert r["wikitext_ppl"] == pytest.approx(math.exp(2.0)) and r["tokens"] == 10


def test_generation_stops_as_soon_as_the_stop_string_appears(tiny, tok):
    """Against a naive greedy loop (no cache, one token at a time, full forward each step):
    same text, and generation really stops early: the model runs once per token the naive
    loop needed, not max_new_tokens times (the old check, 'no newline in the output', held
    by construction because the text is cut afterwards)."""
    prompt = "Question: what is the capital of the moon?\nAnswer:"
    ids = common.encode(tok, prompt)
    toks = []
    with torch.no_grad():
        for _ in range(12):
            toks.append(int(tiny(torch.tensor([ids + toks])).logits[0, -1].argmax()))
    stop = tok.decode(toks[3:4])  # the 4th generated token's text: the naive loop stops at or before it
    k = next(i + 1 for i in range(12) if stop in tok.decode(toks[: i + 1]))
    assert stop.strip() and k < 12, "pick a prompt whose generation has a usable stop string"
    calls = []
    hook = tiny.register_forward_hook(lambda *a: calls.append(1))
    try:
        got = scoring.greedy_generate(tiny, tok, [prompt], 12, stop=(stop,), batch_size=1)
    finally:
        hook.remove()
    text = tok.decode(toks[:k])
    assert got == [text[: text.index(stop)]]
    assert len(calls) == k


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


def test_harness_and_paper_suites_on_local_files(tok, tmp_path, monkeypatch):
    """Both protocols read hub-schema files from --data-dir and report their own metrics,
    checked by hand on the uniform model (generation replaced by a fixed answer)."""
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
    monkeypatch.setattr(eval, "greedy_generate", lambda model, tok, prompts, *a, **k: ["Paris, of course"] * len(prompts))
    lm = UniformLM(len(tok))  # every letter and every choice ties: the first (A) is picked
    V = len(tok)
    h = eval.run_suite(lm, tok, cfg, "harness")
    assert h["n"] == {"medmcqa": 3, "wikitext_docs": 2, "triviaqa": 1}
    assert h["medmcqa_acc"] == pytest.approx(1 / 3)  # golds are A, B, C
    pages = eval.wikitext_documents(lines)
    n_tok = sum(len(tok(eval.wikitext_detokenize(d), add_special_tokens=False)["input_ids"]) for d in pages)
    words = sum(len(re.split(r"\s+", d)) for d in pages)  # the harness counts words this way (ends included)
    assert h["wikitext_word_ppl"] == pytest.approx(V ** (n_tok / words), rel=1e-5)
    assert h["triviaqa_em"] == 0.0  # exact match: 'paris of course' is not 'paris'
    p = eval.run_suite(lm, tok, cfg, "paper", which=("medmcqa", "wikitext", "triviaqa"))
    assert p["n"]["medmcqa"] == 3 and p["medmcqa_acc"] == pytest.approx(1 / 3)
    assert p["wikitext_ppl"] == pytest.approx(V, rel=1e-5)  # token perplexity of the uniform model
    assert p["triviaqa_acc"] == 1.0  # substring rule: 'paris' is in 'paris of course'


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


# ---------------------------------------------------------------- --ask: a run's answers by hand


def test_ask_gives_the_base_and_the_trained_models_greedy_answers(tmp_path, capsys):
    """eval.ask on a tiny finished run: each answer is that model's greedy continuation of
    the run's prompt layout (base: the run's base model; trained: eval.load_run's model), and
    the command line prints them side by side."""
    import train
    from test_train import small

    model_dir = tmp_path / "tiny-llama"
    tok = __import__("transformers").AutoTokenizer.from_pretrained(common.offline_model_dir())
    common.tiny_random_model("llama", vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_attention_heads=2,
                             num_key_value_heads=1, num_hidden_layers=3).save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    assert train.main(["--runs-dir", str(tmp_path / "runs"), *small(str(model_dir), "full", steps=4, extra=["--lr", "3e-3"])]) == 0
    run = tmp_path / "runs" / "tiny-full"
    questions = ["What is the capital of Zorvia?", "What is the capital of France? | Rome | Paris | Oslo | Bern"]
    rows = eval.ask(run, questions)
    assert rows[0]["prompt"] == "Question: What is the capital of Zorvia?\nAnswer:" and rows[0]["options"] == []
    assert rows[1]["prompt"] == tasks.mcq_prompt("What is the capital of France?", ["Rome", "Paris", "Oslo", "Bern"])  # the training layout
    base, base_tok = common.load_model(str(model_dir))
    trained, _, _ = eval.load_run(run)
    for r in rows:
        for key, model in (("base", base), ("trained", trained)):
            out = scoring.greedy_generate(model, base_tok, [r["prompt"]], eval.ASK_TOKENS)[0]
            assert r[key] == out.strip().split("\n")[0].strip() and "\n" not in r[key], key
    assert any(r["base"] != r["trained"] for r in rows)  # the trained model is not the base model
    assert eval.first_line("\n Paris\nParis is the capital.") == "Paris"
    capsys.readouterr()
    assert eval.main([str(run), "--ask", questions[0], "--ask", questions[1]]) == 0
    out = capsys.readouterr().out
    assert "greedy answers, base model vs trained" in out and "base model" in out and "trained model" in out
    assert "as both models saw it: 'Question: What is the capital of Zorvia?\\nAnswer:'" in out
    done = eval.ask(run, ["The capital of France is"], complete=True)[0]  # --complete: the text as it is
    assert done["prompt"] == "The capital of France is" and done["trained"] == eval.first_line(
        scoring.greedy_generate(trained, base_tok, ["The capital of France is"], eval.ASK_TOKENS)[0])


@pytest.mark.parametrize("where,argv,msg", [
    ("nothing", ["{tmp}/runs/nope", "--ask", "q"], "there is no run folder"),
    ("partial", ["{tmp}/runs/r", "--ask", "q"], "has not finished"),
    ("partial", ["{tmp}/runs/r.partial", "--ask", "q"], "is an unfinished run"),
    ("partial", ["{tmp}/runs/r", "--ask", " "], "--ask got an empty question"),
    ("partial", ["{tmp}/runs/r", "--ask", " | Paris | Rome"], "--ask got an empty question"),
    ("nothing", ["{tmp}/a", "{tmp}/b", "--ask", "q"], "--ask takes exactly one run folder"),
    ("nothing", ["--compare", "{tmp}/a", "--ask", "q"], "--ask takes exactly one run folder"),
    ("nothing", ["{tmp}/a", "--complete"], "--complete goes with --ask"),
])
def test_ask_errors_are_one_sentence(tmp_path, where, argv, msg):
    if where == "partial":  # an interrupted (or still running) run: only its .partial folder exists
        (tmp_path / "runs" / "r.partial").mkdir(parents=True)
        (tmp_path / "runs" / "r.partial" / "config.json").write_text('{"method": "smf", "model": "x"}')
    with pytest.raises(SystemExit) as info:
        eval.main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    text = str(info.value.code)
    assert text.startswith("error: ") and msg in text and text.count(". ") == 0, text


def test_ask_prompt_is_each_tasks_training_layout():
    """With options, --ask's prompt is exactly the prompt of a training question of the task."""
    opts = ["a", "b", "c", "d"]
    row = {"question": "Q?", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": 0}
    assert tasks.ask_prompt("Q?", opts, "medmcqa") == tasks.medmcqa_training_pair(row)[0]
    fictional = tasks.fictional_facts(4, 0)["train"][2]  # statement, statement, then the question with its answer
    q, listed = fictional.split("\n")[0].removeprefix("Question: "), [l[3:] for l in fictional.split("\n")[2:6]]
    assert fictional.startswith(tasks.ask_prompt(q, listed, "fictional"))
    assert tasks.ask_prompt("Q?") == "Question: Q?\nAnswer:"
