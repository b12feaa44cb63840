"""Checks for the notebooks' warm-up exercises (not graded: the graded parts are in
course/HANDOUT.md and use the same ideas in the real code).

`check(name, fn)` runs the learner's function on random inputs (a new draw each time it
is called) and compares it with an independent computation written here (plain loops and
formulas, never the graded parts, so the checks work in a student copy before the parts
are written), or with a property that only a right answer has. The library's own code is
blocked while the learner's function runs where it would be the answer. It prints
"correct: ..." or "not yet: ..." with what went wrong, never the expected numbers, and
returns the function so later cells can use it.

`needs(...)` guards a cell that uses a graded part (course/HANDOUT.md) or an exercise: in a
student copy where that part is still a stub, it prints one line naming what to finish
first and returns False, so the cell does nothing (and no traceback) until it is done.
"""
from __future__ import annotations

import math
import re
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

import memory
import smf_mini
import stats


ROOT = Path(memory.__file__).resolve().parent
_DONE: dict[str, bool] = {}  # exercise name -> its check said correct


def part_where(part: str) -> str:
    """Where a graded part lives, from course/parts.py (e.g. 'memory.py: ProductKeyMemory.lookup')."""
    m = re.search(r'"' + part + r'": \{[^}]*"where": "([^"]*)"', (ROOT / "course" / "parts.py").read_text())
    return m.group(1) if m else part


def unfinished(part: str) -> bool:
    """True while a graded part is still a stub in this copy (its NotImplementedError line is there)."""
    stub = 'raise NotImplementedError("' + part + ':'
    return any(stub in (ROOT / f).read_text() for f in ("memory.py", "smf_mini.py", "stats.py"))


def needs(*what: str) -> bool:
    """True if every graded part ('part1') and exercise ('naive_topk') named is done; otherwise
    print one line saying what to finish first, and return False."""
    parts = [w for w in what if w.startswith("part") and unfinished(w)]
    if len(parts) <= 2:
        todo = [f"{w} ({part_where(w)})" for w in parts]
    else:  # a long list: the names, and where to look them up
        todo = [", ".join(parts[:-1]) + f" and {parts[-1]} (course/HANDOUT.md, 'The parts', says where each is)"]
    todo += [f"the exercise {w} above" for w in what if not w.startswith("part") and not _DONE.get(w)]
    if todo:
        print("This cell needs " + " and ".join(todo) + (": finish it" if len(todo) == 1 else ": finish them")
              + " first, then run this cell again.")
    return not todo


def check(name: str, fn):
    try:
        ok, msg = CHECKS[name](fn)
    except NotImplementedError as e:
        m = re.match(r"(part\d+):", str(e))
        if m:
            ok, msg = False, f"{name} uses {m.group(1)} ({part_where(m.group(1))}), which is not written yet: finish it first"
        else:
            ok, msg = False, f"{name} still raises NotImplementedError: fill in the cell above"
    except _Blocked as e:
        ok, msg = False, str(e)
    _DONE[name] = ok
    print(("correct: " if ok else "not yet: ") + msg)
    return fn


class _Blocked(Exception):
    pass


@contextmanager
def _blocked(owner, attr: str, why: str):
    """While the learner's function runs, owner.attr raises (so it cannot be the answer)."""
    saved = getattr(owner, attr)

    def refuse(*a, **k):
        raise _Blocked(why)

    setattr(owner, attr, refuse)
    try:
        yield
    finally:
        setattr(owner, attr, saved)


def _random_memory(g: torch.Generator, d: int = 16):
    K = int(torch.randint(3, 12, (1,), generator=g))
    cfg = memory.MemoryConfig(slots=K * K, heads=int(torch.randint(1, 4, (1,), generator=g)),
                              topk=int(torch.randint(1, K + 1, (1,), generator=g)), key_dim=8, layers=[0])
    torch.manual_seed(int(torch.randint(0, 10**6, (1,), generator=g)))
    return memory.ProductKeyMemory(d, cfg)


