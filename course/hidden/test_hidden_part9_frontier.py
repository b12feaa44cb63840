"""Hidden tests, part 9: frontiers with duplicates and one point; the units of forgetting."""
import math

import numpy as np
import pytest

from graded_refs import naive_pareto
from stats import pareto, perplexity_change, points_lost


def test_hidden_part9_small_frontiers():


    """Small frontiers: one point, duplicates, a dominated point."""
    assert pareto([(0.5, 2.0)]) == [0]
    assert pareto([(0.5, 2.0), (0.5, 2.0)]) == [0, 1]
    assert pareto([(0.9, 5.0), (0.2, 1.0), (0.9, 4.0)]) == [1, 2]


def test_hidden_part9_many_random_frontiers():


    """Many random frontiers with ties."""
    rng = np.random.default_rng(99)
    for _ in range(30):
        n = int(rng.integers(1, 15))
        pts = [(float(a), float(b)) for a, b in rng.integers(0, 5, (n, 2))]
        assert pareto(pts) == naive_pareto(pts)


def test_hidden_part9_units():


    """The sign and units of perplexity change and points lost."""
    assert perplexity_change(-200.0, -200.0, 100.0) == pytest.approx(0.0)
    assert perplexity_change(-200.0, -300.0, 100.0) == pytest.approx(100 * (math.e - 1))
    assert perplexity_change(-300.0, -200.0, 100.0) == pytest.approx(100 * (math.exp(-1) - 1))
    assert points_lost(0.8, 0.6) == pytest.approx(20.0) and points_lost(0.6, 0.8) == pytest.approx(-20.0)
