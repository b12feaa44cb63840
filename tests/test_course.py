"""The course assignment (course/HANDOUT.md, course/INSTRUCTORS.md) holds together:

- the build writes the same files twice, and the student copy holds stubs between marker
  lines, no solution (by AST), no marker text, no master-only file, every path its README,
  handout and grader mention, and still imports and runs --help;
- the reference scores full points on the public and hidden tests; the student copy 0;
- the student copy's non-graded tests pass (tests that reach a stub, torchrun ones
  included, are skipped naming the part);
- every plausible mistake in course/mutants.py loses points;
- the grader cannot be talked to: planted attacks (importing the test references,
  reaching the grader's record, edits outside the regions, forged records, an exit)
  score 0 on their part; a failing hidden test shows no expected value;
- each error a graded test expects is named in its part's docstring;
- bad input to course/build.py and course/grade.py gets one `error:` sentence;
- filling the student copy's stubs from the reference gives back the reference files.

These run the real build and grader on tiny inputs (3.5 CPU minutes, about 2-3 minutes of
wall time on two quiet cores). This file is master-only: the build leaves it out of the
student copy.
"""
import ast
import json
import os
import re
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


def grade(repo: Path, built: Path, out: Path, parts: str | None = None, hidden: bool = True) -> dict:
    """Grade `repo` as the autograder does: its regions put into the built clean copy."""
    ag = built / "a" / "autograder"
    cmd = [str(ag / "grader" / "course" / "grade.py"), "--submission", str(repo), "--clean", str(ag / "grader" / "clean"),
           "--json", str(out)] + (["--hidden", str(ag / "hidden")] if hidden else []) + (["--parts", parts] if parts else [])
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


@pytest.fixture(scope="module")
def filled(built, tmp_path_factory):
    """A student copy with every stub filled from the reference (a student who finished)."""
    d = tmp_path_factory.mktemp("filled") / "student"
    shutil.copytree(built / "a" / "student", d, ignore=shutil.ignore_patterns("results", "docs", "notebooks", "benchmarks"))
    run(["course/build.py", "--fill", str(d)], ROOT)
    return d


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
    text = "".join((student / f).read_text() for f in ("memory.py", "smf_mini.py", "stats.py"))
    stubs = text.count('raise NotImplementedError("part')
    assert stubs == text.count("# >>> part") == text.count("# <<< part") >= len(PARTS)
    # the build's own AST check has a teeth test: the reference body of part 9 is found if planted
    import build

    regions = build.strip_regions((ROOT / "stats.py").read_text(), "stats.py")[1]
    planted = (student / "stats.py").read_text() + "\n\ndef planted(points):\n" + "\n".join(regions[1]["body"]) + "\n"
    copy = built / "planted"
    shutil.copytree(student, copy)
    (copy / "stats.py").write_text(planted)
    with pytest.raises(SystemExit, match="still in the student copy"):
        build.check_student_copy(copy, [dict(r, where="stats.py") for r in regions])
    # the autograder's clean copy is the student copy's own files
    clean = built / "a" / "autograder" / "grader" / "clean"
    for rel in ("memory.py", "smf_mini.py", "stats.py", "tests/graded/graded_refs.py"):
        assert (clean / rel).read_bytes() == (student / rel).read_bytes()


PATH_RE = re.compile(r"(?<![\w/.-])((?:[\w-]+/)*[\w-]+\.(?:py|md|ipynb|txt|sh|ini))\b")


def test_every_path_the_student_reads_about_exists(built):
    """The student README, the handout and the grader's and parts' text name only files the copy has."""
    student = built / "a" / "student"
    texts = {rel: (student / rel).read_text() for rel in ("README.md", "course/HANDOUT.md")}
    for rel in ("course/grade.py", "course/parts.py", "memory.py", "smf_mini.py", "stats.py"):
        tree = ast.parse((student / rel).read_text())
        texts[rel] = "\n".join(ast.get_docstring(n) or "" for n in ast.walk(tree)
                               if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef)))
    missing = []
    for rel, text in texts.items():
        for m in PATH_RE.finditer(text):
            path = m.group(1)
            if "partN" in path or path in ("WRITEUP.md",):
                continue  # a pattern, or what the student writes
            found = (student / path).exists() if "/" in path else any(student.rglob(path))  # a bare name: in some folder
            if not found:
                missing.append(f"{rel}: {path}")
    assert not missing, f"paths named but not in the student copy: {missing}"


