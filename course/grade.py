"""course/grade.py: grade the assignment's parts, with points.

    python course/grade.py                         # public graded tests: a table of parts and points
    python course/grade.py --parts part2,part4     # only those parts
    python course/grade.py --hidden DIR --json F   # also the hidden tests; F in Gradescope's results.json form

Works in any copy of the repository (the student copy, the master, a grading service's).
The graded tests are tests/graded/test_partN_*.py (public) and, on the grading service,
DIR/test_hidden_partN_*.py (hidden): the N in the file name says which part a test
belongs to. A part's points are split equally over its tests; a test scores all of its
share or nothing. They run in one pytest process, single-threaded (deterministic), with
a time limit per test (--timeout, default 60 s); the whole grade takes well under two
minutes on two cores.

The written part (part 10) is graded by hand; its points are listed, not scored here.
This file is also a pytest plugin (pytest -p grade): the hooks at the bottom record each
graded test's outcome and enforce the time limit.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from parts import PARTS, WRITTEN  # noqa: E402  (course/parts.py, beside this file)

PART_RE = re.compile(r"test_(?:hidden_)?(part\d+)_")


def part_of(path: str) -> str | None:
    m = PART_RE.search(Path(path).name)
    return m.group(1) if m else None


# ---------------------------------------------------------------- running the tests


def run_tests(paths: list[str], parts: set[str], timeout: float) -> list[dict]:
    """Run the graded tests in a child pytest; returns one record per test."""
    with tempfile.TemporaryDirectory() as tmp:
        record = Path(tmp) / "outcomes.jsonl"
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="", PYTHONHASHSEED="0",
                   SMF_GRADE_RECORD=str(record), SMF_GRADE_TIMEOUT=str(timeout), SMF_GRADE_PARTS=",".join(sorted(parts)),
                   PYTHONPATH=os.pathsep.join([str(HERE), str(ROOT), str(ROOT / "tests" / "graded"), os.environ.get("PYTHONPATH", "")]))
        cmd = [sys.executable, "-m", "pytest", "-p", "grade", "-q", "--no-header", "-p", "no:cacheprovider", "--continue-on-collection-errors",
               "--rootdir", str(ROOT), "-c", str(ROOT / "pytest.ini"), *paths]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        rows = [json.loads(l) for l in record.read_text().splitlines()] if record.exists() else []
        if not rows and proc.returncode not in (0, 1):
            # collection failed (a syntax error in a student file, say): every test scores 0
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
            raise RuntimeError("the graded tests could not be collected:\n" + "\n".join(tail))
        return rows


def score(rows: list[dict], parts: set[str]) -> dict[str, dict]:
    """Points per part: its points split equally over its tests; a passed test earns its share."""
    out = {}
    for part in sorted(parts, key=lambda s: int(s[4:])):
        tests = [r for r in rows if r["part"] == part]
        share = PARTS[part]["points"] / len(tests) if tests else 0.0
        for r in tests:
            r["max_score"] = share
            r["score"] = share if r["passed"] else 0.0
        earned = sum(r["score"] for r in tests)
        out[part] = {"earned": round(earned, 2), "possible": PARTS[part]["points"], "passed": sum(r["passed"] for r in tests),
                     "tests": len(tests)}
    return out


# ---------------------------------------------------------------- reporting


def print_table(scores: dict[str, dict], hidden: bool) -> None:
    try:
        from rich.console import Console  # rich draws the table; plain text if it is missing
        from rich.table import Table
    except ImportError:
        Console = None
    title = "smf-mini assignment: " + ("public and hidden tests" if hidden else "public tests (the grader adds hidden ones)")
    rows = [(p, PARTS[p]["title"], f"{s['passed']}/{s['tests']}", f"{s['earned']:g}", f"{s['possible']}") for p, s in scores.items()]
    rows += [(p, w["title"], "by hand", "-", f"{w['points']}") for p, w in WRITTEN.items()]
    total = sum(s["earned"] for s in scores.values())
    possible = sum(s["possible"] for s in scores.values())
    if Console:
        t = Table(title=title)
        for col in ("part", "what", "tests passed", "points", "of"):
            t.add_column(col, justify="left" if col == "what" else "right")
        for r in rows:
            t.add_row(*r)
        t.add_row("", "[b]total (graded here)[/b]", "", f"[b]{total:g}[/b]", f"[b]{possible}[/b]")
        Console(width=110).print(t)
    else:
        print(title)
        for r in rows:
            print("  ".join(r))
        print(f"total (graded here): {total:g} / {possible}")


def print_first_failures(rows: list[dict]) -> None:
    """Under the table, the first failing test of each part and what it said."""
    seen = set()
    for r in rows:
        if r["passed"] or r["part"] in seen:
            continue
        seen.add(r["part"])
        print(f"{r['part']}: {r['name']}\n    " + (r["output"] or "failed").replace("\n", "\n    "))
    if seen:
        print("(one failing test per part; for all of a part's messages: python -m pytest tests/graded/test_partN_*.py -q)")


def gradescope(rows: list[dict], scores: dict[str, dict]) -> dict:
    """Gradescope's autograder results.json: score, and one entry per test."""
    tests = [{"name": f"{r['part']} {PARTS[r['part']]['title']}: {r['name']}", "score": r["score"], "max_score": r["max_score"],
              "output": r["output"] or ("passed" if r["passed"] else "failed"), "visibility": "visible"} for r in rows]
    return {"score": round(sum(r["score"] for r in rows), 4), "tests": tests,
            "output": "Parts 1-9 graded automatically; part 10 (the write-up) is graded by hand."}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Grade the smf-mini assignment: points per part from the graded tests.")
    ap.add_argument("--hidden", metavar="DIR", help="also run the hidden tests in DIR (the autograder's hidden/ folder)")
    ap.add_argument("--json", metavar="FILE", help="write the scores to FILE in Gradescope's results.json form")
    ap.add_argument("--parts", help="comma-separated parts to grade (default: all), e.g. part1,part4")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds each test may take (default 60)")
    args = ap.parse_args(argv)
    parts = set(PARTS) if not args.parts else {p.strip() for p in args.parts.split(",")}
    unknown = sorted(parts - set(PARTS))
    if unknown:
        ap.error(f"unknown part {unknown[0]!r}; the graded parts are {', '.join(PARTS)}.")
    if args.timeout <= 0:
        ap.error("--timeout must be positive, e.g. --timeout 60.")
    if not (ROOT / "tests" / "graded").is_dir():
        ap.error("tests/graded/ is missing: run this from an smf-mini copy that has the graded tests.")
    files = sorted((ROOT / "tests" / "graded").glob("test_part*.py"))
    if args.hidden:
        hidden = Path(args.hidden)
        if not hidden.is_dir() or not list(hidden.glob("test_hidden_part*.py")):
            ap.error(f"{hidden} holds no hidden tests (test_hidden_part*.py); give the autograder's hidden/ folder.")
        files += sorted(hidden.resolve().glob("test_hidden_part*.py"))
    paths = [str(f) for f in files if part_of(str(f)) in parts]  # only the files of the parts asked for
    try:
        rows = run_tests(paths, parts, args.timeout)
    except RuntimeError as e:
        print(e, file=sys.stderr)
        rows = []
    scores = score(rows, parts)
    print_table(scores, bool(args.hidden))
    print_first_failures(rows)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(args.json).with_suffix(".tmp")
        tmp.write_text(json.dumps(gradescope(rows, scores), indent=1))
        tmp.replace(args.json)
        print(f"scores written to {args.json}")
    return 0


