"""course/build.py: write the student repository and the autograder from this master copy.

    python course/build.py OUT              # OUT/student/ and OUT/autograder/
    python course/build.py --fill STUDENT   # put the reference solutions back into a student copy

The master copy is this repository. Solution regions are marked in the reference code
itself (memory.py, smf_mini.py, stats.py, and the notebooks' exercise cells) by a line
`# BEGIN` + ` SOLUTION partN "one-line hint"` and a line `# END` + ` SOLUTION` (written
split here so that this file is not itself a region). The student copy is the same
repository with each region replaced by a stub between two marker lines at the region's
indentation,

    # >>> partN (your code goes between this line and the <<< line; only these lines are graded)
    raise NotImplementedError("partN: one-line hint")
    # <<< partN

In Markdown files, text between `<!-- master-only -->` and `<!-- /master-only -->` (what
names the master-only files) is left out of the student copy. Docstrings, comments and
equations outside the regions stay, every module still
imports, `python train.py --help` still works, and a student who fills the stubs in
trains SMF with their own code. Left out of the student copy: this builder, the hidden
tests (course/hidden/), the instructors' guide with its rubric, the list of plausible
mistakes, and the test that checks all of this (tests/test_course.py).

OUT/autograder/ holds what a grading service needs (course/INSTRUCTORS.md): the hidden
tests, the grader, a clean copy of the student files (grader/clean/: the top-level Python
files, the public graded tests) that course/grade.py puts each submitted region into, and
`run_autograder`.

Two builds of the same commit give byte-identical files (files are visited in sorted
order and nothing time-dependent is written). After writing, the build checks the
student copy itself: no marker text anywhere, and no statement sequence of any solution
region (compared as Python ASTs, so renaming nothing and reformatting do not hide it) in
any .py file or notebook cell; it stops with an error naming the file otherwise.
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "# BEGIN" + " SOLUTION"
END = "# END" + " SOLUTION"
BEGIN_RE = re.compile(r"^(?P<indent>\s*)" + re.escape(BEGIN) + r" (?P<part>\w+) \"(?P<hint>[^\"]*)\"\s*$")
# Master-only files: never in the student copy.
MASTER_ONLY = ("course/build.py", "course/hidden/", "course/INSTRUCTORS.md", "course/mutants.py", "tests/test_course.py")
OPEN_STUB = "# >>> {part} (your code goes between this line and the <<< line; only these lines are graded)"
STAMP = ".smf-course-build"  # marks a folder this script wrote (and so may replace)


# ---------------------------------------------------------------- regions


def strip_regions(text: str, where: str) -> tuple[str, list[dict]]:
    """Replace every solution region of `text` by its stub. Returns (student text, regions),
    each region {part, hint, indent, body: the lines between the markers}."""
    out, regions, lines, i = [], [], text.split("\n"), 0
    while i < len(lines):
        m = BEGIN_RE.match(lines[i])
        if END in lines[i] or (BEGIN in lines[i] and not m):
            raise ValueError(f"{where} line {i + 1}: a solution marker out of place or malformed: {lines[i].strip()!r}.")
        if not m:
            out.append(lines[i])
            i += 1
            continue
        j = i + 1
        while j < len(lines) and END not in lines[j]:
            if BEGIN in lines[j]:
                raise ValueError(f"{where} line {j + 1}: a region opens inside another (line {i + 1}); close the first one.")
            j += 1
        if j == len(lines):
            raise ValueError(f"{where} line {i + 1}: region {m['part']} is never closed; add the end marker.")
        regions.append({"part": m["part"], "hint": m["hint"], "indent": m["indent"], "body": lines[i + 1 : j]})
        out.append(f'{m["indent"]}{OPEN_STUB.format(part=m["part"])}')
        out.append(f'{m["indent"]}raise NotImplementedError({json.dumps(m["part"] + ": " + m["hint"])})')
        out.append(f'{m["indent"]}# <<< {m["part"]}')
        i = j + 1
    return "\n".join(out), regions


def fill_stubs(student_text: str, regions: list[dict], where: str) -> str:
    """The inverse of strip_regions: put each region's body back in place of its stub."""
    out, k = [], 0
    for line in student_text.split("\n"):
        if k < len(regions) and line.strip().startswith("raise NotImplementedError(" + json.dumps(regions[k]["part"] + ":")[:-1]):
            out.extend(regions[k]["body"])
            k += 1
        else:
            out.append(line)
    if k != len(regions):
        raise ValueError(f"{where}: found {k} of {len(regions)} stubs to fill; was the student copy edited around them?")
    return "\n".join(out)


def statement_hashes(code: str) -> list[str]:
    """One hash per top-level statement of a code fragment (its AST, positions left out)."""
    try:
        tree = ast.parse(textwrap.dedent(code))
    except SyntaxError:
        return []
    return [hashlib.sha256(ast.dump(s, annotate_fields=False).encode()).hexdigest() for s in tree.body]