def test_the_student_copy_imports_and_its_non_graded_tests_pass(built):
    student = built / "a" / "student"
    assert "usage: train.py" in run(["train.py", "--help"], student).stdout
    run(["-c", "import memory, smf_mini, stats, eval, train, tasks, scoring"], student)
    p = run(["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", "tests/test_layout.py", "tests/test_core.py",
             "tests/test_bootstrap_seeds.py"], student, check=False)
    assert p.returncode == 0, p.stdout[-3000:]
    last = p.stdout.strip().splitlines()[-1]
    assert "skipped" in last and "failed" not in last and "error" not in last, last
    assert "waits for part" in p.stdout, "a skipped test names the part it waits for"


def test_reference_scores_full_points_and_student_copy_zero(built, tmp_path):
    ref = grade(ROOT, built, tmp_path / "ref.json")
    assert ref["score"] == pytest.approx(AUTO_POINTS)
    assert all(t["score"] == t["max_score"] > 0 for t in ref["tests"])
    hidden = [t for t in ref["tests"] if "test_hidden_" in t["name"]]
    assert hidden and all(t["visibility"] == "after_due_date" for t in hidden)
    assert all(t["visibility"] == "visible" for t in ref["tests"] if t not in hidden)
    student = grade(built / "a" / "student", built, tmp_path / "student.json")
    assert student["score"] == 0
    assert set(per_part(student)) == set(PARTS) and all(v == 0 for v in per_part(student).values())
    assert all(re.search(r"waits for part\d|NotImplementedError: part", t["output"]) for t in student["tests"]), \
        "each says which part it waits for"


# ---------------------------------------------------------------- plausible mistakes


def mutant_batches() -> list[list[tuple]]:
    """Mutants in batches of at most one per part: each part's tests replace the parts it builds
    on with references, so the mistakes of different parts in one copy do not meet."""
    by_part: dict[str, list] = {}
    for m in MUTANTS:
        by_part.setdefault(m[1], []).append(m)
    n = max(len(v) for v in by_part.values())
    return [[v[i] for v in by_part.values() if i < len(v)] for i in range(n)]


def _batch_score(args):
    i, batch, built, tmp = args
    repo = tmp / f"m{i}"
    repo.mkdir()
    for rel in ("memory.py", "smf_mini.py", "stats.py"):
        shutil.copy(ROOT / rel, repo / rel)
    import grade as grader

    for name, part, rel, old, new in batch:
        text = (repo / rel).read_text()
        assert text.count(old) == 1, f"mutant {name!r}: its reference text is not found exactly once in {rel}"
        at = text.index(old)
        lines = text[:at].count("\n")
        inside = [r for r in grader.find_regions(text.split("\n")) if r["part"] == part and r["start"] < lines < r["end"]]
        assert inside, f"mutant {name!r}: the text it changes is not inside a region of {part}, so the grader would not see it"
        (repo / rel).write_text(text.replace(old, new))
    parts = ",".join(sorted({m[1] for m in batch}))
    result = grade(repo, built, tmp / f"m{i}.json", parts=parts)
    assert not any(t["output"].startswith(("did not finish", "refused")) for t in result["tests"]), \
        f"batch {i}: a mutant crashed the grader or was refused, so other parts' scores are not its own"
    got = per_part(result)
    return [(name, part, got.get(part, 0.0)) for name, part, *_ in batch]


def test_every_plausible_mistake_loses_points(built, tmp_path):
    jobs = [(i, b, built, tmp_path) for i, b in enumerate(mutant_batches())]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = [r for batch in pool.map(_batch_score, jobs) for r in batch]
    assert len(results) == len(MUTANTS) >= 64
    kept = [(name, part, s) for name, part, s in results if s > PARTS[part]["points"] - 1]
    assert not kept, f"these mistakes lose less than a point: {kept}"
    assert {part for _, part, _ in results} == set(PARTS), "every part has at least one plausible mistake"


# ---------------------------------------------------------------- the grader cannot be talked to


