"""Independent references for the graded tests: slow, obvious implementations (loops, brute
force, float64 numpy) of what each part computes. They share no code with the parts they
check, so a test that compares a part with its reference fails when the part is wrong.

Reading them is allowed (they are in the student copy): each is the *definition* of what
a part computes, written the slow way; the graded part asks for the fast way that the
training loop needs (and part 1 checks that it does not score all K^2 keys).
"""
from __future__ import annotations

import math

import numpy as np
import torch

import memory
import smf_mini


def rng_shapes(seed: int) -> np.random.Generator:
    return np.random.default_rng(1000 + seed)


def random_memory(seed: int, d: int = 16, **kw) -> memory.ProductKeyMemory:
    """A product-key memory of a random size (or the sizes given) with random weights."""
    g = rng_shapes(seed)
    K = int(kw.pop("K", g.choice([4, 8, 16, 32])))
    cfg = memory.MemoryConfig(slots=K * K, heads=int(kw.pop("heads", g.integers(1, 5))),
                              topk=int(kw.pop("topk", g.integers(1, min(K, 8) + 1))),
                              key_dim=int(kw.pop("key_dim", g.choice([4, 8, 16]))), layers=[0], **kw)
    torch.manual_seed(seed)
    return memory.ProductKeyMemory(d, cfg)


@torch.no_grad()
def brute_force_lookup(mem: memory.ProductKeyMemory, x: torch.Tensor):
    """Score every one of the K^2 product keys and keep the k best per head (sorted, best first)."""
    N, H, K, half, k = x.shape[0], mem.heads, mem.n_sub, mem.half, mem.topk
    q = (x @ mem.query.weight.T).view(N, H, 2, half)
    scores = torch.empty(N, H, K * K)
    for a in range(K):
        for b in range(K):
            scores[:, :, a * K + b] = (q[:, :, 0] * mem.keys[:, 0, a]).sum(-1) + (q[:, :, 1] * mem.keys[:, 1, b]).sum(-1)
    return scores.topk(k, dim=-1)


def sort_by_score(scores: torch.Tensor, ids: torch.Tensor):
    order = scores.argsort(dim=-1, descending=True)
    return scores.gather(-1, order), ids.gather(-1, order)


def loop_counts(idx: torch.Tensor, mask: torch.Tensor | None, slots: int, per_row: bool = False) -> torch.Tensor:
    """Reads per slot by plain loops: idx (B, T, R), mask (B, T) or None."""
    B, T, R = idx.shape
    out = torch.zeros(B, slots)
    for b in range(B):
        for t in range(T):
            if mask is None or mask[b, t]:
                for r in range(R):
                    out[b, int(idx[b, t, r])] += 1
    return out if per_row else out.sum(0)


class FakeMemory:
    """Just what count_reads looks at: the slots read by the last forward, and the size."""

    def __init__(self, idx: torch.Tensor, slots: int):
        self.last_indices = idx
        self.cfg = memory.MemoryConfig(slots=slots, topk=1, layers=[0])


def share_np(total: np.ndarray) -> np.ndarray:
    b = total.astype(np.float64) + 1.0
    return b / b.sum()


def scores_np(counts: np.ndarray, rule: str, df: np.ndarray | None = None, total: np.ndarray | None = None, n_docs: int = 0) -> np.ndarray:
    """TF, TF-IDF or KL scores, element by element, -inf for unread rows."""
    c = counts.astype(np.float64)
    p = c / max(c.sum(), 1.0)
    q = share_np(total) if total is not None else None
    out = np.full(c.shape, -np.inf)
    for i in range(len(c)):
        if c[i] <= 0:
            continue
        if rule == "tf":
            out[i] = p[i]
        elif rule == "tfidf":
            out[i] = p[i] * math.log((n_docs + 1) / (df[i] + 1))
        else:
            out[i] = p[i] * math.log(p[i] / q[i])
    return out


def bg(df, total, n_docs, layer=0) -> smf_mini.BackgroundStats:
    return smf_mini.BackgroundStats({layer: torch.as_tensor(df, dtype=torch.float32)},
                                    {layer: torch.as_tensor(total, dtype=torch.float32)}, n_docs)


def capped_np(delta: np.ndarray, cap: float) -> np.ndarray:
    out = delta.astype(np.float64).copy()
    if cap <= 0:
        return out
    for r in range(len(out)):
        n = math.sqrt(float((out[r] ** 2).sum()))
        if n > cap:
            out[r] *= cap / n
    return out


def reference_capped(self, delta: torch.Tensor) -> torch.Tensor:
    """SparseValueUpdate._capped by the loop above (part 6), for the tests of the parts that use it."""
    return torch.as_tensor(capped_np(delta.double().cpu().numpy(), self.row_step_cap), dtype=delta.dtype)


def reference_share(background, layer: int) -> torch.Tensor:
    """smf_mini.background_share by the formula (part 3), for the tests of the parts that use it."""
    return torch.tensor(share_np(background.total[layer].double().cpu().numpy()))


class LoopAdamW:
    """Row-wise AdamW, one row at a time in float64: a row's moments and step count change
    only on the steps that select it; decoupled weight decay on selected rows only."""

    def __init__(self, w: np.ndarray, lr: float, betas=(0.9, 0.999), eps=1e-8, wd=0.0, cap=0.0):
        self.w = w.astype(np.float64).copy()
        self.m, self.v = np.zeros_like(self.w), np.zeros_like(self.w)
        self.n = np.zeros(len(w), dtype=np.int64)
        self.lr, self.b1, self.b2, self.eps, self.wd, self.cap = lr, betas[0], betas[1], eps, wd, cap

    def step(self, rows, grads):
        deltas = []
        for r, g in zip(rows, grads):
            self.n[r] += 1
            self.m[r] = self.b1 * self.m[r] + (1 - self.b1) * g
            self.v[r] = self.b2 * self.v[r] + (1 - self.b2) * g * g
            mh = self.m[r] / (1 - self.b1 ** self.n[r])
            vh = self.v[r] / (1 - self.b2 ** self.n[r])
            deltas.append(-self.lr * self.wd * self.w[r] - self.lr * mh / (np.sqrt(vh) + self.eps))
        deltas = capped_np(np.array(deltas).reshape(len(rows), -1), self.cap)
        for r, d in zip(rows, deltas):
            self.w[r] += d


def tiny_model_with_memory(layers=(0, 1), K=8, seed=0):
    import common

    model = common.tiny_random_model("llama", seed=seed)
    memory.attach_memory(model, memory.MemoryConfig(slots=K * K, heads=2, topk=4, key_dim=8, layers=list(layers)), seed=seed)
    return model


def naive_pareto(points) -> list[int]:
    """Frontier by a sweep: sort by learning (high first), keep a point if its forgetting is
    below every point with at least its learning."""
    idx = sorted(range(len(points)), key=lambda i: (-points[i][0], points[i][1]))
    keep, best = [], math.inf
    for j, i in enumerate(idx):
        x, y = points[i]
        same_x_better = any(points[k][0] == x and points[k][1] < y for k in idx)
        if y < best and not same_x_better:
            keep.append(i)
        if y < best:
            best = y
    # equal points do not dominate each other: keep every copy of a kept point
    keep = [i for i in range(len(points)) if any(points[i] == points[k] for k in keep)]
    return sorted(keep, key=lambda i: (points[i][0], points[i][1]))
