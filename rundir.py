"""rundir.py: a run folder's life, from claiming its name to moving it into place.

A run lives in runs/<name>/. Its life, and the functions of this file that handle each part:

1. Which folder (`claim`): --name as given (a plain folder name, never a path), or the
   default <preset>-<method>. A re-run without --name never stops at a finished run: it goes
   to the first free runs/<default>-2, -3, ... next to it and says so; --resume without
   --name continues the newest interrupted one of those.
2. One writer (`run_lock`): runs/.<name>.lock holds the owner's process id; a second process
   with that name is refused while the owner lives, and a stale lock (owner killed) is taken.
3. Work in runs/<name>.partial (`check_folder`, `check_resume_settings`, `remove_temporaries`,
   `StopAfterStep`): a run trains and evaluates there; --resume continues it only with the
   same training settings, after removing the half-written files a kill left behind; the
   first Ctrl-C saves the finished step.
4. The end, good or bad (`finish`; the divergence guard `check_step` and `check_weights`, and
   `park_diverged`): a finished run replaces runs/<name>/ in one rename, and an older finished
   run is removed only then, so a crash never loses a good run; a run whose loss or weights
   blow up is moved aside to runs/<name>.diverged/ for inspection, and no checkpoint ever
   holds non-finite weights.
5. A run from start to finish (`start`, `run`; `follow` on the other processes of torchrun):
   the loop itself is train.train, passed in.
6. Sweeps (`sweep`): one run per setting, each in its own named folder; finished ones skipped.

The files inside the folder (their formats) are checkpoints.py's; the checks of the settings
are settings.py's.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import signal
import sys
import time
from pathlib import Path

import torch

import checkpoints
import common
import eval  # noqa: A004 (our evaluation module; the builtin eval() is never used here)
import inputs
import plots
import progress
import settings
from settings import MAX_SEED, MAX_STEPS, OS_REASONS, check_name


# ---------------------------------------------------------------- 1. which folder


def numbered(base: str, n: int) -> str:
    """The n-th default folder name: base, base-2, base-3, ..."""
    return base if n == 1 else f"{base}-{n}"


def newest_interrupted(runs_dir: Path, base: str) -> str | None:
    """The default-named run (base or base-N) with the highest N that has an interrupted
    folder (<name>.partial) and no live owner; None if there is none."""
    if not runs_dir.is_dir():
        return None
    pattern = re.compile(re.escape(base) + r"(?:-([2-9]|[1-9][0-9]+))?\.partial")
    found = []
    for p in runs_dir.iterdir():
        m = pattern.fullmatch(p.name)
        if m and p.is_dir() and not lock_owner(runs_dir / f".{p.name[: -len('.partial')]}.lock"):
            found.append((int(m.group(1) or 1), p.name[: -len(".partial")]))
    return max(found)[1] if found else None


@contextlib.contextmanager
def claim(runs_dir: Path, name: str | None, base: str, resume: bool, overwrite: bool):
    """The run's folder name, held under its lock for the with-block (see the note above):
    --name as given; else the default `base`, numbered on when it is taken."""
    if name or overwrite or resume:
        picked = None if name or overwrite else newest_interrupted(runs_dir, base)  # --resume alone
        name = name or picked or base
        check_name(name)
        inputs.check(inputs.run_paths, runs_dir, name)  # a file named like the run is never moved aside
        if picked and picked != base:
            print(f"note: --resume without --name continues the newest interrupted run, {runs_dir / name}.partial.")
        with run_lock(runs_dir, name):
            yield name
        return
    check_name(base)
    runs_dir.mkdir(parents=True, exist_ok=True)
    n = 0
    while True:
        n += 1
        cand = numbered(base, n)
        if (runs_dir / cand).exists():
            continue  # a finished run: never touched without --name
        lock = runs_dir / f".{cand}.lock"
        if take_lock(lock):
            continue  # another process is writing this run now
        try:
            if (runs_dir / cand).exists():
                continue  # it finished between the look and the lock
            if cand != base:
                print(f"note: {runs_dir / base} is taken (a finished run, or one in progress), so this run goes to "
                      f"{runs_dir / cand} (--name chooses the folder; --overwrite replaces {runs_dir / base}).")
            yield cand
            return
        finally:
            lock.unlink(missing_ok=True)


# ---------------------------------------------------------------- 2. one writer


@contextlib.contextmanager
def run_lock(runs_dir: Path, name: str):
    """Exclusive lock on a run name: runs/.<name>.lock holds the owner's process id.

    A second process with the same name is refused while the owner lives; a lock whose owner
    is gone (killed with SIGKILL, machine restarted) is stale and taken over."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    lock = runs_dir / f".{name}.lock"
    owner = take_lock(lock)
    if owner:
        raise SystemExit(f"error: a run with this name is in progress (pid {owner}); wait for it to finish "
                         f"or stop it, or choose another --name.")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def take_lock(lock: Path) -> int:
    """Create `lock` holding this process's id (O_EXCL: of two processes, one wins). Returns 0
    when taken, else the process id of the live owner; a stale lock is removed and taken."""
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            pid = lock_owner(lock)
            if pid:
                return pid
            lock.unlink(missing_ok=True)  # stale: its owner is gone
            continue
        try:
            os.write(fd, str(os.getpid()).encode())
        except OSError:
            lock.unlink(missing_ok=True)
            raise
        finally:
            os.close(fd)
        return 0
    raise SystemExit(f"error: could not take the lock {lock} (another process keeps creating it); run again in a moment, or choose another --name.")


