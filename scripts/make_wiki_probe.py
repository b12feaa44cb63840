"""Rebuild probes/wikitext_probe.jsonl: the offline default's perplexity probe.

    python scripts/make_wiki_probe.py PATH/TO/wikitext-2-raw-v1/test.jsonl

Source: WikiText-2 (raw), test split, as Salesforce/wikitext serves it on the Hugging Face
Hub (one row per line). Licence: CC BY-SA 3.0 (the text comes from Wikipedia articles).
We keep twelve short articles, six for the dev probe (used when choosing settings) and six
for the reported probe (never looked at while choosing), undo WikiText's tokenisation
(" @-@ " -> "-", ...), drop headings, and cut each article into documents of about 1,200
characters at sentence ends, so that an interval can be bootstrapped over documents.
The output is ~70 KB. The background corpus (Python's pydoc topics) is a different genre
on purpose: tests/test_probes.py checks that no 8-word phrase of this probe appears in it.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import tasks  # noqa: E402
from protocols import wikitext_detokenize, wikitext_documents  # noqa: E402

# Article titles (as in the file) for each split: short, varied biographies, culture, games.
SPLITS = {
    "test": ["Robert Boulter", "Dick Rifenburg", "Little Gidding ( poem )", "Osbert de Bayeux", "Ben Amos",
             "Josepha Petrick Kemarre"],
    "dev": ["Hed PE", "Tatwine", "Hannah Dodd", "Kirby 's Block Ball", "QuackShot", "The Heart of Ezra Greer"],
}
DOC_CHARS = 1200


def documents(page: str, doc_chars: int = DOC_CHARS, keep_tail: bool = True) -> list[str]:
    """Paragraphs of one article without headings, joined and cut at sentence ends into
    documents of at least doc_chars characters; the shorter remainder is kept as a last
    document if keep_tail and it is over 300 characters."""
    text = wikitext_detokenize(page)
    paras = [p.strip() for p in text.split("\n") if p.strip() and not p.strip().startswith("=")]
    out, cur = [], ""
    for sentence in re.split(r"(?<=[.!?])\s+", " ".join(paras)):
        cur = f"{cur} {sentence}".strip()
        if len(cur) >= doc_chars:
            out.append(cur)
            cur = ""
    if keep_tail and len(cur) > 300:
        out.append(cur)
    return out


def read_lines(path: str) -> list[str]:
    """The "text" of every row of a JSON Lines file; a file that is not one (a FIFO, a folder,
    bad JSON, no text): one sentence (tasks.read_jsonl)."""
    try:
        return [r["text"] for r in tasks.read_jsonl(path, ("text",), tasks.TEXT_TYPES)]
    except (ValueError, FileNotFoundError) as e:
        raise SystemExit(f"error: {e}") from None


def main(path: str) -> None:
    lines = read_lines(path)
    pages = {re.match(r" = (.*) = \n", p).group(1): p for p in wikitext_documents(lines)}
    missing = [t for titles in SPLITS.values() for t in titles if t not in pages]
    if missing:
        raise SystemExit(f"error: {path} has no article {missing[0]!r}; give WikiText-2's raw test split (wikitext-2-raw-v1/test.jsonl).")
    rows = []
    for split, titles in SPLITS.items():
        for title in titles:
            for i, doc in enumerate(documents(pages[title])):
                rows.append({"split": split, "title": title.replace(" ( ", " (").replace(" )", ")").replace(" 's", "'s"),
                             "part": i, "text": doc})
    out = Path(__file__).resolve().parents[1] / "probes" / "wikitext_probe.jsonl"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    print(f"{len(rows)} documents, {out.stat().st_size} bytes -> {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("error: give one argument, the WikiText-2 raw test file; usage: python scripts/make_wiki_probe.py PATH/TO/wikitext-2-raw-v1/test.jsonl (the hub's line rows as JSON Lines)")
    main(sys.argv[1])
