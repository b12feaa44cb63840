"""Hidden tests, part 5: t = 1, t above the table size, nothing read, the real scores."""
import numpy as np
import torch

import smf_mini


def test_hidden_part5_edges(monkeypatch):


    """T = 1, t above the number of rows, nothing read."""
    score = torch.tensor([0.3, -np.inf, 0.9, 0.1, -np.inf], dtype=torch.float64)
    monkeypatch.setattr(smf_mini, "score_rows", lambda counts, *a, **k: score)
    assert smf_mini.select_rows(torch.ones(5), 1, "tf").tolist() == [2]
    assert smf_mini.select_rows(torch.ones(5), 50, "tf").tolist() == [0, 2, 3]
    score[:] = -np.inf
    assert smf_mini.select_rows(torch.ones(5), 3, "tf").numel() == 0


def test_hidden_part5_random_rows_and_many_draws(monkeypatch):


    """Many random score tables and values of t."""
    rng = np.random.default_rng(55)
    for _ in range(20):
        n = int(rng.integers(1, 200))
        s = rng.normal(size=n)
        s[rng.random(n) < 0.5] = -np.inf
        t = int(rng.integers(1, 40))
        monkeypatch.setattr(smf_mini, "score_rows", lambda counts, *a, _s=s, **k: torch.tensor(_s))
        want = sorted(sorted([i for i in range(n) if np.isfinite(s[i])], key=lambda i: -s[i])[:t])
        assert smf_mini.select_rows(torch.ones(n), t, "tf").tolist() == want
