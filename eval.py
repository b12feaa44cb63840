"""eval.py: how much a model learned, and how much it forgot.

Scoring primitives (all batched, every token scored once):
- `continuation_logprobs`: log-likelihood of continuations given contexts (multiple choice).
- `choice_accuracy`: 4-choice accuracy from those log-likelihoods (cloze or option text).
- `letter_accuracy`: the MedMCQA letter protocol: one forward per question, the four
  letter logits read at the last prompt position.
- `rolling_loglik`: perplexity with non-overlapping (or strided) windows.
- `greedy_generate`: batched greedy decoding with left padding and stop strings.

Protocols (SMF.md, "Evaluation protocols"): `tiny` (the offline default's task and probes),
`harness` (lm-evaluation-harness's definitions) and `paper` (the seed paper's code).
Every result records the protocol that produced it.
"""
from __future__ import annotations

import json
import math
import time

import torch

from smf_mini import prefix_and_pad


def _device(model) -> torch.device:
    return next(model.parameters()).device


def _body_and_head(model):
    """The decoder body (hidden states) and the output head, so that logits are computed
    only where they are needed: the 49k-word head costs about a third of a SmolLM2
    forward when applied at every position."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return base.model, base.lm_head


def _selected_logprobs(model, ids: torch.Tensor, att: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """log p(ids[r, c+1] | ids[r, :c+1]) for each (r, c): the head runs on those positions only."""
    body, head = _body_and_head(model)
    hidden = body(input_ids=ids, attention_mask=att, use_cache=False).last_hidden_state
    logits = head(hidden[rows, cols]).float()
    return torch.log_softmax(logits, -1).gather(-1, ids[rows, cols + 1].unsqueeze(-1)).squeeze(-1)


@torch.no_grad()
def continuation_logprobs(model, tok, pairs: list[tuple[str, str]], batch_size: int = 16, mean: bool = False) -> list[float]:
    """Sum (or mean) log p(continuation | context) for each (context, continuation) pair.

    Context and continuation are tokenized separately and joined, so the continuation's
    tokens are exactly tok(continuation). Right padding; padded positions are ignored.
    """
    dev = _device(model)
    out: list[float] = []
    bos, pad = prefix_and_pad(tok)
    for s in range(0, len(pairs), batch_size):
        chunk = pairs[s : s + batch_size]
        seqs, spans = [], []
        for ctx, cont in chunk:
            c = bos + tok(ctx, add_special_tokens=False)["input_ids"]
            x = tok(cont, add_special_tokens=False)["input_ids"]
            seqs.append(c + x)
            spans.append((len(c), len(c) + len(x)))
        L = max(map(len, seqs))
        ids = torch.full((len(seqs), L), pad, dtype=torch.long)
        att = torch.zeros((len(seqs), L), dtype=torch.long)
        for i, sq in enumerate(seqs):
            ids[i, : len(sq)] = torch.tensor(sq)
            att[i, : len(sq)] = 1
        # position j predicts token j+1: the continuation [a, b) is predicted at [a-1, b-1)
        rows = torch.cat([torch.full((b - a,), i) for i, (a, b) in enumerate(spans)])
        cols = torch.cat([torch.arange(a - 1, b - 1) for a, b in spans])
        lp = _selected_logprobs(model, ids.to(dev), att.to(dev), rows.to(dev), cols.to(dev)).cpu()
        tot = torch.zeros(len(seqs), dtype=torch.float64).index_add_(0, rows, lp.double())
        if mean:
            tot = tot / torch.tensor([b - a for a, b in spans], dtype=torch.float64)
        out += tot.tolist()
    return out


def _cache_kwarg(body) -> str:
    """transformers renamed `past_key_values` to `cache` in 5.x; use whichever this version takes."""
    import inspect

    return "cache" if "cache" in inspect.signature(type(body).forward).parameters else "past_key_values"


@torch.no_grad()
def shared_prompt_logprobs(model, tok, prompts: list[str], choices: list[list[str]], batch_size: int = 8, mean: bool = False) -> list[list[float]]:
    """log p(choice | prompt) for every choice of every prompt, running each prompt once.

    The prompts of a batch are left-padded and run with the KV cache on; the cache is then
    repeated once per choice and only the (short) choices are run on top of it. With four
    choices of a few tokens after a 50-token prompt this is ~4x less work than scoring each
    (prompt, choice) pair separately, with the same result (a test checks it against
    `continuation_logprobs`). Left padding shifts every position of a row by the same
    amount, which rotary position embeddings do not see.
    """
    dev = _device(model)
    body, head = _body_and_head(model)
    bos, pad = prefix_and_pad(tok)
    out: list[list[float]] = []
    for s in range(0, len(prompts), batch_size):
        P = [bos + tok(p, add_special_tokens=False)["input_ids"] for p in prompts[s : s + batch_size]]
        C = choices[s : s + batch_size]
        n = len(C[0])
        if any(len(c) != n for c in C):
            raise ValueError("shared_prompt_logprobs needs the same number of choices for every prompt.")
        Lp = max(map(len, P))
        ids = torch.tensor([[pad] * (Lp - len(p)) + p for p in P], device=dev)
        att = torch.tensor([[0] * (Lp - len(p)) + [1] * len(p) for p in P], device=dev)
        res = body(input_ids=ids, attention_mask=att, use_cache=True)
        first = torch.log_softmax(head(res.last_hidden_state[:, -1]).float(), -1)  # (B, V): each choice's first token
        cache = res["cache"] if "cache" in res else res["past_key_values"]  # renamed in transformers 5.x
        cache.batch_repeat_interleave(n)
        X = [tok(" " + c, add_special_tokens=False)["input_ids"] for cs in C for c in cs]
        Lx = max(map(len, X))
        xids = torch.tensor([x + [pad] * (Lx - len(x)) for x in X], device=dev)
        xatt = torch.tensor([[1] * len(x) + [0] * (Lx - len(x)) for x in X], device=dev)
        lp = first.repeat_interleave(n, 0).gather(1, xids[:, :1]).squeeze(1)
        if Lx > 1:
            kw = {_cache_kwarg(body): cache}
            h = body(input_ids=xids[:, :-1], attention_mask=torch.cat([att.repeat_interleave(n, 0), xatt[:, :-1]], 1),
                     use_cache=True, **kw).last_hidden_state  # (B*n, Lx-1, d)
            later = torch.log_softmax(head(h).float(), -1).gather(-1, xids[:, 1:].unsqueeze(-1)).squeeze(-1)
            lp = lp + (later * xatt[:, 1:]).sum(1)
        if mean:
            lp = lp / xatt.sum(1)
        lp = lp.double().cpu().view(len(P), n)
        out += lp.tolist()
    return out


def choice_accuracy(model, tok, items: list[dict], batch_size: int = 8) -> dict:
    """Cloze-style multiple choice: each item's prompt followed by ' ' + choice; the choice
    with the highest summed log-likelihood wins (the harness's `acc`). Also returns the
    mean negative log-likelihood of the correct answer (a finer, continuous signal)."""
    lp = [x for row in shared_prompt_logprobs(model, tok, [it["prompt"] for it in items], [it["choices"] for it in items], batch_size) for x in row]
    correct, nll, pos = 0, 0.0, 0
    for it in items:
        scores = lp[pos : pos + len(it["choices"])]
        pos += len(it["choices"])
        correct += int(max(range(len(scores)), key=scores.__getitem__) == it["gold"])
        nll -= scores[it["gold"]]
    return {"acc": correct / len(items), "gold_nll": nll / len(items), "n": len(items)}


@torch.no_grad()
def letter_accuracy(model, tok, prompts: list[str], golds: list[int], batch_size: int = 16, letters: str = "ABCD") -> dict:
    """MedMCQA letter protocol: the continuation ' A'..' D' with the highest log-likelihood.

    Each letter continuation is one token, so one forward per question gives all four:
    the logits at the last prompt position. Left padding keeps that position at -1.
    """
    dev = _device(model)
    letter_ids = []
    for L in letters:
        ids = tok(" " + L, add_special_tokens=False)["input_ids"]
        if len(ids) != 1:
            raise ValueError(f"letter ' {L}' is {len(ids)} tokens for this tokenizer; letter scoring needs one.")
        letter_ids.append(ids[0])
    letter_ids = torch.tensor(letter_ids, device=dev)
    side = tok.padding_side
    tok.padding_side = "left"
    correct = 0
    try:
        for s in range(0, len(prompts), batch_size):
            enc = tok(prompts[s : s + batch_size], return_tensors="pt", padding=True, add_special_tokens=True).to(dev)
            body, head = _body_and_head(model)
            hidden = body(**enc, use_cache=False).last_hidden_state[:, -1]
            pred = head(hidden).index_select(-1, letter_ids).argmax(-1).cpu()
            correct += int((pred == torch.tensor(golds[s : s + batch_size])).sum())
    finally:
        tok.padding_side = side
    return {"acc": correct / len(prompts), "n": len(prompts)}


@torch.no_grad()
def rolling_loglik(model, tok, texts: list[str], max_length: int = 1024, stride: int | None = None, batch_size: int = 4, prefix_token: int | None = None) -> dict:
    """Total log-likelihood of each text with windows of max_length tokens, every token scored once.

    stride None: non-overlapping windows (harness rolling); the first token of a text is
    predicted from `prefix_token` (BOS, else EOS) if given. stride s < max_length: sliding
    windows moving s tokens, each scoring only its last s new tokens with up to
    max_length - s tokens of context (the paper's 1024/512).
    Returns {"loglik": sum, "tokens": count}.
    """
    dev = _device(model)
    windows = []  # (input ids, number of scored tokens at the end)
    for text in texts:
        ids = tok(text, add_special_tokens=False)["input_ids"]
        if prefix_token is not None:
            ids = [prefix_token] + ids
        if len(ids) < 2:
            continue
        # targets are ids[1:]; window w predicts targets [begin, end)
        n = len(ids) - 1
        step = stride or max_length
        begin = 0
        while begin < n:
            end = min(begin + step, n)
            ctx_start = max(0, end - max_length)
            windows.append((ids[ctx_start : end + 1], end - begin))
            begin = end
    total, count = 0.0, 0
    pad = prefix_and_pad(tok)[1]
    windows.sort(key=lambda w: len(w[0]))  # similar lengths together: less padding
    for s in range(0, len(windows), batch_size):
        chunk = windows[s : s + batch_size]
        L = max(len(w) for w, _ in chunk)
        ids = torch.full((len(chunk), L), pad, dtype=torch.long)
        att = torch.zeros((len(chunk), L), dtype=torch.long)
        score = torch.zeros((len(chunk), L - 1))
        for i, (w, k) in enumerate(chunk):
            ids[i, : len(w)] = torch.tensor(w)
            att[i, : len(w)] = 1
            score[i, len(w) - 1 - k : len(w) - 1] = 1
        rows, cols = score.nonzero(as_tuple=True)
        lp = _selected_logprobs(model, ids.to(dev), att.to(dev), rows.to(dev), cols.to(dev))
        total += float(lp.double().sum())
        count += int(rows.numel())
    return {"loglik": total, "tokens": count}


def perplexity(model, tok, texts: list[str], max_length: int = 1024, stride: int | None = None, batch_size: int = 4) -> dict:
    r = rolling_loglik(model, tok, texts, max_length, stride, batch_size, prefix_token=tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id)
    return {"ppl": math.exp(-r["loglik"] / r["tokens"]), "tokens": r["tokens"]}


# ---------------------------------------------------------------- greedy generation


@torch.no_grad()
def greedy_generate(model, tok, prompts: list[str], max_new_tokens: int = 32, stop: tuple[str, ...] = (), batch_size: int = 16) -> list[str]:
    """Batched greedy decoding with left padding; text is cut at the first stop string, and a
    batch ends as soon as every sequence in it has produced a stop string."""
    from transformers import StoppingCriteria, StoppingCriteriaList

    class StopOnStrings(StoppingCriteria):
        def __init__(self, start: int):
            self.start = start

        def __call__(self, input_ids, scores, **kw):
            texts = tok.batch_decode(input_ids[:, self.start :], skip_special_tokens=True)
            done = [any(s in t for s in stop) for t in texts]
            return torch.tensor(done, device=input_ids.device)

    dev = _device(model)
    side = tok.padding_side
    tok.padding_side = "left"
    outs: list[str] = []
    try:
        for s in range(0, len(prompts), batch_size):
            enc = tok(prompts[s : s + batch_size], return_tensors="pt", padding=True).to(dev)
            crit = StoppingCriteriaList([StopOnStrings(enc["input_ids"].shape[1])]) if stop else None
            gen = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False, stopping_criteria=crit,
                                 pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id)
            for t in tok.batch_decode(gen[:, enc["input_ids"].shape[1] :], skip_special_tokens=True):
                cut = min([t.index(x) for x in stop if x in t], default=len(t))
                outs.append(t[:cut])
    finally:
        tok.padding_side = side
    return outs


# ---------------------------------------------------------------- the harness and paper definitions

import re
import string


def normalize_harness(text: str) -> str:
    """TriviaQA exact-match normalisation of lm-evaluation-harness: lowercase, delete every
    string.punctuation character, strip. (No article removal: 'The Beatles' stays 'the beatles'.)"""
    return text.lower().translate(str.maketrans("", "", string.punctuation)).strip()


def normalize_paper(text: str) -> str:
    """SQuAD-style normalisation (lowercase, no punctuation, no articles, single spaces)."""
    text = normalize_harness(text)
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def wikitext_detokenize(text: str) -> str:
    """Undo WikiText's tokenisation the way the harness's wikitext task does before scoring."""
    s = text.replace("s '", "s'")
    s = re.sub(r"/' [0-9]/", r"/'[0-9]/", s)
    for a, b in ((" @-@ ", "-"), (" @,@ ", ","), (" @.@ ", "."), (" : ", ": "), (" ; ", "; "), (" . ", ". "),
                 (" ! ", "! "), (" ? ", "? "), (" , ", ", ")):
        s = s.replace(a, b)
    s = re.sub(r"\(\s*([^\)]*?)\s*\)", r"(\1)", s)
    s = re.sub(r"\[\s*([^\]]*?)\s*\]", r"[\1]", s)
    s = re.sub(r"{\s*([^}]*?)\s*}", r"{\1}", s)
    s = re.sub(r"\"\s*([^\"]*?)\s*\"", r'"\1"', s)
    s = re.sub(r"'\s*([^']*?)\s*'", r"'\1'", s)
    for a, b in (("= = = =", "===="), ("= = =", "==="), ("= =", "=="), (" " + chr(176) + " ", chr(176)),
                 (" \n", "\n"), ("\n ", "\n"), (" N ", " 1 "), (" 's", "'s")):
        s = s.replace(a, b)
    return s


def wikitext_documents(lines: list[str]) -> list[str]:
    """Regroup line rows into documents at top-level headings (' = Title = ', not ' = = Sub = = ')."""
    docs: list[list[str]] = []
    for line in lines:
        if re.fullmatch(r" = [^=].*[^=] = \n", line):
            docs.append([])
        if docs:
            docs[-1].append(line)
    return ["".join(d) for d in docs]


def medmcqa_harness_prompt(r: dict) -> str:
    return f"Question: {r['question']}\nChoices:\nA. {r['opa']}\nB. {r['opb']}\nC. {r['opc']}\nD. {r['opd']}\nAnswer:"


def medmcqa_harness(model, tok, rows: list[dict]) -> dict:
    r = letter_accuracy(model, tok, [medmcqa_harness_prompt(x) for x in rows], [x["cop"] for x in rows])
    return {"medmcqa_acc": r["acc"], "n": r["n"]}


def medmcqa_paper(model, tok, rows: list[dict]) -> dict:
    """The seed paper's rule: candidates ' X. {option}' after a 'Medical exam question' prompt,
    ranked by mean per-token log-likelihood."""
    rows = [r for r in rows if r.get("choice_type", "single") == "single"]
    prompts, choices = [], []
    for r in rows:
        opts = [r["opa"], r["opb"], r["opc"], r["opd"]]
        prompts.append(f"Medical exam question:\n{r['question']}\n" + "\n".join(f"{L}. {o}" for L, o in zip("ABCD", opts)) + "\nAnswer:")
        choices.append([f"{L}. {o}" for L, o in zip("ABCD", opts)])  # scored as ' X. {option}'
    lp = shared_prompt_logprobs(model, tok, prompts, choices, mean=True)  # each prompt run once
    correct = sum(int(max(range(4), key=lambda j: lp[i][j]) == r["cop"]) for i, r in enumerate(rows))
    return {"medmcqa_acc": correct / len(rows), "n": len(rows)}


def wikitext_harness(model, tok, lines: list[str], max_length: int = 2048, limit: int | None = None) -> dict:
    """Document-level rolling perplexity on wikitext-2-raw (harness): word, byte, bits per byte."""
    pages = wikitext_documents(lines)[:limit]
    if not pages:
        raise ValueError("no WikiText documents found (expected top-level ' = Title = ' lines).")
    prefix = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
    ll = rolling_loglik(model, tok, [wikitext_detokenize(p) for p in pages], max_length, prefix_token=prefix, batch_size=1)["loglik"]
    words = sum(len(re.split(r"\s+", p)) for p in pages)
    nbytes = sum(len(p.encode("utf-8")) for p in pages)
    byte_ppl = math.exp(-ll / nbytes)
    return {"wikitext_word_ppl": math.exp(-ll / words), "wikitext_byte_ppl": byte_ppl,
            "wikitext_bits_per_byte": math.log2(byte_ppl), "n": len(pages), "window": max_length}


def wikitext_paper(model, tok, lines: list[str], limit: int = 1000) -> dict:
    """Seed paper: first `limit` non-empty lines joined by blank lines, 1024/512 sliding window."""
    text = "\n\n".join([l.strip() for l in lines if l.strip()][:limit])
    r = rolling_loglik(model, tok, [text], 1024, stride=512, batch_size=4)
    return {"wikitext_ppl": math.exp(-r["loglik"] / r["tokens"]), "tokens": r["tokens"], "window": "1024/512"}


def triviaqa_harness(model, tok, rows: list[dict]) -> dict:
    preds = greedy_generate(model, tok, [f"Question: {r['question']}?\nAnswer:" for r in rows], 32, stop=("\n", ".", ","))
    em = [any(normalize_harness(p) == normalize_harness(a) for a in r["answer"]["aliases"]) for p, r in zip(preds, rows)]
    return {"triviaqa_em": sum(em) / len(rows), "n": len(rows)}


def triviaqa_paper(model, tok, rows: list[dict]) -> dict:
    preds = greedy_generate(model, tok, [f"Question: {r['question']}\nAnswer:" for r in rows], 32)
    hit = [any(normalize_paper(a) in normalize_paper(p) for a in r["answer"]["aliases"] if normalize_paper(a)) for p, r in zip(preds, rows)]
    return {"triviaqa_acc": sum(hit) / len(rows), "n": len(rows)}


# ---------------------------------------------------------------- suites: which numbers a run reports
#
# Each metric: (what it measures, higher is better?). "task" metrics measure learning,
# "probe" metrics forgetting.
METRICS = {
    "task_acc": ("task", True), "task_seen_acc": ("task", True), "task_nll": ("task", False),
    "text_ppl": ("probe", False), "gk_acc": ("probe", True), "gk_nll": ("probe", False),
    "medmcqa_acc": ("task", True),
    "wikitext_word_ppl": ("probe", False), "wikitext_byte_ppl": ("probe", False), "wikitext_bits_per_byte": ("probe", False),
    "wikitext_ppl": ("probe", False), "triviaqa_em": ("probe", True), "triviaqa_acc": ("probe", True),
}
HEADLINE = {"tiny": ("task_acc", "text_ppl", "gk_acc"),
            "harness": ("medmcqa_acc", "wikitext_word_ppl", "triviaqa_em"),
            "paper": ("medmcqa_acc", "wikitext_ppl", "triviaqa_acc")}
PROTOCOLS = tuple(HEADLINE)
TINY_TEXT_DOCS, TINY_TEXT_CHARS, TINY_TEXT_WINDOW = 12, 1500, 512


def tiny_suite(model, tok, cfg: dict, limit: int | None = None) -> dict:
    """The offline default's numbers: the fictional task (held-out and seen phrasings) and
    two forgetting probes (perplexity on Python's reference docs, general-knowledge QA)."""
    import tasks as T

    items = T.fictional_facts(cfg["n_countries"], cfg.get("seed", 0))["eval"][:limit]
    gk = T.general_knowledge(tok)[:limit]
    held = choice_accuracy(model, tok, items)
    seen = choice_accuracy(model, tok, [dict(i, prompt=i["seen_prompt"]) for i in items])
    g = choice_accuracy(model, tok, gk)
    ppl = perplexity(model, tok, T.general_text("probe", TINY_TEXT_DOCS, TINY_TEXT_CHARS), TINY_TEXT_WINDOW)
    return {"task_acc": held["acc"], "task_seen_acc": seen["acc"], "task_nll": held["gold_nll"],
            "text_ppl": ppl["ppl"], "gk_acc": g["acc"], "gk_nll": g["gold_nll"],
            "n": {"task": held["n"], "gk": g["n"], "text_tokens": ppl["tokens"]},
            "data": "fictional facts (made at run time), probes/general_knowledge.jsonl, pydoc_data topics"}


def protocol_suite(model, tok, cfg: dict, protocol: str, limit: int | None = None,
                   tasks=("medmcqa", "wikitext", "triviaqa")) -> dict:
    """MedMCQA, WikiText and TriviaQA under the `harness` or the `paper` protocol.
    The paper protocol uses the first 1,000 items of each set unless `limit` says otherwise."""
    import tasks as T

    paper = protocol == "paper"
    if paper and limit is None:
        limit = 1000
    out: dict = {"n": {}}
    dd = cfg.get("data_dir")
    if "medmcqa" in tasks:
        r = (medmcqa_paper if paper else medmcqa_harness)(model, tok, T.medmcqa_rows(dd, "validation")[:limit])
        out["medmcqa_acc"], out["n"]["medmcqa"] = r["medmcqa_acc"], r["n"]
    if "wikitext" in tasks:
        if paper:
            r = wikitext_paper(model, tok, T.wikitext_rows(dd, "wikitext-103-v1"), limit=limit)
            out["n"]["wikitext_tokens"] = r["tokens"]
        else:
            r = wikitext_harness(model, tok, T.wikitext_rows(dd), max_length=cfg.get("eval_window", 2048), limit=limit)
            out["n"]["wikitext_docs"] = r["n"]
        out.update({k: v for k, v in r.items() if k.startswith("wikitext_")})
        out["wikitext_window"] = r["window"]
    if "triviaqa" in tasks:
        key = "triviaqa_acc" if paper else "triviaqa_em"
        r = (triviaqa_paper if paper else triviaqa_harness)(model, tok, T.trivia_rows(dd)[:limit])
        out[key], out["n"]["triviaqa"] = r[key], r["n"]
    out["data"] = dd or "hub"
    return out


def default_protocol(cfg: dict) -> str:
    return "tiny" if cfg.get("task") == "fictional" else "harness"


def run_suite(model, tok, cfg: dict, protocol: str, limit: int | None = None, tasks=None) -> dict:
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}.")
    was = model.training
    model.eval()
    t0 = time.time()
    if protocol == "tiny":
        r = tiny_suite(model, tok, cfg, limit)
    else:
        r = protocol_suite(model, tok, cfg, protocol, limit, tasks or ("medmcqa", "wikitext", "triviaqa"))
    model.train(was)
    r["seconds"] = round(time.time() - t0, 1)
    return r


def base_results(cfg: dict, protocol: str, device, limit=None, tasks=None) -> dict:
    """The base model's numbers, computed once per (model, protocol, settings) and cached."""
    import hashlib

    import smf_mini as S

    key = json.dumps([cfg["model"], protocol, limit, tasks, cfg.get("data_dir"), cfg.get("n_countries"), cfg.get("seed"),
                      cfg.get("eval_window", 2048)], sort_keys=True)
    path = S.cache_dir() / "base-results" / (hashlib.sha1(key.encode()).hexdigest()[:16] + ".json")
    if path.exists():
        return json.loads(path.read_text())
    model, tok = S.load_model(cfg["model"], device=device)
    r = run_suite(model, tok, cfg, protocol, limit, tasks)
    S.write_json(path, r)
    return r


def evaluate_run(model, tok, cfg: dict, device, protocol: str | None = None, limit=None, tasks=None) -> dict:
    protocol = protocol or default_protocol(cfg)
    limit = limit if limit is not None else cfg.get("eval_limit")
    base = base_results(cfg, protocol, device, limit, tasks)
    trained = run_suite(model, tok, cfg, protocol, limit, tasks)
    return {"protocol": protocol, "limit": limit, "data": trained.get("data"), "method": cfg.get("method"),
            "model": cfg.get("model"), "base": base, "trained": trained}


# ---------------------------------------------------------------- printing


def _fmt(v) -> str:
    return f"{v:.4f}" if isinstance(v, float) and abs(v) < 10 else (f"{v:.3f}" if isinstance(v, float) else str(v))


def print_config(cfg: dict, name: str) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"run {name}: resolved configuration", show_header=False, box=None)
    for k, v in cfg.items():
        t.add_row(k, str(v))
    Console().print(t)


def print_results(results: dict, title: str = "results") -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    for c in ("metric", "kind", "base", "trained", "change"):
        t.add_column(c, justify="left" if c in ("metric", "kind") else "right")
    b, tr = results["base"], results["trained"]
    for k, (kind, higher) in METRICS.items():
        if k in tr and k in b:
            d = tr[k] - b[k]
            good = (d >= 0) == higher
            col = "green" if good or abs(d) < 1e-9 else "red"
            rel = f" ({100 * d / b[k]:+.1f}%)" if b[k] else ""
            t.add_row(k, "learn" if kind == "task" else "forget", _fmt(b[k]), _fmt(tr[k]), f"[{col}]{d:+.4f}{rel}[/{col}]")
    Console().print(t)


# ---------------------------------------------------------------- loading a run


def load_run(run_dir, device="cpu"):
    """(model, tok, cfg) of a finished run, loaded the way train.py saved it."""
    from pathlib import Path

    import memory as M
    import smf_mini as S

    run_dir = Path(run_dir)
    if not (run_dir / "config.json").exists():
        raise SystemExit(f"error: {run_dir} is not a finished run (no config.json); train one with train.py.")
    cfg = json.loads((run_dir / "config.json").read_text())
    method = cfg.get("method")
    ckpt = {"full": "model", "lora": "adapter", "smf": "memory.safetensors", "retrofit": "memory.safetensors"}.get(method)
    if ckpt is None:
        raise SystemExit(f"error: {run_dir}/config.json names an unknown method {method!r}.")
    if not (run_dir / ckpt).exists():
        raise SystemExit(f"error: {run_dir} has no checkpoint ({ckpt} is missing); the run did not finish.")
    if method == "full":
        model, tok = S.load_model(str(run_dir / "model"), device=device)
    else:
        model, tok = S.load_model(cfg["model"], device=device)
        if method == "lora":
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, str(run_dir / "adapter"))
        else:
            M.load_memory(model, str(run_dir / "memory.safetensors"))
            model.to(device)
    return model.eval(), tok, cfg


