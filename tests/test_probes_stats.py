"""Probes that measure forgetting only, intervals, and matched-learning comparison:
checked against hand-computed values."""
import json
import math

import numpy as np
import pytest

import compare
import eval
import common
import smf_mini
import tasks
from stats import at_level, bootstrap, pareto, wilson


# ---------------------------------------------------------------- probes


def test_ngram_overlap_by_hand():
    # probe 8-grams: (a..h) and (b..i); only the first occurs in the other corpus
    assert tasks.ngram_overlap(["a b c d e f g h i"], ["x a b c d e f g h y"], n=8) == 0.5
    assert tasks.ngram_overlap(["A B C"], ["a b c"], n=3) == 1.0  # case-insensitive
    assert tasks.ngram_overlap(["a b c"], ["a b d"], n=3) == 0.0


def test_probes_share_no_phrase_with_background_or_task():
    """The perplexity probe (both halves) shares no 8-word phrase with the SMF background
    corpus, with the other half, or with the task's training text."""
    bg = tasks.background_text()
    task = tasks.fictional_facts()["train"] + tasks.fictional_facts(split="dev")["train"]
    for split in tasks.SPLITS:
        probe = tasks.wiki_text(split)
        assert len(probe) >= 25
        assert tasks.ngram_overlap(probe, bg) < 0.001
        assert tasks.ngram_overlap(probe, task) == 0.0
    assert tasks.ngram_overlap(tasks.wiki_text("test"), tasks.wiki_text("dev")) < 0.001


def test_dev_and_test_are_disjoint():
    test, dev = tasks.fictional_facts(), tasks.fictional_facts(split="dev")
    assert not {e for _, e, _ in test["facts"]} & {e for _, e, _ in dev["facts"]}
    for probe in (tasks.world_facts, tasks.general_knowledge):
        a, b = {i["prompt"] for i in probe("test")}, {i["prompt"] for i in probe("dev")}
        assert a and b and not a & b
    assert len(test["eval"]) == 240  # 20 countries x 3 relations x 4 held-out phrasings


def test_world_facts_items():
    items = tasks.world_facts("test")
    france = next(i for i in items if i["prompt"] == "The capital of France is")
    assert france["choices"][france["gold"]] == "Paris" and len(set(france["choices"])) == 4
    assert tasks.world_facts("test") == items  # fixed distractors


def test_general_knowledge_items_are_sentences():
    items = tasks.general_knowledge("test")
    assert len(items) >= 300 and all("?" not in i["prompt"] and "Answer:" not in i["prompt"] for i in items)
    bees = next(i for i in tasks.general_knowledge("test") + tasks.general_knowledge("dev") if i["prompt"] == "Bees make")
    assert bees["choices"][bees["gold"]] == "honey"


# ---------------------------------------------------------------- the two fact probes: size and hygiene

FACT_PROBES = (tasks.world_facts, tasks.general_knowledge)
# The original general-knowledge file began with eleven capitals that the original world facts
# also ask; both are kept as they were. No other sentence may appear in both files.
ORIGINAL_SHARED = {f"the capital of {c} is" for c in
                   ("australia", "canada", "china", "egypt", "england", "france", "germany", "italy", "japan", "russia", "spain")}


def _rows(name: str) -> list[dict]:
    return tasks.read_jsonl(tasks.HERE / "probes" / name)


def _sentences(split: str) -> list[str]:
    """Every fact of both probes as the full sentence it scores (prompt + right answer)."""
    return [f"{i['prompt']} {i['choices'][i['gold']]}" for probe in FACT_PROBES for i in probe(split)]


def test_fact_probes_are_large_enough_for_a_5_point_interval():
    """At least 300 items per half: at ~80% accuracy a 95% interval is about +-4.5 points."""
    for probe in FACT_PROBES:
        for split in tasks.SPLITS:
            assert len(probe(split)) >= 300, (probe.__name__, split, len(probe(split)))


