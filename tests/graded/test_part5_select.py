"""Part 5 (smf_mini.py, select_rows): the t best-scoring rows that were read, sorted ids."""
import numpy as np
import pytest
import torch

import smf_mini


def _reference(score: np.ndarray, t: int) -> list[int]:
    finite = [i for i in range(len(score)) if np.isfinite(score[i])]
    best = sorted(finite, key=lambda i: -score[i])[:t]
    return sorted(best)


@pytest.mark.parametrize("seed", range(4))
def test_part5_top_t_of_read_rows_sorted(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 80))
    score = rng.normal(size=n)
    score[rng.random(n) < 0.4] = -np.inf  # unread rows
    t = int(rng.integers(1, n + 5))  # sometimes more than the rows read
    monkeypatch.setattr(smf_mini, "score_rows", lambda counts, *a, **k: torch.tensor(score))
    got = smf_mini.select_rows(torch.ones(n), t, "tf")
    assert got.dtype == torch.long
    assert got.tolist() == _reference(score, t), "expected the ids of the t highest finite scores, in increasing order"
