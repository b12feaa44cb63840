"""`eval.py RUN --lm-eval TASKS`: lm-evaluation-harness on a run's base and trained models,
offline, on two small local tasks written here (a multiple-choice task and a rolling
log-likelihood text task, each a YAML file and a JSON Lines file). The harness is an optional
package (requirements-lmeval.txt; tests/run.sh installs it)."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

import common
import eval
import lmeval

ROOT = Path(__file__).resolve().parent.parent
TASKS = "tiny_choice,tiny_text"


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """No network: the harness reads the local files only."""
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def write_tasks(folder: Path) -> Path:
    """Two harness tasks in `folder`: tiny_choice (acc over 4 options) and tiny_text (word and
    byte perplexity of short texts); their data are JSON Lines files beside them."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"question": f"Question: What comes after {i}?\nAnswer:", "choices": [str(i + 1), str(i + 2), str(i - 1), "none"], "gold": 0}
            for i in range(10)]
    (folder / "choice.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    texts = ["The capital of France is Paris, a city on the Seine.", "Bees make honey and wax in their hives.",
             "Water boils at one hundred degrees Celsius at sea level.", "The sun rises in the east and sets in the west."]
    (folder / "text.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t in texts))
    (folder / "tiny_choice.yaml").write_text(f"""task: tiny_choice
dataset_path: json
dataset_kwargs:
  data_files:
    test: {folder / 'choice.jsonl'}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: "{{{{gold}}}}"
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
metadata:
  version: 1.0
""")
    (folder / "tiny_text.yaml").write_text(f"""task: tiny_text
dataset_path: json
dataset_kwargs:
  data_files:
    test: {folder / 'text.jsonl'}
test_split: test
output_type: loglikelihood_rolling
doc_to_text: ""
doc_to_target: "{{{{text}}}}"
metric_list:
  - metric: word_perplexity
  - metric: byte_perplexity
  - metric: bits_per_byte
metadata:
  version: 1.0
""")
    return folder


def train_tiny(tiny_dir: str, runs: Path, method: str) -> Path:
    import train  # the training command line (imported here: only the tests that train need it)
    from test_train import small  # the small settings the training tests use

    extra = ["--lr", "3e-3"] if method == "full" else []
    assert train.main(["--runs-dir", str(runs), *small(tiny_dir, method, steps=6, extra=extra)]) == 0
    return runs / f"tiny-{method}"


def test_missing_harness_is_one_sentence_with_the_install_command(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "lm_eval", None)  # as if it were not installed
    with pytest.raises(SystemExit) as e:
        lmeval.harness()
    assert str(e.value) == ("error: --lm-eval needs EleutherAI's lm-evaluation-harness, which is not installed; "
                            "install it with: pip install -r requirements-lmeval.txt")
    (tmp_path / "r").mkdir()
    with pytest.raises(SystemExit) as e:  # the command line says the same, before any model loads
        eval.main([str(tmp_path / "r"), "--lm-eval", "hellaswag"])
    assert "pip install -r requirements-lmeval.txt" in str(e.value)
    assert "lm_eval" in (ROOT / "requirements-lmeval.txt").read_text()


@pytest.mark.parametrize("argv,msg", [
    (["{run}", "--lm-eval", " , "], "--lm-eval got no task name"),
    (["{run}", "--lm-eval-include", "{tmp}"], "--lm-eval-include goes with --lm-eval"),
    (["--compare", "{run}", "{run}", "--lm-eval", "x"], "--lm-eval takes exactly one run folder"),
    (["{run}", "--lm-eval", "x", "--protocol", "tiny"], "--protocol does nothing with --lm-eval"),
    (["{run}", "--lm-eval", "x", "--data-dir", "{tmp}"], "--data-dir does nothing with --lm-eval"),
    (["{run}", "--lm-eval", "x", "--plot"], "--lm-eval takes exactly one run folder"),
])
def test_lm_eval_flag_errors(tmp_path, argv, msg):
    argv = [a.format(run=tmp_path / "run", tmp=tmp_path) for a in argv]
    with pytest.raises(SystemExit) as e:
        eval.main(argv)
    assert str(e.value).startswith("error: ") and msg in str(e.value)


def test_unknown_task_and_missing_include_folder_are_refused_before_loading(tmp_path):
    pytest.importorskip("lm_eval", reason="the optional harness (pip install -r requirements-lmeval.txt)")
    with pytest.raises(SystemExit) as e:
        lmeval.check_tasks(["no_such_task_xyz"], str(write_tasks(tmp_path / "t")))
    assert "the harness has no task 'no_such_task_xyz'" in str(e.value)
    with pytest.raises(SystemExit) as e:
        lmeval.check_tasks(["tiny_choice"], str(tmp_path / "missing"))
    assert "--lm-eval-include" in str(e.value) and "is not a folder" in str(e.value)


def test_lm_eval_on_a_trained_smf_run(tiny_dir, tmp_path, capsys):
    """Base and trained scores are the harness's on the base model and on load_run's model;
    the change is their difference; the file in the run folder holds the harness's output."""
    pytest.importorskip("lm_eval", reason="the optional harness (pip install -r requirements-lmeval.txt)")
    tasks_dir = write_tasks(tmp_path / "tasks")
    run = train_tiny(tiny_dir, tmp_path / "runs", "smf")
    capsys.readouterr()
    assert eval.main([str(run), "--lm-eval", TASKS, "--lm-eval-include", str(tasks_dir), "--limit", "8"]) == 0
    out = capsys.readouterr().out
    assert "lm-evaluation-harness: base vs trained" in out and "tiny_choice" in out and "word_perplexity" in out
    saved = json.loads((run / "lm-eval-tiny_choice+tiny_text-limit8.json").read_text())
    assert saved["tasks"] == ["tiny_choice", "tiny_text"] and saved["limit"] == 8 and saved["method"] == "smf"
    tm = lmeval.check_tasks(["tiny_choice", "tiny_text"], str(tasks_dir))
    base_model, tok = common.load_model(tiny_dir)
    trained_model, _, _ = eval.load_run(run)
    for who, model in (("base", base_model), ("trained", trained_model)):
        again = lmeval.run_harness(model, tok, ["tiny_choice", "tiny_text"], tm, limit=8)
        for task in ("tiny_choice", "tiny_text"):
            for k, v in again["results"][task].items():
                if isinstance(v, float):
                    assert saved[who]["results"][task][k] == pytest.approx(v, rel=1e-9), (who, task, k)
    rows = {(r["task"], r["metric"]): r for r in saved["rows"]}
    acc, ppl = rows[("tiny_choice", "acc")], rows[("tiny_text", "word_perplexity")]
    assert acc["trained"] - acc["base"] == pytest.approx(acc["change"]) and acc["base_stderr"] is not None
    assert acc["change_stderr"] == pytest.approx(math.hypot(acc["base_stderr"], acc["trained_stderr"]))
    assert saved["trained"]["n-samples"]["tiny_choice"]["effective"] == 8
    # the trained model is the run's (its memory moved), not the base model again
    assert ppl["trained"] != ppl["base"] and ppl["change"] == pytest.approx(ppl["trained"] - ppl["base"])


@pytest.mark.slow  # the harness's command line indexes its thousands of task files (~30 s)
def test_scores_match_the_lm_eval_command_line(tiny_dir, tmp_path):
    """The agreement check: a full finetuning run's saved weights scored by the harness's own
    command line (`python -m lm_eval --model hf`) give the same numbers as `--lm-eval`."""
    pytest.importorskip("lm_eval", reason="the optional harness (pip install -r requirements-lmeval.txt)")
    tasks_dir = write_tasks(tmp_path / "tasks")
    run = train_tiny(tiny_dir, tmp_path / "runs", "full")
    assert eval.main([str(run), "--lm-eval", TASKS, "--lm-eval-include", str(tasks_dir)]) == 0
    ours = json.loads((run / "lm-eval-tiny_choice+tiny_text.json").read_text())
    env = dict(os.environ, HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "lm_eval", "--model", "hf", "--model_args", f"pretrained={run / 'model'},dtype=float32",
           "--tasks", TASKS, "--include_path", str(tasks_dir), "--device", "cpu", "--batch_size", str(lmeval.BATCH_SIZE),
           "--output_path", str(tmp_path / "cli")]
    subprocess.run(cmd, check=True, env=env, capture_output=True, timeout=300)
    cli = json.loads(next((tmp_path / "cli").rglob("results_*.json")).read_text())["results"]
    for task, metrics in (("tiny_choice", ("acc,none", "acc_stderr,none")),
                          ("tiny_text", ("word_perplexity,none", "byte_perplexity,none", "bits_per_byte,none"))):
        for m in metrics:
            assert ours["trained"]["results"][task][m] == pytest.approx(cli[task][m], rel=1e-6), (task, m)