def lock_owner(lock: Path) -> int:
    """The live process that holds `lock`, or 0 (no lock, or a stale one whose owner is gone)."""
    try:
        pid = int(lock.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0
    return pid if pid and pid_alive(pid) else 0


def pid_alive(pid: int) -> bool:
    """Whether process `pid` exists (signal 0 only asks; nothing is sent)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by someone else
        return True
    return True


# ---------------------------------------------------------------- 3. work in runs/<name>.partial, and --resume


def never_started(work: Path) -> bool:
    """Whether `work` is a .partial folder that a run left before its first step was logged
    (a failure or a kill while loading): no step, no checkpoint, no results, so nothing to lose."""
    if not work.is_dir() or (work / "state.pt").exists() or (work / "results.json").exists():
        return False
    log = work / "log.jsonl"
    return not log.exists() or log.stat().st_size == 0


def check_folder(run_dir: Path, work: Path, resume: bool, overwrite: bool) -> bool:
    """What is already there decides what may start (checked while holding the lock):
    --resume needs an interrupted run (work), a new run needs none, and a finished run
    (run_dir) is replaced only with --overwrite, and only once the new run has finished.
    A .partial left before its first step holds nothing: it is removed, and the run starts
    afresh (with or without --resume). Returns whether the run resumes."""
    if work.exists() and never_started(work):
        shutil.rmtree(work)
        print(f"note: {work} was left by a run that stopped before its first step (nothing was trained); "
              "removed, and this run starts afresh.")
        resume = False
    if resume and not work.exists():
        raise SystemExit(f"error: there is no interrupted run at {work} to resume; drop --resume to start one.")
    if not resume and work.exists():
        raise SystemExit(f"error: an interrupted run exists at {work}; pass --resume to continue it, or delete that folder to start again.")
    if not resume and run_dir.exists() and not overwrite:
        raise SystemExit(f"error: {run_dir} already holds a finished run; pass --overwrite to replace it (once the new run finishes), "
                         "or choose another --name.")
    if resume and run_dir.exists():  # the interrupted run was started with --overwrite
        print(f"note: {run_dir} holds a finished run, and the interrupted run resumed here was started to replace it; "
              "it is replaced when this run finishes (stop now to keep it).")
    return resume


# Settings that may change on --resume: they do not change how the steps are trained.
RESUME_MAY_CHANGE = {"eval_limit", "save_every", "train_seconds", "resolved_steps"}


def check_resume_settings(work: Path, cfg: dict) -> None:
    """--resume continues a run only with the settings its first steps were trained with
    (those of RESUME_MAY_CHANGE aside): otherwise one run would mix two trainings."""
    inputs.check(inputs.resume_files, work)  # config.json, state.pt, stream.json whole, before the model loads
    try:
        saved = json.loads((work / "config.json").read_text())
    except (OSError, json.JSONDecodeError):
        raise SystemExit(f"error: {work}/config.json is missing or unreadable, so the interrupted run cannot be "
                         "resumed safely; delete that folder to start again.") from None
    check_resume_stream(saved, cfg)
    was, now_n = saved.get("world_size", 1), cfg.get("world_size", 1)  # absent: one process
    if was != now_n:  # each process's share of every step depends on the number of processes
        how = "python train.py (one process)" if was == 1 else f"torchrun --nproc_per_node {was} train.py"
        raise SystemExit(f"error: the interrupted run at {work} was trained on {was} process(es), not {now_n}; "
                         f"resume it with {how} and the same flags.")
    # a setting added since that run was made counts as the value it had in effect then
    saved = json.loads(json.dumps(settings.with_added_settings(saved)))
    now = json.loads(json.dumps(cfg, default=str))
    diff = sorted(k for k in set(saved) | set(now) if k not in RESUME_MAY_CHANGE and saved.get(k) != now.get(k))
    if diff:
        shown = ", ".join(f"{k} ({saved.get(k)!r} -> {now.get(k)!r})" for k in diff)
        raise SystemExit(f"error: --resume with changed training settings: {shown}; give the interrupted run's "
                         "flags, or start a new run under another --name.")


def check_resume_stream(saved: dict, cfg: dict) -> None:
    """A stream's stages (and the items each row of its matrix is measured on) are fixed when it
    starts: --resume keeps its --sequence and --eval-limit."""
    if saved.get("sequence") != cfg.get("sequence"):
        if saved.get("sequence"):
            raise SystemExit(f"error: this interrupted run is a stream of {saved['sequence']} stages; --resume it with "
                             f"--sequence {saved['sequence']} (its stages are fixed when it starts), or start a new run under another --name.")
        raise SystemExit("error: this interrupted run is not a stream; --resume it without --sequence, or start the stream under another --name.")
    if cfg.get("sequence") and saved.get("eval_limit") != cfg.get("eval_limit"):
        raise SystemExit(f"error: --resume of a stream keeps the --eval-limit it started with ({saved.get('eval_limit')}), "
                         "so every row of its accuracy matrix scores the same items; give that value.")


def os_error_message(e: OSError, runs_dir: Path, name: str | None) -> str:
    """An OS error while writing a run as one sentence: the path, why, and what was kept
    (a .partial that holds nothing is removed, so that it blocks no rerun)."""
    where = e.filename or runs_dir
    why = OS_REASONS.get(e.errno, e.strerror or str(e))
    verb = "write" if not e.filename or Path(os.path.abspath(e.filename)).is_relative_to(os.path.abspath(runs_dir)) else "use"
    kept = "nothing was written"
    if name:
        work = runs_dir / f"{name}.partial"
        if never_started(work):
            shutil.rmtree(work, ignore_errors=True)
            kept = "nothing was trained yet, so nothing was kept"
        elif (work / "state.pt").exists():
            try:
                step = torch.load(work / "state.pt", mmap=True, weights_only=False)["step"]
                kept = f"the checkpoint at step {step} is kept in {work}; fix that and run the same command with --resume"
            except Exception:  # the checkpoint itself may be what failed
                kept = f"the interrupted run is kept in {work}; fix that and run the same command with --resume"
        elif work.exists():
            kept = f"the interrupted run is kept in {work}; fix that and run the same command with --resume"
        if (runs_dir / name).exists():
            kept += f"; the finished run in {runs_dir / name} is untouched"
    if e.errno is None:  # not the system's: a reader's own sentence (a missing data file), never "could not write"
        return f"error: {str(e).rstrip('.')}; {kept}."
    return f"error: could not {verb} {where}: {why}; {kept}."


def remove_temporaries(work: Path) -> None:
    """Half-written files (common.atomic_path's .NAME.*.tmp) left by a kill during a save."""
    for f in work.rglob(".*.tmp"):
        f.unlink(missing_ok=True)


class StopAfterStep:
    """While active, the first Ctrl-C asks the loop to save and stop after the current step
    (no half-applied update is ever saved); a second Ctrl-C stops at once.

    sigterm=True (a run on several processes): SIGTERM asks the same, and never stops at once;
    on Ctrl-C torchrun sends it to every process and waits 30 s before killing them, time to
    finish the step and save it."""

    def __init__(self, sigterm: bool = False):
        self.sigterm = sigterm

    def __enter__(self):
        self.asked = False
        self.old_term = None
        try:
            self.old = signal.signal(signal.SIGINT, self._handler)
            if self.sigterm:
                self.old_term = signal.signal(signal.SIGTERM, self._handler)
        except ValueError:  # not the main thread: leave Ctrl-C alone
            self.old = None
        return self

    def _handler(self, signum, frame):
        if signum == signal.SIGTERM:
            self.asked = True
            return
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True
        print("\nCtrl-C: saving after this step (press again to stop at once)...", file=sys.stderr)

    def __exit__(self, *exc):
        if self.old is not None:
            signal.signal(signal.SIGINT, self.old)
        if self.old_term is not None:
            signal.signal(signal.SIGTERM, self.old_term)


# ---------------------------------------------------------------- 4. the end, good or bad


def finish(work: Path, run_dir: Path) -> None:
    """Move the finished .partial folder into place; an older finished run is removed only now."""
    remove_temporaries(work)
    old = None
    if run_dir.exists():
        old = run_dir.with_name(run_dir.name + ".old")
        if old.exists():
            shutil.rmtree(old)
        os.replace(run_dir, old)
    os.replace(work, run_dir)
    if old is not None:
        shutil.rmtree(old)


class Diverged(RuntimeError):
    """Training blew up: a non-finite loss or weight, or a loss far above where it started."""


# Divergence: the mean loss of the last DIVERGE_WINDOW steps more than DIVERGE_FACTOR times (plus
# one nat) the mean of the first DIVERGE_WINDOW. A working run lowers its loss; a learning rate far
# too high sends it up, often to ln(vocabulary) (uniform predictions) with zero gradients, where a
# finite-loss check alone would never fire. Means over windows, not single steps: batches differ
# in kind (the mcq task's questions cost the base model 13-25 nats per answer token, since it
# expects a letter there, and its statements ~8), so one step against another says nothing.
DIVERGE_FACTOR = 2.0
DIVERGE_WINDOW = 8


def check_step(step: int, loss: float, history: list[float]) -> None:
    """loss: this step's; history: the finite losses of the steps before it, in order."""
    if not math.isfinite(loss):
        raise Diverged(f"the loss became {loss} at step {step + 1}")
    w = DIVERGE_WINDOW
    if len(history) + 1 >= w:
        first = (sum(history[:w]) if len(history) >= w else sum(history) + loss) / w  # no copy of the history
        last = (sum(history[len(history) - w + 1 :]) + loss) / w
        if last > DIVERGE_FACTOR * first + 1.0:
            raise Diverged(f"the loss rose to {last:.2f} (mean of the last {w} steps, to step {step + 1}) "
                           f"from {first:.2f} (mean of the first {w})")


def park_diverged(work: Path) -> Path:
    """Move a diverged .partial folder aside (runs/<name>.diverged), so a corrected rerun can start."""
    dest = work.with_name(work.name[: -len(".partial")] + ".diverged")
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(work, dest)
    return dest


def check_weights(model, cfg: dict, step: int) -> None:
    """Every trainable tensor finite (checked before each save, so no checkpoint holds NaN or inf)."""
    for name, t in checkpoints.trainable_state(model, cfg).items():
        if not torch.isfinite(t).all():
            raise Diverged(f"weights became non-finite ({name}) by step {step}")


# ---------------------------------------------------------------- 5. a run from start to finish


def start(cfg: dict, args, group, train) -> int:
    """Check the inputs, claim the run folder (the main process) and run; other processes
    train their share in the folder the main process announces (follow). group: the process
    group (distributed.Group under torchrun, else distributed.Solo); train: train.train."""
    if group.world > 1:
        cfg["world_size"] = group.world  # recorded in config.json: --resume needs the same number
    settings.validate_inputs(cfg, args.no_eval)
    runs_dir = Path(args.runs_dir)
    if runs_dir.exists() and not runs_dir.is_dir():
        raise SystemExit(f"error: --runs-dir {runs_dir} is a file, not a folder; give a folder (it is made if missing).")
    if not group.main:
        return follow(cfg, group, train)
    # the folder: --name, or <preset>-<method> numbered on (-2, -3, ...) when that is taken
    name, term = None, signal.signal(signal.SIGTERM, signal.default_int_handler) if group.world == 1 else None
    try:  # one process: SIGTERM (kill PID) is Ctrl-C (a message, the lock removed; training saves after the step)
        with claim(runs_dir, args.name, f"{cfg['preset']}-{cfg['method']}", args.resume, args.overwrite) as name:
            return run(cfg, args, name, runs_dir, group, train)
    except OSError as e:  # read-only, no space left, ...: one sentence, saying what was kept
        raise SystemExit(os_error_message(e, runs_dir, name)) from None
    except KeyboardInterrupt:  # outside training and evaluation (which say more): still one sentence
        print(f"\nInterrupted: what was finished is kept in {runs_dir}; run the same command with --resume.", file=sys.stderr)
        return 130
    finally:
        if term is not None:
            signal.signal(signal.SIGTERM, term)
        if not group.announced:
            group.broadcast(None)  # stopped before training: the other processes stop too


def follow(cfg: dict, group, train) -> int:
    """A process other than the main one: trains its share of every step in the folder that the
    main process chose and announced; writes nothing, and ends once the training is saved
    (the main process evaluates alone)."""
    work = group.broadcast(None)
    if work is None:  # the main process stopped first (and said why)
        return 1
    try:
        train(cfg, Path(work), group.device, progress=False, group=group)
    except KeyboardInterrupt:
        return 130
    except Diverged:
        group.barrier()  # the main process parks the run first
        return 1
    return 0


def run(cfg: dict, args, name: str, runs_dir: Path, group, train) -> int:
    """One run, holding its lock: train in runs/<name>.partial, evaluate, then move into place."""
    run_dir, work = runs_dir / name, runs_dir / f"{name}.partial"
    resume = check_folder(run_dir, work, args.resume, args.overwrite)
    if resume:
        check_resume_settings(work, cfg)
        remove_temporaries(work)
        if checkpoints.finished_work(work, cfg, args.no_eval):  # stopped while being moved into place: nothing to redo
            (work / "state.pt").unlink(missing_ok=True)
            finish(work, run_dir)
            return print(f"note: {work} had finished (it was stopped while being moved into place); nothing was redone. Run saved in {run_dir}.") or 0
    work.mkdir(parents=True, exist_ok=True)
    common.write_json(work / "config.json", cfg)
    progress.log_to(work / "phases.log")  # one line per phase (background pass, training, each evaluation) with its time
    eval.print_config(cfg, name)
    group.announced = group.broadcast(str(work)) is not None  # the other processes train there (and write nothing)
    started = time.time()
    try:
        with progress.phase("training"):
            model, tok, log, rows_changed = train(cfg, work, group.device, group=group)
    except Diverged as e:
        dest = park_diverged(work)
        group.barrier()
        print(f"error: training diverged: {e}. Lower the learning rate (--lr) and run again; the diverged run's "
              f"files were moved to {dest} for inspection (there is nothing in it to resume).", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        step = torch.load(work / "state.pt", mmap=True, weights_only=False)["step"] if (work / "state.pt").exists() else None
        kept = f"the checkpoint at step {step} is kept in {work}" if step else f"no checkpoint was saved yet ({work})"
        print(f"\nInterrupted: {kept}; run the same command with --resume to continue.", file=sys.stderr)
        return 130
    except (SystemExit, Exception):  # a late check failed (e.g. no tokens to learn from), or a fault
        if never_started(work):
            shutil.rmtree(work, ignore_errors=True)  # nothing trained yet: leave no folder that blocks a rerun
        raise
    cfg["train_seconds"] = round(time.time() - started, 1)
    common.write_json(work / "config.json", cfg)
    checkpoints.write_log(work, log)
    checkpoints.save_checkpoint(model, tok, cfg, work, rows_changed)
    rows = checkpoints.row_summary(model, cfg, log) if cfg["method"] == "smf" else None  # rows changed, how far they moved
    if rows:
        common.write_json(work / "rows.json", rows)
        print(checkpoints.describe_rows(rows))
    if not args.no_eval and cfg["method"] != "retrofit":
        model.eval()
        try:
            results = (eval.stream_results(cfg, eval.read_stream_rows(work)) if cfg.get("sequence")
                       else eval.evaluate_run(model, tok, cfg, group.device))
        except KeyboardInterrupt:
            print(f"\nInterrupted during evaluation. Training is finished and kept in {work}; run the same command "
                  "with --resume to evaluate without retraining.", file=sys.stderr)
            return 130
        common.write_json(work / "results.json", results | ({"memory_rows": rows} if rows else {}))
        if cfg.get("sequence"):
            eval.print_stream(results, title=name)
        else:
            eval.print_results(results, title=f"{name}: base vs trained ({results['protocol']} protocol)")
    return close_run(work, run_dir, name, started)


def close_run(work: Path, run_dir: Path, name: str, started: float) -> int:
    """Results are written: drop state.pt, draw the run (plots.py; a failure to draw costs the
    picture, never the run), move the folder into place, and say where both are."""
    (work / "state.pt").unlink(missing_ok=True)
    try:
        picture = plots.plot_run(work, work / "run.png", name=name)
    except (Exception, SystemExit) as e:  # noqa: BLE001 (any drawing fault: the run is kept and saved all the same)
        print(f"warning: the run's picture was not drawn ({e}); draw it later with python eval.py RUN --plot.", file=sys.stderr)
        picture = None
    progress.log_to(None)
    finish(work, run_dir)
    print(f"Run saved in {run_dir} ({time.time() - started:.0f} s). Ask it: python eval.py {run_dir} --ask \"QUESTION\""
          + (f"; see it: {run_dir / picture.name}" if picture else ""))
    return 0


# ---------------------------------------------------------------- 6. sweeps: many runs, each in its own folder


def _floats(text: str, flag: str, kind=float) -> list:
    """A sweep flag's comma-separated values, or one sentence naming the flag."""
    try:
        vals = [kind(x) for x in text.split(",") if x.strip()]
    except ValueError:
        example = "0,1,2" if kind is int else "1e-4,3e-4"
        raise SystemExit(f"error: {flag} takes comma-separated {'whole numbers' if kind is int else 'numbers'} like {example}; got {text!r}.")
    if not vals:
        raise SystemExit(f"error: {flag} is empty; give at least one value.")
    if not all(math.isfinite(v) for v in vals):
        raise SystemExit(f"error: {flag} takes finite numbers like 1e-4,3e-4; got {text!r}.")
    return vals


def sweep(args, argv: list[str], cfg: dict, main) -> int:
    """One run per (learning rate, step count, seed) into --runs-dir, named
    <method>-<split>-lr<lr>-st<steps>-s<seed>. Finished runs are skipped, so an interrupted
    sweep continues where it stopped when the same command is given again. Compare the
    runs with `python eval.py --compare RUNS_DIR/*`. cfg: the settings resolved from argv;
    main: train.main, called once per run with the run's own flags."""
    lrs = _floats(args.lrs, "--lrs") if args.lrs is not None else [cfg["lr"]]
    seeds = _floats(args.seeds, "--seeds", int) if args.seeds is not None else [cfg["seed"]]
    steps_list = _floats(args.steps_list, "--steps-list", int) if args.steps_list is not None else [cfg["steps"]]
    if any(v <= 0 for v in lrs) or any(v is not None and v < 1 for v in steps_list):
        raise SystemExit("error: sweep learning rates must be positive and step counts at least 1.")
    if any(v is not None and v > MAX_STEPS for v in steps_list):  # checked before the first run, not at each
        raise SystemExit(f"error: --steps-list takes step counts of at most {MAX_STEPS:,}.")
    if any(not 0 <= v <= MAX_SEED for v in seeds):
        raise SystemExit(f"error: --seeds takes integers from 0 to {MAX_SEED}.")
    drop = {"--lrs", "--seeds", "--steps-list", "--lr", "--seed", "--steps", "--name"}
    base_argv, skip = [], False
    for x in argv:  # the sweep's own flags (and what each run sets itself) are not passed on
        if skip:
            skip = False
            continue
        if x.split("=")[0] in drop:
            skip = "=" not in x
            continue
        base_argv.append(x)
    failed = []
    for lr in lrs:
        for steps in steps_list:
            for seed in seeds:
                budget = f"st{steps}" if steps is not None else f"ep{cfg['epochs']:g}"  # no --steps: the epochs
                name = f"{cfg['method']}-{cfg['split']}-lr{lr:g}-{budget}-s{seed}"
                if (Path(args.runs_dir) / name / "results.json").exists() or (args.no_eval and (Path(args.runs_dir) / name).exists()):
                    print(f"sweep: {name} is finished; skipped.")
                    continue
                print(f"sweep: {name}")
                rc = main(base_argv + ["--lr", str(lr), "--seed", str(seed), "--name", name] + (["--steps", str(steps)] if steps else []))
                if rc:
                    failed.append(name)
    print(f"sweep done: {len(lrs) * len(seeds) * len(steps_list)} runs in {args.runs_dir}"
          + (f"; failed: {', '.join(failed)}" if failed else "") + f". Compare: python eval.py --compare {args.runs_dir}/*")
    return 1 if failed else 0
