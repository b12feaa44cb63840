"""course/grade.py: grade the assignment's parts, with points.

    python course/grade.py                         # public graded tests: a table of parts and points
    python course/grade.py --parts part2,part4     # only those parts
    python course/grade.py --hidden DIR --json F   # also the hidden tests; F in Gradescope's results.json form

What is graded is the code between each part's two marker lines, `# >>> partN` and
`# <<< partN`, in memory.py, smf_mini.py and stats.py, and nothing else:

1. The grader reads each region's lines from the submission (--submission, default: the
   repository this file is in) and puts them into its own clean copy of the files
   (--clean, the autograder's copy; default: the submission's files, with the files that
   hold regions taken from course/clean/, the files as handed out), in place of the
   stub. Edits outside the regions therefore count for nothing, and so do edited tests:
   the tests come from the grader's copy (its tests/graded/ and the --hidden folder).
2. Before anything runs, each region's code is checked (as a Python syntax tree). A part
   whose code imports anything but torch, numpy or the standard maths modules, names the
   test references, the course or the test modules, or reaches files, the environment,
   `atexit`, `sys.modules`, subprocesses or private and double-underscore attributes is
   refused: it scores 0, with a message naming the file and line. So is a part whose
   code does not parse, or whose marker lines are missing.
3. The tests run in a child pytest process, single-threaded (deterministic), with a
   time limit per test (--timeout, default 60 s). The child reports each outcome to this
   process over a pipe, each record signed with a key only the two processes hold; this
   process keeps the first signed record of each test and scores a test with no record
   (a crash, an exit) 0. Nothing the graded code can find on disk or in the environment
   holds a result.

The N in a test file's name (tests/graded/test_partN_*.py, DIR/test_hidden_partN_*.py)
says which part it belongs to. A part's points are split equally over its tests; a test
scores all of its share or nothing. A failing public test shows its assertion message;
a failing hidden test shows one generic line (what it checks, never its inputs or
expected values). The written part (part 10) is graded by hand.

This file is also the pytest plugin the child loads (pytest -p grade): the hooks at the
bottom report each outcome and enforce the time limit.
"""
from __future__ import annotations

import argparse
import ast
import hashlib
import hmac
import importlib.util
import json
import math
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from parts import PARTS, WRITTEN  # noqa: E402  (course/parts.py, beside this file)

PART_RE = re.compile(r"test_(?:hidden_)?(part\d+)_")
REGION_FILES = ("memory.py", "smf_mini.py", "stats.py")
# A region: the student copy's markers, or the master copy's (the master is graded the same way).
OPEN_RE = re.compile(r"^(?P<indent>\s*)# (?:>>> (?P<p1>part\d+)\b.*|BEGIN" + r" SOLUTION (?P<p2>part\d+) .*)$")
CLOSE_RE = re.compile(r"^\s*# (?:<<< (?P<p1>part\d+)\b.*|END" + r" SOLUTION)\s*$")
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")


def part_of(path: str) -> str | None:
    m = PART_RE.search(Path(path).name)
    return m.group(1) if m else None


