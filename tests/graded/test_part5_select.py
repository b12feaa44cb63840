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


@pytest.mark.parametrize("seed", range(3))
def test_part5_ties_at_the_cut_still_give_t_rows(seed, monkeypatch):
    """Scores with many ties: exactly min(t, rows read) rows come back, and none scores below a
    read row that was left out (which of the tied rows is kept is up to you)."""
    rng = np.random.default_rng(50 + seed)
    n = int(rng.integers(10, 60))
    score = rng.integers(0, 3, n).astype(float)  # three values only: ties everywhere
    score[rng.random(n) < 0.3] = -np.inf
    finite = int(np.isfinite(score).sum())
    t = int(rng.integers(1, max(2, finite)))
    monkeypatch.setattr(smf_mini, "score_rows", lambda counts, *a, **k: torch.tensor(score))
    got = smf_mini.select_rows(torch.ones(n), t, "tf").tolist()
    assert len(got) == min(t, finite), f"{len(got)} rows for top-t {t} with {finite} rows read: ties must not add rows"
    assert got == sorted(set(got)), "row ids in increasing order, each once"
    left = [i for i in range(n) if np.isfinite(score[i]) and i not in got]
    assert all(np.isfinite(score[i]) for i in got), "an unread (-inf) row was selected"
    assert not left or min(score[got]) >= max(score[left]), "a row was left out for a lower-scoring one"