# ---------------------------------------------------------------- comparing runs


def compare(run_dirs, plot_path: str = "runs/compare.png") -> list[dict]:
    """One table of every run's headline numbers and a Pareto-style plot: task accuracy
    against each forgetting probe, one point per run, the base model marked."""
    from pathlib import Path

    from rich.console import Console
    from rich.table import Table

    rows = []
    for d in map(Path, run_dirs):
        f = d / "results.json"
        if not f.exists():
            print(f"skipping {d}: no results.json (not a finished, evaluated run)")
            continue
        r = json.loads(f.read_text())
        rows.append((d.name, r))
    if not rows:
        raise SystemExit("error: none of the given folders holds a finished, evaluated run (runs/<name>/results.json).")
    by_proto: dict[str, list] = {}
    for name, r in rows:
        by_proto.setdefault(r["protocol"], []).append((name, r))
    for proto, rs in by_proto.items():
        keys = HEADLINE[proto]
        t = Table(title=f"runs compared ({proto} protocol)")
        t.add_column("run")
        t.add_column("method")
        for k in keys:
            t.add_column(k, justify="right")
        base = rs[0][1]["base"]
        t.add_row("base model", "-", *[_fmt(base.get(k, float("nan"))) for k in keys])
        for name, r in rs:
            cells = []
            for k in keys:
                v, b0 = r["trained"].get(k), r["base"].get(k)
                cells.append("-" if v is None else f"{_fmt(v)} ({v - b0:+.3f})")
            t.add_row(name, str(r.get("method")), *cells)
        Console().print(t)
        _plot(proto, rs, plot_path if len(by_proto) == 1 else plot_path.replace(".png", f"-{proto}.png"))
    return [dict(name=n, **r) for n, r in rows]


