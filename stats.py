"""stats.py: 95% intervals and the comparison of methods at matched learning.

Every number smf-mini reports carries an interval, and methods are compared along their
learning-vs-forgetting frontiers, not at one point each. Three tools:

- `wilson(k, n)`: the Wilson score interval of a proportion (k correct out of n). Better
  than the normal "p +- 1.96 sqrt(p(1-p)/n)" near 0 and 1 and for small n.
- `bootstrap(groups, statistic)`: a percentile bootstrap. `groups` holds one array of
  per-item values per seed; each replicate redraws items with replacement (the same draw
  in every seed when `paired`, as for probes whose items every seed shares) and recomputes
  the statistic. It measures the noise of the finite item set; the spread between seeds
  (training noise) is reported beside it, not folded in.
- `pareto` and `at_level`: a method's frontier (its runs that no other run of the same
  method beats on both learning and forgetting) and, along it, the forgetting
  interpolated at a named learning level ("matched learning").
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
    for every group (they must then have equal lengths). The statistic is called exactly
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
    item_rng = np.random.default_rng(seed)  # the item draws, exactly as `bootstrap` makes them
    seed_rng = np.random.default_rng([seed, 1])  # the seed draws, from a generator of their own
    groups = [np.asarray(g, dtype=np.float64) for g in groups]
    if not groups:
        raise ValueError("bootstrap_seeds_items needs at least one group (seed).")
    if paired and len({len(g) for g in groups}) != 1:
        raise ValueError("paired bootstrap needs the same number of items in every group.")
    k = len(groups)
    values = np.empty(reps)
    for r in range(reps):
        drawn = [groups[i] for i in seed_rng.integers(0, k, k)] if k > 1 else groups
        if paired:
            idx = item_rng.integers(0, len(drawn[0]), len(drawn[0]))
            values[r] = statistic([g[idx] for g in drawn])
        else:
            values[r] = statistic([g[item_rng.integers(0, len(g), len(g))] for g in drawn])
    lo, hi = np.percentile(values, [2.5, 97.5])
    return float(lo), float(hi)