def fail(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 2


# ---------------------------------------------------------------- regions: find, check, transplant


def find_regions(lines: list[str]) -> list[dict]:
    """Every marked region of a file: {part, indent, start (index of the open marker), end (index of the close)}."""
    out, i = [], 0
    while i < len(lines):
        m = OPEN_RE.match(lines[i])
        if m:
            part = m["p1"] or m["p2"]
            j = i + 1
            while j < len(lines) and not CLOSE_RE.match(lines[j]) and not OPEN_RE.match(lines[j]):
                j += 1
            if j < len(lines) and CLOSE_RE.match(lines[j]) and CLOSE_RE.match(lines[j])["p1"] in (None, part):
                out.append({"part": part, "indent": m["indent"], "start": i, "end": j})
                i = j
        i += 1
    return out


ALLOWED_IMPORTS = {"torch", "numpy", "math", "cmath", "itertools", "functools", "collections", "heapq", "bisect", "operator",
                   "typing", "statistics", "random", "numbers", "dataclasses"}
# Names that reach the grader, the tests or the machine; refused anywhere in graded code. (Other
# modules, the course's and the tests' included, cannot be imported at all: see ALLOWED_IMPORTS.)
BANNED_NAMES = {"graded_refs", "conftest", "pytest", "os", "sys", "subprocess", "atexit", "builtins", "importlib", "inspect",
                "gc", "ctypes", "signal", "pathlib", "shutil", "socket", "threading", "multiprocessing", "pickle", "marshal",
                "tempfile", "open", "exec", "eval", "compile", "globals", "locals", "vars", "getattr", "setattr", "delattr",
                "breakpoint", "exit", "quit", "environ"}
# Attributes that read or write files, the environment or processes, or switch off the checks.
BANNED_ATTRS = {"environ", "getenv", "putenv", "modules", "system", "popen", "spawn", "fork", "kill", "_exit", "exit",
                "load", "save", "savez", "savez_compressed", "loadtxt", "savetxt", "fromfile", "tofile", "memmap", "genfromtxt",
                "register", "overrides", "DisableTorchFunction", "hub", "package", "write_text", "read_text", "ops", "utils",
                "from_file", "fromregex", "DataSource", "open_memmap", "lib", "testing", "distributed", "multiprocessing"}
ALLOWED_PRIVATE = {"_capped"}  # the private helpers a region is meant to call


def check_region(code: str, first_line: int, where: str) -> str | None:
    """None if the region's code may run; else one line naming the first refused thing and its line."""
    try:
        tree = ast.parse("def _region():\n" + code + "\n    pass\n")
    except SyntaxError as e:
        line = first_line + (e.lineno or 2) - 2
        return f"{where} line {line}: SyntaxError: {e.msg}; fix it (the part scores 0 until its code parses)."

    def at(node) -> int:
        return first_line + node.lineno - 2

    # the first offence in reading order (a name before the attributes taken from it)
    nodes = sorted((n for n in ast.walk(tree) if hasattr(n, "lineno")),
                   key=lambda n: (n.lineno, n.col_offset, isinstance(n, ast.Attribute)))
    for node in nodes:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or "."]
            for n in names:
                if n.split(".")[0] not in ALLOWED_IMPORTS or (isinstance(node, ast.ImportFrom) and node.level):
                    return (f"{where} line {at(node)}: graded code may not import {n!r}; only torch, numpy and the standard "
                            f"maths modules ({', '.join(sorted(ALLOWED_IMPORTS - {'torch', 'numpy'}))}): remove the import.")
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else None
        if isinstance(node, ast.alias):
            name = node.asname
        if not name:
            continue
        if name in BANNED_NAMES or (isinstance(node, ast.Attribute) and name in BANNED_ATTRS):
            return (f"{where} line {at(node)}: graded code may not use {name!r} (the grader refuses code that reaches "
                    f"files, the environment, processes, the tests or the course); remove it.")
        if name.startswith("__") or (isinstance(node, ast.Attribute) and name.startswith("_") and name not in ALLOWED_PRIVATE):
            return f"{where} line {at(node)}: graded code may not use the private attribute {name!r}; remove it."
    return None


def reindent(body: list[str], old: str, new: str) -> list[str]:
    out = []
    for line in body:
        if not line.strip():
            out.append("")
        elif line.startswith(old):
            out.append(new + line[len(old):])
        else:
            out.append(new + line.lstrip())  # less indented than its marker: let the parser judge it
    return out


