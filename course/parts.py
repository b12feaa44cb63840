"""The graded parts of the smf-mini assignment: what each asks, where it lives, its points.

Each part is a region of the real code that `python train.py --method smf` runs, so a
student who finishes parts 1-7 trains SMF with their own code, and parts 8-9 make the
intervals and the frontier that `python eval.py --compare` prints. Part 10 is the
written analysis, graded by hand with the course staff's rubric.

`minutes` is an estimate, not a measurement: the time a student who knows PyTorch may
take to read the part's docstring, write it and pass its public tests (course/HANDOUT.md,
"What the times mean").
"""
from __future__ import annotations

PARTS = {
    "part1": {"title": "Product-key lookup (exact top-k without scoring all K^2 keys)", "where": "memory.py: ProductKeyMemory.lookup", "points": 12, "minutes": 35},
    "part2": {"title": "Counting reads, padding masked", "where": "memory.py: count_reads", "points": 8, "minutes": 20},
    "part3": {"title": "Background statistics (df, total reads, smoothed share q)", "where": "smf_mini.py: collect_background, background_share", "points": 8, "minutes": 20},
    "part4": {"title": "TF-IDF and KL scores, -inf for unread rows", "where": "smf_mini.py: score_rows", "points": 10, "minutes": 20},
    "part5": {"title": "Row selection (top-t of the read rows)", "where": "smf_mini.py: select_rows", "points": 6, "minutes": 10},
    "part6": {"title": "Sparse SGD step with the per-row cap", "where": "smf_mini.py: SparseValueUpdate.step (sgd), _capped", "points": 10, "minutes": 20},
    "part7": {"title": "Row-wise AdamW that never touches unselected rows", "where": "smf_mini.py: SparseValueUpdate.step (adamw)", "points": 12, "minutes": 35},
    "part8": {"title": "The percentile bootstrap", "where": "stats.py: bootstrap", "points": 8, "minutes": 15},
    "part9": {"title": "Forgetting and the Pareto frontier", "where": "stats.py: pareto, perplexity_change, points_lost", "points": 6, "minutes": 15},
}
# Graded by hand with the course staff's rubric; not run by course/grade.py.
WRITTEN = {"part10": {"title": "Experiment and write-up: the learning-vs-forgetting frontier", "where": "WRITEUP.md", "points": 20, "minutes": 90}}

AUTO_POINTS = sum(p["points"] for p in PARTS.values())
TOTAL_POINTS = AUTO_POINTS + sum(p["points"] for p in WRITTEN.values())
