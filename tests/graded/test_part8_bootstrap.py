"""Part 8 (stats.py, bootstrap): the 95% percentile interval of a statistic when items
(axis 0 of each group) are redrawn with replacement. Tested by properties that any
correct bootstrap has, with random data, not by one stored answer."""
import numpy as np
import pytest

from stats import bootstrap


@pytest.mark.parametrize("seed", range(3))
def test_part8_mean_of_normal_data_matches_the_normal_interval(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(200, 400))
    x = rng.normal(loc=rng.normal(), scale=rng.uniform(0.5, 3), size=n)
    lo, hi = bootstrap([x], lambda g: g[0].mean(), reps=2000, seed=seed)
    se = x.std(ddof=1) / np.sqrt(n)
    assert lo < x.mean() < hi
    assert abs((hi - lo) / (2 * 1.96 * se) - 1) < 0.12, "the width should be close to 2 x 1.96 standard errors"
    assert abs((lo + hi) / 2 - x.mean()) < 0.3 * se


def test_part8_draws_items_of_each_row_not_columns():
    rng = np.random.default_rng(5)
    # rows are (log-likelihood, tokens) of one document: the statistic needs whole rows
    tokens = rng.integers(50, 500, 60).astype(float)
    rows = np.stack([-2.0 * tokens, tokens], axis=1)  # every document has exactly -2 nats per token
    lo, hi = bootstrap([rows], lambda g: g[0][:, 0].sum() / g[0][:, 1].sum(), reps=500)
    assert lo == pytest.approx(-2.0) and hi == pytest.approx(-2.0), "redraw whole rows (items), keeping their columns together"


def test_part8_paired_and_unpaired_draws():
    rng = np.random.default_rng(3)
    a = rng.normal(size=80)
    diff = lambda g: g[1].mean() - g[0].mean()
    assert bootstrap([a, a + 1.5], diff, paired=True) == pytest.approx((1.5, 1.5)), "paired: the same items in every group"
    lo, hi = bootstrap([a, a + 1.5], diff, paired=False)
    assert lo < 1.4 and hi > 1.6, "unpaired: each group redrawn on its own"
    lo, hi = bootstrap([a, rng.normal(size=30)], diff, paired=False)  # unequal sizes are fine unpaired
    assert lo < hi


def test_part8_reps_and_seed():
    x = np.random.default_rng(0).normal(size=50)
    calls = []
    stat = lambda g: calls.append(1) or g[0].mean()
    first = bootstrap([x], stat, reps=321, seed=4)
    assert len(calls) == 321, "the statistic is computed once per replicate"
    assert bootstrap([x], lambda g: g[0].mean(), reps=321, seed=4) == first, "the same seed gives the same interval"
    assert bootstrap([x], lambda g: g[0].mean(), reps=321, seed=5) != first


def test_part8_the_interval_is_percentiles_of_the_replicates():
    # 5 ones among 100 items: a replicate's max is 0 only with chance 0.95^100 = 0.6% (< 2.5%),
    # so both percentiles are 1; a normal approximation (mean +- 1.96 sd) would not be.
    x = np.array([0.0] * 95 + [1.0] * 5)
    assert bootstrap([x], lambda g: g[0].max(), reps=2000, seed=1) == (1.0, 1.0)


def _draws(groups, paired, reps, seed=2):
    seen = []
    bootstrap(groups, lambda g: seen.append([v.copy() for v in g]) or 0.0, reps=reps, paired=paired, seed=seed)
    return seen


def test_part8_paired_draws_n_items_from_all_n():
    """Each replicate draws len(g) items, with replacement, from all len(g) items (the last
    one included), each equally likely; paired draws use the same indices in every group."""
    n = 7
    x = np.arange(n, dtype=float)
    seen = _draws([x, x + 100], True, 3000)
    assert all(len(a) == n and len(b) == n for a, b in seen), "a replicate must hold len(g) items, not fewer or more"
    assert all(np.array_equal(a + 100, b) for a, b in seen), "paired: the same items in every group"
    counts = np.bincount(np.concatenate([a for a, _ in seen]).astype(int), minlength=n)
    assert counts.min() > 0, "some item is never drawn (the upper end of the draw is exclusive: integers(0, n) gives 0..n-1)"
    assert np.all(np.abs(counts / counts.sum() - 1 / n) < 0.02), "items are not drawn equally often"


def test_part8_unpaired_draws_n_items_from_all_n():
    """Unpaired: each group is redrawn on its own, len(g) items from all of its len(g)."""
    seen = _draws([np.arange(5.0), np.arange(9.0)], False, 2000)
    assert all([len(v) for v in s] == [5, 9] for s in seen), "unpaired: each group keeps its own length"
    for j, n_j in enumerate((5, 9)):
        counts = np.bincount(np.concatenate([s[j] for s in seen]).astype(int), minlength=n_j)
        assert counts.min() > 0, "unpaired: some item of a group is never drawn (integers(0, n) gives 0..n-1)"