def transplant(submission: Path, work: Path, parts: set[str]) -> dict[str, str]:
    """Put the submission's region bodies into the work copy's region files. Returns
    {part: why it is refused} for the parts that may not run."""
    refused: dict[str, str] = {}
    for rel in REGION_FILES:
        clean_path = work / rel
        if not clean_path.is_file():
            continue
        clean = clean_path.read_text().split("\n")
        cregions = find_regions(clean)
        sub_path = submission / rel
        try:
            sub = sub_path.read_text().split("\n")
        except (OSError, UnicodeDecodeError):
            for r in cregions:
                refused.setdefault(r["part"], f"{rel} is missing or unreadable in the submission; submit the whole repository.")
            continue
        sregions = find_regions(sub)
        by_part: dict[str, list[dict]] = {}
        for r in sregions:
            by_part.setdefault(r["part"], []).append(r)
        want: dict[str, int] = {}
        for r in cregions:
            want[r["part"]] = want.get(r["part"], 0) + 1
        for part, n in want.items():
            if len(by_part.get(part, [])) != n:
                refused.setdefault(part, f"{rel}: expected {n} region(s) of {part} between '# >>> {part}' and '# <<< {part}' "
                                         f"lines, found {len(by_part.get(part, []))}; put the marker lines back around your code.")
        # replace from the bottom so earlier line numbers stay valid
        seen: dict[str, int] = {}
        plan = []
        for r in cregions:
            k = seen.get(r["part"], 0)
            seen[r["part"]] = k + 1
            if r["part"] in refused:
                continue
            s = by_part[r["part"]][k]
            body = sub[s["start"] + 1 : s["end"]]
            if r["part"] in parts:
                why = check_region("\n".join(reindent(body, s["indent"], "    ")), s["start"] + 2, f"{r['part']}, {rel}")
                if why:
                    refused[r["part"]] = why
                    continue
            plan.append((r, reindent(body, s["indent"], r["indent"])))
        for r, body in sorted(plan, key=lambda t: -t[0]["start"]):
            if r["part"] in refused:
                continue
            clean[r["start"] + 1 : r["end"]] = body
        clean_path.write_text("\n".join(clean))
    return refused


# ---------------------------------------------------------------- running the tests


def prepare(clean: Path, submission: Path, work: Path, hidden: Path | None) -> None:
    """The work copy: the clean copy's top-level Python files, pytest.ini, tests/conftest.py and
    tests/graded/, and the hidden tests in hidden/. Grading a student copy in place (no --clean),
    the files with regions come from course/clean/ (the files as handed out), the rest from the copy."""
    for p in sorted(clean.glob("*.py")):
        shutil.copy(p, work / p.name)
    if clean == submission and (HERE / "clean").is_dir():
        for p in sorted((HERE / "clean").glob("*.py")):
            shutil.copy(p, work / p.name)
    for rel in ("pytest.ini", "tests/conftest.py"):
        if (clean / rel).is_file():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(clean / rel, work / rel)
    shutil.copytree(clean / "tests" / "graded", work / "tests" / "graded", ignore=shutil.ignore_patterns("__pycache__"))
    if hidden:
        shutil.copytree(hidden, work / "hidden", ignore=shutil.ignore_patterns("__pycache__"))


def sign(key: bytes, payload: str) -> str:
    return hmac.new(key, payload.encode(), hashlib.sha256).hexdigest()


