"""The two-level bootstrap (seeds, then items within each drawn seed), against cases that
can be worked out by hand, and its use by `eval.py --compare --bootstrap seeds-items`."""
import numpy as np
import pytest

import compare
import eval
from stats import bootstrap, bootstrap_seeds_items
from test_probes_stats import _fake_run


def mean_of_means(gs):
    return float(np.mean([g.mean() for g in gs]))


def test_one_seed_is_the_item_bootstrap_exactly():
    rng = np.random.default_rng(3)
    x = (rng.random(120) < 0.4).astype(float)
    for paired in (True, False):
        assert bootstrap_seeds_items([x], mean_of_means, paired=paired) == bootstrap([x], mean_of_means, paired=paired)


def test_no_spread_within_seeds_gives_the_spread_of_the_seed_means():
    # seed means 0 and 1: a draw's mean is 0, 1/2 or 1 with probability 1/4, 1/2, 1/4
    assert bootstrap_seeds_items([np.zeros(30), np.ones(30)], mean_of_means) == pytest.approx((0.0, 1.0))
    # three equal seeds and no item spread: nothing moves
    assert bootstrap_seeds_items([np.full(10, 0.3)] * 3, mean_of_means) == pytest.approx((0.3, 0.3))
    # seed means 0, 0, 0, 1 with equal items: the mean of 4 drawn seeds is k/4, k ~ Binomial(4, 1/4);
    # P(k = 0) = 0.316 > 2.5%, P(k >= 3) = 0.051 > 2.5%, P(k = 4) = 0.004 < 2.5%: interval [0, 0.75]
    lo, hi = bootstrap_seeds_items([np.zeros(8)] * 3 + [np.ones(8)], mean_of_means, reps=4000)
    assert (lo, hi) == pytest.approx((0.0, 0.75))


def test_seed_spread_widens_the_interval_items_alone_would_give():
    rng = np.random.default_rng(0)
    gs = [(rng.random(240) < p).astype(float) for p in (0.45, 0.6, 0.75)]
    lo1, hi1 = bootstrap(gs, mean_of_means, paired=False)
    lo2, hi2 = bootstrap_seeds_items(gs, mean_of_means, paired=False)
    assert hi2 - lo2 > 2 * (hi1 - lo1)
    with pytest.raises(ValueError, match="same number of items"):
        bootstrap_seeds_items([np.zeros(3), np.zeros(4)], mean_of_means)


def test_compare_uses_it_when_asked(tmp_path):
    # one setting, seeds learning 0.25 and 0.75 of 40 items: the seed draw alone spans 0.25..0.75
    _fake_run(tmp_path / "a0", "smf", 1.0, 0, 10, 1, -25.0)
    _fake_run(tmp_path / "a1", "smf", 1.0, 1, 30, 1, -25.0)
    items = compare.compare([tmp_path / "a0", tmp_path / "a1"], str(tmp_path / "x.png"))
    both = compare.compare([tmp_path / "a0", tmp_path / "a1"], str(tmp_path / "y.png"), boot="seeds-items")
    lo1, hi1 = items["groups"][0]["summary"]["task_acc"]["ci"]
    lo2, hi2 = both["groups"][0]["summary"]["task_acc"]["ci"]
    assert hi1 - lo1 < 0.25 and lo2 < 0.3 and hi2 > 0.7
    assert both["bootstrap"] == "seeds-items" and items["bootstrap"] == "items"


def test_a_single_runs_table_says_its_interval_covers_items_only(tmp_path, capsys):
    _fake_run(tmp_path / "a", "smf", 1.0, 0, 20, 1, -25.0)
    import json

    eval.print_results(json.loads((tmp_path / "a" / "results.json").read_text()))
    out = capsys.readouterr().out
    assert eval.SINGLE_RUN_CAVEAT in out and "items only" in eval.SINGLE_RUN_CAVEAT


def test_the_plot_leaves_out_a_probe_whose_runs_used_different_forms(tmp_path):
    """Two runs whose gk_acc base values differ measured two probes: never one axis."""
    import json

    _fake_run(tmp_path / "a", "smf", 1.0, 0, 20, 1, -25.0)
    _fake_run(tmp_path / "b", "full", 1.0, 0, 24, 1, -25.0)
    r = json.loads((tmp_path / "b" / "results.json").read_text())
    r["base"]["gk_acc"] = 0.8
    (tmp_path / "b" / "results.json").write_text(json.dumps(r))
    _, groups = compare.compare_report([tmp_path / "a", tmp_path / "b"])
    probes, notes = compare._plotted_probes(groups)
    assert probes == ["wiki_ppl", "world_acc"] and notes[0].startswith("gk_acc left out")
    compare.compare([tmp_path / "a", tmp_path / "b"], str(tmp_path / "p.png"), mark=["a"])
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
