"""Plausible wrong answers, each applied to the reference by tests/test_course.py, which
checks that every one of them loses points under the grader (public + hidden tests).

Each mutant: (name, part, file, the reference text it replaces, the wrong text). The
replaced text must occur exactly once in the file, so a change to the reference that
moves it makes the test fail loudly instead of silently testing nothing.
"""
from __future__ import annotations

MUTANTS = [
    # part 1: the product-key lookup
    ("lookup scores all K^2 keys (brute force)", "part1", "memory.py",
     "        cand = (v1.unsqueeze(-1) + v2.unsqueeze(-2)).view(N, H, k * k)  # all k*k sums\n"
     "        scores, flat = cand.topk(k, dim=-1)  # (N, H, k)\n"
     "        a = i1.gather(-1, flat // k)  # which first-half key\n"
     "        b = i2.gather(-1, flat % k)  # which second-half key\n"
     "        return scores, a * K + b\n",
     "        full = (s[:, :, 0].unsqueeze(-1) + s[:, :, 1].unsqueeze(-2)).reshape(N, H, K * K)\n"
     "        return full.topk(k, dim=-1)\n"),
    ("lookup keeps the first k of the k*k sums instead of the best k", "part1", "memory.py",
     "        scores, flat = cand.topk(k, dim=-1)  # (N, H, k)\n",
     "        flat = torch.arange(k).expand(N, H, k)\n        scores = cand.gather(-1, flat)\n"),
    ("slot id a*k + b (k, not K)", "part1", "memory.py",
     "        return scores, a * K + b\n", "        return scores, a * k + b\n"),
    # part 2: counting reads
    ("padding counted as reads", "part2", "memory.py",
     "        weights = token_mask.to(torch.float32).unsqueeze(-1).expand(idx.shape).reshape(-1)\n",
     "        weights = None\n"),
    ("per-row counts without the row offsets", "part2", "memory.py",
     "        c = torch.bincount((idx + offsets).reshape(-1), weights=weights, minlength=B * S)\n",
     "        c = torch.bincount(idx.reshape(-1), weights=weights, minlength=B * S)\n"),
    # part 3: background statistics
    ("df counts reads, not documents", "part3", "smf_mini.py",
     "            df[i] += (c > 0).float().sum(0)\n", "            df[i] += c.sum(0)\n"),
    ("no +1 smoothing in the background share", "part3", "smf_mini.py",
     "    b = background.total[layer].double() + 1.0  # (rows,)\n",
     "    b = background.total[layer].double().clamp_min(1e-9)  # (rows,)\n"),
    # part 4: the scores
    ("no -inf for unread rows", "part4", "smf_mini.py",
     "    eligible = c > 0\n", "    eligible = torch.ones_like(c, dtype=torch.bool)\n"),
    ("no +1 smoothing in TF-IDF", "part4", "smf_mini.py",
     "            score = p * torch.log((background.n_docs + 1) / (df + 1))\n",
     "            score = p * torch.log(background.n_docs / df.clamp_min(1))\n"),
    ("KL with raw counts instead of shares", "part4", "smf_mini.py",
     "            score = p * torch.log(torch.where(c > 0, p, 1.0) / background_share(background, layer))\n",
     "            score = p * torch.log(torch.where(c > 0, c, 1.0) / (background.total[layer].double() + 1))\n"),
    # part 5: selection
    ("hard-coded rows (the first t)", "part5", "smf_mini.py",
     "    vals, idx = score.topk(min(t, score.numel()))\n"
     "    return idx[torch.isfinite(vals)].sort().values  # drop unread (and ineligible) rows (one host sync per step)\n",
     "    return torch.arange(min(t, score.numel()))\n"),
    ("unread rows selected when fewer than t were read", "part5", "smf_mini.py",
     "    return idx[torch.isfinite(vals)].sort().values  # drop unread (and ineligible) rows (one host sync per step)\n",
     "    return idx.sort().values\n"),
    # part 6: sparse SGD and the cap
    ("cap on the whole update instead of each row", "part6", "smf_mini.py",
     "        norms = delta.norm(dim=1, keepdim=True)  # (t, 1)\n", "        norms = delta.norm()\n"),
    ("SGD step not capped", "part6", "smf_mini.py",
     "                w.index_add_(0, rows, self._capped(-lr * g).to(w.dtype))\n",
     "                w.index_add_(0, rows, (-lr * g).to(w.dtype))\n"),
    # part 7: row-wise Adam
    ("Adam 'masked' by zeroing the gradient of unselected rows", "part7", "smf_mini.py",
     "                st = self.state[i]\n                b1, b2 = self.betas\n",
     "                st = self.state[i]\n                b1, b2 = self.betas\n"
     "                full = torch.zeros_like(w, dtype=torch.float32)\n                full[rows] = g\n"
     "                rows, g = torch.arange(w.shape[0]), full\n"),
    ("Adam bias correction by the global step count", "part7", "smf_mini.py",
     "                n = st[\"steps\"][rows].double().unsqueeze(1)  # (t, 1)\n",
     "                n = st[\"steps\"].max().double().expand(len(rows), 1)\n"),
    ("weight decay on every row", "part7", "smf_mini.py",
     "                w.index_copy_(0, rows, (old + self._capped(delta)).to(w.dtype))\n",
     "                w.index_copy_(0, rows, (old + self._capped(delta)).to(w.dtype))\n"
     "                w.mul_(1 - lr * self.weight_decay)\n                w.index_copy_(0, rows, (old + self._capped(delta)).to(w.dtype))\n"),
    # part 8: the bootstrap
    ("bootstrap resamples columns, not items", "part8", "stats.py",
     "            values[r] = statistic([g[idx] for g in groups])\n",
     "            values[r] = statistic([g.T[idx % g.shape[-1]].T if g.ndim > 1 else g[idx] for g in groups])\n"),
    ("bootstrap resamples the groups (seeds), not the items", "part8", "stats.py",
     "            idx = rng.integers(0, len(groups[0]), len(groups[0]))\n"
     "            values[r] = statistic([g[idx] for g in groups])\n",
     "            values[r] = statistic([groups[j] for j in rng.integers(0, len(groups), len(groups))])\n"),
    ("bootstrap with a normal approximation instead of percentiles", "part8", "stats.py",
     "    lo, hi = np.percentile(values, [2.5, 97.5])\n    return float(lo), float(hi)\n    # END SOLUTION\n",
     "    lo, hi = values.mean() - 1.96 * values.std(), values.mean() + 1.96 * values.std()\n    return float(lo), float(hi)\n    # END SOLUTION\n"),
    # part 9: forgetting and the frontier
    ("flipped sign in perplexity forgetting", "part9", "stats.py",
     "    return 100.0 * (math.exp((loglik_base - loglik_trained) / tokens) - 1.0)\n",
     "    return 100.0 * (math.exp((loglik_trained - loglik_base) / tokens) - 1.0)\n"),
    ("flipped sign in points lost", "part9", "stats.py",
     "    return 100.0 * (acc_base - acc_trained)\n", "    return 100.0 * (acc_trained - acc_base)\n"),
    ("hard-coded frontier", "part9", "stats.py",
     "    keep = []\n    for i, (x, y) in enumerate(points):\n",
     "    return [0, 1, 3]\n    keep = []\n    for i, (x, y) in enumerate(points):\n"),
    ("frontier that drops ties (equal points dominate each other)", "part9", "stats.py",
     "        dominated = any((x2 >= x and y2 <= y) and (x2 > x or y2 < y) for j, (x2, y2) in enumerate(points) if j != i)\n",
     "        dominated = any((x2 >= x and y2 <= y) for j, (x2, y2) in enumerate(points) if j != i)\n"),
]