def run_tests(work: Path, paths: list[str], parts: set[str], timeout: float) -> tuple[list[dict], str]:
    """Run the graded tests in a child pytest; returns (one record per collected test, the child's output tail)."""
    key = secrets.token_hex(32)
    r_fd, w_fd = os.pipe()  # the records, child -> parent
    k_r, k_w = os.pipe()  # the key, parent -> child (read once, then closed)
    os.write(k_w, (key + "\n").encode())
    os.close(k_w)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMF_GRADE")}
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="", PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1",
               SMF_GRADE_FD=str(w_fd), SMF_GRADE_KEY_FD=str(k_r), SMF_GRADE_TIMEOUT=repr(timeout), SMF_GRADE_PARTS=",".join(sorted(parts)),
               PYTHONPATH=os.pathsep.join([str(HERE), str(work), str(work / "tests" / "graded")]))
    cmd = [sys.executable, "-m", "pytest", "-p", "grade", "-q", "--no-header", "-p", "no:cacheprovider", "--continue-on-collection-errors",
           "--rootdir", str(work), "-c", str(work / "pytest.ini"), *paths]
    lines: list[str] = []

    def reader():
        with os.fdopen(r_fd, "r") as f:
            lines.extend(f)

    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(cmd, cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                pass_fds=(w_fd, k_r), text=True)
        os.close(w_fd)
        os.close(k_r)
        t = threading.Thread(target=reader, daemon=True)
        t.start()
        try:
            proc.wait(timeout=max(600.0, 40 * timeout))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        t.join(5)
        log.seek(0)
        tail = "\n".join(log.read().strip().splitlines()[-15:])
    collected: list[str] | None = None
    rows: dict[str, dict] = {}
    for line in lines:
        try:
            rec = json.loads(line)
            payload, mac = rec["payload"], rec["mac"]
        except (ValueError, KeyError, TypeError):
            continue
        if not hmac.compare_digest(sign(key.encode(), payload), mac):
            continue  # not from the plugin: ignored
        body = json.loads(payload)
        if body.get("kind") == "collected" and collected is None:
            collected = body["ids"]
        elif body.get("kind") == "test" and body["id"] not in rows:
            rows[body["id"]] = body
    out = []
    for nid in collected or []:
        out.append(rows.get(nid) or {"id": nid, "part": part_of(nid.split("::")[0]), "name": nid.split("::", 1)[-1],
                                     "hidden": "test_hidden_" in nid, "passed": False,
                                     "output": "did not finish: the test process ended during this test (a crash, or an exit in graded code)"})
    out += [r for nid, r in rows.items() if r.get("load_error")]
    return out, tail


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


def gradescope(rows: list[dict], hidden_visibility: str) -> dict:
    """Gradescope's autograder results.json: score, and one entry per test (hidden tests with
    the visibility asked for, public ones visible)."""
    tests = [{"name": f"{r['part']} {PARTS[r['part']]['title']}: {r['name']}", "score": r["score"], "max_score": r["max_score"],
              "output": r["output"] or ("passed" if r["passed"] else "failed"),
              "visibility": hidden_visibility if r.get("hidden") else "visible"} for r in rows]
    return {"score": round(sum(r["score"] for r in rows), 4), "tests": tests,
            "output": "Parts 1-9 graded automatically; part 10 (the write-up) is graded by hand."}


