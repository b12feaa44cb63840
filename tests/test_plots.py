"""A run as a picture (`eval.py RUN --plot`, plots.py), and the phase lines long work leaves
(progress.py): on tiny runs trained through train.py's command line."""
import re
from pathlib import Path

import pytest

import eval
import plots
import progress
import train
from test_train import small


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's header (and a check that it is one)."""
    head = Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


@pytest.fixture(scope="module")
def runs(tiny_dir, tmp_path_factory):
    """An evaluated SMF run, a full finetuning run and a 2-stage SMF stream."""
    d = tmp_path_factory.mktemp("runs")
    evaluated = [a for a in small(tiny_dir, "smf", steps=4) if a != "--no-eval"] + ["--eval-limit", "8"]
    assert train.main(["--runs-dir", str(d), *evaluated]) == 0
    assert train.main(["--runs-dir", str(d), *small(tiny_dir, "full", steps=4)]) == 0
    stream = [a for a in small(tiny_dir, "smf", steps=2) if a != "--no-eval"] + ["--sequence", "2", "--eval-limit", "4", "--name", "stream"]
    assert train.main(["--runs-dir", str(d), *stream]) == 0
    return d


def test_plot_draws_each_kind_of_run(runs, capsys):
    # panels: SMF loss, rows read, rows selected/moved, row moves, gradient norm (2 x 3); full: loss and gradient norm (1 x 2);
    # the stream: those of SMF and the stage accuracies (2 x 3)
    for name, size in (("tiny-smf", (1560, 720)), ("tiny-full", (1040, 360)), ("stream", (1560, 720))):
        (runs / name / "run.png").unlink(missing_ok=True)
        assert eval.main([str(runs / name), "--plot"]) == 0
        assert png_size(runs / name / "run.png") == size, name
        assert f"plot written to {runs / name / 'run.png'}" in capsys.readouterr().out
    assert eval.main([str(runs / "tiny-smf"), "--plot", str(runs / "elsewhere.png")]) == 0
    assert png_size(runs / "elsewhere.png") == (1560, 720)


def test_training_draws_the_run_and_its_last_line_points_to_it(tiny_dir, tmp_path, capsys):
    assert train.main(["--runs-dir", str(tmp_path), *small(tiny_dir, "lora", steps=2)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith(f"Run saved in {tmp_path / 'tiny-lora'}") and last.endswith(f"see it: {tmp_path / 'tiny-lora' / 'run.png'}")
    assert png_size(tmp_path / "tiny-lora" / "run.png") == (1040, 360)


def test_the_stream_panel_reads_each_stage_after_every_stage(runs):
    import matplotlib  # the drawing library (only this test looks inside a figure)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # after matplotlib.use

    rows = plots._json(runs / "stream" / "stream.json")
    fig, ax = plt.subplots()
    plots._stream_panel(ax, rows)
    lines = [line for line in ax.get_lines() if line.get_marker() == "o"]  # the stages (not the stage boundaries)
    assert [list(line.get_xdata()) for line in lines] == [[0, 1, 2]] * 2
    assert [list(line.get_ydata()) for line in lines] == [[r["task_acc"][s] for r in rows] for s in range(2)]
    plt.close(fig)


def test_plot_errors_are_one_sentence(tmp_path):
    with pytest.raises(SystemExit) as e:
        eval.main([str(tmp_path), "--plot"])
    assert str(e.value).startswith("error: ") and "nothing to draw" in str(e.value)
    with pytest.raises(SystemExit) as e:
        eval.main([str(tmp_path), "--plot", "x.jpg"])
    assert "--plot must name a .png file" in str(e.value)
    with pytest.raises(SystemExit) as e:
        eval.main([str(tmp_path), str(tmp_path), "--plot"])
    assert "--plot takes exactly one run folder" in str(e.value)
    with pytest.raises(SystemExit) as e:
        eval.main([str(tmp_path), "--plot", "--limit", "5"])
    assert "--limit does nothing with --plot" in str(e.value)


def test_each_phase_of_a_run_leaves_a_line_with_its_time(runs):
    lines = (runs / "tiny-smf" / "phases.log").read_text().splitlines()
    names = [re.match(r"\S+ phase (.*): [0-9.]+ s$", line).group(1) for line in lines]
    for want in ("training / background pass", "training", "evaluate base model / task (held-out phrasings)",
                 "evaluate base model / WikiText", "evaluate trained model / world facts", "evaluate trained model / general knowledge",
                 "evaluate trained model"):
        assert want in names, want
    stream = [line.split(" phase ")[1] for line in (runs / "stream" / "phases.log").read_text().splitlines()]
    assert any(s.startswith("training / evaluate after stage 2 / stage 1's task: ") for s in stream)
    assert any(s.startswith("training / evaluate the base model / WikiText: ") for s in stream)


def test_phase_lines_nest_and_add_up(tmp_path, capsys):
    progress.log_to(tmp_path / "p.log")
    try:
        with progress.phase("outer"):
            with progress.phase("inner"):
                pass
            with progress.phase("inner"):
                pass
    finally:
        progress.log_to(None)
    out = capsys.readouterr().out.splitlines()
    assert [o.split(":")[0] for o in out] == ["phase outer / inner", "phase outer / inner", "phase outer"]
    assert len((tmp_path / "p.log").read_text().splitlines()) == 3
