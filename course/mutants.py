"""Plausible wrong answers, each applied to the reference by tests/test_course.py, which
checks that every one of them loses at least one point of its part under the grader
(public + hidden tests). The test grades them in batches of at most one mistake per part:
each part's tests replace the parts it builds on with references, so mistakes of
different parts in one copy do not meet.

Each mutant: (name, part, file, the reference text it replaces, the wrong text). The
replaced text must occur exactly once in the file and lie inside a region of its part
(the grader reads only the regions), so a change to the reference that moves it makes
the test fail loudly instead of silently testing nothing.
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

# ---------------------------------------------------------------- more plausible mistakes, written from scratch
P1_BODY = (
    "        q = self.query(x).view(N, H, 2, self.half)  # (N, H, 2, dk/2)\n"
    "        # both halves in one product and one top-k (fewer, larger kernels than one per half)\n"
    "        s = torch.einsum(\"nhsd,hskd->nhsk\", q, self.keys)  # (N, H, 2, K)\n"
    "        v, i = s.topk(k, dim=-1)  # (N, H, 2, k)\n"
    "        v1, v2, i1, i2 = v[:, :, 0], v[:, :, 1], i[:, :, 0], i[:, :, 1]  # (N, H, k) each\n"
    "        cand = (v1.unsqueeze(-1) + v2.unsqueeze(-2)).view(N, H, k * k)  # all k*k sums\n"
    "        scores, flat = cand.topk(k, dim=-1)  # (N, H, k)\n"
    "        a = i1.gather(-1, flat // k)  # which first-half key\n"
    "        b = i2.gather(-1, flat % k)  # which second-half key\n"
    "        return scores, a * K + b\n")
P7_MV = ("                st[\"exp_avg\"].index_copy_(0, rows, m)\n"
         "                st[\"exp_avg_sq\"].index_copy_(0, rows, v)\n")
P8_PAIRED = "            idx = rng.integers(0, len(groups[0]), len(groups[0]))\n"
P8_UNPAIRED = "            values[r] = statistic([g[rng.integers(0, len(g), len(g))] for g in groups])\n"
P9_DOM = "        dominated = any((x2 >= x and y2 <= y) and (x2 > x or y2 < y) for j, (x2, y2) in enumerate(points) if j != i)\n"
P9_SORT = "    return sorted(keep, key=lambda i: (points[i][0], points[i][1]))\n"
P8_END = "    lo, hi = np.percentile(values, [2.5, 97.5])\n    return float(lo), float(hi)\n    # END SOLUTION\n"
PPL = "    return 100.0 * (math.exp((loglik_base - loglik_trained) / tokens) - 1.0)\n"

MUTANTS += [
    # part 1
    ("lookup scores all K^2 keys one token at a time (a Python loop)", "part1", "memory.py", P1_BODY,
     "        out_s, out_i = [], []\n"
     "        for n in range(N):\n"
     "            q = self.query(x[n : n + 1]).view(1, H, 2, self.half)\n"
     "            s = torch.einsum(\"nhsd,hskd->nhsk\", q, self.keys)\n"
     "            full = (s[:, :, 0].unsqueeze(-1) + s[:, :, 1].unsqueeze(-2)).reshape(1, H, K * K)\n"
     "            v, i = full.topk(k, dim=-1)\n"
     "            out_s.append(v)\n            out_i.append(i)\n"
     "        return torch.cat(out_s), torch.cat(out_i)\n"),
    ("lookup right, but a Python loop over tokens", "part1", "memory.py", P1_BODY,
     "        out_s, out_i = [], []\n"
     "        for n in range(N):\n"
     "            q = self.query(x[n : n + 1]).view(1, H, 2, self.half)\n"
     "            s = torch.einsum(\"nhsd,hskd->nhsk\", q, self.keys)\n"
     "            v, i = s.topk(k, dim=-1)\n"
     "            cand = (v[:, :, 0].unsqueeze(-1) + v[:, :, 1].unsqueeze(-2)).view(1, H, k * k)\n"
     "            sc, flat = cand.topk(k, dim=-1)\n"
     "            out_s.append(sc)\n"
     "            out_i.append(i[:, :, 0].gather(-1, flat // k) * K + i[:, :, 1].gather(-1, flat % k))\n"
     "        return torch.cat(out_s), torch.cat(out_i)\n"),
    ("the two halves' keys swapped in the slot id", "part1", "memory.py",
     "        a = i1.gather(-1, flat // k)  # which first-half key\n        b = i2.gather(-1, flat % k)  # which second-half key\n",
     "        a = i2.gather(-1, flat // k)\n        b = i1.gather(-1, flat % k)\n"),
    ("the i-th best of each half paired (the diagonal), not all k*k sums", "part1", "memory.py",
     "        cand = (v1.unsqueeze(-1) + v2.unsqueeze(-2)).view(N, H, k * k)  # all k*k sums\n"
     "        scores, flat = cand.topk(k, dim=-1)  # (N, H, k)\n"
     "        a = i1.gather(-1, flat // k)  # which first-half key\n"
     "        b = i2.gather(-1, flat % k)  # which second-half key\n"
     "        return scores, a * K + b\n",
     "        return v1 + v2, i1 * K + i2\n"),
    ("candidate scores multiplied instead of added", "part1", "memory.py",
     "        cand = (v1.unsqueeze(-1) + v2.unsqueeze(-2)).view(N, H, k * k)  # all k*k sums\n",
     "        cand = (v1.unsqueeze(-1) * v2.unsqueeze(-2)).view(N, H, k * k)\n"),
    ("slot ids as int32", "part1", "memory.py", "        return scores, a * K + b\n", "        return scores, (a * K + b).int()\n"),
    ("query halves taken from interleaved entries (wrong view)", "part1", "memory.py",
     "        q = self.query(x).view(N, H, 2, self.half)  # (N, H, 2, dk/2)\n",
     "        q = self.query(x).view(N, H, self.half, 2).transpose(-1, -2)\n"),
    ("the smallest half-scores kept", "part1", "memory.py",
     "        v, i = s.topk(k, dim=-1)  # (N, H, 2, k)\n", "        v, i = s.topk(k, dim=-1, largest=False)\n"),
    # part 2
    ("int64 counts when there is no mask", "part2", "memory.py",
     "    return torch.bincount(idx.reshape(-1), weights=weights, minlength=S).float()\n",
     "    c = torch.bincount(idx.reshape(-1), weights=weights, minlength=S)\n    return c if weights is None else c.float()\n"),
    ("no check of the mask's shape", "part2", "memory.py",
     "        if token_mask.shape != idx.shape[:2]:\n",
     "        if token_mask.dim() != 2:\n"),
    ("no minlength (the table is as long as the largest id read)", "part2", "memory.py",
     "    return torch.bincount(idx.reshape(-1), weights=weights, minlength=S).float()\n",
     "    return torch.bincount(idx.reshape(-1), weights=weights).float()\n"),
    ("row offsets of b*B instead of b*S", "part2", "memory.py",
     "        offsets = (torch.arange(B, device=idx.device) * S).view(B, 1, 1)\n",
     "        offsets = (torch.arange(B, device=idx.device) * B).view(B, 1, 1)\n"),
    ("mask repeated in the wrong order over the reads", "part2", "memory.py",
     "        weights = token_mask.to(torch.float32).unsqueeze(-1).expand(idx.shape).reshape(-1)\n",
     "        weights = token_mask.to(torch.float32).reshape(-1).repeat(idx.shape[-1])\n"),
    ("mask inverted (padding counted, real tokens not)", "part2", "memory.py",
     "        weights = token_mask.to(torch.float32).unsqueeze(-1).expand(idx.shape).reshape(-1)\n",
     "        weights = (1 - token_mask.to(torch.float32)).unsqueeze(-1).expand(idx.shape).reshape(-1)\n"),
    ("per-row counts ignore the mask", "part2", "memory.py",
     "        c = torch.bincount((idx + offsets).reshape(-1), weights=weights, minlength=B * S)\n",
     "        c = torch.bincount((idx + offsets).reshape(-1), minlength=B * S)\n"),
    # part 3
    ("background reads counted without the attention mask", "part3", "smf_mini.py",
     "            c = count_reads(mem, enc[\"attention_mask\"], per_row=True)  # (B, slots)\n",
     "            c = count_reads(mem, None, per_row=True)\n"),
    ("df counts batches, not documents", "part3", "smf_mini.py",
     "            df[i] += (c > 0).float().sum(0)\n", "            df[i] += (c.sum(0) > 0).float()\n"),
    ("total counts documents, not reads", "part3", "smf_mini.py",
     "            total[i] += c.sum(0)\n", "            total[i] += (c > 0).float().sum(0)\n"),
    ("df overwritten by each batch instead of added up", "part3", "smf_mini.py",
     "            df[i] += (c > 0).float().sum(0)\n", "            df[i] = (c > 0).float().sum(0)\n"),
    ("background share in float32", "part3", "smf_mini.py",
     "    b = background.total[layer].double() + 1.0  # (rows,)\n", "    b = background.total[layer].float() + 1.0\n"),
    ("smoothing added after the sum (one +1, not one per row)", "part3", "smf_mini.py",
     "    b = background.total[layer].double() + 1.0  # (rows,)\n    return b / b.sum()\n",
     "    b = background.total[layer].double()\n    return (b + 1) / (b.sum() + 1)\n"),
    # part 4
    ("TF-IDF with log base 10", "part4", "smf_mini.py",
     "            score = p * torch.log((background.n_docs + 1) / (df + 1))\n",
     "            score = p * torch.log10((background.n_docs + 1) / (df + 1))\n"),
    ("KL with log base 2", "part4", "smf_mini.py",
     "            score = p * torch.log(torch.where(c > 0, p, 1.0) / background_share(background, layer))\n",
     "            score = p * torch.log2(torch.where(c > 0, p, 1.0) / background_share(background, layer))\n"),
    ("IDF upside down", "part4", "smf_mini.py",
     "            score = p * torch.log((background.n_docs + 1) / (df + 1))\n",
     "            score = p * torch.log((df + 1) / (background.n_docs + 1))\n"),
    ("TF-IDF with raw counts instead of the share p", "part4", "smf_mini.py",
     "            score = p * torch.log((background.n_docs + 1) / (df + 1))\n",
     "            score = c * torch.log((background.n_docs + 1) / (df + 1))\n"),
    ("KL with q / p instead of p / q", "part4", "smf_mini.py",
     "            score = p * torch.log(torch.where(c > 0, p, 1.0) / background_share(background, layer))\n",
     "            score = p * torch.log(background_share(background, layer) / torch.where(c > 0, p, 1.0))\n"),
    ("rows read once left out (c > 1)", "part4", "smf_mini.py", "    eligible = c > 0\n", "    eligible = c > 1\n"),
    ("IDF with the background's total reads instead of df", "part4", "smf_mini.py",
     "            df = background.df[layer].double()  # (rows,)\n", "            df = background.total[layer].double()\n"),
    # part 5
    ("every row scoring >= the t-th best (ties add rows)", "part5", "smf_mini.py",
     "    vals, idx = score.topk(min(t, score.numel()))\n"
     "    return idx[torch.isfinite(vals)].sort().values  # drop unread (and ineligible) rows (one host sync per step)\n",
     "    kth = score.topk(min(t, score.numel())).values[-1]\n"
     "    return torch.nonzero((score >= kth) & torch.isfinite(score)).flatten()\n"),
    ("ids in score order, not sorted", "part5", "smf_mini.py",
     "    return idx[torch.isfinite(vals)].sort().values  # drop unread (and ineligible) rows (one host sync per step)\n",
     "    return idx[torch.isfinite(vals)]\n"),
    ("topk(t) without the min (fails when t exceeds the rows)", "part5", "smf_mini.py",
     "    vals, idx = score.topk(min(t, score.numel()))\n", "    vals, idx = score.topk(t)\n"),
    ("the lowest scores selected", "part5", "smf_mini.py",
     "    vals, idx = score.topk(min(t, score.numel()))\n", "    vals, idx = score.topk(min(t, score.numel()), largest=False)\n"),
    ("t - 1 rows (off by one)", "part5", "smf_mini.py",
     "    vals, idx = score.topk(min(t, score.numel()))\n", "    vals, idx = score.topk(min(t, score.numel()) - 1)\n"),
    ("the finite mask applied after sorting (misaligned)", "part5", "smf_mini.py",
     "    return idx[torch.isfinite(vals)].sort().values  # drop unread (and ineligible) rows (one host sync per step)\n",
     "    return idx.sort().values[torch.isfinite(vals)]\n"),
    # part 6
    ("SGD moves along +grad", "part6", "smf_mini.py",
     "                w.index_add_(0, rows, self._capped(-lr * g).to(w.dtype))\n",
     "                w.index_add_(0, rows, self._capped(lr * g).to(w.dtype))\n"),
    ("the base lr instead of the scheduled one", "part6", "smf_mini.py",
     "                w.index_add_(0, rows, self._capped(-lr * g).to(w.dtype))\n",
     "                w.index_add_(0, rows, self._capped(-self.base_lr * g).to(w.dtype))\n"),
    ("rows set to the move instead of moved (index_copy_)", "part6", "smf_mini.py",
     "                w.index_add_(0, rows, self._capped(-lr * g).to(w.dtype))\n",
     "                w.index_copy_(0, rows, self._capped(-lr * g).to(w.dtype))\n"),
    ("the gradient capped, not the move", "part6", "smf_mini.py",
     "                w.index_add_(0, rows, self._capped(-lr * g).to(w.dtype))\n",
     "                w.index_add_(0, rows, (-lr * self._capped(g)).to(w.dtype))\n"),
    ("every row scaled to the cap (short rows lengthened)", "part6", "smf_mini.py",
     "        return delta * (self.row_step_cap / norms.clamp_min(1e-12)).clamp(max=1.0)\n",
     "        return delta * (self.row_step_cap / norms.clamp_min(1e-12))\n"),
    ("norms over the columns (dim=0)", "part6", "smf_mini.py",
     "        norms = delta.norm(dim=1, keepdim=True)  # (t, 1)\n", "        norms = delta.norm(dim=0, keepdim=True)\n"),
    ("the squared norm (no square root)", "part6", "smf_mini.py",
     "        norms = delta.norm(dim=1, keepdim=True)  # (t, 1)\n", "        norms = (delta * delta).sum(dim=1, keepdim=True)\n"),
    ("clamp(min=1) instead of max (the cap never shortens)", "part6", "smf_mini.py",
     "        return delta * (self.row_step_cap / norms.clamp_min(1e-12)).clamp(max=1.0)\n",
     "        return delta * (self.row_step_cap / norms.clamp_min(1e-12)).clamp(min=1.0)\n"),
    # part 7
    ("Adam moments not written back to the state", "part7", "smf_mini.py", P7_MV, ""),
    ("step counts not written back", "part7", "smf_mini.py",
     "                st[\"steps\"][rows] += 1\n                n = st[\"steps\"][rows].double().unsqueeze(1)  # (t, 1)\n",
     "                n = (st[\"steps\"][rows] + 1).double().unsqueeze(1)\n"),
    ("no bias correction", "part7", "smf_mini.py",
     "                m_hat = m / (1 - b1 ** n).float()\n                v_hat = v / (1 - b2 ** n).float()\n",
     "                m_hat, v_hat = m, v\n"),
    ("weight decay added to the gradient (Adam, not AdamW)", "part7", "smf_mini.py",
     "                st = self.state[i]\n                b1, b2 = self.betas\n",
     "                st = self.state[i]\n                b1, b2 = self.betas\n"
     "                g = g + self.weight_decay * w.index_select(0, rows).float()\n"),
    ("weight decay not scaled by the lr", "part7", "smf_mini.py",
     "                delta = -lr * self.weight_decay * old - lr * m_hat / (v_hat.sqrt() + self.eps)\n",
     "                delta = -self.weight_decay * old - lr * m_hat / (v_hat.sqrt() + self.eps)\n"),
    ("betas swapped", "part7", "smf_mini.py", "                b1, b2 = self.betas\n", "                b2, b1 = self.betas\n"),
    ("Adam move not capped", "part7", "smf_mini.py",
     "                w.index_copy_(0, rows, (old + self._capped(delta)).to(w.dtype))\n",
     "                w.index_copy_(0, rows, (old + delta).to(w.dtype))\n"),
    ("every row's step count advanced", "part7", "smf_mini.py",
     "                st[\"steps\"][rows] += 1\n", "                st[\"steps\"] += 1\n"),
    # part 8
    ("the last item never drawn: integers(0, n - 1, n)", "part8", "stats.py", P8_PAIRED,
     "            idx = rng.integers(0, len(groups[0]) - 1, len(groups[0]))\n"),
    ("n - 1 items drawn per replicate", "part8", "stats.py", P8_PAIRED,
     "            idx = rng.integers(0, len(groups[0]), len(groups[0]) - 1)\n"),
    ("unpaired: the last item never drawn", "part8", "stats.py", P8_UNPAIRED,
     "            values[r] = statistic([g[rng.integers(0, len(g) - 1, len(g))] for g in groups])\n"),
    ("a fresh generator each replicate (every replicate the same)", "part8", "stats.py", P8_PAIRED,
     "            idx = np.random.default_rng(seed).integers(0, len(groups[0]), len(groups[0]))\n"),
    ("numpy's global generator instead of rng", "part8", "stats.py", P8_PAIRED,
     "            idx = np.random.randint(0, len(groups[0]), len(groups[0]))\n"),
    ("a 90% interval (5th and 95th percentiles)", "part8", "stats.py",
     P8_END, "    lo, hi = np.percentile(values, [5, 95])\n    return float(lo), float(hi)\n    # END SOLUTION\n"),
    ("percentiles given as fractions", "part8", "stats.py",
     P8_END, "    lo, hi = np.percentile(values, [0.025, 0.975])\n    return float(lo), float(hi)\n    # END SOLUTION\n"),
    ("paired groups drawn independently", "part8", "stats.py",
     P8_PAIRED + "            values[r] = statistic([g[idx] for g in groups])\n",
     P8_PAIRED + "            values[r] = statistic([g[rng.integers(0, len(g), len(g))] for g in groups])\n"),
    ("items drawn without replacement (a permutation)", "part8", "stats.py", P8_PAIRED,
     "            idx = rng.permutation(len(groups[0]))\n"),
    # part 9
    ("frontier with higher forgetting as better", "part9", "stats.py", P9_DOM,
     "        dominated = any((x2 >= x and y2 >= y) and (x2 > x or y2 > y) for j, (x2, y2) in enumerate(points) if j != i)\n"),
    ("dominance needs both strictly better", "part9", "stats.py", P9_DOM,
     "        dominated = any(x2 > x and y2 < y for j, (x2, y2) in enumerate(points) if j != i)\n"),
    ("frontier in order of decreasing learning", "part9", "stats.py", P9_SORT,
     "    return sorted(keep, key=lambda i: (-points[i][0], points[i][1]))\n"),
    ("frontier in input order", "part9", "stats.py", P9_SORT, "    return keep\n"),
    ("perplexity change without the per-token mean", "part9", "stats.py", PPL,
     "    return 100.0 * (math.exp(min(loglik_base - loglik_trained, 700.0)) - 1.0)\n"),
    ("perplexity change as a fraction, not percent", "part9", "stats.py", PPL,
     "    return math.exp((loglik_base - loglik_trained) / tokens) - 1.0\n"),
    ("change of log-perplexity instead of perplexity", "part9", "stats.py", PPL,
     "    return 100.0 * (loglik_base - loglik_trained) / tokens\n"),
    ("points lost as a fraction", "part9", "stats.py",
     "    return 100.0 * (acc_base - acc_trained)\n", "    return acc_base - acc_trained\n"),
    ("points lost relative to the base accuracy", "part9", "stats.py",
     "    return 100.0 * (acc_base - acc_trained)\n", "    return 100.0 * (acc_base - acc_trained) / acc_base\n"),
]