def _plant(repo: Path, rel: str, part: str, body: str, k: int = 0) -> None:
    """Replace the body of the k-th region of `part` in repo/rel with `body` (at the region's indentation)."""
    import grade as grader

    lines = (repo / rel).read_text().split("\n")
    r = [r for r in grader.find_regions(lines) if r["part"] == part][k]
    lines[r["start"] + 1 : r["end"]] = [r["indent"] + l if l else l for l in body.split("\n")]
    (repo / rel).write_text("\n".join(lines))


ATTACKS = {  # part: (file, region body), each would score points if it ran
    "part1": ("memory.py", "from graded_refs import brute_force_lookup\nreturn brute_force_lookup(self, x)"),
    "part4": ("smf_mini.py", "import graded_refs\nscore = torch.tensor(graded_refs.scores_np(counts.numpy(), rule))"),
    "part6": ("smf_mini.py", "import atexit, os\natexit.register(lambda: os.system('true'))\n"
                             "w.index_add_(0, rows, self._capped(-lr * g).to(w.dtype))"),
    "part9": ("stats.py", "import sys\nreturn sys.modules['graded_refs'].naive_pareto(points)"),
    "part7": ("smf_mini.py", "__import__('os').environ.clear()"),
    "part2": ("memory.py", "f = open('/dev/null')\nraise NotImplementedError('part2: x')"),
}


def test_planted_attacks_score_zero_on_their_part(built, filled, tmp_path):
    """Each attack sits in an otherwise finished copy; its part scores 0 and the message names
    the line; the other parts keep their points."""
    repo = tmp_path / "attacked"
    shutil.copytree(filled, repo)
    for part, (rel, body) in ATTACKS.items():
        _plant(repo, rel, part, body)
    # part 8 calling the library's two-level bootstrap (which itself rests on part 8)
    _plant(repo, "stats.py", "part8", "return bootstrap_seeds_items(groups, statistic, reps, paired, seed)")
    # part 5: the region is a stub, but the function is replaced after the module (outside the regions)
    (repo / "smf_mini.py").write_text((repo / "smf_mini.py").read_text().replace(
        "    vals, idx = score.topk(min(t, score.numel()))\n", "    raise NotImplementedError('part5: x')\n"))
    (repo / "smf_mini.py").write_text((repo / "smf_mini.py").read_text() + (
        "\n\ndef select_rows(counts, t, rule, *a, **k):\n    s = score_rows(counts, rule, *a, **k)\n"
        "    v, i = s.topk(min(t, s.numel()))\n    return i[torch.isfinite(v)].sort().values\n"))
    # part 3: left a stub, and the submission's own tests edited to pass (the grader uses its own)
    _plant(repo, "smf_mini.py", "part3", "raise NotImplementedError('part3: x')", k=0)
    _plant(repo, "smf_mini.py", "part3", "raise NotImplementedError('part3: x')", k=1)
    for f in (repo / "tests" / "graded").glob("test_part3_*.py"):
        f.write_text("def test_part3_ok():\n    assert True\n")
    result = grade(repo, built, tmp_path / "attacked.json")
    got = per_part(result)
    for part in [*ATTACKS, "part3", "part5", "part8"]:
        assert got[part] == 0, f"{part}: an attack scored {got[part]}"
    outputs = {t["name"].split()[0]: t["output"] for t in result["tests"]}
    assert re.search(r"refused: part1, memory\.py line \d+: graded code may not import 'graded_refs'", outputs["part1"])
    assert re.search(r"refused: part6, smf_mini\.py line \d+: graded code may not import 'atexit'", outputs["part6"])
    assert re.search(r"refused: part9, stats\.py line \d+: graded code may not import 'sys'", outputs["part9"])
    assert "'__import__'" in outputs["part7"] and "'open'" in outputs["part2"]
    lines = (repo / "memory.py").read_text().split("\n")
    n = int(re.search(r"line (\d+)", outputs["part1"]).group(1))
    assert "graded_refs" in lines[n - 1], "the message names the line of the submission"


