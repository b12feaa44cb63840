"""Write a knowledge task in MedMCQA's row schema, for `python train.py --task mcq --data-dir DIR`.

    python scripts/make_mcq_task.py DIR [--diseases 40] [--seed 0]

writes DIR/medmcqa/train.jsonl (one question per fact; its `exp` states the fact) and
DIR/medmcqa/validation.jsonl (two held-out phrasings per fact, options in a new order).
The facts are invented (tasks.invented_disease_task: diseases, the organisms that cause
them, the drugs that treat them, the organs they damage), so the base model is at chance.
It exists to check that SMF's defaults learn on a task they were not tuned to; any other
files with MedMCQA's fields (question, opa..opd, cop, and optionally exp) work the same way.
Existing files are never overwritten.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import inputs  # noqa: E402
import tasks  # noqa: E402
from common import atomic_path  # noqa: E402
from settings import OS_REASONS, check_output_file  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Write an invented-disease knowledge task as MedMCQA-schema JSON Lines files.",
                                allow_abbrev=False)
    p.add_argument("out", help="folder to write medmcqa/train.jsonl and medmcqa/validation.jsonl into")
    p.add_argument("--diseases", type=int, default=40, help=f"invented diseases, 3 facts each (default 40: 120 facts; "
                   f"4 to {tasks.MAX_DISEASES:,})")
    p.add_argument("--seed", type=int, default=0, help="which invented world (default 0)")
    a = p.parse_args(argv)
    if not a.out.strip():
        raise SystemExit("error: the output folder is empty (''); give a folder name, e.g. python scripts/make_mcq_task.py data/mytask.")
    if not 0 <= a.seed <= 2**32 - 1:
        raise SystemExit(f"error: --seed must be an integer from 0 to {2**32 - 1}; got {a.seed}.")
    d = Path(a.out) / "medmcqa"
    for folder in (Path(a.out), d):  # a file (or a FIFO) where a folder goes: one sentence, nothing written
        if os.path.lexists(folder) and not folder.is_dir():
            inputs.check(inputs.folder, folder, fix="give a folder (it is made if missing)")
    check_output_file(str(d / "train.jsonl"), "the task file")  # the nearest existing folder is writable
    try:
        data = tasks.invented_disease_task(a.diseases, a.seed)
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    existing = [str(d / f"{s}.jsonl") for s in data if (d / f"{s}.jsonl").exists()]
    if existing:
        raise SystemExit(f"error: {existing[0]} already exists; choose another folder or delete it first.")
    try:
        d.mkdir(parents=True, exist_ok=True)
        for split, rows in data.items():
            with atomic_path(d / f"{split}.jsonl") as tmp:
                Path(tmp).write_text("".join(json.dumps(r) + "\n" for r in rows))
    except OSError as e:
        raise SystemExit(f"error: could not write {e.filename or d}: {OS_REASONS.get(e.errno, e.strerror)}; "
                         "give a folder you can write.") from None
    print(f"wrote {len(data['train'])} training rows and {len(data['validation'])} held-out rows to {d}/; "
          f"train with: python train.py --task mcq --data-dir {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
