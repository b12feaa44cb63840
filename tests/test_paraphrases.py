"""--paraphrases P: each fact of the fictional task and of the stream trained in P seeded
surface forms; the held-out questions use templates no training text uses, and stay the same."""
import re

import pytest

import data
import rundir
import tasks
import train


def _pattern(template: str) -> str:
    """A template with its slots blanked, for comparing the wordings themselves."""
    return re.sub(r"\{[ea]\}", "_", template).strip().lower()


def test_training_and_held_out_templates_are_disjoint():
    for rel, (statements, q_train, q_eval) in tasks.RELATIONS.items():
        held_out = {_pattern(q) for q in q_eval}
        trained = {_pattern(t) for kind in tasks.PARAPHRASES[rel].values() for t in kind} | {_pattern(s) for s in statements}
        trained.add(_pattern(q_train))
        assert len(held_out) == 4 and len(trained) >= tasks.MAX_PARAPHRASES
        assert not trained & held_out, (rel, trained & held_out)
        # the default texts are among the paraphrase templates, so P forms include what P = 0 trains
        assert {_pattern(s) for s in statements} <= {_pattern(t) for t in tasks.PARAPHRASES[rel]["statement"]}
        assert _pattern(q_train) in {_pattern(t) for t in tasks.PARAPHRASES[rel]["mcq"]}


def test_no_training_text_contains_a_held_out_question():
    """The check on the generated texts (not only the templates): no held-out question's words
    appear in any training text of any P."""
    for p in (1, 5, tasks.MAX_PARAPHRASES):
        data = tasks.fictional_facts(8, seed=3, split="dev", paraphrases=p)
        questions = {it["question"] for it in data["eval"]}
        assert not [q for q in questions for t in data["train"] if q in t]


def test_p_forms_per_fact_seeded_distinct_and_mixed_kinds():
    facts = tasks.fictional_facts(6, seed=1, split="test")
    for p in (1, 2, 4, 8, 12):
        d = tasks.fictional_facts(6, seed=1, split="test", paraphrases=p)
        assert len(d["train"]) == p * len(d["facts"])
        assert d["eval"] == facts["eval"] and d["facts"] == facts["facts"]  # held-out items unchanged by P
        assert d == tasks.fictional_facts(6, seed=1, split="test", paraphrases=p)  # seeded
        for f, (rel, e, a) in enumerate(d["facts"]):
            forms = d["train"][f * p:(f + 1) * p]
            assert len(set(forms)) == p and all(e in t and a in t for t in forms)
            if p >= 2:  # a statement and a question among them
                assert any("Answer:" in t for t in forms) and any("Answer:" not in t for t in forms)
    other = tasks.fictional_facts(6, seed=2, split="test", paraphrases=4)
    assert other["train"] != tasks.fictional_facts(6, seed=1, split="test", paraphrases=4)["train"]
    with pytest.raises(ValueError, match="paraphrases must be 1 to"):
        tasks.paraphrase_texts("capital", "X", "Y", ["a", "b", "c"], tasks.MAX_PARAPHRASES + 1, "s")


def test_stream_stages_get_paraphrases_and_keep_their_held_out_items():
    plain = tasks.fictional_stages(4, 3, seed=0, split="dev")
    para = tasks.fictional_stages(4, 3, seed=0, split="dev", paraphrases=6)
    assert [s["eval"] for s in para] == [s["eval"] for s in plain]
    assert [len(s["train"]) for s in para] == [6 * 12] * 3
    cfg = {"n_countries": 4, "sequence": 3, "seed": 0, "split": "dev", "paraphrases": 6}
    ex = data.stage_examples(cfg)
    assert [p + c for p, c in ex[1]] == para[1]["train"]
    # a question form's completion is its answer; a statement is all completion
    assert any(p.endswith("Answer:") and c.startswith(" ") for p, c in ex[0]) and any(p == "" for p, c in ex[0])


def test_training_examples_follow_the_flag(tiny_dir):
    args = train.build_parser().parse_args(["--model", tiny_dir, "--n-countries", "5", "--paraphrases", "7"])
    cfg = train.resolve_config(args)
    assert cfg["paraphrases"] == 7 and len(data.training_examples(cfg)) == 7 * 15
    cfg0 = train.resolve_config(train.build_parser().parse_args(["--model", tiny_dir, "--n-countries", "5"]))
    assert cfg0["paraphrases"] == 0 and len(data.training_examples(cfg0)) == 3 * 15


@pytest.mark.parametrize("extra,msg", [
    (["--paraphrases", "13"], "--paraphrases must be 1 to 12"),
    (["--paraphrases", "-1"], "--paraphrases must be 1 to 12"),
    (["--paraphrases", "4", "--task", "mcq", "--data-dir", "x"], "fictional task's facts only"),
    (["--fold-background"], "--fold-background adds each stage's reads"),
    (["--fold-background", "--sequence", "2", "--method", "full"], "--method smf"),
    (["--fold-background", "--sequence", "2", "--rule", "tf"], "--rule tfidf or kl"),
])
def test_bad_paraphrase_and_fold_flags_give_one_clear_error(tmp_path, extra, msg):
    with pytest.raises(SystemExit) as e:
        train.main(["--runs-dir", str(tmp_path), *extra])
    assert str(e.value).startswith("error: ") and msg in str(e.value) and "\n" not in str(e.value)
    assert not any(tmp_path.iterdir())


def test_runs_made_before_the_flags_resume_and_group_as_p0_without_folding(tmp_path):
    """A run recorded before --paraphrases and --fold-background existed trained the three
    default texts with a fixed background: it resumes with the defaults, not with other values."""
    import json

    cfg = train.resolve_config(train.build_parser().parse_args([]))
    old = {k: v for k, v in json.loads(json.dumps(cfg, default=str)).items() if k not in ("paraphrases", "fold_background")}
    (tmp_path / "config.json").write_text(json.dumps(old))
    rundir.check_resume_settings(tmp_path, cfg)
    with pytest.raises(SystemExit, match=r"paraphrases \(0 -> 8\)"):
        rundir.check_resume_settings(tmp_path, dict(cfg, paraphrases=8))