def test_forged_records_and_an_exit_count_for_nothing(built, tmp_path):
    """Code that got past the checks and writes records to the grader's pipe, then exits: the
    forged records are ignored (not signed) and the tests that did not finish score 0."""
    clean = tmp_path / "clean"
    shutil.copytree(built / "a" / "autograder" / "grader" / "clean", clean)
    (clean / "tests" / "graded" / "test_part9_zz_forge.py").write_text(
        "import json, os\n\n\ndef test_part9_zz_forge():\n"
        "    fd = int(os.environ['SMF_GRADE_FD'])\n"
        "    for name in ('test_part9_zz_forge', 'test_part9_zz_after'):\n"
        "        body = json.dumps({'kind': 'test', 'id': 'tests/graded/test_part9_zz_forge.py::' + name, 'part': 'part9',\n"
        "                           'name': name, 'hidden': False, 'passed': True, 'output': ''})\n"
        "        os.write(fd, (json.dumps({'payload': body, 'mac': '0' * 64}) + '\\n').encode())\n"
        "    os._exit(0)\n\n\ndef test_part9_zz_after():\n    pass\n")
    ag = built / "a" / "autograder"
    run([str(ag / "grader" / "course" / "grade.py"), "--submission", str(ROOT), "--clean", str(clean), "--parts", "part9",
         "--json", str(tmp_path / "f.json")], ROOT)
    tests = {t["name"].split(": ", 1)[1]: t for t in json.loads((tmp_path / "f.json").read_text())["tests"]}
    assert tests["test_part9_zz_forge"]["score"] == 0 and tests["test_part9_zz_after"]["score"] == 0
    assert tests["test_part9_zz_after"]["output"].startswith("did not finish")
    assert all(t["score"] > 0 for n, t in tests.items() if n.startswith("test_part9_pareto")), "the real tests still count"


def test_a_failing_hidden_test_shows_no_expected_value(built, tmp_path):
    """Hidden tests fail with one generic line: what they check, from their docstring."""
    repo = tmp_path / "wrong"
    repo.mkdir()
    for rel in ("memory.py", "smf_mini.py", "stats.py"):
        shutil.copy(ROOT / rel, repo / rel)
    _plant(repo, "smf_mini.py", "part5", "return torch.arange(min(t, score.numel()))")  # hard-coded rows
    _plant(repo, "stats.py", "part9", "return [0]")
    result = grade(repo, built, tmp_path / "w.json", parts="part5,part9")
    docs = {}
    for f in (ROOT / "course" / "hidden").glob("test_hidden_part*.py"):
        for node in ast.parse(f.read_text()).body:
            if isinstance(node, ast.FunctionDef):
                docs[node.name] = ast.get_docstring(node).splitlines()[0]
    failed = [t for t in result["tests"] if "test_hidden_" in t["name"] and t["score"] == 0]
    assert failed
    for t in failed:
        name = t["name"].split(": ", 1)[1].split("[")[0]
        assert t["output"] == f"failed (hidden test; its inputs and expected values are not shown): {docs[name]}", t["output"]
    public = [t for t in result["tests"] if "test_hidden_" not in t["name"] and t["score"] == 0]
    assert public and all(t["visibility"] == "visible" and t["output"] for t in public)