def test_fact_probes_have_no_duplicate_item():
    world, gk = _rows("world_facts.jsonl"), _rows("general_knowledge.jsonl")
    keys = [(r["relation"], r["subject"].lower()) for r in world]
    assert len(keys) == len(set(keys)), "a (relation, subject) appears twice in world_facts.jsonl"
    for field in ("cloze", "question"):
        seen = [r[field].lower() for r in gk]
        assert len(seen) == len(set(seen)), f"a {field} appears twice in general_knowledge.jsonl"
    prompts = {split: [i["prompt"].lower() for i in tasks.world_facts(split)] for split in tasks.SPLITS}
    everything = prompts["dev"] + prompts["test"]
    assert len(everything) == len(set(everything)), "two world facts have the same sentence"
    shared = set(everything) & {r["cloze"].lower() for r in gk}
    assert shared <= ORIGINAL_SHARED, f"asked in both probe files: {sorted(shared - ORIGINAL_SHARED)}"


def test_fact_probe_distractors_are_wrong_and_complete():
    for r in _rows("general_knowledge.jsonl"):
        d = r["distractors"]
        assert len(d) == 3 and len(set(d)) == 3, f"needs 3 different distractors: {r['cloze']}"
        assert r["answer"] not in d, f"the answer is among its own distractors: {r['cloze']}"
    for probe in FACT_PROBES:
        for split in tasks.SPLITS:
            for i in probe(split):
                assert len(i["choices"]) == 4 and len(set(i["choices"])) == 4, i["prompt"]
    # a world-fact distractor comes from the same relation, so it must not be another right answer
    world = _rows("world_facts.jsonl")
    right = {(r["relation"], r["subject"]): r["answer"] for r in world}
    for split in tasks.SPLITS:
        for i in tasks.world_facts(split):
            rel, subject = i["question"].split(" of ", 1)
            assert [c for c in i["choices"] if c == right[(rel, subject)]] == [i["choices"][i["gold"]]]


def test_every_world_relation_has_a_template_and_enough_answers():
    """A relation is only usable with a sentence template and 4+ different answers (3 distractors)."""
    world = _rows("world_facts.jsonl")
    assert {r["relation"] for r in world} == set(tasks.WORLD_TEMPLATES)
    for rel in tasks.WORLD_TEMPLATES:
        assert len({r["answer"] for r in world if r["relation"] == rel}) >= 4, rel
    items = {i["prompt"]: i for split in tasks.SPLITS for i in tasks.world_facts(split)}
    # {E}: a subject that starts the sentence gets a capital letter
    assert items["The United States is a country in"]["choices"][items["The United States is a country in"]["gold"]] == "North America"
    fe = items["The chemical element with the symbol Fe is"]
    assert fe["choices"][fe["gold"]] == "iron"
    assert "Kyoto is a city in" in items and "The capital of Texas is" in items and "Hamlet was written by" in items


def test_fact_probes_share_nothing_with_the_fictional_task():
    """No invented name (tiny preset and a 900-country world, both splits) is a word of a
    probe, and no probe sentence shares an 8-word phrase with the task's texts."""
    import re  # only this test splits words

    words = {w for split in tasks.SPLITS for probe in FACT_PROBES for i in probe(split)
             for t in [i["prompt"], *i["choices"]] for w in re.findall(r"[a-z']+", t.lower())}
    for n in (20, 900):
        for split in tasks.SPLITS:
            task = tasks.fictional_facts(n, 0, split)
            invented = {e for _, e, _ in task["facts"]} | {a for rel, _, a in task["facts"] if rel == "capital"}
            assert not {x.lower() for x in invented} & words, (n, split)
            if n == 20:
                texts = task["train"] + [i["prompt"] for i in task["eval"]]
                for probe_split in tasks.SPLITS:
                    assert tasks.ngram_overlap(_sentences(probe_split), texts) == 0.0


def test_fact_probes_share_no_phrase_with_any_background_corpus():
    """No 8-word phrase of a fact sentence appears in the SMF background corpus (Python's
    docs) or in any other committed background text under data/ or background/."""
    other = []
    for folder in ("data", "background"):
        for f in sorted((tasks.HERE / folder).rglob("*")) if (tasks.HERE / folder).is_dir() else []:
            if f.suffix in (".txt", ".jsonl", ".md"):
                other.append(f.read_text(errors="ignore"))
    for split in tasks.SPLITS:
        assert tasks.ngram_overlap(_sentences(split), tasks.background_text() + other) == 0.0


