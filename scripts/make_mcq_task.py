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
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tasks  # noqa: E402
from common import atomic_path  # noqa: E402


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Write an invented-disease knowledge task as MedMCQA-schema JSON Lines files.")
    p.add_argument("out", help="folder to write medmcqa/train.jsonl and medmcqa/validation.jsonl into")
    p.add_argument("--diseases", type=int, default=40, help="invented diseases, 3 facts each (default 40: 120 facts)")
    p.add_argument("--seed", type=int, default=0, help="which invented world (default 0)")
    a = p.parse_args(argv)
    try:
        data = tasks.invented_disease_task(a.diseases, a.seed)
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    d = Path(a.out) / "medmcqa"
    existing = [str(d / f"{s}.jsonl") for s in data if (d / f"{s}.jsonl").exists()]
    if existing:
        raise SystemExit(f"error: {existing[0]} already exists; choose another folder or delete it first.")
    d.mkdir(parents=True, exist_ok=True)
    for split, rows in data.items():
        with atomic_path(d / f"{split}.jsonl") as tmp:
            Path(tmp).write_text("".join(json.dumps(r) + "\n" for r in rows))
    print(f"wrote {len(data['train'])} training rows and {len(data['validation'])} held-out rows to {d}/; "
          f"train with: python train.py --task mcq --data-dir {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
