"""Check protocols.py's `harness` protocol against lm-evaluation-harness itself.

    pip install lm_eval
    python scripts/check_harness.py --data-dir DATA            # offline model, defaults below
    python scripts/check_harness.py --data-dir DATA --limit 200 --wikitext-docs 62

Both sides read the same local files and the same model folder: the harness through custom
tasks whose prompts, targets, stop strings and metrics are the harness's own (its MedMCQA
prompt function, its WikiText detokenizer and word/byte counting, its TriviaQA exact match),
ours through protocols.py. Prints both sets of numbers and whether they agree (accuracies
exactly, perplexities to 4 significant digits). Exits 1 if any disagree.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def local_task(tmp: Path, name: str, split: str, data_file: Path, output_type: str, body: str) -> None:
    """Write one harness task file that reads `data_file` (JSON Lines) as its `split`."""
    (tmp / f"{name}.yaml").write_text(f"""task: {name}
dataset_path: json
dataset_kwargs:
  data_files:
    {split}: {data_file}
output_type: {output_type}
test_split: {split}
""" + body)


def write_tasks(tmp: Path, data_dir: Path, pages: list[str]) -> None:
    (tmp / "wiki.jsonl").write_text("".join(json.dumps({"page": p}) + "\n" for p in pages))
    # the harness's own helper functions, re-exported for !function in our local task files
    (tmp / "ref_utils.py").write_text(
        "from lm_eval.tasks.medmcqa.utils_medmcqa import doc_to_text\n"
        "from lm_eval.tasks.wikitext.preprocess_wikitext import wikitext_detokenizer, process_results\n")
    local_task(tmp, "local_medmcqa", "validation", data_dir / "medmcqa" / "validation.jsonl", "multiple_choice", """\
doc_to_text: !function ref_utils.doc_to_text
doc_to_target: cop
doc_to_choice: ['A', 'B', 'C', 'D']
metric_list:
  - metric: acc
""")
    local_task(tmp, "local_triviaqa", "validation", data_dir / "trivia_qa" / "validation.jsonl", "generate_until", """\
doc_to_text: "Question: {{question}}?\\nAnswer:"
doc_to_target: "{{answer.aliases}}"
generation_kwargs:
  until: ["\\n", ".", ","]
  do_sample: false
  temperature: 0.0
  max_gen_toks: 32
filter_list:
  - name: remove_whitespace
    filter:
      - function: remove_whitespace
      - function: take_first
target_delimiter: " "
metric_list:
  - metric: exact_match
    aggregation: mean
    higher_is_better: true
    ignore_case: true
    ignore_punctuation: true
""")
    local_task(tmp, "local_wikitext", "test", tmp / "wiki.jsonl", "loglikelihood_rolling", """\
doc_to_text: ""
doc_to_target: !function ref_utils.wikitext_detokenizer
process_results: !function ref_utils.process_results
metric_list:
  - metric: word_perplexity
  - metric: byte_perplexity
  - metric: bits_per_byte