def _plot(proto: str, rs, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import smf_mini as S

    task, *probes = HEADLINE[proto]
    fig, axes = plt.subplots(1, len(probes), figsize=(5 * len(probes), 4))
    colors = {"smf": "tab:green", "lora": "tab:blue", "full": "tab:red"}
    for ax, probe in zip(axes, probes):
        base = rs[0][1]["base"]
        ax.scatter([base[probe]], [base[task]], marker="*", s=200, color="black", label="base model", zorder=3)
        for name, r in rs:
            tr = r["trained"]
            if probe in tr and task in tr:
                ax.scatter([tr[probe]], [tr[task]], s=60, color=colors.get(r.get("method"), "tab:gray"), zorder=3)
                ax.annotate(name, (tr[probe], tr[task]), textcoords="offset points", xytext=(5, 5), fontsize=8)
        higher = METRICS[probe][1]
        ax.set_xlabel(f"{probe} ({'higher' if higher else 'lower'} = less forgetting)")
        ax.set_ylabel(f"{task} (learning)")
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left", fontsize=8)
    fig.suptitle(f"learning vs forgetting ({proto} protocol); better = up and toward the base model's probe value")
    fig.tight_layout()
    with S.atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    print(f"plot written to {path}")


# ---------------------------------------------------------------- command line


def main(argv=None) -> int:
    import argparse
    from pathlib import Path

    import smf_mini as S

    p = argparse.ArgumentParser(description="Evaluate a run or a base model; compare runs.")
    p.add_argument("run", nargs="*", help="run folder(s) under runs/ (several with --compare)")
    p.add_argument("--model", help=f"evaluate a base model instead: hub id, local folder or '{S.OFFLINE_MODEL}'")
    p.add_argument("--compare", action="store_true", help="table and plot of the given finished runs")
    p.add_argument("--plot", default="runs/compare.png", help="where --compare writes its PNG (default: runs/compare.png)")
    p.add_argument("--protocol", choices=PROTOCOLS, help="tiny (offline default), harness (lm-evaluation-harness) or paper (seed paper); default: the run's own")
    p.add_argument("--tasks", help="harness/paper: comma-separated subset of medmcqa,wikitext,triviaqa")
    p.add_argument("--limit", type=int, help="first N items of each set (quick looks)")
    p.add_argument("--data-dir", help="folder with hub-schema JSON Lines files (offline); default: the hub")
    p.add_argument("--window", type=int, default=2048, help="harness WikiText window in tokens (default 2048; the harness uses the model's full context)")
    p.add_argument("--device", default="auto")
    p.add_argument("--out", help="with --model: where to write the JSON (default: runs/eval-<model>-<protocol>.json)")
    a = p.parse_args(argv)
    device = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else ("cpu" if a.device == "auto" else a.device))
    tasks = None
    if a.tasks:
        tasks = tuple(x.strip() for x in a.tasks.split(",") if x.strip())
        bad = [x for x in tasks if x not in ("medmcqa", "wikitext", "triviaqa")]
        if bad:
            raise SystemExit(f"error: unknown task {bad[0]!r}; choose from medmcqa, wikitext, triviaqa.")
        if not tasks:
            raise SystemExit("error: --tasks is empty; name at least one of medmcqa, wikitext, triviaqa.")
    if a.limit is not None and a.limit < 1:
        raise SystemExit("error: --limit must be at least 1.")
    if a.compare:
        compare(a.run, a.plot)
        return 0
    if a.model:
        from train import PRESETS  # the tiny task's settings (countries, seed) come from the tiny preset

        cfg = dict(PRESETS["tiny"], model=a.model, data_dir=a.data_dir, eval_window=a.window,
                   task="fictional" if a.protocol in (None, "tiny") else "medmcqa")
        proto = a.protocol or "tiny"
        model, tok = S.load_model(a.model, device=device)
        r = run_suite(model, tok, cfg, proto, a.limit, tasks)
        r.update(protocol=proto, model=a.model, limit=a.limit)
        out = a.out or f"runs/eval-{Path(a.model).name}-{proto}.json"
        S.write_json(out, r)
        print(json.dumps({k: v for k, v in r.items() if k in METRICS}, indent=2))
        print(f"written to {out}")
        return 0
    if len(a.run) != 1:
        raise SystemExit("error: give one run folder (or --compare with several, or --model ID).")
    model, tok, cfg = load_run(a.run[0], device)
    if a.data_dir:
        cfg["data_dir"] = a.data_dir
    cfg["eval_window"] = a.window
    proto = a.protocol or default_protocol(cfg)
    res = evaluate_run(model, tok, cfg, device, proto, a.limit, tasks)
    name = "results.json" if proto == default_protocol(cfg) and a.limit is None and tasks is None else f"results-{proto}.json"
    S.write_json(Path(a.run[0]) / name, res)
    print_results(res, title=f"{a.run[0]} ({proto} protocol)")
    print(f"written to {Path(a.run[0]) / name}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