def test_fact_probe_files_match_their_tables():
    """probes/*.jsonl are what scripts/make_fact_probes.py writes (originals kept first)."""
    import importlib.util  # the script is not a module of the package

    spec = importlib.util.spec_from_file_location("make_fact_probes", tasks.HERE / "scripts" / "make_fact_probes.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--check"]) == 0
    assert len(_rows("world_facts.jsonl")[: mod.LEGACY_WORLD]) == 92 and _rows("world_facts.jsonl")[0]["subject"] == "France"


# ---------------------------------------------------------------- intervals


def test_wilson_by_hand():
    lo, hi = wilson(8, 10)  # p = 0.8: centre 0.716738, half-width 0.226576
    assert lo == pytest.approx(0.490162, abs=1e-5) and hi == pytest.approx(0.943314, abs=1e-5)
    assert wilson(0, 5)[0] == 0.0 and wilson(5, 5)[1] == 1.0
    with pytest.raises(ValueError):
        wilson(1, 0)


def test_bootstrap_against_known_answers():
    assert bootstrap([np.full(50, 0.3)], lambda g: g[0].mean()) == pytest.approx((0.3, 0.3))
    # a large Bernoulli sample: the percentile interval of the mean matches Wilson's
    x = np.array([1.0] * 1000 + [0.0] * 1000)
    lo, hi = bootstrap([x], lambda g: g[0].mean(), reps=3000)
    wlo, whi = wilson(1000, 2000)
    assert abs(lo - wlo) < 0.006 and abs(hi - whi) < 0.006
    # paired draws: a constant difference between two groups has a zero-width interval
    a = np.arange(20.0)
    assert bootstrap([a, a + 2], lambda g: (g[1] - g[0]).mean()) == pytest.approx((2.0, 2.0))
    with pytest.raises(ValueError, match="same number of items"):
        bootstrap([a, a[:5]], lambda g: 0.0)


def test_pareto_and_matched_level_by_hand():
    pts = [(0.3, 1.0), (0.5, 3.0), (0.4, 5.0), (0.9, 11.0), (0.9, 12.0)]
    assert pareto(pts) == [0, 1, 3]
    xs, ys = [0.3, 0.5, 0.9], [1.0, 3.0, 11.0]
    assert at_level(xs, ys, 0.4) == pytest.approx(2.0)
    assert at_level(xs, ys, 0.8) == pytest.approx(9.0)
    assert at_level(xs, ys, 0.3) == pytest.approx(1.0)
    assert at_level(xs, ys, 0.95) is None and at_level(xs, ys, 0.2) is None


# ---------------------------------------------------------------- compare over a sweep


def _fake_run(d, method, lr, seed, task_correct, world_lost, wiki_ll, split="test"):
    """A finished run folder with hand-made per-item results (40 task, 10 world, 10 gk items, 4 documents)."""
    d.mkdir(parents=True)
    base = {"task_acc": 0.25, "wiki_ppl": math.exp(100 / 50), "world_acc": 1.0, "gk_acc": 0.5, "split": split,
            "items": {"task": [1] * 10 + [0] * 30, "world": [1] * 10, "gk": [1, 0] * 5, "wiki": [[-25.0, 12.5]] * 4}}
    tr = {"task_acc": task_correct / 40, "world_acc": 1 - world_lost / 10, "gk_acc": 0.5, "split": split,
          "wiki_ppl": math.exp(-wiki_ll * 4 / 50),
          "items": {"task": [1] * task_correct + [0] * (40 - task_correct), "world": [0] * world_lost + [1] * (10 - world_lost),
                    "gk": [1, 0] * 5, "wiki": [[wiki_ll, 12.5]] * 4}}
    common.write_json(d / "results.json", {"protocol": "tiny", "method": method, "base": base, "trained": tr})
    common.write_json(d / "config.json", {"method": method, "lr": lr, "steps": 60, "seed": seed, "split": split})