def statement_lists(code: str) -> list[list[str]]:
    """Every list of statements in the code (module, function, loop and branch bodies), hashed."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    lists = []
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            body = getattr(node, name, None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                lists.append([hashlib.sha256(ast.dump(s, annotate_fields=False).encode()).hexdigest() for s in body])
    return lists


def contains_run(lists: list[list[str]], run: list[str]) -> bool:
    return any(run == body[i : i + len(run)] for body in lists for i in range(len(body) - len(run) + 1))


# ---------------------------------------------------------------- files


def master_files() -> list[str]:
    """The repository's files as git sees them (tracked, plus new files not ignored)."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
        files = [f for f in out.splitlines() if (ROOT / f).is_file()]
    except (OSError, subprocess.CalledProcessError):
        raise SystemExit("error: course/build.py needs git and a git checkout of smf-mini (it copies the tracked files); run it from a clone.")
    # never a folder this script wrote (an earlier build inside the repository)
    built = {str(Path(f).parent) for f in files if Path(f).name == STAMP}
    return sorted(f for f in files if not f.startswith(MASTER_ONLY) and not any(f.startswith(b + "/") for b in built))


def notebook_cells(text: str) -> list[str]:
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in json.loads(text)["cells"] if c["cell_type"] == "code"]


def strip_notebook(text: str, where: str) -> tuple[str, list[dict]]:
    nb, regions = json.loads(text), []
    for n, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "code":
            continue
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        new, found = strip_regions(src, f"{where} cell {n}")
        if found:
            regions += found
            cell["source"] = new.splitlines(keepends=True)
    return json.dumps(nb, indent=1, ensure_ascii=False, sort_keys=True) + "\n", regions


MASTER_ONLY_TEXT = re.compile(r"<!-- master-only -->.*?<!-- /master-only -->", re.S)


def student_text(rel: str, text: str) -> tuple[str, list[dict]]:
    if rel.endswith(".md"):  # text for teachers only (it names files the student copy does not have)
        text = MASTER_ONLY_TEXT.sub("", text)
    if rel.endswith(".py"):
        return strip_regions(text, rel)
    if rel.endswith(".ipynb"):
        return strip_notebook(text, rel)
    if BEGIN in text or END in text:
        raise ValueError(f"{rel}: solution markers in a file that is neither Python nor a notebook.")
    return text, []


def check_student_copy(student: Path, regions: list[dict]) -> None:
    """Stop if any marker text or any solution region's statements reached the student copy."""
    lists = []
    for p in sorted(student.rglob("*")):
        if not p.is_file():
            continue
        raw = p.read_bytes()
        if BEGIN.encode() in raw or END.encode() in raw or b"BEGIN SOLUTION" in raw:
            raise SystemExit(f"error: build check failed: marker text in the student copy, {p.relative_to(student)}.")
        if p.suffix == ".py":
            lists += statement_lists(raw.decode())
        elif p.suffix == ".ipynb":
            for cell in notebook_cells(raw.decode()):
                lists += statement_lists(cell)
    for r in regions:
        run = statement_hashes("\n".join(r["body"]))
        if run and contains_run(lists, run):
            raise SystemExit(f"error: build check failed: the solution of {r['part']} ({r['where']}) is still in the student copy.")