@torch.no_grad()
def _brute_topk(mem, x):
    """Every one of the K^2 product keys scored by a loop; the k best per head, best first."""
    N, H, K, half = x.shape[0], mem.heads, mem.n_sub, mem.half
    q = (x @ mem.query.weight.T).view(N, H, 2, half)
    scores = torch.empty(N, H, K * K)
    for a in range(K):
        for b in range(K):
            scores[:, :, a * K + b] = (q[:, :, 0] * mem.keys[:, 0, a]).sum(-1) + (q[:, :, 1] * mem.keys[:, 1, b]).sum(-1)
    return scores.topk(mem.topk, dim=-1)


def _naive_topk(fn):
    g = torch.Generator().manual_seed(int(np.random.default_rng().integers(10**6)))
    for _ in range(3):
        mem = _random_memory(g)
        x = mem.normalize(torch.randn(7, 16, generator=g))
        with torch.no_grad(), _blocked(memory.ProductKeyMemory, "lookup", "naive_topk called the product-key lookup; score all K^2 keys yourself"):
            s, i = fn(mem, x)
        ref_s, ref_i = _brute_topk(mem, x)
        if s.shape != ref_s.shape or i.shape != ref_i.shape:
            return False, f"shapes {tuple(s.shape)} and {tuple(i.shape)}; expected (N, heads, k) for both"
        order = s.argsort(-1, descending=True)
        s, i = s.gather(-1, order), i.gather(-1, order)
        if not (torch.allclose(s, ref_s, atol=1e-5) and torch.equal(i, ref_i)):
            return False, "the slots or scores are not the k best of all K^2 product keys (slot id = a*K + b)"
    return True, "your naive search finds the k best of all K^2 keys on 3 random memories"


def _memory_read(fn):
    g = torch.Generator().manual_seed(int(np.random.default_rng().integers(10**6)))
    mem = _random_memory(g)
    with torch.no_grad():
        mem.values.weight.normal_(generator=g)
        x = torch.randn(2, 5, 16, generator=g)
        with _blocked(memory.ProductKeyMemory, "forward", "memory_read called the memory's forward; build the output from lookup"):
            got = fn(mem, x)
        flat = mem.normalize(x.reshape(-1, 16))
        s, i = _brute_topk(mem, flat)
        read = (torch.softmax(s, -1).unsqueeze(-1) * mem.values.weight[i]).sum((1, 2))
        want = mem.w_out(read * torch.nn.functional.silu(mem.w_in(flat))).view(x.shape)
    if got.shape != want.shape:
        return False, f"shape {tuple(got.shape)}; expected {tuple(want.shape)}, the input's shape"
    if not torch.allclose(got, want, atol=1e-5):
        return False, "the output differs from the memory's: normalise x, softmax the k scores per head, sum the value rows, W_out(read * silu(W_in x))"
    return True, "your read equals the memory layer's output on random values"


def _share_read(fn):
    rng = np.random.default_rng()
    c = torch.tensor(rng.integers(0, 4, 40) * (rng.random(40) < 0.5), dtype=torch.float32)
    got = float(fn(c))
    ok = abs(got - memory.usage_stats(c)["share_read"]) < 1e-6
    return ok, "share of slots read on random counts" + ("" if ok else ": count the slots with at least one read, divided by all slots")


def _tfidf(fn):
    rng = np.random.default_rng()
    n = 30
    c = torch.tensor(rng.integers(0, 5, n) * (rng.random(n) < 0.6), dtype=torch.float32)
    c[0] = 3.0
    n_docs = int(rng.integers(2, 20))
    df = torch.tensor(rng.integers(0, n_docs + 1, n), dtype=torch.float32)
    with _blocked(smf_mini, "score_rows", "tfidf called smf_mini.score_rows; write the formula yourself"):
        got = torch.as_tensor(fn(c, df, n_docs)).double()
    p = c.double() / c.sum()
    want = torch.tensor([float(p[i]) * math.log((n_docs + 1) / (float(df[i]) + 1)) if c[i] > 0 else -math.inf for i in range(n)],
                        dtype=torch.float64)
    unread = c == 0
    if not bool(torch.isneginf(got[unread]).all()):
        return False, "rows the batch did not read must score -inf (so that they are never selected)"
    if not torch.allclose(got[~unread], want[~unread], rtol=1e-5, atol=1e-9):
        return False, "the scores of read rows differ from p(i) * log((N + 1) / (df(i) + 1))"
    return True, "TF-IDF on random counts, -inf on unread rows"


