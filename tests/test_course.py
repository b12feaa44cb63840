"""The course assignment (course/HANDOUT.md, course/INSTRUCTORS.md) holds together:

- the build writes the same files twice, and the student copy holds stubs, no solution
  (by AST), no marker text, no master-only file, and still imports and runs --help;
- the reference scores full points on the public and hidden tests; the student copy 0;
- the student copy's non-graded tests pass (tests that reach a stub are skipped);
- every plausible mistake in course/mutants.py loses points;
- filling the student copy's stubs from the reference gives back the reference files.

These run the real build and grader on tiny inputs (about a minute and a half on two cores).
This file is master-only: the build leaves it out of the student copy.
"""
import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "course"))
from mutants import MUTANTS  # noqa: E402
from parts import AUTO_POINTS, PARTS  # noqa: E402

ENV = dict(os.environ, OMP_NUM_THREADS="1")


def run(cmd, cwd, check=True):
    p = subprocess.run([sys.executable, *cmd], cwd=cwd, env=ENV, capture_output=True, text=True)
    if check and p.returncode:
        raise AssertionError(f"{' '.join(cmd)} failed in {cwd}:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p


def grade(repo: Path, hidden: Path, out: Path, parts: str | None = None) -> dict:
    cmd = ["course/grade.py", "--hidden", str(hidden), "--json", str(out)] + (["--parts", parts] if parts else [])
    run(cmd, repo)
    return json.loads(out.read_text())


def per_part(result: dict) -> dict[str, float]:
    got: dict[str, float] = {}
    for t in result["tests"]:
        part = t["name"].split()[0]
        got[part] = got.get(part, 0.0) + t["score"]
    return got


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("course")
    run(["course/build.py", str(out / "a")], ROOT)
    run(["course/build.py", str(out / "b")], ROOT)
    return out


def files_of(d: Path) -> dict[str, bytes]:
    return {str(p.relative_to(d)): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_two_builds_are_identical_and_the_student_copy_is_clean(built):
    a, b = files_of(built / "a"), files_of(built / "b")
    assert a == b
    student = built / "a" / "student"
    names = set(files_of(student))
    for master_only in ("course/build.py", "course/INSTRUCTORS.md", "course/mutants.py", "tests/test_course.py"):
        assert master_only not in names
    assert not any(n.startswith("course/hidden") or "solution" in n.lower() for n in names)
    assert "course/HANDOUT.md" in names and "course/grade.py" in names
    for rel, data in files_of(student).items():
        assert b"BEGIN SOLUTION" not in data and b"END SOLUTION" not in data, rel
    stubs = sum((student / f).read_text().count('raise NotImplementedError("part') for f in ("memory.py", "smf_mini.py", "stats.py"))
    assert stubs >= len(PARTS)
    # the build's own AST check has a teeth test: the reference body of part 9 is found if planted
    sys.path.insert(0, str(ROOT / "course"))
    import build

    regions = build.strip_regions((ROOT / "stats.py").read_text(), "stats.py")[1]
    planted = (student / "stats.py").read_text() + "\n\ndef planted(points):\n" + "\n".join(regions[1]["body"]) + "\n"
    copy = built / "planted"
    shutil.copytree(student, copy)
    (copy / "stats.py").write_text(planted)
    with pytest.raises(SystemExit, match="still in the student copy"):
        build.check_student_copy(copy, [dict(r, where="stats.py") for r in regions])


def test_the_student_copy_imports_and_its_non_graded_tests_pass(built):
    student = built / "a" / "student"
    assert "usage: train.py" in run(["train.py", "--help"], student).stdout
    run(["-c", "import memory, smf_mini, stats, eval, train, tasks, scoring"], student)
    p = run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_layout.py", "tests/test_core.py"], student, check=False)
    assert p.returncode == 0, p.stdout[-3000:]
    assert "skipped" in p.stdout.splitlines()[-1], "tests that reach a stub are reported as skipped"


def test_reference_scores_full_points_and_student_copy_zero(built, tmp_path):
    hidden = built / "a" / "autograder" / "hidden"
    ref = grade(ROOT, hidden, tmp_path / "ref.json")
    assert ref["score"] == pytest.approx(AUTO_POINTS)
    assert all(t["score"] == t["max_score"] > 0 for t in ref["tests"])
    assert any("test_hidden_" in t["name"] for t in ref["tests"])
    student = grade(built / "a" / "student", hidden, tmp_path / "student.json")
    assert student["score"] == 0
    assert set(per_part(student)) == set(PARTS) and all(v == 0 for v in per_part(student).values())
    assert all("not written yet" in t["output"] or "NotImplementedError: part" in t["output"] for t in student["tests"]), \
        "each says which part it waits for"


def _mutant_score(args):
    i, (name, part, rel, old, new), hidden, tmp = args
    repo = tmp / f"m{i}"
    for f in list(ROOT.glob("*.py")) + [ROOT / "pytest.ini"]:
        (repo / f.name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, repo / f.name)
    shutil.copytree(ROOT / "course", repo / "course")
    shutil.copytree(ROOT / "tests" / "graded", repo / "tests" / "graded")
    shutil.copy(ROOT / "tests" / "conftest.py", repo / "tests" / "conftest.py")
    text = (repo / rel).read_text()
    assert text.count(old) == 1, f"mutant {name!r}: its reference text is not found exactly once in {rel}"
    (repo / rel).write_text(text.replace(old, new))
    return name, part, per_part(grade(repo, hidden, tmp / f"m{i}.json", parts=part)).get(part, 0.0)


def test_every_plausible_mistake_loses_points(built, tmp_path):
    hidden = built / "a" / "autograder" / "hidden"
    jobs = [(i, m, hidden, tmp_path) for i, m in enumerate(MUTANTS)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_mutant_score, jobs))
    kept = [(name, part, s) for name, part, s in results if s > PARTS[part]["points"] - 1]
    assert not kept, f"these mistakes lose less than a point: {kept}"
    assert {part for _, part, _ in results} == set(PARTS), "every part has at least one plausible mistake"


def test_filling_the_student_copy_gives_back_the_reference(built, tmp_path):
    student = tmp_path / "filled"
    shutil.copytree(built / "a" / "student", student)
    run(["course/build.py", "--fill", str(student)], ROOT)
    for rel in ("memory.py", "smf_mini.py", "stats.py"):
        reference = [l for l in (ROOT / rel).read_text().split("\n") if "# BEGIN SOLUTION" not in l and "# END SOLUTION" not in l]
        assert (student / rel).read_text().split("\n") == reference, rel


def test_a_graded_file_that_does_not_import_scores_zero_with_the_error(built, tmp_path):
    repo = built / "a" / "student"
    broken = tmp_path / "broken"
    shutil.copytree(repo, broken, ignore=shutil.ignore_patterns("results", "docs", "notebooks"))
    (broken / "stats.py").write_text((broken / "stats.py").read_text() + "\ndef oops(:\n")
    result = grade(broken, built / "a" / "autograder" / "hidden", tmp_path / "b.json", parts="part9")
    assert result["score"] == 0 and result["tests"]
    assert any("SyntaxError" in t["output"] for t in result["tests"])
