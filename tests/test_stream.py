"""train.py --sequence K: disjoint stages, replay sampling, input checks, a 2-stage stream on a
tiny random model (results.json against what it recorded), resume, and --compare on streams."""
import json
import random
import re

import numpy as np
import pytest

import compare
import data
import eval
import stats
import tasks
import train
from test_train import applicable



def stream_flags(tiny_dir, method="full", steps=3, extra=()):
    return applicable(["--method", method, "--model", tiny_dir, "--n-countries", "4", "--batch-size", "8", "--steps", str(steps),
            "--memory-layers", "1", "--memory-slots", "256", "--memory-topk", "8", "--memory-key-dim", "32",
            "--top-t", "64", "--background-docs", "8", "--warmup", "1", "--save-every", "2", "--sequence", "2",
            "--eval-limit", "6", "--lr", "1e-3" if method != "smf" else "8000", *extra])  # the flags this method reads


# ---------------------------------------------------------------- the stages


def test_stages_are_disjoint_and_fixed_by_seed_split_n_and_k():
    stages = tasks.fictional_stages(6, 3, seed=2)
    countries = [{e for _, e, _ in s["facts"]} for s in stages]
    capitals = [{a for r, _, a in s["facts"] if r == "capital"} for s in stages]
    assert all(len(c) == 6 for c in countries)
    for i in range(3):
        for j in range(3):
            if i != j:
                assert not countries[i] & countries[j] and not capitals[i] & capitals[j]
                # no country or capital of stage j in stage i's training text or questions (options included)
                words = set(re.findall(r"\w+", " ".join(stages[i]["train"] + [q["prompt"] for q in stages[i]["eval"]])))
                assert not words & (countries[j] | capitals[j])
    assert len(stages[0]["train"]) == 6 * 3 * 3 and len(stages[0]["eval"]) == 6 * 3 * 4
    assert tasks.fictional_stages(6, 3, seed=2) == stages  # the same stream for the same (seed, split, n, K)
    assert tasks.fictional_stages(6, 3, seed=3)[0]["facts"] != stages[0]["facts"]
    assert tasks.fictional_stages(6, 3, seed=2, split="dev")[0]["facts"] != stages[0]["facts"]


def test_stage_examples_are_the_stages_training_texts():
    cfg = dict(train.PRESETS["tiny"], n_countries=4, sequence=2, method="smf")
    ex = data.stage_examples(cfg)
    texts = [s["train"] for s in tasks.fictional_stages(4, 2, cfg["seed"], cfg["split"])]
    assert [[p + c for p, c in e] for e in ex] == texts


# ---------------------------------------------------------------- replay


def test_replay_draws_the_share_from_earlier_stages_only_seeded_and_keeps_step_size():
    cfg = dict(train.PRESETS["tiny"], batch_size=4, grad_accum=2, replay=0.25, seed=0)
    stages = [[("", f"s{s}-{i}") for i in range(24)] for s in range(3)]  # 3 full steps per epoch
    examples, sched = train.stage_data(cfg, stages, 2, steps=7)
    assert examples[:24] == stages[2] and examples[24:] == stages[0] + stages[1]
    for step in sched:
        assert [len(m) for m in step] == [4, 4]  # the micro-batches keep their sizes
        flat = [i for m in step for i in m]
        old = [i for i in flat if i >= 24]
        assert len(old) == 2 and len(set(old)) == 2 and len(set(flat)) == 8  # round(0.25 * 8) distinct replayed
    assert train.stage_data(cfg, stages, 2, steps=7)[1] == sched  # seeded
    _, first = train.stage_data(cfg, stages, 0, steps=7)  # stage 1 has nothing to replay
    assert all(i < 24 for step in first for m in step for i in m)
    _, none = train.stage_data(dict(cfg, replay=0.0), stages, 2, steps=7)
    assert all(i < 24 for step in none for m in step for i in m)


def test_mix_replay_replaces_the_last_examples_of_each_step():
    cfg = dict(train.PRESETS["tiny"], batch_size=3, grad_accum=1, replay=0.34)
    out = data.mix_replay([[[0, 1, 2]], [[3, 4, 5]]], 6, 5, cfg, random.Random(0))
    assert [s[0][:2] for s in out] == [[0, 1], [3, 4]] and all(6 <= s[0][2] < 11 for s in out)


# ---------------------------------------------------------------- input checks