def _capped(fn):
    rng = np.random.default_rng()
    delta = torch.tensor(rng.normal(size=(12, 5)) * rng.uniform(0.01, 3, (12, 1)))
    cap = float(delta.norm(dim=1).median())
    got = fn(delta.clone(), cap)
    norms = got.norm(dim=1)
    over = delta.norm(dim=1) > cap
    if not torch.allclose(got[~over], delta[~over]):
        return False, "rows already within the cap must not change (cap each row on its own, not the whole update)"
    if not torch.allclose(norms[over], torch.full_like(norms[over], cap)):
        return False, "rows over the cap must be shortened to exactly the cap"
    cos = torch.nn.functional.cosine_similarity(got[over], delta[over], dim=1)
    if not torch.allclose(cos, torch.ones_like(cos)):
        return False, "a capped row must keep its direction"
    return True, "each row capped on its own, directions kept"


def _adam_rows(fn):
    """fn(w, m, v, n, rows, g, lr, b1, b2, eps) updates rows in place; compare with torch's Adam on those rows."""
    rng = np.random.default_rng()
    w = torch.tensor(rng.normal(size=(10, 3)))
    m, v, n = torch.zeros_like(w), torch.zeros_like(w), torch.zeros(10, dtype=torch.long)
    refs = {}
    for rows in ([1, 4], [4, 7], [1]):
        g = torch.tensor(rng.normal(size=(len(rows), 3)))
        before = (w.clone(), m.clone(), v.clone(), n.clone())
        fn(w, m, v, n, torch.tensor(rows), g, 0.1, 0.9, 0.999, 1e-8)
        others = [r for r in range(10) if r not in rows]
        if not all(torch.equal(a[others], b[others]) for a, b in zip((w, m, v, n), before)):
            return False, "a row that was not selected changed (its value, moments or step count)"
        for r, gr in zip(rows, g):  # the reference: one torch Adam per row, stepped only when the row is selected
            if r not in refs:
                p = torch.nn.Parameter(before[0][r].clone())
                refs[r] = (p, torch.optim.Adam([p], lr=0.1, betas=(0.9, 0.999), eps=1e-8))
            p, opt = refs[r]
            p.grad = gr.clone()
            opt.step()
    for r, (p, _) in refs.items():
        if not torch.allclose(w[r], p.detach(), atol=1e-7):
            return False, f"row {r} differs from Adam run on that row alone (bias correction uses the row's own step count)"
    return True, "row-wise Adam equals an Adam per row that steps only when its row is selected"


def _bootstrap_mean(fn):
    rng = np.random.default_rng()
    x = rng.normal(size=300)
    lo, hi = fn(x, 2000, np.random.default_rng(1))
    se = x.std(ddof=1) / math.sqrt(len(x))
    if not lo < x.mean() < hi:
        return False, "the interval should contain the sample mean"
    if abs((hi - lo) / (2 * 1.96 * se) - 1) > 0.12:
        return False, "the width is off: redraw len(x) items with replacement each time, then take the 2.5 and 97.5 percentiles"
    if fn(x, 500, np.random.default_rng(3)) != fn(x, 500, np.random.default_rng(3)):
        return False, "draw only from the rng you are given, so that the same seed gives the same interval"
    return True, "on normal data your interval contains the mean and has the normal interval's width"


def _relative_change(fn):
    rng = np.random.default_rng()
    base = {k: float(rng.uniform(1, 20)) for k in ("wiki_ppl", "world_acc", "gk_acc")}
    trained = {k: v * float(rng.uniform(0.5, 1.5)) for k, v in base.items()}
    got = fn(base, trained)
    ok = set(got) == set(base) and all(abs(got[k] - (trained[k] / base[k] - 1)) < 1e-9 for k in base)
    return ok, "relative change on random probes" + ("" if ok else ": (trained - base) / base for every key, positive when the value grew")


CHECKS = {"naive_topk": _naive_topk, "memory_read": _memory_read, "share_read": _share_read, "tfidf": _tfidf,
          "capped": _capped, "adam_rows": _adam_rows, "bootstrap_mean": _bootstrap_mean, "relative_change": _relative_change}