def test_compare_frontier_by_hand(tmp_path):
    # full: lr 1 -> task 0.5, world -1 item (10 points); lr 2 -> task 0.9, -3 items (30 points)
    for seed in (0, 1):
        _fake_run(tmp_path / f"full-1-{seed}", "full", 1.0, seed, 20, 1, -25.0)
        _fake_run(tmp_path / f"full-2-{seed}", "full", 2.0, seed, 36, 3, -27.5)
        _fake_run(tmp_path / f"smf-1-{seed}", "smf", 1.0, seed, 16 + 4 * seed, 0, -25.0)
    plot = tmp_path / "figs" / "frontier.png"
    rep = compare.compare(sorted(tmp_path.glob("*-*-*")), str(plot), levels=(0.45, 0.8), out_json=str(tmp_path / "s.json"))
    md = (tmp_path / "s.md").read_text()
    assert "| world_acc | full | not reached | +25.0 [" in md and "| full lr=2 steps=60 | 0,1 | 0.900 [" in md
    assert plot.read_bytes()[:4] == b"\x89PNG"  # exactly the path asked for
    assert json.loads((tmp_path / "s.json").read_text())["split"] == "test"
    g = {x["label"]: x["summary"] for x in rep["groups"]}
    assert g["full lr=1 steps=60"]["task_acc"]["value"] == pytest.approx(0.5)
    assert g["full lr=2 steps=60"]["world_acc"]["forgetting"] == pytest.approx(30.0)
    # perplexity: exp(27.5 * 4 / 50) / exp(25 * 4 / 50) - 1 = exp(0.2) - 1
    assert g["full lr=2 steps=60"]["wiki_ppl"]["forgetting"] == pytest.approx(100 * (math.exp(0.2) - 1))
    assert g["smf lr=1 steps=60"]["task_acc"]["value"] == pytest.approx(0.45)  # seeds 0.4 and 0.5
    lo, hi = g["smf lr=1 steps=60"]["task_acc"]["ci"]
    assert lo < 0.45 < hi
    full = rep["frontier"]["full"]["world_acc"]["levels"]
    assert full["0.8"]["forgetting"] == pytest.approx(25.0)  # 10 + (30 - 10) * (0.8 - 0.5) / (0.9 - 0.5)
    assert full["0.45"] is None  # below the frontier: never extrapolated
    assert rep["frontier"]["smf"]["world_acc"]["levels"]["0.45"]["forgetting"] == pytest.approx(0.0)


def test_compare_labels_name_the_settings_that_differ(tmp_path):
    """Two SMF groups that differ only in top-t (and a LoRA group) must not share a label."""
    for name, method, extra in [("a", "smf", {"top_t": 1000, "memory_layers": [2, 4]}), ("b", "smf", {"top_t": 2000, "memory_layers": [2, 4]}),
                                ("c", "lora", {"top_t": 2000})]:
        _fake_run(tmp_path / name, method, 1.0, 0, 20, 1, -25.0)
        cfg = json.loads((tmp_path / name / "config.json").read_text())
        common.write_json(tmp_path / name / "config.json", dict(cfg, **extra))
    rep = compare.compare(sorted(tmp_path.glob("?")), str(tmp_path / "x.png"))
    assert sorted(g["label"] for g in rep["groups"]) == ["lora lr=1 steps=60", "smf lr=1 steps=60 top_t=1000", "smf lr=1 steps=60 top_t=2000"]


def test_runs_made_before_a_setting_existed_group_with_its_neutral_value(tmp_path):
    """row_step_cap came later: an older config without it ran uncapped, so it groups with cap 0."""
    for name, seed, extra in [("old", 0, {}), ("new", 1, {"row_step_cap": 0.0}), ("capped", 2, {"row_step_cap": 5.0})]:
        _fake_run(tmp_path / name, "smf", 1.0, seed, 20, 1, -25.0)
        cfg = json.loads((tmp_path / name / "config.json").read_text())
        common.write_json(tmp_path / name / "config.json", dict(cfg, **extra))
    rep = compare.compare([tmp_path / n for n in ("old", "new", "capped")], str(tmp_path / "x.png"))
    assert sorted((g["label"], g["summary"]["seeds"] == [0, 1]) for g in rep["groups"]) == [
        ("smf lr=1 steps=60 row_step_cap=0", True), ("smf lr=1 steps=60 row_step_cap=5", False)]
    # another method's settings (the SMF cap and learning rate in a full run's config) split nothing
    for name, seed, extra in [("f0", 0, {"row_step_cap": 5.0, "smf_lr": 4000.0}), ("f1", 1, {"smf_lr": 2000.0})]:
        _fake_run(tmp_path / name, "full", 1.0, seed, 20, 1, -25.0)
        cfg = json.loads((tmp_path / name / "config.json").read_text())
        common.write_json(tmp_path / name / "config.json", dict(cfg, **extra))
    rep = compare.compare([tmp_path / "f0", tmp_path / "f1"], str(tmp_path / "x.png"))
    assert [(g["label"], g["summary"]["seeds"]) for g in rep["groups"]] == [("full lr=1 steps=60", [0, 1])]