def writable_file(path: Path) -> str | None:
    """Why `path` cannot be written as a file, or None."""
    if path.is_dir():
        return f"--json {path} is a folder; give a file name, e.g. --json {path / 'results.json'}"
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        return f"--json {path}: {parent} is a file, not a folder; give a path under a folder"
    if not os.access(parent, os.W_OK):
        return f"--json {path}: {parent} is not writable; give a path in a folder you can write"
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Grade the smf-mini assignment: points per part from the graded tests.")
    ap.add_argument("--hidden", metavar="DIR", help="also run the hidden tests in DIR (the autograder's hidden/ folder)")
    ap.add_argument("--json", metavar="FILE", help="write the scores to FILE in Gradescope's results.json form")
    ap.add_argument("--parts", help="comma-separated parts to grade (default: all), e.g. part1,part4")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds each test may take (default 60)")
    ap.add_argument("--submission", metavar="DIR", help="the repository to grade (default: the one this file is in)")
    ap.add_argument("--clean", metavar="DIR", help="the grader's clean copy that the regions are put into (default: the submission)")
    ap.add_argument("--hidden-visibility", default="after_due_date", choices=VISIBILITIES,
                    help="Gradescope visibility of the hidden tests in --json (default after_due_date)")
    args = ap.parse_args(argv)
    # every input is checked before anything runs
    if args.parts is None:
        parts = set(PARTS)
    else:
        asked = [p.strip() for p in args.parts.split(",")]
        if not any(asked) or not all(asked):
            return fail(f"--parts {args.parts!r} names an empty part; give part names separated by commas, e.g. --parts part1,part4.")
        parts = set(asked)
        unknown = sorted(parts - set(PARTS))
        if unknown:
            return fail(f"unknown part {unknown[0]!r}; the graded parts are {', '.join(PARTS)}.")
    if not (math.isfinite(args.timeout) and args.timeout > 0):
        return fail(f"--timeout must be a positive number of seconds, got {args.timeout!r}; e.g. --timeout 60.")
    submission = Path(args.submission).resolve() if args.submission else ROOT
    clean = Path(args.clean).resolve() if args.clean else submission
    if not submission.is_dir():
        return fail(f"--submission {submission} is not a folder; give the student's repository.")
    for what, d in (("--clean" if args.clean else "the submission", clean),):
        missing = [f for f in (*REGION_FILES, "tests/graded", "pytest.ini") if not (d / f).exists()]
        if missing:
            return fail(f"{what} {d} has no {missing[0]}; run this from an smf-mini copy with the graded tests, "
                        f"or give the autograder's grader/clean folder with --clean.")
    hidden = None
    if args.hidden:
        hidden = Path(args.hidden).resolve()
        if not hidden.is_dir() or not list(hidden.glob("test_hidden_part*.py")):
            return fail(f"{args.hidden} holds no hidden tests (test_hidden_part*.py); give the autograder's hidden/ folder.")
    if args.json:
        why = writable_file(Path(args.json))
        if why:
            return fail(why + ".")
        probe = Path(args.json).with_name(Path(args.json).name + ".tmp")
        try:  # a real write, so that a read-only place is refused before the tests run
            probe.parent.mkdir(parents=True, exist_ok=True)
            probe.write_text("")
            probe.unlink()
        except OSError as e:
            return fail(f"cannot write --json {args.json} ({e.strerror or e}); give a path in a folder you can write.")
    for pkg, how in (("pytest", "python -m pip install pytest"), ("torch", "python -m pip install -r requirements.txt")):
        if importlib.util.find_spec(pkg) is None:
            return fail(f"{pkg} is not installed, and the grader runs the graded tests with it; install it with "
                        f"`{how}` (the handout's set-up does), then grade again.")

    with tempfile.TemporaryDirectory(prefix="smf-grade-") as tmp:
        work = Path(tmp) / "work"
        work.mkdir()
        prepare(clean, submission, work, hidden)
        refused = transplant(submission, work, parts)
        files = sorted((work / "tests" / "graded").glob("test_part*.py"))
        files += sorted((work / "hidden").glob("test_hidden_part*.py")) if hidden else []
        paths = [str(f.relative_to(work)) for f in files if part_of(str(f)) in parts]
        rows, tail = run_tests(work, paths, parts, args.timeout)
    if not rows:
        print("the graded tests did not run:\n" + tail, file=sys.stderr)
    for r in rows:
        if r["part"] in refused:
            r["passed"], r["output"] = False, "refused: " + refused[r["part"]]
    for part in sorted(set(refused) & parts - {r["part"] for r in rows}):
        rows.append({"part": part, "name": "graded code", "passed": False, "output": "refused: " + refused[part]})
    scores = score(rows, parts)
    print_table(scores, bool(hidden))
    print_first_failures(rows)
    if args.json:
        out = Path(args.json)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(out.name + ".tmp")
            tmp.write_text(json.dumps(gradescope(rows, args.hidden_visibility), indent=1))
            tmp.replace(out)
        except OSError as e:
            return fail(f"cannot write {out} ({e.strerror}); give a writable path with --json.")
        print(f"scores written to {out}")
    return 0


