"""Hidden tests, part 8: several seeds' groups, paired draws shared across groups, the
percentile (not a normal approximation) on skewed data."""
import numpy as np
import pytest

from stats import bootstrap


def test_hidden_part8_paired_needs_equal_lengths():


    """Paired groups of unequal lengths raise ValueError."""
    assert bootstrap([np.ones(5), np.ones(5)], lambda g: 1.0, reps=10) == (1.0, 1.0)  # equal lengths work
    with pytest.raises(ValueError):
        bootstrap([np.ones(5), np.ones(6)], lambda g: 0.0, paired=True)


def test_hidden_part8_percentile_on_a_skewed_statistic():


    """The interval of a skewed statistic is made of percentiles."""
    rng = np.random.default_rng(8)
    x = rng.exponential(size=400)
    lo, hi = bootstrap([x], lambda g: g[0].max(), reps=1000)
    assert hi <= x.max() + 1e-12 and lo <= hi, "a percentile interval never leaves the statistic's range over resamples"


def test_hidden_part8_three_seeds_each_resampled():


    """Three unpaired groups, each resampled."""
    rng = np.random.default_rng(81)
    groups = [rng.integers(0, 2, 120).astype(float) for _ in range(3)]
    stat = lambda gs: float(np.mean([g.mean() for g in gs]))
    lo, hi = bootstrap(groups, stat, paired=False)
    se = np.sqrt(np.mean([g.var(ddof=1) / len(g) for g in groups]) / 3)
    assert lo < stat(groups) < hi and abs((hi - lo) / (2 * 1.96 * se) - 1) < 0.15


def test_hidden_part8_rows_with_several_columns_are_drawn_whole():


    """Rows with several columns are drawn whole."""
    # (value, 1) rows with a ratio statistic are the plain mean: same seed, same draws, same interval
    rng = np.random.default_rng(82)
    x = rng.normal(size=90)
    rows = np.stack([x, np.ones_like(x)], axis=1)
    a = bootstrap([rows], lambda g: g[0][:, 0].sum() / g[0][:, 1].sum(), reps=400, seed=3)
    b = bootstrap([x], lambda g: g[0].mean(), reps=400, seed=3)
    assert a == pytest.approx(b, rel=1e-9, abs=1e-12)


def test_hidden_part8_every_item_can_be_drawn():
    """Each replicate holds len(g) items drawn from all of them, paired and unpaired."""
    for paired, groups in ((True, [np.arange(3.0), np.arange(3.0) * 2]), (False, [np.arange(4.0), np.arange(2.0)])):
        seen = []
        bootstrap(groups, lambda g: seen.append([v.copy() for v in g]) or 0.0, reps=600, paired=paired, seed=11)
        for j, g in enumerate(groups):
            assert all(len(s[j]) == len(g) for s in seen)
            assert set(np.concatenate([s[j] for s in seen]).tolist()) == set(g.tolist())