def write_tree(dest: Path, files: dict[str, bytes]) -> None:
    """Write `files` under dest, replacing a folder this script wrote before (never any other)."""
    if dest.exists():
        if not (dest / STAMP).exists():
            raise SystemExit(f"error: {dest} exists and was not written by course/build.py; give an empty or new OUT folder.")
        shutil.rmtree(dest)
    tmp = dest.with_name(dest.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    for rel, data in sorted(files.items()):
        p = tmp / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        if rel.endswith((".sh", "run_autograder")):
            p.chmod(0o755)
    (tmp / STAMP).write_text("written by course/build.py; safe to delete\n")
    tmp.rename(dest)


# ---------------------------------------------------------------- the two outputs


def build_student() -> tuple[dict[str, bytes], list[dict]]:
    files, regions = {}, []
    for rel in master_files():
        raw = (ROOT / rel).read_bytes()
        if rel.endswith((".py", ".ipynb", ".md", ".txt", ".sh", ".ini")) or "." not in Path(rel).name:
            text, found = student_text(rel, raw.decode())
            regions += [dict(r, where=rel) for r in found]
            raw = text.encode()
            if found and rel.endswith(".py") and "/" not in rel:
                # the files as handed out, for course/grade.py: a local grade puts the regions into
                # these (as the autograder does), so code outside the regions counts there for nothing too
                files[f"course/clean/{rel}"] = raw
        files[rel] = raw
    parts = {r["part"] for r in regions if r["part"].startswith("part")}
    if not parts:
        raise SystemExit("error: no solution regions found; run course/build.py from the master copy of smf-mini.")
    return files, regions


AUTOGRADER_README = """# smf-mini autograder

Made by `python course/build.py`. Upload this folder's contents as a Gradescope
autograder (zip the files, not the folder); `setup.sh` installs the packages, and
`run_autograder` grades a submission (the student's whole repository): the grader
(`grader/course/grade.py`) takes the code between each part's marker lines from the
submission, puts it into its own clean copy of the files (`grader/clean/`), refuses code
that reaches the grader or the tests, runs the public tests (`grader/clean/tests/graded/`)
and the hidden tests (`hidden/`), and writes `/autograder/results/results.json` (score, and
one test entry per graded test with its score, max_score, output and visibility; hidden
tests are shown after the due date).

Anywhere else: `python grader/course/grade.py --submission STUDENT_REPO --clean grader/clean
--hidden hidden --json FILE` does the same grading.
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope entry point: grade the submission in /autograder/submission.
set -euo pipefail
SRC=/autograder/source
SUB=${1:-/autograder/submission}
OUT=${2:-/autograder/results/results.json}
mkdir -p "$(dirname "$OUT")"
# Only the submission's graded regions are used; the files around them, the tests and the
# grader all come from this autograder.
python3 "$SRC/grader/course/grade.py" --submission "$SUB" --clean "$SRC/grader/clean" --hidden "$SRC/hidden" --json "$OUT"
"""

SETUP_SH = """#!/usr/bin/env bash
# Gradescope set-up: the packages the graded tests need (CPU only; no model download).
set -euo pipefail
apt-get install -y python3 python3-pip >/dev/null 2>&1 || true
python3 -m pip install -q -r /autograder/source/grader/requirements.txt pytest
"""


def build_autograder(student: dict[str, bytes]) -> dict[str, bytes]:
    files = {}
    for p in sorted((ROOT / "course" / "hidden").glob("*.py")):
        files[f"hidden/{p.name}"] = p.read_bytes()
    for rel in ("course/grade.py", "course/parts.py", "requirements.txt"):
        files[f"grader/{rel}"] = (ROOT / rel).read_bytes()
    # the clean copy the submitted regions go into: the student copy's own files, stubs in place
    for rel, data in student.items():
        top_py = "/" not in rel and rel.endswith(".py")
        if top_py or rel in ("pytest.ini", "tests/conftest.py") or (rel.startswith("tests/graded/") and rel.endswith(".py")):
            files[f"grader/clean/{rel}"] = data
    files["README.md"] = AUTOGRADER_README.encode()
    files["run_autograder"] = RUN_AUTOGRADER.encode()
    files["setup.sh"] = SETUP_SH.encode()
    return files


def check_out(out: Path) -> None:
    """Refuse an OUT that cannot hold the build, before anything is written."""
    try:
        inside = out.resolve().is_relative_to(ROOT)
    except OSError:
        inside = False
    if inside:
        raise SystemExit(f"error: {out} is inside the repository, so the next build would copy this one; "
                         f"build outside it, e.g. python course/build.py /tmp/smf-course.")
    p = out
    while not p.exists():
        p = p.parent
    if not p.is_dir():
        raise SystemExit(f"error: {p} is a file, not a folder; give a new or empty folder as OUT.")
    if not os.access(p, os.W_OK):
        raise SystemExit(f"error: {p} is not writable; give a folder you can write as OUT.")
    for sub in ("student", "autograder"):
        d = out / sub
        if d.exists() and not (d.is_dir() and (d / STAMP).exists()):
            raise SystemExit(f"error: {d} exists and was not written by course/build.py; give an empty or new OUT folder.")


def build(out: Path) -> None:
    check_out(out)
    files, regions = build_student()
    out.mkdir(parents=True, exist_ok=True)
    write_tree(out / "student", files)
    check_student_copy(out / "student", regions)
    write_tree(out / "autograder", build_autograder(files))
    parts = sorted({r["part"] for r in regions}, key=lambda s: (len(s), s))
    print(f"student copy:  {out / 'student'}  ({len(files)} files, {len(regions)} regions stubbed: {', '.join(parts)})")
    print(f"autograder:    {out / 'autograder'}")


def fill(student: Path) -> None:
    """Put the master's solution regions back into a student copy (the 'student path' check)."""
    if not (student / "smf_mini.py").is_file():
        raise SystemExit(f"error: {student} is not an smf-mini student copy (no smf_mini.py there); give the student/ folder a build wrote.")
    n = 0
    for rel in master_files():
        if not rel.endswith((".py", ".ipynb")) or not (student / rel).is_file():
            continue
        _, regions = student_text(rel, (ROOT / rel).read_text())
        if not regions:
            continue
        if rel.endswith(".py"):
            (student / rel).write_text(fill_stubs((student / rel).read_text(), regions, rel))
            n += len(regions)
    print(f"filled {n} stubs in {student} from the reference")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Write the student copy and the autograder of the smf-mini assignment.")
    ap.add_argument("out", nargs="?", help="folder to write student/ and autograder/ into")
    ap.add_argument("--fill", metavar="STUDENT", help="instead: fill a student copy's stubs with the reference solutions")
    args = ap.parse_args(argv)
    if bool(args.out) == bool(args.fill):
        ap.error("give either OUT or --fill STUDENT.")
    try:
        fill(Path(args.fill)) if args.fill else build(Path(args.out))
    except ValueError as e:
        raise SystemExit(f"error: {e}")
    except OSError as e:
        where = e.filename or (args.fill or args.out)
        raise SystemExit(f"error: cannot write {where} ({e.strerror or e}); give a folder you can write (a new or empty one).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
