"""Hidden tests, part 4: smoothing matters (a row no document read, n_docs = 1), KL below zero."""
import math

import numpy as np
import torch

import smf_mini
import pytest

from graded_refs import bg, reference_share, scores_np


@pytest.fixture(autouse=True)
def reference_share_fn(monkeypatch):
    """Part 3's background share replaced by the reference, so part 4 is graded on its own."""
    monkeypatch.setattr(smf_mini, "background_share", reference_share)


def test_hidden_part4_tfidf_smoothing_by_hand():


    """TF-IDF's +1 smoothing on a small case worked by hand."""
    c = np.array([2.0, 2.0, 0.0, 4.0])
    df = np.array([0.0, 1.0, 0.0, 1.0])
    got = smf_mini.score_rows(torch.tensor(c), "tfidf", bg(df, df, 1), 0).numpy()
    want = [0.25 * math.log(2 / 1), 0.25 * math.log(2 / 2), -math.inf, 0.5 * math.log(2 / 2)]
    assert np.allclose(got[[0, 1, 3]], np.array(want)[[0, 1, 3]]) and got[2] == -math.inf


def test_hidden_part4_kl_is_negative_for_under_read_rows_and_above_unread():


    """KL is negative for under-read rows, -inf for unread ones."""
    c = np.array([1.0, 0.0, 9.0, 1.0])
    total = np.array([50.0, 0.0, 1.0, 0.0])
    got = smf_mini.score_rows(torch.tensor(c), "kl", bg(total, total, 4), 0).numpy()
    want = scores_np(c, "kl", total, total, 4)
    assert got[0] < 0 and got[1] == -math.inf and np.allclose(got[[0, 2, 3]], want[[0, 2, 3]])


def test_hidden_part4_every_row_read():


    """TF-IDF when every row was read."""
    rng = np.random.default_rng(4)
    c = rng.integers(1, 9, 30).astype(float)
    df = rng.integers(0, 10, 30).astype(float)
    got = smf_mini.score_rows(torch.tensor(c), "tfidf", bg(df, df * 3, 10), 0).numpy()
    assert np.isfinite(got).all() and np.allclose(got, scores_np(c, "tfidf", df, df * 3, 10))
