"""scoring.py: batched scoring primitives; every token is scored once.

- `continuation_logprobs`: log-likelihood of continuations given contexts.
- `shared_prompt_logprobs`: the same for several choices after one prompt, running the
  prompt once (KV cache) and only the short choices on top of it.
- `choice_accuracy`: multiple choice from those log-likelihoods (cloze or option text).
- `letter_logprobs`, `letter_accuracy`: the MedMCQA letter protocol: one forward per question,
  the four letter log-probabilities read at the last prompt position.
- `rolling_loglik`, `perplexity`: non-overlapping (or strided) windows over long texts.
- `greedy_generate`: batched greedy decoding with left padding and stop strings.

The protocols that use them (which data, which prompt, which metric) are in eval.py.
"""
from __future__ import annotations

import inspect
import math

import torch

import progress
from common import body_and_head, encode, left_pad, prefix_and_pad, right_pad


def _device(model) -> torch.device:
    return next(model.parameters()).device


def _selected_logprobs(model, ids: torch.Tensor, att: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """log p(ids[r, c+1] | ids[r, :c+1]) for each (r, c): the head runs on those positions only."""
    body, head = body_and_head(model)
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
    pad = prefix_and_pad(tok)[1]
    bar = progress.bar(-(-len(pairs) // batch_size))
    for s in range(0, len(pairs), batch_size):
        chunk = pairs[s : s + batch_size]
        seqs, spans = [], []
        for ctx, cont in chunk:
            c = encode(tok, ctx)
            x = tok(cont, add_special_tokens=False)["input_ids"]
            seqs.append(c + x)
            spans.append((len(c), len(c) + len(x)))
        ids, att = right_pad(seqs, pad)  # (B, L) each
        # position j predicts token j+1: the continuation [a, b) is predicted at [a-1, b-1)
        rows = torch.cat([torch.full((b - a,), i) for i, (a, b) in enumerate(spans)])
        cols = torch.cat([torch.arange(a - 1, b - 1) for a, b in spans])
        lp = _selected_logprobs(model, ids.to(dev), att.to(dev), rows.to(dev), cols.to(dev)).cpu()
        tot = torch.zeros(len(seqs), dtype=torch.float64).index_add_(0, rows, lp.double())
        if mean:
            tot = tot / torch.tensor([b - a for a, b in spans], dtype=torch.float64)
        out += tot.tolist()
        bar.update()
    bar.close()
    return out


def _cache_kwarg(body) -> str:
    """transformers renamed `past_key_values` to `cache` in 5.x; use whichever this version takes."""
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
    body, head = body_and_head(model)
    pad = prefix_and_pad(tok)[1]
    out: list[list[float]] = []
    bar = progress.bar(-(-len(prompts) // batch_size))
    for s in range(0, len(prompts), batch_size):
        P = [encode(tok, p) for p in prompts[s : s + batch_size]]
        C = choices[s : s + batch_size]
        n = len(C[0])
        if any(len(c) != n for c in C):
            raise ValueError("shared_prompt_logprobs needs the same number of choices for every prompt.")
        ids, att = left_pad(P, pad)  # (B, Lp) each
        ids, att = ids.to(dev), att.to(dev)
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
        bar.update()
    bar.close()
    return out


def choice_accuracy(model, tok, items: list[dict], batch_size: int = 8) -> dict:
    """Cloze-style multiple choice: each item's prompt followed by ' ' + choice; the choice
    with the highest summed log-likelihood wins (the harness's `acc`). Also returns the
    mean negative log-likelihood of the correct answer (a finer, continuous signal) and
    the per-item outcomes (for intervals)."""
    lp = shared_prompt_logprobs(model, tok, [it["prompt"] for it in items], [it["choices"] for it in items], batch_size)
    correct = [int(max(range(len(r)), key=r.__getitem__) == it["gold"]) for r, it in zip(lp, items)]
    nll = -sum(r[it["gold"]] for r, it in zip(lp, items)) / len(items)
    return {"acc": sum(correct) / len(items), "gold_nll": nll, "n": len(items), "correct": correct}


@torch.no_grad()
def letter_logprobs(model, tok, prompts: list[str], batch_size: int = 16, letters: str = "ABCD") -> torch.Tensor:
    """(N, len(letters)) log p(' X' | prompt) for each letter: each letter continuation is one
    token, so one forward per prompt gives all of them, read at the last prompt position
    (left padding keeps that position at -1)."""
    dev = _device(model)
    letter_ids = []
    for L in letters:
        ids = tok(" " + L, add_special_tokens=False)["input_ids"]
        if len(ids) != 1:
            raise ValueError(f"letter ' {L}' is {len(ids)} tokens for this tokenizer; letter scoring needs one.")
        letter_ids.append(ids[0])
    letter_ids = torch.tensor(letter_ids, device=dev)
    pad = prefix_and_pad(tok)[1]
    body, head = body_and_head(model)
    out = []
    bar = progress.bar(-(-len(prompts) // batch_size))
    for s in range(0, len(prompts), batch_size):
        ids, att = left_pad([encode(tok, p) for p in prompts[s : s + batch_size]], pad)  # (B, L) each
        hidden = body(input_ids=ids.to(dev), attention_mask=att.to(dev), use_cache=False).last_hidden_state[:, -1]  # (B, d)
        out.append(torch.log_softmax(head(hidden).float(), -1).index_select(-1, letter_ids).cpu())  # (B, letters)
        bar.update()
    bar.close()
    return torch.cat(out)


def letter_accuracy(model, tok, prompts: list[str], golds: list[int], batch_size: int = 16, letters: str = "ABCD") -> dict:
    """MedMCQA letter protocol: the continuation ' A'..' D' with the highest log-likelihood."""
    pred = letter_logprobs(model, tok, prompts, batch_size, letters).argmax(-1)  # (N,)
    correct = (pred == torch.tensor(golds)).int().tolist()
    return {"acc": sum(correct) / len(prompts), "n": len(prompts), "correct": correct}


@torch.no_grad()
def rolling_loglik(model, tok, texts: list[str], max_length: int = 1024, stride: int | None = None, batch_size: int = 4, prefix_token: int | None = None) -> dict:
    """Total log-likelihood of each text with windows of max_length tokens, every token scored once.

    stride None: non-overlapping windows (harness rolling); the first token of a text is
    predicted from `prefix_token` (BOS, else EOS) if given. stride s < max_length: sliding
    windows moving s tokens, each scoring only its last s new tokens with up to
    max_length - s tokens of context (the paper's 1024/512).
    Returns {"loglik": sum, "tokens": count, "per_text": [[loglik, tokens] of each text]}.
    """
    dev = _device(model)
    windows = []  # (input ids, number of scored tokens at the end, index of the text)
    for t, text in enumerate(texts):
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
            windows.append((ids[ctx_start : end + 1], end - begin, t))
            begin = end
    per_text = [[0.0, 0] for _ in texts]
    pad = prefix_and_pad(tok)[1]
    windows.sort(key=lambda w: len(w[0]))  # similar lengths together: less padding
    bar = progress.bar(-(-len(windows) // batch_size))
    for s in range(0, len(windows), batch_size):
        chunk = windows[s : s + batch_size]
        ids, att = right_pad([w for w, _, _ in chunk], pad)  # (B, L) each
        score = torch.zeros((len(chunk), ids.shape[1] - 1))  # 1 where a position's next token is scored
        for i, (w, k, _) in enumerate(chunk):
            score[i, len(w) - 1 - k : len(w) - 1] = 1
        rows, cols = score.nonzero(as_tuple=True)
        lp = _selected_logprobs(model, ids.to(dev), att.to(dev), rows.to(dev), cols.to(dev)).double().cpu()
        per_row = torch.zeros(len(chunk), dtype=torch.float64).index_add_(0, rows, lp)
        for i, (_, k, t) in enumerate(chunk):
            per_text[t][0] += float(per_row[i])
            per_text[t][1] += k
        bar.update()
    bar.close()
    return {"loglik": sum(x[0] for x in per_text), "tokens": sum(x[1] for x in per_text), "per_text": per_text}


def perplexity(model, tok, texts: list[str], max_length: int = 1024, stride: int | None = None, batch_size: int = 4) -> dict:
    r = rolling_loglik(model, tok, texts, max_length, stride, batch_size, prefix_token=tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id)
    return {"ppl": math.exp(-r["loglik"] / r["tokens"]), "tokens": r["tokens"], "per_text": r["per_text"]}


# ---------------------------------------------------------------- greedy generation


@torch.no_grad()
def greedy_generate(model, tok, prompts: list[str], max_new_tokens: int = 32, stop: tuple[str, ...] = (), batch_size: int = 16) -> list[str]:
    """Batched greedy decoding with left padding; text is cut at the first stop string, and a
    batch ends as soon as every sequence in it has produced a stop string."""
    from transformers import StoppingCriteria, StoppingCriteriaList  # heavy (~2 s): only where generation runs

    class StopOnStrings(StoppingCriteria):
        def __init__(self, start: int):
            self.start = start

        def __call__(self, input_ids, scores, **kw):
            texts = tok.batch_decode(input_ids[:, self.start :], skip_special_tokens=True)
            done = [any(s in t for s in stop) for t in texts]
            return torch.tensor(done, device=input_ids.device)

    dev = _device(model)
    pad = prefix_and_pad(tok)[1]
    outs: list[str] = []
    bar = progress.bar(-(-len(prompts) // batch_size))
    for s in range(0, len(prompts), batch_size):
        ids, att = left_pad([encode(tok, p) for p in prompts[s : s + batch_size]], pad)  # (B, L) each
        crit = StoppingCriteriaList([StopOnStrings(ids.shape[1])]) if stop else None
        gen = model.generate(input_ids=ids.to(dev), attention_mask=att.to(dev), max_new_tokens=max_new_tokens, do_sample=False,
                             stopping_criteria=crit, pad_token_id=pad, eos_token_id=tok.eos_token_id)
        for t in tok.batch_decode(gen[:, ids.shape[1] :], skip_special_tokens=True):
            cut = min([t.index(x) for x in stop if x in t], default=len(t))
            outs.append(t[:cut])
        bar.update()
    bar.close()
    return outs
