"""Part 4 (smf_mini.py, score_rows): TF, TF-IDF and KL scores of one step's reads, -inf
for rows the step did not read. Random counts and background statistics."""
import numpy as np
import pytest
import torch

import smf_mini
from graded_refs import bg, scores_np, share_np


def _case(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(6, 60))
    counts = rng.integers(0, 6, n) * (rng.random(n) < 0.6)
    counts[0] = max(counts[0], 1)
    n_docs = int(rng.integers(1, 40))
    df = rng.integers(0, n_docs + 1, n)
    total = df * rng.integers(1, 5, n)
    return counts.astype(float), df.astype(float), total.astype(float), n_docs


def _check(got, want, what):
    got = got.numpy()
    assert np.array_equal(np.isinf(got), np.isinf(want)), f"{what}: unread rows (count 0), and only they, must score -inf"
    assert np.all(got[np.isinf(got)] < 0), f"{what}: unread rows must score -inf, not +inf"
    ok = ~np.isinf(want)
    assert np.allclose(got[ok], want[ok], rtol=1e-6, atol=1e-12), f"{what}: scores differ from the formula (compute in float64, as p is)"


@pytest.mark.parametrize("seed", range(3))
def test_part4_tfidf(seed):
    c, df, total, n = _case(seed)
    _check(smf_mini.score_rows(torch.tensor(c), "tfidf", bg(df, total, n), 0), scores_np(c, "tfidf", df, total, n), "TF-IDF")


@pytest.mark.parametrize("seed", range(3))
def test_part4_kl(seed, monkeypatch):
    c, df, total, n = _case(seed + 20)
    monkeypatch.setattr(smf_mini, "background_share", lambda b, layer: torch.tensor(share_np(b.total[layer].numpy())))
    _check(smf_mini.score_rows(torch.tensor(c), "kl", bg(df, total, n), 0), scores_np(c, "kl", df, total, n), "KL")


def test_part4_tf_and_unread_rows():
    c, df, total, n = _case(99)
    _check(smf_mini.score_rows(torch.tensor(c), "tf"), scores_np(c, "tf"), "TF")
