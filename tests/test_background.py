"""The background corpora (--background pydoc / english / mix): what they hold, and that the
general-English one is kept apart from every probe (so IDF never protects a probe's rows by
having read the probe's own text)."""
import json
from pathlib import Path

import pytest

import runs
import tasks

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = ROOT / "background" / "wikitext_english.jsonl"


def probe_records():
    world = tasks.read_jsonl(ROOT / "probes" / "world_facts.jsonl", ("subject", "answer"))
    gk = tasks.read_jsonl(ROOT / "probes" / "general_knowledge.jsonl", ("answer", "cloze"))
    return world, gk


def test_english_background_shares_no_phrase_with_any_probe():
    docs = tasks.english_background()
    assert len(docs) >= 64  # the preset reads 64 documents
    world, gk = probe_records()
    wiki = tasks.wiki_text("dev") + tasks.wiki_text("test")
    assert tasks.ngram_overlap(wiki, docs) == 0.0
    assert tasks.ngram_overlap([f"{g['cloze']} {g['answer']}" for g in gk], docs) == 0.0
    # no document names both a world fact's subject and its answer (e.g. a country and its capital)
    for d in docs:
        low = d.lower()
        hits = [(f["subject"], f["answer"]) for f in world if f["subject"].lower() in low and f["answer"].lower() in low]
        assert not hits, f"a background document names a world fact: {hits[0]}"


def test_english_background_uses_no_article_of_the_perplexity_probe():
    titles = {json.loads(line)["title"] for line in ENGLISH.read_text(encoding="utf-8").splitlines()}
    probe_titles = {r["title"] for r in tasks.read_jsonl(ROOT / "probes" / "wikitext_probe.jsonl", ("title",))}
    assert titles and not titles & probe_titles


def test_mix_alternates_and_every_named_background_loads():
    mix = tasks.mixed_background(6)
    py, en = tasks.background_text(3), tasks.english_background(3)
    assert mix == [py[0], en[0], py[1], en[1], py[2], en[2]]
    for name, docs in (("pydoc", py), ("english", en), ("mix", mix[:3])):
        assert runs.background_docs({"background": name, "background_docs": 3, "data_dir": None}) == docs


@pytest.mark.parametrize("n", [1, 10])
def test_a_prefix_samples_several_articles(n):
    titles = [json.loads(line)["title"] for line in ENGLISH.read_text(encoding="utf-8").splitlines()[:n]]
    assert len(set(titles)) == n  # interleaved: the first documents come from different articles