@pytest.mark.parametrize("extra, msg", [
    (["--sequence", "1"], "--sequence must be at least 2"),
    (["--sequence", "2", "--method", "retrofit"], "--sequence trains --method smf, lora or full"),
    (["--sequence", "2", "--task", "mcq"], "--sequence needs --task fictional"),
    (["--sequence", "50", "--n-countries", "20"], "50 x --n-countries 20 = 1000 countries"),
    (["--sequence", "2", "--replay", "1"], "--replay must be at least 0 and below 1"),
    (["--sequence", "2", "--replay", "-0.1"], "--replay must be at least 0 and below 1"),
    (["--sequence", "2", "--replay", "nan"], "--replay must be a finite number"),
    (["--replay", "0.5"], "give --sequence K"),
    (["--sequence", "2", "--replay", "0.01", "--batch-size", "8"], "rounds to none"),
    (["--sequence", "2", "--replay", "0.95", "--batch-size", "8"], "leaves no new-stage example"),
    (["--sequence", "2", "--no-eval"], "drop --no-eval"),
])
def test_bad_stream_flags_give_one_clear_error(tmp_path, extra, msg):
    with pytest.raises(SystemExit) as e:
        train.main(["--runs-dir", str(tmp_path), *extra])
    assert str(e.value).startswith("error: ") and msg in str(e.value) and "\n" not in str(e.value)
    assert not any(tmp_path.iterdir())  # refused before any folder was made


# ---------------------------------------------------------------- a stream on a tiny model


def test_two_stage_stream_records_the_matrix_it_evaluated(tmp_path, tiny_dir):
    assert train.main(["--runs-dir", str(tmp_path), "--name", "s", *stream_flags(tiny_dir, extra=["--replay", "0.25"])]) == 0
    run = tmp_path / "s"
    r = json.loads((run / "results.json").read_text())
    rows = json.loads((run / "stream.json").read_text())
    assert r["kind"] == "stream" and r["sequence"] == 2 and len(r["stages"]) == 3
    assert [row["after_stage"] for row in rows] == [0, 1, 2] and [row["step"] for row in rows] == [0, 3, 6]
    assert r["stages"] == rows
    R = np.array(r["R"])
    assert R.shape == (3, 2)
    assert R.tolist() == [row["task_acc"] for row in rows]  # the matrix is what each stage's evaluation measured
    assert np.allclose(R, stats.matrix_from_items([row["items"]["task"] for row in rows]))
    assert all(len(col) == 6 for row in rows for col in row["items"]["task"])  # --eval-limit per stage
    m = stats.stream_metrics(R)
    assert (r["acc"], r["bwt"], r["forgetting"], r["retention_stage1"]) == (m["acc"], m["bwt"], m["forgetting"], m["retention_stage1"])
    assert r["probes"]["wiki_ppl"] == [row["wiki_ppl"] for row in rows]
    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert [x["stage"] for x in log] == [1, 1, 1, 2, 2, 2] and [x["step"] for x in log] == list(range(1, 7))
    assert [x["lr"] for x in log[:3]] == [x["lr"] for x in log[3:]]  # the schedule restarts each stage
    assert not (run / "state.pt").exists()


