"""progress.py: long work shows itself as it happens.

- `bar(total, desc)`, `bar_over(items, desc)`: a tqdm bar in a terminal (nothing when the output is not a terminal:
  a log file or a notebook's saved output gets no bar characters).
- `phase(name)`: a named stretch of work (the background pass, training, each evaluation
  suite...). When it ends, one line `phase NAME: S s` is printed and, while a run is being
  written (`log_to(path)`), appended to that run's `phases.log`; nested phases are named
  `outer / inner`. `times` holds the phase times measured since the last `log_to`.
"""
from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

from tqdm import tqdm

times: dict[str, float] = {}
_stack: list[str] = []
_log: Path | None = None
quiet = False  # True: phase lines are not printed (still logged)


def log_to(path) -> None:
    """Append phase lines to `path` from now on (None: to no file); the recorded times restart."""
    global _log
    _log = Path(path) if path else None
    times.clear()


def bar(total: int, desc: str | None = None, unit: str = "batch"):
    """A progress bar over `total` units; it disappears when done (the phase line stays)."""
    name = " / ".join(_stack + ([desc] if desc else []))
    return tqdm(total=total, desc=name or None, unit=unit, leave=False, dynamic_ncols=True,
                disable=None if sys.stderr.isatty() else True)


def bar_over(items: list, desc: str, unit: str = "item"):
    """Iterate over `items` with a bar (in a terminal) named `desc`."""
    with bar(len(items), desc, unit) as b:
        for x in items:
            yield x
            b.update()


@contextlib.contextmanager
def phase(name: str):
    """Time the work inside; on the way out print and log `phase NAME: S s`."""
    _stack.append(name)
    full = " / ".join(_stack)
    t0 = time.time()
    try:
        yield
    finally:
        _stack.pop()
        dt = time.time() - t0
        times[full] = round(times.get(full, 0.0) + dt, 1)
        line = f"phase {full}: {dt:.1f} s"
        if not quiet:
            print(line, flush=True)
        if _log is not None and _log.parent.is_dir():  # (a run folder moved away, e.g. parked as diverged: no record)
            try:
                with open(_log, "a") as f:
                    f.write(time.strftime("%Y-%m-%dT%H:%M:%S ") + line + "\n")
            except OSError as e:  # a phase line is a record, never a reason to lose the run
                print(f"warning: could not append to {_log} ({e.strerror}); the phase times are still printed", file=sys.stderr)
