"""stats.py's stream metrics (ACC, BWT, forgetting, retention) against matrices computed by
hand, and the column bootstrap used for their intervals."""
import numpy as np
import pytest

import stats

# Rows: base, after stage 1, 2, 3. Columns: stages 1, 2, 3. Chosen so that each definition
# gives a different number from its likely mistakes: stage 1 peaks after stage 2 (not on the
# diagonal), and the base row holds a high value that a search including row 0 would pick.
R3 = [[0.25, 0.99, 0.30],
      [0.80, 0.30, 0.25],
      [0.95, 0.90, 0.35],
      [0.50, 0.70, 0.85]]


def test_average_accuracy_is_the_mean_of_the_last_row():
    assert stats.average_accuracy(R3) == pytest.approx((0.50 + 0.70 + 0.85) / 3)


def test_backward_transfer_uses_the_diagonal_and_is_negative_when_forgetting():
    # 1/(K-1) * [(R[3,1] - R[1,1]) + (R[3,2] - R[2,2])] in 1-based stages
    assert stats.backward_transfer(R3) == pytest.approx(((0.50 - 0.80) + (0.70 - 0.90)) / 2)  # -0.25


def test_forgetting_is_the_best_trained_row_before_the_last_minus_the_last():
    # stage 1: max(0.80, 0.95) - 0.50; stage 2: max(0.30, 0.90) - 0.70 (the base row's 0.99 never counts)
    assert stats.forgetting_per_stage(R3) == pytest.approx([0.45, 0.20])
    assert stats.average_forgetting(R3) == pytest.approx(0.325)


def test_retention_of_stage_one_after_each_stage():
    assert stats.retention(R3) == pytest.approx([0.80, 0.95, 0.50])
    assert stats.retention(R3, 1) == pytest.approx([0.30, 0.90, 0.70])


def test_two_stages_and_a_stream_that_gains():
    R = [[0.2, 0.3], [0.6, 0.4], [0.7, 0.9]]  # stage 1 improves after stage 2: positive BWT, negative forgetting
    m = stats.stream_metrics(R)
    assert m["acc"] == pytest.approx(0.8)
    assert m["bwt"] == pytest.approx(0.1)
    assert m["forgetting"] == pytest.approx([-0.1]) and m["avg_forgetting"] == pytest.approx(-0.1)
    assert m["retention_stage1"] == pytest.approx([0.6, 0.7])


@pytest.mark.parametrize("shape", [(3, 3), (2, 1), (4,)])
def test_a_matrix_of_the_wrong_shape_is_refused(shape):
    with pytest.raises(ValueError, match="K\\+1 rows"):
        stats.average_accuracy(np.zeros(shape))


def test_matrix_from_items():
    items = [[[0, 0, 1, 0], [1, 0]], [[1, 1, 1, 0], [0, 0]], [[1, 0, 0, 0], [1, 1]]]
    assert stats.matrix_from_items(items).tolist() == [[0.25, 0.5], [0.75, 0.0], [0.25, 1.0]]


def test_bootstrap_columns_with_one_run_is_the_unpaired_item_bootstrap_over_columns():
    rng = np.random.default_rng(3)
    cols = [rng.integers(0, 2, (12, 3)).astype(float), rng.integers(0, 2, (10, 3)).astype(float)]
    stat_cols = lambda ms: stats.average_accuracy(ms[0])  # noqa: E731
    stat_groups = lambda gs: float(np.mean([g[:, -1].mean() for g in gs]))  # noqa: E731  the same statistic on columns
    assert stats.bootstrap_columns([cols], stat_cols, reps=300) == stats.bootstrap(cols, stat_groups, reps=300, paired=False)


def test_bootstrap_columns_without_item_spread_moves_only_with_the_seeds():
    run_a = [np.zeros((5, 3)), np.zeros((5, 3))]  # every item the same: only the seed draw moves the statistic
    run_b = [np.ones((5, 3)), np.ones((5, 3))]
    stat = lambda ms: float(np.mean([stats.average_accuracy(m) for m in ms]))  # noqa: E731
    assert stats.bootstrap_columns([run_a, run_b], stat, reps=500) == (0.5, 0.5)  # items only: the mean of the two runs
    assert stats.bootstrap_columns([run_a, run_b], stat, reps=500, seeds_too=True) == (0.0, 1.0)
