"""The background corpora (--background pydoc / english / mix): what they hold, and that the
general-English one is kept apart from every probe (so IDF never protects a probe's rows by
having read the probe's own text)."""
import json
import sys
from pathlib import Path

import pytest

import checkpoints
import data
import tasks

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
import make_english_background  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ENGLISH = ROOT / "background" / "wikitext_english.jsonl"


def test_english_background_states_no_probe_fact_and_shares_no_phrase_with_any_probe():
    docs = tasks.english_background()
    assert len(docs) >= 64  # the preset reads 64 documents
    sentences, probe_text = make_english_background.probe_sentences()
    assert len(sentences) == len(tasks.read_jsonl(ROOT / "probes" / "world_facts.jsonl")) + len(
        tasks.read_jsonl(ROOT / "probes" / "general_knowledge.jsonl"))
    assert "the capital of france is paris" in sentences
    assert tasks.ngram_overlap(probe_text, docs) == 0.0
    flat = [" ".join(d.lower().split()) for d in docs]
    assert not [x for x in sentences if any(x in d for d in flat)]
    # the check itself catches a document that states a probe fact
    assert make_english_background.touches_a_probe("Travellers agree that The capital of  France is Paris.", sentences, probe_text)


def test_english_background_uses_no_article_of_the_perplexity_probe():
    titles = {json.loads(line)["title"] for line in ENGLISH.read_text(encoding="utf-8").splitlines()}
    probe_titles = {r["title"] for r in tasks.read_jsonl(ROOT / "probes" / "wikitext_probe.jsonl", ("title",))}
    assert titles and not titles & probe_titles


def test_mix_alternates_and_every_named_background_loads():
    mix = tasks.mixed_background(6)
    py, en = tasks.background_text(3), tasks.english_background(3)
    assert mix == [py[0], en[0], py[1], en[1], py[2], en[2]]
    for name, docs in (("pydoc", py), ("english", en), ("mix", mix[:3])):
        assert data.background_docs({"background": name, "background_docs": 3, "data_dir": None}) == docs


@pytest.mark.parametrize("n", [1, 10])
def test_a_prefix_samples_several_articles(n):
    titles = [json.loads(line)["title"] for line in ENGLISH.read_text(encoding="utf-8").splitlines()[:n]]
    assert len(set(titles)) == n  # interleaved: the first documents come from different articles


def test_the_background_cache_key_follows_the_code_not_its_comments(tmp_path):
    """checkpoints.code_fingerprint keys the background cache: an edited comment or docstring
    keeps it (no needless 25 s recomputation), a changed line of code changes it."""
    base = 'def reads(x):\n    """Count the reads."""\n    return x + 1  # one more\n'
    files = {"base": base, "comment": base.replace("# one more", "# an edited comment"),
             "doc": base.replace("Count the reads.", "Count every read."), "code": base.replace("x + 1", "x + 2")}
    fp = {}
    for name, text in files.items():
        (tmp_path / f"{name}.py").write_text(text)
        fp[name] = checkpoints.code_fingerprint(str(tmp_path / f"{name}.py"))
    assert fp["base"] == fp["comment"] == fp["doc"]
    assert fp["code"] != fp["base"]
