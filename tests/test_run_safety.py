"""Run folders that cannot lose data, and bad input that ends in one sentence.

Every bad input goes through the real command line (train.main / eval.main with an argv list;
a few through a real `python train.py` process) and must end in one sentence, with no
traceback, and without creating, moving or deleting anything outside the run's own folder.
"""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import common
import compare
import data
import eval
import rundir
import settings
import train
from test_train import applicable, small  # the tiny model folder fixture, tiny_dir, is in conftest.py

ROOT = Path(__file__).resolve().parent.parent


def tree(root: Path) -> dict:
    """Every path under root with its size and modification time."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


def medmcqa_dir(root: Path, rows: str, name: str = "train.jsonl") -> None:
    """root/medmcqa/<name> holding `rows` (a --data-dir)."""
    (root / "medmcqa").mkdir(parents=True, exist_ok=True)
    (root / "medmcqa" / name).write_text(rows)


GOOD_ROW = '{"question": "q", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": 1}\n'

# (id, flags (TINY = the tiny model's flags are added), message the error must contain).
# Files named {tmp} are made by make_files below.
BAD = [
    ("name-traversal", ["--name", "../victim", "--overwrite"], "plain folder name"),
    ("name-subfolder", ["--name", "fin/sub"], "plain folder name"),
    ("name-trailing-slash", ["--name", "trail/"], "plain folder name"),
    ("name-hidden", ["--name", ".x"], "plain folder name"),
    ("rule", ["--rule", "bm25"], "--rule must be one of"),
    ("layers-not-int", ["--memory-layers", "a,b"], "comma-separated integers"),
    ("layers-out-of-range", ["TINY", "--memory-layers", "99"], "out of range: this model has layers 0..2"),
    ("slots-not-square", ["TINY", "--memory-slots", "1000"], "perfect square"),
    ("topk-too-big", ["TINY", "--memory-topk", "500"], "cannot exceed the sub-keys"),
    ("key-dim-odd", ["TINY", "--memory-key-dim", "3"], "key_dim must be even"),
    ("memory-mode", ["--memory-mode", "foo"], "--memory-mode must be"),
    ("n-countries", ["--n-countries", "3"], "--n-countries must be at least 4"),
    ("save-every-0", ["--save-every", "0"], "--save-every must be at least 1"),
    ("eval-limit-0", ["--eval-limit", "0"], "--eval-limit must be at least 1"),
    ("steps-0", ["--steps", "0"], "--steps must be at least 1"),
    ("top-t-0", ["--top-t", "0"], "--top-t must be at least 1"),
    ("lr-negative", ["--lr", "-1"], "learning rate must be positive"),
    ("batch-size-0", ["--batch-size", "0"], "--batch-size and --grad-accum must be at least 1"),
    ("loss-on", ["--loss-on", "foo"], "--loss-on must be"),
    ("split", ["--split", "train"], "--split must be 'dev' or 'test'"),
    ("row-step-cap", ["--row-step-cap", "-1"], "--row-step-cap must be 0"),
    ("device-unknown", ["TINY", "--device", "tpu"], "--device must be cpu, cuda"),
    ("model-missing", ["--model", "/nonexistent/model"], "there is no such folder"),
    ("model-not-a-model", ["--model", "{tmp}/notamodel"], "has no config.json"),
    ("data-dir-missing", ["TINY", "--task", "medmcqa", "--data-dir", "/nonexistent"], "does not exist"),
    ("medmcqa-bad-json", ["TINY", "--task", "medmcqa", "--data-dir", "{tmp}/badjson"], "row 2: not valid JSON"),
    ("medmcqa-no-cop", ["TINY", "--task", "medmcqa", "--data-dir", "{tmp}/nocop"], "missing field(s) cop"),
    ("medmcqa-empty", ["TINY", "--task", "medmcqa", "--data-dir", "{tmp}/empty"], "has no rows"),
    ("medmcqa-cop-float", ["TINY", "--task", "medmcqa", "--data-dir", "{tmp}/copfloat"], "cop must be an integer 0..3"),
    ("medmcqa-cop-7", ["TINY", "--task", "medmcqa", "--data-dir", "{tmp}/cop7"], "row 2: cop must be an integer"),
    ("background-no-text", ["TINY", "--background", "{tmp}/bg.jsonl"], "missing field(s) text"),
    ("background-missing", ["TINY", "--background", "{tmp}/none.jsonl"], "does not exist"),
    ("init-memory-missing", ["TINY", "--init-memory", "{tmp}/nomem"], "no memory.safetensors there"),
    ("resume-nothing", ["TINY", "--resume"], "no interrupted run"),
    ("sweep-bad-lrs", ["--lrs", "abc"], "--lrs takes comma-separated numbers"),
    ("no-tokens", ["TINY", "--max-length", "1"], "no tokens to learn from"),
]
AFTER_LOAD = {"no-tokens"}  # needs the tokenizer: refused after the model loads, leaving no folder
LONG = "n" * 201
BAD += [
    # numeric flags: finite and in range, checked with the settings (before the model's config is read)
    ("n-countries-901", ["--n-countries", "901"], "--n-countries must be at most 900"),
    ("steps-1e9", ["--steps", "1000000000"], "--steps must be at most 1,000,000"),
    ("epochs-1e9", ["TINY", "--preset", "paper", "--task", "fictional", "--background", "{tmp}/bgok.jsonl", "--epochs", "1e9"],
     "more than the 1,000,000 a run can take"),  # the paper preset counts steps from epochs
    ("epochs-inf", ["--epochs", "inf"], "--epochs must be a finite number"),
    ("epochs-nan", ["--epochs", "nan"], "--epochs must be a finite number"),
    ("lr-inf", ["--lr", "inf"], "--lr must be a finite number"),
    ("lr-nan", ["--lr", "nan"], "--lr must be a finite number"),
    ("smf-lr-inf", ["--smf-lr", "inf"], "--lr must be a finite number"),
    ("lora-lr-inf", ["--method", "lora", "--lora-lr", "inf"], "--lr must be a finite number"),
    ("row-step-cap-inf", ["--row-step-cap", "inf"], "--row-step-cap must be a finite number"),
    ("scale-lr-nan", ["--scale-lr", "nan"], "--scale-lr must be a finite number"),
    ("seed-1e23", ["--seed", "100000000000000000000000"], "--seed must be an integer from 0 to"),
    ("seed-negative", ["--seed", "-1"], "--seed must be an integer from 0 to"),
    ("background-docs-0", ["--background-docs", "0"], "--background-docs must be at least 1"),
    ("background-docs-negative", ["--background-docs", "-1"], "--background-docs must be at least 1"),
    ("max-length-negative", ["--max-length", "-5"], "--max-length must be at least 1"),
    ("warmup-negative", ["--warmup", "-5"], "--warmup must be 0 (off) or a positive"),
    ("clip-negative", ["--clip", "-1"], "--clip must be 0 (off) or positive"),
    ("clip-inf", ["--clip", "inf"], "--clip must be a finite number"),
    ("background-max-length-0", ["--background-max-length", "0"], "--background-max-length must be at least 1"),
    ("lora-r-0", ["--method", "lora", "--lora-r", "0"], "--lora-r must be at least 1"),
    ("lora-alpha-0", ["--method", "lora", "--lora-alpha", "0"], "--lora-alpha must be at least 1"),
    ("lora-dropout-2", ["--method", "lora", "--lora-dropout", "2"], "--lora-dropout must be at least 0 and below 1"),
    ("lora-dropout-1", ["--method", "lora", "--lora-dropout", "1"], "--lora-dropout must be at least 0 and below 1"),
    ("lora-dropout-negative", ["--method", "lora", "--lora-dropout", "-0.1"], "--lora-dropout must be at least 0"),
    ("lora-dropout-nan", ["--method", "lora", "--lora-dropout", "nan"], "--lora-dropout must be a finite number"),
    ("retrofit-epochs-0", ["--method", "retrofit", "--retrofit-epochs", "0"], "--retrofit-epochs must be positive"),
    ("memory-slots-negative", ["--memory-slots", "-16"], "--memory-slots must be a positive perfect square"),
    ("memory-slots-0", ["--memory-slots", "0"], "--memory-slots must be a positive perfect square"),
    ("memory-slots-huge", ["TINY", "--memory-slots", "10000000000"], "more than this machine's"),
    ("memory-heads-0", ["--memory-heads", "0"], "--memory-heads and --memory-topk must be at least 1"),
    ("sweep-lrs-inf", ["--lrs", "1e-3,inf"], "--lrs takes finite numbers"),
    # run names
    ("name-empty", ["--name", ""], "plain folder name"),
    ("name-too-long", ["--name", LONG], "--name is 201 bytes long"),
    ("name-newline", ["--name", "a\nb"], "printable characters"),
    ("name-tab", ["--name", "a\tb"], "printable characters"),
    ("name-trailing-space", ["--name", "run "], "leading/trailing spaces"),
    # background files
    ("background-folder", ["TINY", "--background", "{tmp}"], "is a folder; give a JSON Lines file"),
    ("background-text-number", ["TINY", "--background", "{tmp}/bg5.jsonl"], "row 2: text must be text"),
    ("background-text-list", ["TINY", "--background", "{tmp}/bglist.jsonl"], "row 1: text must be text"),
    ("background-text-null", ["TINY", "--background", "{tmp}/bgnull.jsonl"], "row 1: text must be text"),
    ("background-latin-1", ["TINY", "--background", "{tmp}/bglatin.jsonl"], "row 2: not UTF-8 text"),
    ("background-binary", ["TINY", "--background", "{tmp}/bgbin.jsonl"], "row 1: not UTF-8 text"),
    ("retrofit-background-folder", ["TINY", "--method", "retrofit", "--background", "{tmp}"], "is a folder"),
    # task rows
    ("mcq-exp-number", ["TINY", "--task", "mcq", "--data-dir", "{tmp}/expnum"], "row 1: exp must be text"),
    ("mcq-option-null", ["TINY", "--task", "mcq", "--data-dir", "{tmp}/opanull"], "row 1: opa must be text"),
    ("mcq-question-number", ["TINY", "--task", "mcq", "--data-dir", "{tmp}/qnum"], "row 2: question must be text"),
    ("mcq-latin-1", ["TINY", "--task", "mcq", "--data-dir", "{tmp}/latin"], "row 1: not UTF-8 text"),
    ("mcq-train-only-multi", ["TINY", "--task", "mcq", "--data-dir", "{tmp}/multi"], "train.jsonl has no single-choice rows"),
    ("mcq-validation-only-multi", ["TINY", "--task", "mcq", "--data-dir", "{tmp}/multival"],
     "validation.jsonl has no single-choice rows"),
    ("mcq-question-beyond-context", ["TINY", "--task", "mcq", "--data-dir", "{tmp}/longq"],
     "more than the model's context of"),
    ("medmcqa-question-beyond-context", ["TINY", "--task", "medmcqa", "--data-dir", "{tmp}/longq"],
     "more than the model's context of"),
    ("mcq-views-unknown", ["TINY", "--task", "mcq", "--mcq-views", "question,paraphrase"], "--mcq-views takes a comma-separated list"),
    ("mcq-views-empty", ["TINY", "--task", "mcq", "--mcq-views", ","], "--mcq-views takes a comma-separated list"),
    ("mcq-views-other-task", ["TINY", "--mcq-views", "bare"], "--mcq-views applies to --task mcq only"),
    ("mcq-epochs-zero", ["TINY", "--task", "mcq", "--data-dir", "{tmp}/multival", "--epochs", "0"], "a positive --epochs"),
    ("mcq-data-is-folder", ["TINY", "--task", "mcq", "--data-dir", "{tmp}/isdir"], "is a folder"),
    ("medmcqa-only-multi", ["TINY", "--task", "medmcqa", "--data-dir", "{tmp}/multi"], "no single-choice row with an answer"),
    ("medmcqa-option-number", ["TINY", "--task", "medmcqa", "--data-dir", "{tmp}/opbnum"], "row 1: opb must be text"),
    ("medmcqa-paper-validation-only-multi", ["TINY", "--preset", "paper", "--task", "medmcqa", "--data-dir", "{tmp}/multival",
                                             "--background", "{tmp}/bgok.jsonl"], "no single-choice row for the paper protocol"),
    # the runs folder cannot be made: one sentence naming the path (before the model loads)
    ("runs-dir-under-a-file", ["TINY", "--runs-dir", "{tmp}/afile/runs"], "a part of the path is a file"),
    ("runs-dir-is-a-file", ["TINY", "--runs-dir", "{tmp}/afile"], "is a file, not a folder"),
    ("init-memory-not-safetensors", ["TINY", "--init-memory", "{tmp}/afile"], "is not a memory file that can be read"),
    ("sweep-seed-too-big", ["--lrs", "1", "--seeds", "1,99999999999999"], "--seeds takes integers from 0 to"),
    ("sweep-steps-too-many", ["--lrs", "1", "--steps-list", "2000000"], "--steps-list takes step counts of at most"),
]
if not torch.cuda.is_available():
    BAD.append(("device-cuda-without-gpu", ["TINY", "--device", "cuda"], "sees no GPU"))

MULTI = GOOD_ROW.replace("}", ', "choice_type": "multi"}')


def make_files(tmp: Path) -> None:
    (tmp / "notamodel").mkdir()
    (tmp / "notamodel" / "readme.txt").write_text("not a model")
    medmcqa_dir(tmp / "badjson", GOOD_ROW + "{not json\n")
    medmcqa_dir(tmp / "nocop", '{"question": "q", "opa": "a", "opb": "b", "opc": "c", "opd": "d"}\n')
    medmcqa_dir(tmp / "empty", "")
    medmcqa_dir(tmp / "copfloat", GOOD_ROW.replace('"cop": 1', '"cop": 2.0'))
    medmcqa_dir(tmp / "cop7", GOOD_ROW + GOOD_ROW.replace('"cop": 1', '"cop": 7'))
    (tmp / "bg.jsonl").write_text('{"content": "no text field"}\n')
    (tmp / "victim").mkdir()
    (tmp / "victim" / "keep.txt").write_text("precious")
    doc = '{"text": "a document"}\n'
    (tmp / "bgok.jsonl").write_text(doc)
    (tmp / "bg5.jsonl").write_text(doc + '{"text": 5}\n')
    (tmp / "bglist.jsonl").write_text('{"text": ["a", "b"]}\n')
    (tmp / "bgnull.jsonl").write_text('{"text": null}\n')
    (tmp / "bglatin.jsonl").write_bytes(doc.encode() + '{"text": "café"}\n'.encode("latin-1"))
    (tmp / "bgbin.jsonl").write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(128, 256)))
    medmcqa_dir(tmp / "expnum", GOOD_ROW.replace('"cop": 1', '"cop": 1, "exp": 42'))
    medmcqa_dir(tmp / "opanull", GOOD_ROW.replace('"opa": "a"', '"opa": null'))
    medmcqa_dir(tmp / "qnum", GOOD_ROW + GOOD_ROW.replace('"question": "q"', '"question": 12345'))
    medmcqa_dir(tmp / "opbnum", GOOD_ROW.replace('"opb": "b"', '"opb": 7'))
    medmcqa_dir(tmp / "latin", GOOD_ROW.replace('"q"', '"é?"'), "train.jsonl")
    (tmp / "latin" / "medmcqa" / "train.jsonl").write_bytes(GOOD_ROW.replace('"q"', '"é?"').encode("latin-1"))
    medmcqa_dir(tmp / "multi", MULTI)
    medmcqa_dir(tmp / "multi", GOOD_ROW, "validation.jsonl")
    medmcqa_dir(tmp / "multival", GOOD_ROW)
    medmcqa_dir(tmp / "multival", MULTI, "validation.jsonl")
    (tmp / "isdir" / "medmcqa" / "train.jsonl").mkdir(parents=True)
    (tmp / "afile").write_text("a file, not a folder")
    medmcqa_dir(tmp / "longq", GOOD_ROW)
    medmcqa_dir(tmp / "longq", GOOD_ROW + GOOD_ROW.replace('"q"', json.dumps("word " * 20_000)), "validation.jsonl")  # 100 KB


@pytest.mark.parametrize("case,flags,msg", BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_one_sentence_and_changes_nothing(tmp_path, tiny_dir, capsys, monkeypatch, case, flags, msg):  # noqa: F811
    make_files(tmp_path)
    if case not in AFTER_LOAD:  # refused before the model loads (so within seconds)
        monkeypatch.setattr(common, "load_model", lambda *a, **k: pytest.fail("the model was loaded"))
    runs = tmp_path / "runs"
    argv = [f.replace("{tmp}", str(tmp_path)) for f in flags]
    if argv and argv[0] == "TINY":
        base = [x for x in small(tiny_dir, "smf", steps=2) if x != "--no-eval"]
        if "--epochs" in argv:  # a step count from epochs: no --steps
            i = base.index("--steps")
            base = base[:i] + base[i + 2 :]
        argv = applicable(base + argv[1:])  # the tiny run's settings that this combination reads
    before = tree(tmp_path)
    with pytest.raises(SystemExit) as info:  # SystemExit: the message is printed, no traceback
        train.main(["--runs-dir", str(runs), *argv])
    text = str(info.value.code)
    assert info.value.code not in (0, None) and msg in text, text
    assert text.startswith("error: ") and "Traceback" not in text + capsys.readouterr().err
    after = tree(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("runs")} == before  # nothing else changed
    assert not [k for k in after if k.startswith("runs/") and not k.startswith("runs/.")]  # no run folder left


def test_real_command_lines_exit_with_one_sentence(tmp_path):
    """The same through a real process: exit status 1, the sentence on stderr, no traceback."""
    for flags, msg in ((["--rule", "bm25"], "--rule must be one of"), (["--name", "../x"], "plain folder name"),
                       (["--model", "/nonexistent/model"], "there is no such folder")):
        p = subprocess.run([sys.executable, str(ROOT / "train.py"), "--runs-dir", str(tmp_path / "runs"), *flags],
                           capture_output=True, text=True, cwd=tmp_path)
        assert p.returncode == 1 and msg in p.stderr and "Traceback" not in p.stderr, p.stderr
    p = subprocess.run([sys.executable, str(ROOT / "eval.py"), "--model", "x", "--window", "0"], capture_output=True, text=True)
    assert p.returncode == 1 and "--window must be at least 2" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_eval_refuses_damaged_run_folder(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text("{broken")
    with pytest.raises(SystemExit, match="config.json is not valid JSON"):
        eval.main([str(tmp_path / "run")])


# ---------------------------------------------------------------- one writer per run


def test_live_lock_refuses_a_second_writer(tmp_path, tiny_dir):  # noqa: F811
    runs = tmp_path / "runs"
    runs.mkdir()
    owner = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (runs / ".tiny-full.lock").write_text(str(owner.pid))
        with pytest.raises(SystemExit, match=f"a run with this name is in progress \\(pid {owner.pid}\\)"):
            train.main(["--runs-dir", str(runs), *small(tiny_dir, "full", steps=1), "--resume"])
        assert sorted(p.name for p in runs.iterdir()) == [".tiny-full.lock"]
        # a new run without --name does not wait for it: it goes to the next default folder
        assert train.main(["--runs-dir", str(runs), *small(tiny_dir, "full", steps=1)]) == 0
        assert sorted(p.name for p in runs.iterdir()) == [".tiny-full.lock", "tiny-full-2"]
    finally:
        owner.kill()
        owner.wait()
    # the owner is gone: its lock is stale and taken over; the run releases it when done
    assert train.main(["--runs-dir", str(runs), *small(tiny_dir, "full", steps=1)]) == 0
    assert sorted(p.name for p in runs.iterdir()) == ["tiny-full", "tiny-full-2"]


# ---------------------------------------------------------------- re-running without --name


def test_rerun_without_name_starts_a_new_folder_and_says_where(tmp_path, tiny_dir, capsys):  # noqa: F811
    """The same command twice, three times: each run exits 0 in its own folder (tiny-full,
    tiny-full-2, tiny-full-3), says where it went, and leaves the earlier runs untouched."""
    flags = ["--runs-dir", str(tmp_path), *small(tiny_dir, "full", steps=1)]
    assert train.main(flags) == 0
    first = tree(tmp_path / "tiny-full")
    for n in (2, 3):
        capsys.readouterr()
        assert train.main(flags) == 0
        out = capsys.readouterr().out
        assert f"so this run goes to {tmp_path / f'tiny-full-{n}'}" in out and f"Run saved in {tmp_path / f'tiny-full-{n}'}" in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny-full", "tiny-full-2", "tiny-full-3"]
    assert tree(tmp_path / "tiny-full") == first
    assert json.loads((tmp_path / "tiny-full-3" / "config.json").read_text())["method"] == "full"


def test_resume_without_name_continues_the_newest_interrupted_default_run(tmp_path, tiny_dir, monkeypatch, capsys):  # noqa: F811
    """Without --name, an interrupted re-run (tiny-full-2.partial) is not passed over by the
    next run: that run stops and asks for --resume, and --resume continues tiny-full-2."""
    flags = ["--runs-dir", str(tmp_path), *small(tiny_dir, "full", steps=4, extra=["--save-every", "1"])]
    assert train.main(flags) == 0
    interrupt_at(monkeypatch, 2)
    assert train.main(flags) == 130
    monkeypatch.undo()
    assert (tmp_path / "tiny-full-2.partial" / "state.pt").exists()
    with pytest.raises(SystemExit, match=r"an interrupted run exists at .*tiny-full-2.partial; pass --resume"):
        train.main(flags)
    capsys.readouterr()
    assert train.main([*flags, "--resume"]) == 0
    assert f"continues the newest interrupted run, {tmp_path / 'tiny-full-2'}.partial" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny-full", "tiny-full-2"]
    assert [json.loads(l)["step"] for l in (tmp_path / "tiny-full-2" / "log.jsonl").read_text().splitlines()] == [1, 2, 3, 4]
    with pytest.raises(SystemExit, match="no interrupted run at"):  # nothing left to resume
        train.main([*flags, "--resume"])
    interrupt_at(monkeypatch, 1)  # an explicit --name is resumed as named, with no note
    assert train.main([*flags, "--name", "mine"]) == 130
    monkeypatch.undo()
    capsys.readouterr()
    assert train.main([*flags, "--name", "mine", "--resume"]) == 0
    assert "newest interrupted" not in capsys.readouterr().out and (tmp_path / "mine" / "config.json").exists()


# ---------------------------------------------------------------- divergence guard


def test_divergence_rule_by_hand():
    """Window means of 8 steps: the last 8 against the first 8, factor 2 plus one nat."""
    rundir.check_step(7, 4.0, [3.0] * 7)  # a little above the start: fine
    # stuck at ln(vocabulary): first 8 mean 3.0, last 8 mean (4 x 3.0 + 4 x 10.8) / 8 = 6.9 < 7: fine...
    rundir.check_step(11, 10.8, [3.0] * 8 + [10.8] * 3)
    with pytest.raises(rundir.Diverged, match=r"rose to 7.88 \(mean of the last 8 steps, to step 13\) from 3.00"):
        rundir.check_step(12, 10.8, [3.0] * 8 + [10.8] * 4)  # ...one step more: (3 x 3.0 + 5 x 10.8) / 8 = 7.875 > 7
    # batches of two kinds (the mcq task: statements ~8 nats, questions ~17.7) are no divergence
    mixed = [8.4, 17.7] * 8
    for k in range(1, len(mixed)):
        rundir.check_step(k, mixed[k], mixed[:k])
    rundir.check_step(1, 17.7, [8.4])  # the old single-step rule (17.7 > 2 x 8.4 + 1) stopped this run
    with pytest.raises(rundir.Diverged, match="became nan"):
        rundir.check_step(0, float("nan"), [])


def test_nonfinite_weights_are_never_saved(tiny_dir):  # noqa: F811
    import memory
    import common
    import smf_mini

    model, _ = common.load_model(tiny_dir)
    memory.attach_memory(model, memory.MemoryConfig(slots=256, heads=1, topk=4, key_dim=16, layers=[1]))
    cfg = {"method": "smf"}
    rundir.check_weights(model, cfg, 3)
    with torch.no_grad():
        memory.memory_layers(model)[1].values.weight[7, 0] = float("inf")
    with pytest.raises(rundir.Diverged, match="non-finite"):
        rundir.check_weights(model, cfg, 3)


def test_divergence_moves_the_run_aside_and_says_what_was_kept(tmp_path, tiny_dir, capsys):  # noqa: F811
    flags = small(tiny_dir, "full", steps=6, extra=["--lr", "1e30", "--clip", "0"])
    assert train.main(["--runs-dir", str(tmp_path), *flags]) == 1
    err = capsys.readouterr().err
    assert "training diverged" in err and "Lower the learning rate (--lr)" in err and "nothing in it to resume" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny-full.diverged"]
    state = tmp_path / "tiny-full.diverged" / "state.pt"
    if state.exists():  # any checkpoint that was written holds finite weights only
        st = torch.load(state, weights_only=False)
        assert all(torch.isfinite(v).all() for v in st["trainable"].values())
    # the corrected rerun is not blocked
    assert train.main(["--runs-dir", str(tmp_path), *small(tiny_dir, "full", steps=1, extra=["--lr", "1e-3"])]) == 0


# ---------------------------------------------------------------- resume


def test_resume_refuses_changed_training_settings(tmp_path, tiny_dir, monkeypatch):  # noqa: F811
    flags = small(tiny_dir, "smf", steps=4)
    interrupt_at(monkeypatch, 2)
    assert train.main(["--runs-dir", str(tmp_path), *flags]) == 130
    with pytest.raises(SystemExit, match=r"changed training settings: batch_size \(36 -> 4\), lr .*top_t \(64 -> 5\)"):
        train.main(["--runs-dir", str(tmp_path), *flags, "--resume", "--lr", "1", "--batch-size", "4", "--top-t", "5"])
    cfg = json.loads((tmp_path / "tiny-smf.partial" / "config.json").read_text())
    assert cfg["top_t"] == 64 and cfg["batch_size"] == 36  # the record of the first steps is intact
    monkeypatch.undo()
    assert train.main(["--runs-dir", str(tmp_path), *flags, "--resume", "--save-every", "3"]) == 0  # allowed change


def test_resume_of_a_run_made_before_a_setting_was_added(tmp_path):
    """A run interrupted before --scale-lr existed has no scale_lr in its config.json: it ran
    without a scale, so resuming it with the default (0) is allowed; asking for a scale is not."""
    cfg = train.resolve_config(train.build_parser().parse_args([]))
    old = {k: v for k, v in json.loads(json.dumps(cfg, default=str)).items() if k not in ("scale_lr", "min_read_ratio")}
    (tmp_path / "config.json").write_text(json.dumps(old))
    rundir.check_resume_settings(tmp_path, cfg)
    with pytest.raises(SystemExit, match=r"scale_lr \(0.0 -> 0.01\)"):
        rundir.check_resume_settings(tmp_path, dict(cfg, scale_lr=0.01))


def test_mcq_views_is_an_mcq_setting_and_old_mcq_runs_trained_question_and_statement(tmp_path):
    """--mcq-views came after runs were made. A fictional run neither records it nor is compared
    on it (resume and --compare's groups); an mcq run recorded before it trained
    question,statement, so it resumes and groups with that value and not with the new default."""
    p = train.build_parser()
    fict = train.resolve_config(p.parse_args([]))
    assert "mcq_views" not in fict
    (tmp_path / "config.json").write_text(json.dumps(dict(json.loads(json.dumps(fict, default=str)),
                                                          mcq_views="question,statement,shuffled,bare")))
    rundir.check_resume_settings(tmp_path, fict)  # a stray value on a fictional run changes nothing
    mcq = train.resolve_config(p.parse_args(["--task", "mcq", "--data-dir", str(tmp_path)]))
    old = {k: v for k, v in json.loads(json.dumps(mcq, default=str)).items() if k != "mcq_views"}
    (tmp_path / "config.json").write_text(json.dumps(old))
    with pytest.raises(SystemExit, match=r"mcq_views \('question,statement' -> 'question,statement,shuffled,bare'\)"):
        rundir.check_resume_settings(tmp_path, mcq)
    rundir.check_resume_settings(tmp_path, dict(mcq, mcq_views="question,statement"))
    group = compare._group_settings
    assert group(settings.with_added_settings(old)) == group(settings.with_added_settings(dict(mcq, mcq_views="question,statement")))
    assert group(settings.with_added_settings(old)) != group(settings.with_added_settings(mcq))
    assert group(settings.with_added_settings(dict(fict, mcq_views="bare"))) == group(settings.with_added_settings(fict))


def interrupt_at(monkeypatch, step: int) -> None:
    """Press Ctrl-C (a real SIGINT) while step `step` (0-based) runs."""
    real = train.lr_at

    def lr_at(s, total, cfg):
        if s == step:
            os.kill(os.getpid(), signal.SIGINT)
        return real(s, total, cfg)

    monkeypatch.setattr(train, "lr_at", lr_at)


def test_ctrl_c_saves_the_finished_step_and_resume_is_exact(tmp_path, tiny_dir, monkeypatch):  # noqa: F811
    """Ctrl-C between checkpoints (save_every 100) loses nothing: the step is finished and saved,
    log.jsonl already holds it, stray temporaries are cleaned, and resuming gives the same weights."""
    from safetensors.torch import load_file

    flags = small(tiny_dir, "smf", steps=5, extra=["--save-every", "100"])
    assert train.main(["--runs-dir", str(tmp_path / "a"), *flags]) == 0
    interrupt_at(monkeypatch, 2)
    assert train.main(["--runs-dir", str(tmp_path / "b"), *flags]) == 130
    work = tmp_path / "b" / "tiny-smf.partial"
    assert torch.load(work / "state.pt", weights_only=False)["step"] == 3
    assert [json.loads(l)["step"] for l in (work / "log.jsonl").read_text().splitlines()] == [1, 2, 3]  # written live
    (work / ".state.pt.x1y2.tmp").write_bytes(b"half a save")  # as a kill during a save leaves
    monkeypatch.undo()
    assert train.main(["--runs-dir", str(tmp_path / "b"), *flags, "--resume"]) == 0
    a, b = tmp_path / "a" / "tiny-smf", tmp_path / "b" / "tiny-smf"
    A, B = load_file(a / "memory.safetensors"), load_file(b / "memory.safetensors")
    assert all(torch.equal(A[k], B[k]) for k in A)
    assert (a / "log.jsonl").read_text().count("\n") == (b / "log.jsonl").read_text().count("\n") == 5
    assert not list(b.rglob("*.tmp")) and not (b / "state.pt").exists()


def test_interrupted_evaluation_resumes_without_retraining(tmp_path, tiny_dir, monkeypatch):  # noqa: F811
    flags = [x for x in small(tiny_dir, "smf", steps=2) if x != "--no-eval"] + ["--eval-limit", "2"]

    def stop(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(eval, "evaluate_run", stop)
    assert train.main(["--runs-dir", str(tmp_path), *flags]) == 130
    work = tmp_path / "tiny-smf.partial"
    assert (work / "state.pt").exists() and (work / "memory.safetensors").exists()  # training kept
    monkeypatch.undo()
    calls = []
    real_step = train.train_step
    monkeypatch.setattr(train, "train_step", lambda *a, **k: calls.append(1) or real_step(*a, **k))
    assert train.main(["--runs-dir", str(tmp_path), *flags, "--resume"]) == 0
    assert calls == [] and (tmp_path / "tiny-smf" / "results.json").exists()


# ---------------------------------------------------------------- batch order


def test_grad_accum_sees_the_same_examples_as_one_big_batch(tmp_path, tiny_dir):  # noqa: F811
    """--batch-size 4 --grad-accum 2 trains step 1 on exactly the examples of --batch-size 8:
    the same loss and the same SMF rows."""
    from safetensors.torch import load_file

    out = {}
    for name, extra in (("big", ["--batch-size", "8"]), ("accum", ["--batch-size", "4", "--grad-accum", "2"])):
        assert train.main(["--runs-dir", str(tmp_path), *small(tiny_dir, "smf", steps=1), *extra, "--name", name]) == 0
        loss = json.loads((tmp_path / name / "log.jsonl").read_text().splitlines()[0])["loss"]
        out[name] = (loss, load_file(tmp_path / name / "rows_changed.safetensors")["layer1"])
    assert out["big"][0] == pytest.approx(out["accum"][0], rel=1e-5)
    assert torch.equal(out["big"][1].sort().values, out["accum"][1].sort().values)


def test_batch_schedule_depends_on_the_effective_batch_only():
    lengths = list(range(50))
    one = train.batch_schedule(50, lengths, {"seed": 3, "batch_size": 8, "grad_accum": 1}, 10)
    two = train.batch_schedule(50, lengths, {"seed": 3, "batch_size": 4, "grad_accum": 2}, 10)
    assert [sum(step, []) for step in one] == [sum(step, []) for step in two]
    assert all(len(m) <= 4 for step in two for m in step) and len(two) == 10


def test_data_dir_with_the_fictional_task_says_it_is_unused(tmp_path, tiny_dir, capsys):  # noqa: F811
    assert train.main(["--runs-dir", str(tmp_path), *small(tiny_dir, "full", steps=1), "--data-dir", str(tmp_path)]) == 0
    assert "is not used by the fictional task" in capsys.readouterr().out


# ---------------------------------------------------------------- eval.py: the same checks, before any work

EVAL_BAD = [
    ("device-bogus", ["--model", "TINY", "--device", "bogus"], "--device must be cpu, cuda"),
    ("model-missing", ["--model", "/nonexistent/model"], "there is no such folder"),
    ("model-not-a-model", ["--model", "{tmp}/notamodel"], "has no config.json"),
    ("out-is-a-folder", ["--model", "TINY", "--out", "{tmp}/victim"], "--out {tmp}/victim is a folder"),
    ("levels-empty", ["--compare", "{tmp}/a", "--levels", ""], "--levels is empty"),
    ("levels-commas", ["--compare", "{tmp}/a", "--levels", ",,"], "--levels is empty"),
    ("levels-nan", ["--compare", "{tmp}/a", "--levels", "nan,0.5"], "from 0 to 1"),
    ("levels-inf", ["--compare", "{tmp}/a", "--levels", "0.5,inf"], "from 0 to 1"),
    ("levels-negative", ["--compare", "{tmp}/a", "--levels", "-1"], "from 0 to 1"),
    ("levels-above-1", ["--compare", "{tmp}/a", "--levels", "1.5"], "from 0 to 1"),
    ("levels-not-numbers", ["--compare", "{tmp}/a", "--levels", "high"], "--levels takes comma-separated accuracies"),
    ("plot-is-a-folder", ["--compare", "{tmp}/a", "--plot", "{tmp}/dir.png"], "is a folder"),
    ("plot-under-a-file", ["--compare", "{tmp}/a", "--plot", "{tmp}/afile/x.png"], "is not a folder"),
    ("plot-in-proc", ["--compare", "{tmp}/a", "--plot", "/proc/x.png"], "cannot be written"),
    ("summary-is-a-folder", ["--compare", "{tmp}/a", "--summary", "{tmp}/victim"], "--summary {tmp}/victim is a folder"),
    ("summary-under-a-file", ["--compare", "{tmp}/a", "--summary", "{tmp}/afile/s.json"], "is not a folder"),
]
if not torch.cuda.is_available():
    EVAL_BAD.append(("device-cuda-without-gpu", ["--model", "TINY", "--device", "cuda"], "sees no GPU"))


@pytest.mark.parametrize("case,flags,msg", EVAL_BAD, ids=[b[0] for b in EVAL_BAD])
def test_eval_bad_input_is_one_sentence_before_any_work(tmp_path, tiny_dir, capsys, monkeypatch, case, flags, msg):  # noqa: F811
    make_files(tmp_path)
    (tmp_path / "dir.png").mkdir()
    monkeypatch.setattr(common, "load_model", lambda *a, **k: pytest.fail("the model was loaded"))
    monkeypatch.setattr(compare, "compare", lambda *a, **k: pytest.fail("the comparison ran"))
    argv = [f.replace("{tmp}", str(tmp_path)).replace("TINY", tiny_dir) for f in flags]
    before = tree(tmp_path)
    with pytest.raises(SystemExit) as info:
        eval.main(argv)
    text = str(info.value.code)
    assert text.startswith("error: ") and msg.replace("{tmp}", str(tmp_path)) in text, text
    assert "Traceback" not in text + capsys.readouterr().err
    assert tree(tmp_path) == before  # nothing made, moved or removed


def test_compare_skips_malformed_and_inconsistent_results_and_counts_a_run_once(tmp_path, capsys):
    """results.json as {}, a list, without base, or with an item list cut short: each run is
    skipped by name, and the others are compared; a run given three times counts once."""
    from test_probes_stats import _fake_run

    _fake_run(tmp_path / "good", "smf", 1.0, 0, 20, 1, -25.0)
    _fake_run(tmp_path / "good2", "smf", 1.0, 1, 24, 1, -25.0)
    bad = {"empty": {}, "list": [1, 2], "nobase": None, "cut": None, "wrong-form": None, "probe-cut": None}
    for name, content in bad.items():
        _fake_run(tmp_path / name, "smf", 1.0, 2, 20, 1, -25.0)
        r = json.loads((tmp_path / name / "results.json").read_text())
        if name == "nobase":
            del r["base"]
        elif name == "cut":  # 10 of 40 task items, all correct: accuracy 1.0 where the file says 0.5
            r["trained"]["items"]["task"] = [1] * 10
        elif name == "wrong-form":
            r["trained"]["items"]["wiki"] = ["x"]
        elif name == "probe-cut":
            r["trained"]["items"]["world"] = r["trained"]["items"]["world"][:5]
        else:
            r = content
        (tmp_path / name / "results.json").write_text(json.dumps(r))
    dirs = [tmp_path / n for n in ("good", "good", "good", "good2", *bad)]
    rep, groups = compare.compare_report(dirs)
    out = capsys.readouterr().out
    for name in bad:
        assert f"skipping {tmp_path / name}:" in out, name
    assert out.count("given more than once") == 2
    assert [r["name"] for g in groups for r in g["runs"]] == ["good", "good2"]
    assert rep["groups"][0]["summary"]["task_acc"]["per_seed"] == [0.5, 0.6]
    assert rep["sources"] == {tmp_path.as_posix(): 8}


def test_a_partial_left_before_the_first_step_never_blocks_a_corrected_rerun(tmp_path, tiny_dir, monkeypatch, capsys):  # noqa: F811
    """A run that fails (or is killed) while loading leaves nothing that blocks the name: the
    failed run removes its own .partial, and one left by a kill is removed by the next run,
    with or without --resume (even with settings that differ from the failed run's)."""
    flags = ["--runs-dir", str(tmp_path), *small(tiny_dir, "full", steps=1), "--name", "r"]

    def broken(*a, **k):
        raise RuntimeError("a fault while loading")

    monkeypatch.setattr(common, "load_model", broken)
    with pytest.raises(RuntimeError):
        train.main(flags)
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no .partial, no lock left
    monkeypatch.undo()
    for resume in ([], ["--resume"]):  # as a kill during loading leaves it: config.json only
        (tmp_path / "r.partial").mkdir()
        (tmp_path / "r.partial" / "config.json").write_text('{"lr": 123}')
        capsys.readouterr()
        assert train.main([*flags, "--overwrite", *resume]) == 0
        assert "stopped before its first step" in capsys.readouterr().out
        assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]


@pytest.mark.parametrize("error,why", [(OSError(28, "No space left on device"), "no space is left on the device"),
                                       (RuntimeError("PytorchStreamWriter failed writing file data/0"), "failed writing")],
                         ids=["oserror", "torch-writer"])
def test_an_os_error_is_one_sentence_naming_the_path_and_what_was_kept(tmp_path, tiny_dir, monkeypatch, error, why):  # noqa: F811
    """A checkpoint write that fails (a full disk; torch's writer says so as a RuntimeError)
    keeps the last checkpoint and says so."""
    flags = ["--runs-dir", str(tmp_path), *small(tiny_dir, "full", steps=3, extra=["--save-every", "1"])]
    real, calls = torch.save, []

    def full_disk(obj, f, *a, **k):
        calls.append(1)
        if len(calls) == 2:
            raise error
        return real(obj, f, *a, **k)

    monkeypatch.setattr(torch, "save", full_disk)
    with pytest.raises(SystemExit) as info:
        train.main(flags)
    text = str(info.value.code)
    assert text.startswith("error: could not write ") and why in text and "state.pt" in text, text
    assert "the checkpoint at step 1 is kept in" in text and "--resume" in text
    monkeypatch.undo()
    assert train.main([*flags, "--resume"]) == 0


def test_a_utf8_byte_order_mark_is_accepted(tmp_path):
    import tasks

    f = tmp_path / "bg.jsonl"
    f.write_bytes('\ufeff{"text": "first"}\n{"text": "second"}\n'.encode("utf-8"))
    assert [r["text"] for r in tasks.read_jsonl(f, ("text",), tasks.TEXT_TYPES)] == ["first", "second"]
    cfg = train.resolve_config(train.build_parser().parse_args(["--background", str(f)]))
    assert data.background_docs(cfg) == ["first", "second"]


def test_resuming_an_interrupted_overwrite_says_it_replaces_the_finished_run(tmp_path, tiny_dir, monkeypatch, capsys):  # noqa: F811
    flags = ["--runs-dir", str(tmp_path), *small(tiny_dir, "full", steps=3, extra=["--save-every", "1"]), "--name", "r"]
    assert train.main(flags) == 0
    interrupt_at(monkeypatch, 1)
    assert train.main([*flags, "--overwrite"]) == 130
    monkeypatch.undo()
    capsys.readouterr()
    assert train.main([*flags, "--resume"]) == 0
    assert f"note: {tmp_path / 'r'} holds a finished run, and the interrupted run resumed here was started to replace it" \
        in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r"]