def test_smf_from_a_retrofit_never_groups_with_smf_from_a_fresh_memory(tmp_path):
    """Each seed's retrofit has its own path: the runs from retrofits group together (seeds
    0 and 1), apart from the fresh-memory run with the same settings."""
    for name, seed, extra in [("fresh", 0, {}), ("r0", 0, {"init_memory": "runs/retro-s0"}), ("r1", 1, {"init_memory": "runs/retro-s1"})]:
        _fake_run(tmp_path / name, "smf", 1.0, seed, 20, 1, -25.0)
        cfg = json.loads((tmp_path / name / "config.json").read_text())
        common.write_json(tmp_path / name / "config.json", dict(cfg, **extra))
    rep = compare.compare([tmp_path / n for n in ("fresh", "r0", "r1")], str(tmp_path / "x.png"))
    assert sorted((g["label"], g["summary"]["seeds"]) for g in rep["groups"]) == [
        ("smf lr=1 steps=60 from_retrofit=False", [0]), ("smf lr=1 steps=60 from_retrofit=True", [0, 1])]


def test_compare_refuses_mixed_splits(tmp_path):
    _fake_run(tmp_path / "a", "full", 1.0, 0, 20, 1, -25.0, split="dev")
    _fake_run(tmp_path / "b", "full", 1.0, 0, 20, 1, -25.0, split="test")
    with pytest.raises(SystemExit, match="mix protocols or splits"):
        compare.compare([tmp_path / "a", tmp_path / "b"], str(tmp_path / "x.png"))


def test_dev_runs_choose_settings_by_the_stated_rule(tmp_path):
    # full: lr 1 learns 0.5, lr 2 reaches 0.9 (chosen: the only one >= 0.8); smf never reaches 0.8 (most learning wins)
    for seed in (0, 1):
        _fake_run(tmp_path / f"full-1-{seed}", "full", 1.0, seed, 20, 1, -25.0, split="dev")
        _fake_run(tmp_path / f"full-2-{seed}", "full", 2.0, seed, 36, 3, -27.5, split="dev")
        _fake_run(tmp_path / f"smf-1-{seed}", "smf", 1.0, seed, 16, 0, -25.0, split="dev")
        _fake_run(tmp_path / f"smf-3-{seed}", "smf", 3.0, seed, 24, 0, -26.0, split="dev")
        _fake_run(tmp_path / f"full-3-{seed}", "full", 3.0, seed, 38, 5, -30.0, split="dev")
    rep = compare.compare(sorted(tmp_path.glob("*-*-*")), str(tmp_path / "dev.png"))
    assert rep["chosen"]["full"]["lr"] == 2.0 and rep["chosen"]["full"]["reached_target"]
    assert rep["chosen"]["smf"]["lr"] == 3.0 and not rep["chosen"]["smf"]["reached_target"]


def test_compare_skips_a_damaged_run_and_names_it(tmp_path, capsys):
    _fake_run(tmp_path / "a", "full", 1.0, 0, 20, 1, -25.0)
    _fake_run(tmp_path / "b", "full", 1.0, 1, 24, 1, -25.0)
    (tmp_path / "b" / "results.json").write_text('{"protocol": "tiny", "trun')  # cut short by a full disk
    rep = compare.compare([tmp_path / "a", tmp_path / "b"], str(tmp_path / "x.png"))
    assert f"skipping {tmp_path / 'b'}: its results.json or config.json is not valid JSON" in capsys.readouterr().out
    assert [g["runs"] for g in rep["groups"]] == [["a"]]