# ---------------------------------------------------------------- the pytest plugin (pytest -p grade), in the child


class GradeTimeout(Exception):
    pass


_KEY: list[bytes] = []  # the signing key, read from the parent over a pipe before any graded code is imported


def _send(body: dict) -> None:
    fd = os.environ.get("SMF_GRADE_FD")
    if not fd or not _KEY:
        return
    payload = json.dumps(body)
    os.write(int(fd), (json.dumps({"payload": payload, "mac": sign(_KEY[0], payload)}) + "\n").encode())


def pytest_configure(config):
    key_fd = os.environ.pop("SMF_GRADE_KEY_FD", None)
    if key_fd:
        data = b""
        while not data.endswith(b"\n"):
            chunk = os.read(int(key_fd), 128)
            if not chunk:
                break
            data += chunk
        os.close(int(key_fd))
        _KEY.append(data.strip())
    import torch  # the graded code is torch code; one thread makes every run the same

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True, warn_only=True)


def pytest_collection_modifyitems(session, config, items):
    wanted = set(filter(None, os.environ.get("SMF_GRADE_PARTS", "").split(",")))
    keep = [it for it in items if part_of(str(it.path)) and (not wanted or part_of(str(it.path)) in wanted)]
    items[:] = keep
    _send({"kind": "collected", "ids": [it.nodeid for it in keep]})


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
    """A test file that cannot even be imported scores 0 for its part, with the error as the output."""
    part = part_of(str(report.fspath)) if report.fspath else None
    if report.failed and part:
        hidden = "test_hidden_" in str(report.fspath)
        lines = str(report.longrepr).strip().splitlines()
        out = "\n".join(lines[-4:])[:800] if not hidden else "failed: this hidden test file could not be loaded (check that your parts import)"
        _send({"kind": "test", "id": f"{report.nodeid} (load)", "load_error": True, "part": part, "hidden": hidden,
               "name": f"{Path(str(report.fspath)).name} (could not be loaded)", "passed": False, "output": out})


def _hidden_line(item_doc: str | None, text: str) -> str:
    """The one line a failing hidden test shows: what it checks, never its values."""
    m = re.search(r"NotImplementedError: (part\d+):|waits for (part\d+)", text)
    if m:
        return f"waits for {m.group(1) or m.group(2)} (not written yet)"
    if "GradeTimeout" in text:
        return "failed: took longer than the time limit"
    what = (item_doc or "").strip().splitlines()[0] if item_doc and item_doc.strip() else "a hidden check of this part"
    return f"failed (hidden test; its inputs and expected values are not shown): {what}"


def pytest_runtest_logreport(report):
    failed_setup = report.when == "setup" and not report.passed
    if report.when != "call" and not failed_setup:
        return
    path = report.nodeid.split("::")[0]
    hidden = "test_hidden_" in path
    output = ""
    if not report.passed:
        lr = report.longrepr
        text = lr[2] if isinstance(lr, tuple) and len(lr) == 3 else str(lr) if lr else ""
        if hidden:
            output = _hidden_line(_DOCS.get(report.nodeid), text)
        else:
            # the last lines of the error say what went wrong (NotImplementedError: partN: hint, an assertion...)
            lines = [l for l in text.splitlines() if l.startswith("E ")] or text.splitlines()[-1:]
            output = "\n".join(l[2:].strip() if l.startswith("E ") else l for l in lines[-6:])[:800]
    _send({"kind": "test", "id": report.nodeid, "part": part_of(path), "name": report.nodeid.split("::", 1)[-1],
           "hidden": hidden, "passed": bool(report.passed), "output": output})


_DOCS: dict[str, str | None] = {}


def pytest_itemcollected(item):
    _DOCS[item.nodeid] = getattr(getattr(item, "function", None), "__doc__", None)


if __name__ == "__main__":
    sys.exit(main())
