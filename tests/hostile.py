"""Run many command lines of train.py, eval.py and scripts/*.py as real processes, quickly.

    python tests/hostile.py CASES.json RESULTS.json [WATCH]

CASES.json: a list of {"id", "script" (a path under the repository), "argv" (list), "cwd",
"timeout" (seconds), "env" (optional extra environment)}. Each case runs in its own process,
forked from this one after the heavy imports (torch, transformers and the project's modules,
~3 s) are done once, and runs the script exactly as `python SCRIPT ARGV...` would: the file is
executed as __main__ with sys.argv set, its stdout and stderr go to files, an uncaught exception
prints Python's traceback and exits 1, SystemExit("error: ...") prints the message and exits 1.
A case still running after its timeout is killed and recorded as a hang.

Each result: {"id", "rc" (None: hung and killed), "stdout", "stderr", "seconds",
"model_loaded" (whether common.load_model was entered), "changed" (paths under WATCH
made, removed or modified by the case; an empty folder made is not counted)}. Used by tests/test_bad_input.py;
also handy by hand to try a list of inputs.
"""
from __future__ import annotations

import json
import os
import resource
import runpy
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402,F401  (imported once, before the forks)
import transformers  # noqa: E402,F401

import common  # noqa: E402
import eval  # noqa: E402,F401,A004
import memory  # noqa: E402,F401
import tasks  # noqa: E402,F401
import train  # noqa: E402,F401

# What most cases reach lazily, imported once here rather than in every child: the config
# and tokenizer classes (transformers imports them on first use) and matplotlib (--compare).
from transformers import AutoConfig, AutoTokenizer, LlamaConfig, PreTrainedTokenizerFast  # noqa: E402,F401
import transformers.models.auto.configuration_auto  # noqa: E402,F401
import transformers.models.auto.tokenization_auto  # noqa: E402,F401
import matplotlib  # noqa: E402

matplotlib.use("Agg")
import matplotlib.pyplot  # noqa: E402,F401

MARK = "HOSTILE-MODEL-LOADED"


def _patch() -> None:
    """common.load_model leaves a mark on stderr (the test then knows the model was loaded)."""
    real = common.load_model

    def load_model(*a, **k):
        print(MARK, file=sys.stderr, flush=True)
        if os.environ.get("HOSTILE_SIGTERM_IN_EVAL"):  # the SIGTERM-during-evaluation test
            real_eval = eval.evaluate_run

            def evaluate_run(*ea, **ek):
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the signal arrives here
                return real_eval(*ea, **ek)

            eval.evaluate_run = evaluate_run
        return real(*a, **k)

    common.load_model = load_model


def _child(case: dict, out: str, err: str) -> None:
    """In the forked process: run the script as `python SCRIPT ARGV` would, then _exit."""
    code = 1
    try:
        fd_out, fd_err = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC), os.open(err, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(fd_out, 1)
        os.dup2(fd_err, 2)
        os.setsid()  # its own process group: a hang is killed with everything it started
        limit = int(os.environ.get("HOSTILE_MEMORY_LIMIT", 12 * 2**30))  # an input that asks for too much memory
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))  # fails here, not in the machine's other processes
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.chdir(case["cwd"])
        os.environ.update(case.get("env") or {})
        script = str(ROOT / case["script"])
        sys.argv = [script, *case["argv"]]
        sys.path[0] = str(Path(script).parent)
        _patch()
        try:
            runpy.run_path(script, run_name="__main__")
            code = 0
        except SystemExit as e:  # what the interpreter does with it
            if e.code is None:
                code = 0
            elif isinstance(e.code, int):
                code = e.code
            else:
                print(e.code, file=sys.stderr)
                code = 1
        except KeyboardInterrupt:
            traceback.print_exc()
            code = 130
        except BaseException:  # noqa: BLE001 (an uncaught exception: Python prints the traceback)
            traceback.print_exc()
            code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def tree(root: str) -> dict:
    """Every path under root: (mode, size, modification time); folders by mode only."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            plain = not os.path.isdir(p)
            out[os.path.relpath(p, root)] = (st.st_mode, st.st_size if plain else 0, st.st_mtime_ns if plain else 0)
    return out


def changes(before: dict, after: dict) -> list[str]:
    """Paths made, removed or modified (an empty folder made is not counted)."""
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)
                  and not (k not in before and after[k][1] == 0 and after[k][0] & 0o040000))


def run_case(case: dict, tmp: str, watch: str | None = None) -> dict:
    out, err = os.path.join(tmp, f"{case['id']}.out"), os.path.join(tmp, f"{case['id']}.err")
    before = tree(watch) if watch else {}
    t0 = time.time()
    pid = os.fork()
    if pid == 0:
        _child(case, out, err)
    rc, deadline = None, t0 + case.get("timeout", 20)
    while time.time() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            rc = os.waitstatus_to_exitcode(status)
            break
        time.sleep(0.02)
    if rc is None:  # hung: kill it and everything it started
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
    stderr = Path(err).read_text(errors="replace")
    return {"id": case["id"], "rc": rc, "stdout": Path(out).read_text(errors="replace"),
            "stderr": stderr.replace(MARK + "\n", ""), "model_loaded": MARK in stderr,
            "seconds": round(time.time() - t0, 2), "changed": changes(before, tree(watch)) if watch else []}


def main(argv: list[str]) -> int:
    cases = json.loads(Path(argv[0]).read_text())
    with tempfile.TemporaryDirectory() as tmp:
        results = []
        for case in cases:
            r = run_case(case, tmp, argv[2] if len(argv) > 2 else None)
            results.append(r)
            Path(argv[1]).write_text(json.dumps(results))  # so far (a crash of this driver keeps what was run)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
