"""stats.py: 95% intervals and the comparison of methods at matched learning.

Every number smf-mini reports carries an interval, and methods are compared along their
learning-vs-forgetting frontiers, not at one point each. Four kinds of tools:

- `wilson(k, n)`: the Wilson score interval of a proportion (k correct out of n). Better
  than the normal "p +- 1.96 sqrt(p(1-p)/n)" near 0 and 1 and for small n.
- `bootstrap(groups, statistic)`: a percentile bootstrap. `groups` holds one array of
  per-item values per seed; each replicate redraws items with replacement (the same draw
  in every seed when `paired`, as for probes whose items every seed shares) and recomputes
  the statistic. It measures the noise of the finite item set only.
  `bootstrap_seeds_items` folds the spread between seeds (training noise) in as well: each
  replicate first redraws the seeds, then the items within each drawn seed
  (`eval.py --compare --bootstrap seeds-items`).
- `pareto` and `at_level`: a method's frontier (its runs that no other run of the same
  method beats on both learning and forgetting) and, along it, the forgetting
  interpolated at a named learning level ("matched learning").
- A stream's accuracy matrix (train.py --sequence K, docs/STREAM.md): `average_accuracy`,
  `backward_transfer` (Lopez-Paz & Ranzato 2017), `forgetting_per_stage` (Chaudhry et al.
  2018), `retention`, and `bootstrap_columns` for their intervals.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np

Z95 = 1.959963984540054  # the 97.5% point of the standard normal


def wilson(k: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval for k successes out of n:
        centre = (p + z^2/2n) / (1 + z^2/n),   half = z sqrt(p(1-p)/n + z^2/4n^2) / (1 + z^2/n)."""
    if n <= 0:
        raise ValueError("wilson needs n >= 1.")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap(groups: Sequence[np.ndarray], statistic: Callable[[list[np.ndarray]], float], reps: int = 2000,
              paired: bool = True, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of statistic(groups) under resampling of items.

    groups: one array per seed, items along axis 0 (rows may hold several numbers, e.g.
    log-likelihood and token count of one document). paired: draw the same item indices
    for every group (they must then have equal lengths: ValueError otherwise). A replicate
    draws len(g) indices uniformly from all of 0 .. len(g) - 1 (the last item included), with
    replacement, and passes g[indices] for every group. The statistic is called exactly
    `reps` times, once per replicate (not on the original data), with draws from
    np.random.default_rng(seed) only, so that a seed gives the same interval."""
    rng = np.random.default_rng(seed)
    groups = [np.asarray(g, dtype=np.float64) for g in groups]
    if paired and len({len(g) for g in groups}) != 1:
        raise ValueError("paired bootstrap needs the same number of items in every group.")
    # BEGIN SOLUTION part8 "reps times: draw len(g) item indices (axis 0) with replacement from rng (one draw shared by all groups when paired), recompute the statistic; return the 2.5 and 97.5 percentiles"
    values = np.empty(reps)
    for r in range(reps):
        if paired:
            idx = rng.integers(0, len(groups[0]), len(groups[0]))
            values[r] = statistic([g[idx] for g in groups])
        else:
            values[r] = statistic([g[rng.integers(0, len(g), len(g))] for g in groups])
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)
    # END SOLUTION


def pareto(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the frontier of (learning, forgetting) points: higher learning and lower
    forgetting are better; a point is dropped if another has learning >= and forgetting <=
    with one of them strict. Returned in order of increasing learning."""
    # BEGIN SOLUTION part9 "keep i unless some other point has learning >= and forgetting <= (one strictly); sort the kept indices by learning"
    keep = []
    for i, (x, y) in enumerate(points):
        dominated = any((x2 >= x and y2 <= y) and (x2 > x or y2 < y) for j, (x2, y2) in enumerate(points) if j != i)
        if not dominated:
            keep.append(i)
    return sorted(keep, key=lambda i: (points[i][0], points[i][1]))
    # END SOLUTION


def perplexity_change(loglik_base: float, loglik_trained: float, tokens: float) -> float:
    """Forgetting on a text probe, in percent: how much the trained model's perplexity
    exceeds the base model's on the same tokens. Perplexity = exp(-loglik / tokens), so
        100 * (ppl_trained / ppl_base - 1) = 100 * (exp((loglik_base - loglik_trained) / tokens) - 1).
    Positive = the model got worse (it forgot); negative = it got better."""
    # BEGIN SOLUTION part9 "100 * (exp((loglik_base - loglik_trained) / tokens) - 1): positive when the trained model is worse"
    return 100.0 * (math.exp((loglik_base - loglik_trained) / tokens) - 1.0)
    # END SOLUTION


def points_lost(acc_base: float, acc_trained: float) -> float:
    """Forgetting on a question probe, in points: 100 * (base accuracy - trained accuracy).
    Positive = the model got worse (it forgot)."""
    # BEGIN SOLUTION part9 "accuracy points the trained model lost against the base: positive when it got worse"
    return 100.0 * (acc_base - acc_trained)
    # END SOLUTION


# The unit of each tiny probe's forgetting (perplexity_change for WikiText, points_lost for the others).
FORGET_UNIT = {"wiki_ppl": "% perplexity", "world_acc": "points lost", "gk_acc": "points lost"}


def at_level(xs: Sequence[float], ys: Sequence[float], level: float) -> float | None:
    """y interpolated linearly at x = level along points sorted by x (a frontier).
    None when the level lies outside the points' range: never extrapolate."""
    pts = sorted(zip(xs, ys))
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if x0 <= level <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (level - x0) / (x1 - x0)
    if len(pts) and pts[0][0] == level:
        return pts[0][1]
    return None


def bootstrap_seeds_items(groups: Sequence[np.ndarray], statistic: Callable[[list[np.ndarray]], float], reps: int = 2000,
                          paired: bool = True, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of statistic(groups) under a two-level resampling: first the
    seeds (k groups drawn with replacement from the k there are), then the items within
    each drawn seed (the same item indices in every drawn seed when `paired`, as in
    `bootstrap`). It covers both the noise of the finite item set and the training noise
    between seeds, which `bootstrap` leaves out.

    Two cases to check it by hand: with one seed the seed draw is always that seed, and the
    items are drawn from the same generator in the same order as `bootstrap`, so the
    interval is exactly `bootstrap`'s; with no spread within seeds (every item of a seed
    equal) only the seed draw moves the statistic, so the interval is that of the
    seed means alone (seeds 0 and 1 of a mean: draws of mean 0, 1/2 and 1 with
    probabilities 1/4, 1/2, 1/4, so the interval is [0, 1])."""
    groups = [np.asarray(g, dtype=np.float64) for g in groups]
    if not groups:
        raise ValueError("bootstrap_seeds_items needs at least one group (seed).")
    if paired and len({len(g) for g in groups}) != 1:
        raise ValueError("paired bootstrap needs the same number of items in every group.")
    k = len(groups)
    seed_rng = np.random.default_rng([seed, 1])  # the seed draws, from a generator of their own
    equal = len({len(g) for g in groups}) == 1
    # The item draws are `bootstrap`'s own (same generator, same order): it resamples item
    # *indices*, and the statistic below looks the drawn seeds' items up by them. With equal
    # lengths (paired, or unpaired with the same items per seed) the j-th index draw goes to
    # the j-th drawn seed; with unequal lengths each drawn seed uses its own group's draw.
    index_groups = [np.arange(len(g), dtype=np.float64) for g in groups]

    def two_level(drawn_idx: list[np.ndarray]) -> float:
        picks = seed_rng.integers(0, k, k) if k > 1 else range(k)
        idx = [ix.astype(np.int64) for ix in drawn_idx]
        return statistic([groups[s][idx[j] if equal else idx[s]] for j, s in enumerate(picks)])

    return bootstrap(index_groups, two_level, reps=reps, paired=paired, seed=seed)


# ---------------------------------------------------------------- a stream of tasks (continual learning)
#
# train.py --sequence K trains K tasks one after another and, after each, tests every task.
# R is the accuracy matrix, (K+1) x K: row 0 the base model, row l (1..K) the model after
# training stage l, column j (0-based) the held-out questions of stage j+1. So R[l, j] with
# l = j+1 is a stage tested right after it was learned, and R[K, :] the end of the stream.


def _check_stream_matrix(R) -> np.ndarray:
    """R as a float array of shape (K+1, K) with K >= 2 (one sentence if not)."""
    R = np.asarray(R, dtype=np.float64)
    if R.ndim != 2 or R.shape[1] < 2 or R.shape[0] != R.shape[1] + 1:
        raise ValueError(f"a stream's accuracy matrix has K+1 rows (base, then one per stage) and K >= 2 columns; got shape {R.shape}.")
    return R


def average_accuracy(R) -> float:
    """ACC = (1/K) sum_j R[K, j]: mean accuracy over all stages at the end of the stream
    (Lopez-Paz & Ranzato 2017, GEM)."""
    R = _check_stream_matrix(R)
    return float(R[-1].mean())


def backward_transfer(R) -> float:
    """BWT = 1/(K-1) sum_{j=1}^{K-1} (R[K, j] - R[j, j]) in the papers' 1-based stage numbers
    (Lopez-Paz & Ranzato 2017, GEM): how much each earlier stage's accuracy changed between
    just after it was learned and the end. Negative = forgetting. With R's base row 0 and
    0-based columns, stage j+1 was just learned in row j+1, column j."""
    R = _check_stream_matrix(R)
    K = R.shape[1]
    return float(np.mean([R[K, j] - R[j + 1, j] for j in range(K - 1)]))


def forgetting_per_stage(R) -> list[float]:
    """f_j = max_{l in 1..K-1} R[l, j] - R[K, j] for each stage j < K (Chaudhry et al. 2018,
    RWalk): the best accuracy a stage ever had before the last stage, minus its accuracy at
    the end. Positive = forgotten. The rows searched are the trained ones (1..K-1, never the
    base row), as in the paper's definition; rows from before stage j was trained sit near
    chance and rarely give the maximum."""
    R = _check_stream_matrix(R)
    K = R.shape[1]
    return [float(R[1:K, j].max() - R[K, j]) for j in range(K - 1)]


def average_forgetting(R) -> float:
    """The mean of forgetting_per_stage over the K-1 stages before the last."""
    return float(np.mean(forgetting_per_stage(R)))


def retention(R, stage: int = 0) -> list[float]:
    """Accuracy on one stage (0-based column; default the first) after each trained stage:
    R[1..K, stage]."""
    R = _check_stream_matrix(R)
    return [float(x) for x in R[1:, stage]]


def stream_metrics(R) -> dict:
    """Every summary of a stream's accuracy matrix, as results.json and --compare report them."""
    return {"acc": average_accuracy(R), "bwt": backward_transfer(R), "forgetting": forgetting_per_stage(R),
            "avg_forgetting": average_forgetting(R), "retention_stage1": retention(R, 0)}


def matrix_from_items(items) -> np.ndarray:
    """R from per-item outcomes: items[l][j] holds the 0/1 outcomes of stage j's questions in
    row l (the same questions in every row); R[l, j] is their mean."""
    return np.array([[float(np.mean(col)) for col in row] for row in items], dtype=np.float64)


def bootstrap_columns(runs: Sequence[Sequence[np.ndarray]], statistic: Callable[[list[np.ndarray]], float],
                      reps: int = 2000, seeds_too: bool = False, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of statistic([R of each run]) for streams: each run gives one
    array per column (stage), of shape (items of that stage, K+1 rows), and each replicate
    redraws the items of every column on its own (a stage's questions are the same in every
    row, so a drawn item keeps its outcomes in all rows). With seeds_too, each replicate first
    redraws the runs (seeds) with replacement, as bootstrap_seeds_items does, then the items.
    The generators are those of bootstrap and bootstrap_seeds_items: with one run, the interval
    is bootstrap's over the columns as unpaired groups."""
    item_rng = np.random.default_rng(seed)
    seed_rng = np.random.default_rng([seed, 1])
    runs = [[np.asarray(c, dtype=np.float64) for c in cols] for cols in runs]
    if not runs:
        raise ValueError("bootstrap_columns needs at least one run.")
    k = len(runs)
    values = np.empty(reps)
    for r in range(reps):
        drawn = [runs[i] for i in seed_rng.integers(0, k, k)] if seeds_too and k > 1 else runs
        mats = []
        for cols in drawn:
            cols = [c[item_rng.integers(0, len(c), len(c))] for c in cols]
            mats.append(np.stack([c.mean(axis=0) for c in cols], axis=1))  # (K+1, K)
        values[r] = statistic(mats)
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)