def test_stream_resumes_mid_stage_and_mid_evaluation_exactly(tmp_path, tiny_dir, monkeypatch):
    """A stream interrupted in stage 2, and one interrupted while evaluating stage 1, each
    resumed, end with the same log, weights and matrix as an uninterrupted one."""
    flags = stream_flags(tiny_dir, method="smf", steps=4)
    assert train.main(["--runs-dir", str(tmp_path / "a"), *flags]) == 0
    calls, real_lr, real_suite = [0], train.lr_at, eval.stream_suite

    def boom(step, total, cfg):  # Ctrl-C at the start of global step 7 (stage 2; saved at 6)
        calls[0] += 1
        if calls[0] == 7:
            raise KeyboardInterrupt
        return real_lr(step, total, cfg)

    monkeypatch.setattr(train, "lr_at", boom)
    assert train.main(["--runs-dir", str(tmp_path / "b"), *flags]) == 130
    st = __import__("torch").load(tmp_path / "b" / "tiny-smf.partial" / "state.pt", weights_only=False)
    assert (st["step"], st["stage"]) == (6, 1)
    monkeypatch.setattr(train, "lr_at", real_lr)

    def interrupted_eval(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(eval, "stream_suite", interrupted_eval)
    assert train.main(["--runs-dir", str(tmp_path / "c"), *flags]) == 130  # stopped evaluating stage 1
    monkeypatch.setattr(eval, "stream_suite", real_suite)
    with pytest.raises(SystemExit, match="is a stream of 2 stages; --resume it with --sequence 2"):
        train.main(["--runs-dir", str(tmp_path / "b"), *flags, "--sequence", "3", "--resume"])  # the last --sequence counts
    for d in ("b", "c"):
        assert train.main(["--runs-dir", str(tmp_path / d), *flags, "--resume"]) == 0
    a = json.loads((tmp_path / "a" / "tiny-smf" / "results.json").read_text())
    from safetensors.torch import load_file  # only this test compares checkpoints

    for d in ("b", "c"):
        run = tmp_path / d / "tiny-smf"
        r = json.loads((run / "results.json").read_text())
        assert r["R"] == a["R"] and r["probes"] == a["probes"]
        la = [json.loads(x)["loss"] for x in (tmp_path / "a" / "tiny-smf" / "log.jsonl").read_text().splitlines()]
        assert [json.loads(x)["loss"] for x in (run / "log.jsonl").read_text().splitlines()] == la
        A, B = load_file(tmp_path / "a" / "tiny-smf" / "memory.safetensors"), load_file(run / "memory.safetensors")
        assert A.keys() == B.keys() and all(bool((A[k] == B[k]).all()) for k in A)


# ---------------------------------------------------------------- --compare on streams


def fake_stream(d, method, seed, task_items, replay=0.0):
    """A finished stream run folder (config.json, results.json) with the given per-item task
    outcomes: task_items[l][j] = outcomes of stage j's questions in row l."""
    d.mkdir(parents=True)
    cfg = {"method": method, "lr": 1.0, "steps": 5, "seed": seed, "sequence": len(task_items[0]), "replay": replay,
           "split": "test", "eval_limit": None, "model": "m"}
    rows = []
    for l, task in enumerate(task_items):
        world, gk = [1, 1, 0, 1 - l % 2], [1, 0, 1, 1]
        wiki = [[-10.0 - l, 5], [-20.0, 10]]
        rows.append({"task_acc": [float(np.mean(c)) for c in task], "world_acc": float(np.mean(world)), "gk_acc": float(np.mean(gk)),
                     "wiki_ppl": float(np.exp(-sum(x for x, _ in wiki) / 15)), "n": {"task": [len(c) for c in task]},
                     "items": {"task": task, "world": world, "gk": gk, "wiki": wiki}, "after_stage": l, "step": 5 * l})
    (d / "config.json").write_text(json.dumps(cfg))
    (d / "results.json").write_text(json.dumps(eval.stream_results(cfg, rows, reps=50)))


ITEMS_A = [[[0, 0, 1, 0], [0, 1, 0, 0]], [[1, 1, 1, 0], [0, 1, 0, 0]], [[1, 0, 1, 0], [1, 1, 1, 0]]]
ITEMS_B = [[[0, 0, 1, 0], [0, 1, 0, 0]], [[1, 1, 1, 1], [0, 0, 0, 0]], [[0, 0, 1, 1], [1, 1, 1, 1]]]


def test_compare_on_streams_prints_the_matrix_and_summaries_and_draws_retention(tmp_path, capsys):
    fake_stream(tmp_path / "r" / "smf-s0", "smf", 0, ITEMS_A)
    fake_stream(tmp_path / "r" / "smf-s1", "smf", 1, ITEMS_B)
    fake_stream(tmp_path / "r" / "full-s0", "full", 0, ITEMS_B)
    runs_ = sorted(str(p) for p in (tmp_path / "r").iterdir())
    report = compare.compare(runs_, str(tmp_path / "cmp.png"), out_json=str(tmp_path / "sum.json"), boot="seeds-items")
    out = capsys.readouterr().out
    assert (tmp_path / "cmp-stream.png").stat().st_size > 10_000 and not (tmp_path / "cmp.png").exists()
    assert json.loads((tmp_path / "sum.json").read_text())["kind"] == "stream" and (tmp_path / "sum.md").exists()
    smf = next(g for g in report["groups"] if g["method"] == "smf")
    assert smf["runs"] == ["smf-s0", "smf-s1"]  # the seeds pooled into one setting
    s = smf["summary"]
    Ra, Rb = stats.matrix_from_items(ITEMS_A), stats.matrix_from_items(ITEMS_B)
    assert np.allclose(s["R"], (Ra + Rb) / 2)
    for key, fn in (("acc", stats.average_accuracy), ("bwt", stats.backward_transfer), ("avg_forgetting", stats.average_forgetting)):
        assert s[key]["value"] == pytest.approx((fn(Ra) + fn(Rb)) / 2)
        assert s[key]["ci"][0] <= s[key]["value"] <= s[key]["ci"][1]
    assert [x["value"] for x in s["retention_stage1"]] == pytest.approx([0.25, 0.875, 0.5])
    # probes: WikiText log-likelihood falls by 1 nat over 15 tokens after stage 1, 2 after stage 2
    assert [x["value"] for x in s["probes"]["wiki_ppl"]] == pytest.approx([100 * (np.exp(1 / 15) - 1), 100 * (np.exp(2 / 15) - 1)])
    assert [x["value"] for x in s["probes"]["world_acc"]] == pytest.approx([25.0, 0.0])  # one of 4 real facts lost, then back
    md = (tmp_path / "sum.md").read_text()  # the printed tables, as Markdown (the terminal wraps them)
    assert "ACC" in out and "| stage 1 at the end |" in md and f"| {s['acc']['value']:.3f} [" in md


def test_compare_refuses_mixed_streams_and_single_runs_and_skips_edited_streams(tmp_path, capsys):
    fake_stream(tmp_path / "a", "smf", 0, ITEMS_A)
    fake_stream(tmp_path / "b", "smf", 1, ITEMS_B)
    r = json.loads((tmp_path / "b" / "results.json").read_text())
    r["R"][2][0] = 0.99  # no longer what its items give
    (tmp_path / "b" / "results.json").write_text(json.dumps(r))
    compare.compare([str(tmp_path / "a"), str(tmp_path / "b")], str(tmp_path / "c.png"))
    assert "skipping " + str(tmp_path / "b") + ": its accuracy matrix is not what its per-item outcomes give" in capsys.readouterr().out
    single = tmp_path / "single"
    single.mkdir()
    (single / "config.json").write_text(json.dumps({"method": "smf", "lr": 1.0, "seed": 0}))
    items = {"task": [1, 0], "world": [1, 1], "gk": [1, 0], "wiki": [[-10.0, 5]]}
    res = {"task_acc": 0.5, "world_acc": 1.0, "gk_acc": 0.5, "wiki_ppl": float(np.exp(2.0)), "items": items, "split": "test"}
    (single / "results.json").write_text(json.dumps({"protocol": "tiny", "base": res, "trained": res}))
    with pytest.raises(SystemExit, match="mix streams .* and single-task runs; compare one kind at a time"):
        compare.compare([str(tmp_path / "a"), str(single)], str(tmp_path / "c.png"))


def test_eval_refuses_to_reevaluate_a_stream_in_one_sentence(tmp_path):
    fake_stream(tmp_path / "a", "smf", 0, ITEMS_A)
    with pytest.raises(SystemExit, match="is a stream \\(--sequence 2\\).*--compare"):
        eval.main([str(tmp_path / "a")])


# ---------------------------------------------------------------- end to end on the offline model


@pytest.mark.slow
def test_offline_model_two_stage_stream_end_to_end(tmp_path):
    """SmolLM2-135M, 2 stages of 4 countries, 2 SMF steps each, 2 items per set: results.json's
    matrix is what each stage's evaluation recorded and what its per-item outcomes give, and
    its summaries are stats' functions of that matrix."""
    flags = ["--method", "smf", "--sequence", "2", "--steps", "2", "--n-countries", "4", "--batch-size", "4",
             "--background-docs", "8", "--eval-limit", "2", "--save-every", "100", "--name", "e2e"]
    assert train.main(["--runs-dir", str(tmp_path), *flags]) == 0
    run = tmp_path / "e2e"
    r = json.loads((run / "results.json").read_text())
    rows = json.loads((run / "stream.json").read_text())
    assert r["stages"] == rows and [x["after_stage"] for x in rows] == [0, 1, 2]
    R = stats.matrix_from_items([x["items"]["task"] for x in rows])  # recomputed from the saved outcomes
    assert R.shape == (3, 2) and np.allclose(R, r["R"]) and np.allclose(R, [x["task_acc"] for x in rows])
    assert all(len(c) == 2 for x in rows for c in x["items"]["task"])
    assert r["acc"] == pytest.approx(stats.average_accuracy(R))
    assert r["bwt"] == pytest.approx(stats.backward_transfer(R))
    assert r["forgetting"] == pytest.approx(stats.forgetting_per_stage(R))
    assert r["avg_forgetting"] == pytest.approx(stats.average_forgetting(R))
    assert r["retention_stage1"] == pytest.approx(stats.retention(R))
    for p in compare.STREAM_PROBES:
        assert r["probes"][p] == [x[p] for x in rows] and all(np.isfinite(r["probes"][p]))
    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert [x["stage"] for x in log] == [1, 1, 2, 2] and all(np.isfinite(x["loss"]) for x in log)