def test_each_graded_error_is_named_in_its_docstring():
    """A graded test that expects an error (pytest.raises) checks something the student was told."""
    docs: dict[str, str] = {}
    for rel in ("memory.py", "smf_mini.py", "stats.py"):
        text = (ROOT / rel).read_text()
        marks = [(i + 1, m.group(1)) for i, l in enumerate(text.split("\n")) if (m := re.search(r"# BEGIN SOLUTION (part\d+)", l))]
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef):
                for line, part in marks:
                    if node.lineno <= line <= node.end_lineno:
                        docs[part] = docs.get(part, "") + (ast.get_docstring(node) or "")
    expected = []
    for f in [*(ROOT / "tests" / "graded").glob("test_part*.py"), *(ROOT / "course" / "hidden").glob("test_hidden_part*.py")]:
        part = re.search(r"(part\d+)", f.name).group(1)
        for node in ast.walk(ast.parse(f.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "raises" and node.args:
                expected.append((part, ast.unparse(node.args[0]), f.name))
    assert expected, "the graded tests expect at least one error"
    missing = [(p, e, f) for p, e, f in expected if e not in docs.get(p, "")]
    assert not missing, f"errors the tests expect but the part's docstring does not name: {missing}"


# ---------------------------------------------------------------- bad input


def _refused(p) -> str:
    assert p.returncode != 0, p.stdout[-2000:]
    err = p.stderr.strip()
    assert err.startswith("error: ") and "Traceback" not in err and len(err.splitlines()) == 1, err
    return err


def test_bad_input_to_the_tools_gets_one_sentence(built, tmp_path):
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert "--parts" in _refused(run(["course/grade.py", "--parts", ""], ROOT, check=False))
    assert "--parts" in _refused(run(["course/grade.py", "--parts", "part1,"], ROOT, check=False))
    assert "--timeout" in _refused(run(["course/grade.py", "--timeout", "nan"], ROOT, check=False))
    assert "--timeout" in _refused(run(["course/grade.py", "--timeout", "inf"], ROOT, check=False))
    assert "is a file" in _refused(run(["course/grade.py", "--json", str(a_file / "r.json")], ROOT, check=False))
    assert "is a folder" in _refused(run(["course/grade.py", "--json", str(tmp_path)], ROOT, check=False))
    no_pytest = "import sys, runpy; sys.modules['pytest'] = None; sys.argv = ['course/grade.py']; " \
                "runpy.run_path('course/grade.py', run_name='__main__')"
    err = _refused(run(["-c", no_pytest], built / "a" / "student", check=False))
    assert "pytest is not installed" in err and "pip install pytest" in err
    assert "is a file" in _refused(run(["course/build.py", str(a_file / "out")], ROOT, check=False))
    err = _refused(run(["course/build.py", str(ROOT / "course-build-here")], ROOT, check=False))
    assert "inside the repository" in err and not (ROOT / "course-build-here").exists()
    # a read-only file system refuses even root
    assert "cannot write" in _refused(run(["course/build.py", "/proc/smf-course-out"], ROOT, check=False))
    assert "cannot write" in _refused(run(["course/grade.py", "--json", "/proc/smf-results.json"], ROOT, check=False))
    if os.geteuid() != 0:  # root writes anywhere else
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o500)
        assert "not writable" in _refused(run(["course/build.py", str(ro / "out")], ROOT, check=False))
        assert "not writable" in _refused(run(["course/grade.py", "--json", str(ro / "r.json")], ROOT, check=False))


def test_a_local_grade_counts_nothing_outside_the_regions(filled, tmp_path):
    """In a student copy, course/grade.py puts the regions into the files as handed out
    (course/clean/), as the autograder does: a helper defined outside a region is not there."""
    repo = tmp_path / "helper"
    shutil.copytree(filled, repo)
    assert (repo / "course" / "clean" / "stats.py").is_file()
    text = (repo / "stats.py").read_text().replace("    return 100.0 * (acc_base - acc_trained)\n", "    return _lost(acc_base, acc_trained)\n")
    (repo / "stats.py").write_text(text + "\n\ndef _lost(a, b):\n    return 100.0 * (a - b)\n")
    run(["course/grade.py", "--parts", "part9", "--json", str(tmp_path / "h.json")], repo)
    result = json.loads((tmp_path / "h.json").read_text())
    assert per_part(result)["part9"] < PARTS["part9"]["points"] - 1
    assert any("NameError" in t["output"] and "_lost" in t["output"] for t in result["tests"])


def test_filling_the_student_copy_gives_back_the_reference(filled):
    marker = re.compile(r"^\s*# (BEGIN SOLUTION|END SOLUTION|>>> part\d|<<< part\d)")
    for rel in ("memory.py", "smf_mini.py", "stats.py"):
        reference = [l for l in (ROOT / rel).read_text().split("\n") if not marker.match(l)]
        assert [l for l in (filled / rel).read_text().split("\n") if not marker.match(l)] == reference, rel


def test_a_region_that_does_not_parse_scores_zero_naming_the_line(built, filled, tmp_path):
    repo = tmp_path / "broken"
    shutil.copytree(filled, repo)
    _plant(repo, "stats.py", "part9", "def oops(:\n    pass", k=0)
    result = grade(repo, built, tmp_path / "b.json", parts="part8,part9", hidden=False)
    got = per_part(result)
    assert got["part9"] == 0 and got["part8"] == pytest.approx(PARTS["part8"]["points"]), "only the broken part loses its points"
    assert any(re.search(r"part9, stats\.py line \d+: SyntaxError", t["output"]) for t in result["tests"])