""")


def raw_pages(rows: list[str]) -> list[str]:
    """The harness's document-level WikiText pages, rebuilt here independently of protocols.py: the
    raw file is the line rows with their newlines, a blank row ('') being the raw file's ' '
    line; pages start at each top-level heading line (' = Title = ', not ' = = Sub = = ') and
    are their lines joined with newlines; the file (so its last page) ends with a newline."""
    lines = [(r[:-1] if r.endswith("\n") else r) if r else " " for r in rows]
    pages: list[list[str]] = []
    for line in lines:
        if line.startswith(" = ") and line.endswith(" = ") and not line.startswith(" = = "):
            pages.append([line])
        elif pages:
            pages[-1].append(line)
    texts = ["\n".join(p) for p in pages]
    texts[-1] += "\n"
    return texts


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], allow_abbrev=False)
    p.add_argument("--data-dir", required=True, help="folder with medmcqa/, trivia_qa/, wikitext/ JSON Lines files")
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("--limit", type=int, default=100, help="MedMCQA and TriviaQA rows (default 100)")
    p.add_argument("--wikitext-docs", type=int, default=4, help="WikiText documents (default 4; all 62 take ~25 min per side on 2 cores)")
    p.add_argument("--window", type=int, default=2048, help="WikiText window (max length) for both sides")
    a = p.parse_args()
    for flag, v, low in (("--limit", a.limit, 1), ("--wikitext-docs", a.wikitext_docs, 1), ("--window", a.window, 2)):
        if v < low:
            raise SystemExit(f"error: {flag} must be at least {low}; got {v}.")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    import inputs
    import tasks as _tasks

    inputs.check(_tasks.check_eval_data, a.data_dir, "harness")  # every file both sides read, before anything loads
    try:
        import lm_eval
    except ImportError:
        raise SystemExit("error: this check needs lm-evaluation-harness; install it with: pip install lm_eval")
    import torch

    import common
    import protocols
    import tasks

    torch.set_num_threads(os.cpu_count() or 1)
    model_dir = str(common.offline_model_dir()) if a.model == common.OFFLINE_MODEL else a.model
    data_dir = Path(a.data_dir).resolve()
    rows = tasks.wikitext_rows(str(data_dir))
    all_pages = raw_pages(rows)  # the harness side's pages, not protocols.py's
    same = all_pages == protocols.wikitext_documents(rows)
    print(f"WikiText pages: {len(all_pages)}, {sum(len(p.encode()) for p in all_pages):,} bytes built here; "
          f"protocols.py's pages {'are identical' if same else 'DIFFER'}")
    pages = all_pages[: a.wikitext_docs]
    ours, theirs, secs = {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        write_tasks(tmp, data_dir, pages)
        from lm_eval.tasks import TaskManager

        t0 = time.time()
        res = lm_eval.simple_evaluate(
            model="hf", model_args=f"pretrained={model_dir},dtype=float32,max_length={a.window}",
            tasks=["local_medmcqa", "local_triviaqa", "local_wikitext"], task_manager=TaskManager(include_path=str(tmp)),
            batch_size=1, device="cuda" if torch.cuda.is_available() else "cpu",
            limit=a.limit,  # first N rows; wiki.jsonl holds only the chosen documents
        )["results"]
        secs["harness"] = time.time() - t0
    theirs = {"medmcqa_acc": res["local_medmcqa"]["acc,none"], "triviaqa_em": res["local_triviaqa"]["exact_match,remove_whitespace"],
              "wikitext_word_ppl": res["local_wikitext"]["word_perplexity,none"],
              "wikitext_byte_ppl": res["local_wikitext"]["byte_perplexity,none"],
              "wikitext_bits_per_byte": res["local_wikitext"]["bits_per_byte,none"]}
    model, tok = common.load_model(model_dir)
    t0 = time.time()
    ours.update(protocols.medmcqa_harness(model, tok, tasks.medmcqa_rows(str(data_dir), "validation")[: a.limit]))
    ours.update(protocols.triviaqa_harness(model, tok, tasks.trivia_rows(str(data_dir))[: a.limit]))
    ours.update(protocols.wikitext_harness(model, tok, tasks.wikitext_rows(str(data_dir)), max_length=a.window, limit=a.wikitext_docs))
    secs["smf-mini"] = time.time() - t0
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"harness protocol: lm-evaluation-harness {lm_eval.__version__} vs smf-mini ({a.model}, "
                    f"{a.limit} MedMCQA/TriviaQA rows, {len(pages)} WikiText docs, window {a.window})")
    for c in ("metric", "lm-eval", "smf-mini", "agree"):
        t.add_column(c)
    bad = 0
    for k, v in theirs.items():
        o = ours[k]
        ok = (o == v) if "acc" in k or "em" in k else (float(f"{o:.4g}") == float(f"{v:.4g}"))
        bad += not ok
        t.add_row(k, f"{v:.6g}", f"{o:.6g}", "yes" if ok else "NO")
    Console().print(t)
    print(f"time: lm-eval {secs['harness']:.0f} s, smf-mini {secs['smf-mini']:.0f} s")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