# ---------------------------------------------------------------- the pytest plugin (pytest -p grade)


class GradeTimeout(Exception):
    pass


def pytest_configure(config):
    import torch  # the graded code is torch code; one thread makes every run the same

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)


def pytest_collection_modifyitems(session, config, items):
    wanted = set(filter(None, os.environ.get("SMF_GRADE_PARTS", "").split(",")))
    keep = [it for it in items if part_of(str(it.path)) and (not wanted or part_of(str(it.path)) in wanted)]
    items[:] = keep


def _alarm(signum, frame):
    raise GradeTimeout(f"took longer than the {os.environ.get('SMF_GRADE_TIMEOUT')} s time limit")


def pytest_runtest_call(item):
    limit = float(os.environ.get("SMF_GRADE_TIMEOUT", "60"))
    if hasattr(signal, "SIGALRM"):
        signal.signal(signal.SIGALRM, _alarm)
        signal.setitimer(signal.ITIMER_REAL, limit)


def pytest_runtest_teardown(item):
    if hasattr(signal, "SIGALRM"):
        signal.setitimer(signal.ITIMER_REAL, 0)


def pytest_collectreport(report):
    """A test file that cannot even be imported (a syntax error in a graded file, say)
    scores 0 for its part, with the error as the output."""
    path = os.environ.get("SMF_GRADE_RECORD")
    part = part_of(str(report.fspath)) if report.fspath else None
    if path and report.failed and part:
        lines = str(report.longrepr).strip().splitlines()
        row = {"part": part, "name": f"{Path(report.fspath).name} (could not be loaded)", "passed": False,
               "output": "\n".join(lines[-4:])[:800]}
        with open(path, "a") as f:
            f.write(json.dumps(row) + "\n")


def pytest_runtest_logreport(report):
    path = os.environ.get("SMF_GRADE_RECORD")
    if not path:
        return
    failed_setup = report.when == "setup" and not report.passed
    if report.when != "call" and not failed_setup:
        return
    output = ""
    if not report.passed:
        # the last line of the error says what went wrong (NotImplementedError: partN: hint, an assertion...)
        lr = report.longrepr
        text = lr[2] if isinstance(lr, tuple) and len(lr) == 3 else str(lr) if lr else ""
        lines = [l for l in text.splitlines() if l.startswith("E ")] or text.splitlines()[-1:]
        output = "\n".join(l[2:].strip() if l.startswith("E ") else l for l in lines[-6:])[:800]
    row = {"part": part_of(report.fspath) or part_of(report.nodeid.rsplit("::", 1)[-1] + ".py"), "name": report.nodeid.split("::", 1)[-1], "passed": bool(report.passed),
           "output": output}
    with open(path, "a") as f:
        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    sys.exit(main())
