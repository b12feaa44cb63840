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

Kept apart from every probe: a document is dropped if it shares an 8-word phrase with the
perplexity probe or a general-knowledge item's sentence, or if it names both the subject and
the answer of a world fact or of a general-knowledge item (e.g. a country and its capital);
tests/test_probes_stats.py checks the file.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import tasks  # noqa: E402
from eval import wikitext_detokenize, wikitext_documents  # noqa: E402
from make_wiki_probe import SPLITS  # noqa: E402  (the probe's articles, kept out)

DOC_CHARS, PER_ARTICLE = 2000, 4
OUT = ROOT / "background" / "wikitext_english.jsonl"


def chunks(page: str) -> list[str]:
    """Paragraphs without headings, cut at sentence ends into ~DOC_CHARS documents."""
    text = wikitext_detokenize(page)
    paras = [p.strip() for p in text.split("\n") if p.strip() and not p.strip().startswith("=")]
    out, cur = [], ""
    for sentence in re.split(r"(?<=[.!?])\s+", " ".join(paras)):
        cur = f"{cur} {sentence}".strip()
        if len(cur) >= DOC_CHARS:
            out.append(cur)
            cur = ""
    return out[:PER_ARTICLE]


def touches_a_probe(doc: str, facts: list[tuple[str, str]], probe_text: list[str]) -> bool:
    low = doc.lower()
    if any(s.lower() in low and a.lower() in low for s, a in facts):
        return True
    return tasks.ngram_overlap([doc], probe_text) > 0


def main(path: str) -> None:
    lines = [json.loads(x)["text"] for x in open(path, encoding="utf-8")]
    kept_out = {t for titles in SPLITS.values() for t in titles}
    pages = [(re.match(r" = (.*) = \n", p).group(1), p) for p in wikitext_documents(lines)]
    per_article = [(t, chunks(p)) for t, p in pages if t not in kept_out]
    # both halves of every probe, read from the files themselves (all their fields)
    world = tasks.read_jsonl(ROOT / "probes" / "world_facts.jsonl", ("subject", "answer"))
    gk = tasks.read_jsonl(ROOT / "probes" / "general_knowledge.jsonl", ("question", "answer", "cloze"))
    facts = [(f["subject"], f["answer"]) for f in world] + [(g["cloze"], g["answer"]) for g in gk]
    probe_text = tasks.wiki_text("dev") + tasks.wiki_text("test") + [f"{g['cloze']} {g['answer']}" for g in gk]
    rows, dropped = [], 0
    for i in range(PER_ARTICLE):  # interleave: every article's i-th chunk before any (i+1)-th
        for title, docs in per_article:
            if i < len(docs):
                if touches_a_probe(docs[i], facts, probe_text):
                    dropped += 1
                    continue
                rows.append({"title": wikitext_detokenize(title), "part": i, "text": docs[i]})
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} documents from {len(per_article)} articles ({dropped} dropped for touching a probe), "
          f"{OUT.stat().st_size:,} bytes -> {OUT}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python scripts/make_english_background.py PATH/TO/wikitext-2-raw-v1/test.jsonl")
    main(sys.argv[1])
