"""Rebuild background/wikitext_english.jsonl: a general-English background corpus (--background english).

    python scripts/make_english_background.py PATH/TO/wikitext-2-raw-v1/test.jsonl

SMF ranks rows by how rarely *background* text reads them (TF-IDF's document frequency), so
the background decides which rows are protected. The default background is Python's
reference documentation (pydoc, shipped with Python); this script builds the alternative:
everyday encyclopaedic English from the WikiText-2 test split (Merity et al. 2016, CC BY-SA
3.0, Wikipedia text), using only the 50 articles that the perplexity probe does NOT use
(scripts/make_wiki_probe.py lists the 12 it uses). Each document is a run of whole sentences
of about 2,000 characters; documents are interleaved across articles (article 1's first
chunk, article 2's first chunk, ...) so that any prefix of the file (--background-docs N)
samples many articles. At most 4 chunks per article.

Kept apart from every probe: a document is dropped if it states a fact probe's sentence with
its answer (e.g. "The capital of France is Paris") or shares an 8-word phrase with any probe
(the perplexity probe's documents, the fact probes' sentences); tests/test_background.py
checks the file against the probes as they are.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import tasks  # noqa: E402
from protocols import wikitext_detokenize, wikitext_documents  # noqa: E402
from make_wiki_probe import SPLITS, documents  # noqa: E402  (the probe's articles, kept out; its cutting)

DOC_CHARS, PER_ARTICLE = 2000, 4
OUT = ROOT / "background" / "wikitext_english.jsonl"


def touches_a_probe(doc: str, sentences: list[str], probe_text: list[str]) -> bool:
    """True if the document states a probe's fact in the probe's own words (its sentence and
    answer, e.g. "the capital of france is paris") or shares an 8-word phrase with a probe."""
    low = " ".join(doc.lower().split())
    return any(s in low for s in sentences) or tasks.ngram_overlap([doc], probe_text) > 0


def probe_sentences() -> tuple[list[str], list[str]]:
    """(every fact probe's sentence with its answer, lower-cased; the probes' longer texts)."""
    world = tasks.read_jsonl(ROOT / "probes" / "world_facts.jsonl", ("relation", "subject", "answer"))
    gk = tasks.read_jsonl(ROOT / "probes" / "general_knowledge.jsonl", ("answer", "cloze"))
    facts = [f"{tasks.WORLD_TEMPLATES[f['relation']].format(e=f['subject'], E=f['subject'][:1].upper() + f['subject'][1:])} {f['answer']}" for f in world]
    facts += [f"{g['cloze']} {g['answer']}" for g in gk]
    sentences = [" ".join(x.lower().split()) for x in facts]
    return sentences, tasks.wiki_text("dev") + tasks.wiki_text("test") + facts


def read_lines(path: str) -> list[str]:
    """The "text" of every row of a JSON Lines file; a file that is not one (a FIFO, a folder,
    bad JSON, no text): one sentence (tasks.read_jsonl)."""
    try:
        return [r["text"] for r in tasks.read_jsonl(path, ("text",), tasks.TEXT_TYPES)]
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    except FileNotFoundError as e:
        raise SystemExit(f"error: {e}") from None


def main(path: str) -> None:
    lines = read_lines(path)
    kept_out = {t for titles in SPLITS.values() for t in titles}
    pages = [(re.match(r" = (.*) = \n", p).group(1), p) for p in wikitext_documents(lines)]
    per_article = [(t, documents(p, DOC_CHARS, keep_tail=False)[:PER_ARTICLE]) for t, p in pages if t not in kept_out]
    sentences, probe_text = probe_sentences()  # both halves of every probe
    rows, dropped = [], 0
    for i in range(PER_ARTICLE):  # interleave: every article's i-th chunk before any (i+1)-th
        for title, docs in per_article:
            if i < len(docs):
                if touches_a_probe(docs[i], sentences, probe_text):
                    dropped += 1
                    continue
                rows.append({"title": wikitext_detokenize(title), "part": i, "text": docs[i]})
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} documents from {len(per_article)} articles ({dropped} dropped for touching a probe), "
          f"{OUT.stat().st_size:,} bytes -> {OUT}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("error: give one argument, the WikiText-2 raw test file; usage: python scripts/make_english_background.py PATH/TO/wikitext-2-raw-v1/test.jsonl")
    main(sys.argv[1])
