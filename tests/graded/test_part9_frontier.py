"""Part 9 (stats.py, pareto, perplexity_change, points_lost): forgetting with the right sign,
and each method's frontier of (learning, forgetting) points."""
import math

import numpy as np
import pytest

from graded_refs import naive_pareto
from stats import pareto, perplexity_change, points_lost


@pytest.mark.parametrize("seed", range(4))
def test_part9_pareto_equals_a_sweep(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 25))
    pts = [(float(x), float(y)) for x, y in zip(rng.integers(0, 8, n) / 8, rng.integers(0, 8, n) * 1.5)]  # ties on purpose
    assert pareto(pts) == naive_pareto(pts), f"frontier of {pts}"


@pytest.mark.parametrize("seed", range(3))
def test_part9_forgetting_has_the_right_sign(seed):
    rng = np.random.default_rng(seed)
    tokens = float(rng.integers(100, 5000))
    ll_base = -float(rng.uniform(1, 4)) * tokens
    ll_trained = ll_base - float(rng.normal()) * tokens * 0.1
    ppl = lambda ll: math.exp(-ll / tokens)
    want = 100 * (ppl(ll_trained) / ppl(ll_base) - 1)
    assert perplexity_change(ll_base, ll_trained, tokens) == pytest.approx(want, rel=1e-9), "percent change of perplexity, trained vs base"
    a, b = rng.uniform(0, 1, 2)
    assert points_lost(a, b) == pytest.approx(100 * (a - b)), "points lost = 100 x (base - trained): positive when worse"
