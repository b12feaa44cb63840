"""Evaluation fidelity: the paper's MedMCQA selection, the offline fallback split,
the base-results cache key, loading memory of another shape, one tokenization."""
import json

import pytest
import torch

import checkpoints
import common
import eval
import memory
import tasks


def row(i, single=True, cop=0):
    return {"id": i, "question": f"q{i}", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": cop,
            "choice_type": "single" if single else "multi"}


def write_rows(path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


@pytest.fixture
def med(tmp_path, monkeypatch):
    """12 validation rows, every third one multi-choice; the hold-out is 5 single-choice rows."""
    monkeypatch.setattr(tasks, "EVAL_HOLDOUT", 5)
    rows = [row(i, single=i % 3 != 2) for i in range(12)]
    write_rows(tmp_path / "medmcqa" / "validation.jsonl", rows)
    return tmp_path, rows


def test_paper_protocol_filters_single_choice_first_then_takes_the_limit(med, tmp_path):
    d, rows = med
    write_rows(tmp_path / "medmcqa" / "train.jsonl", [row(100)])  # no fallback
    got = tasks.medmcqa_eval_rows(str(d), "paper", 6)
    # by hand: single-choice ids are 0,1,3,4,6,7,9,10 -> the first six
    assert [r["id"] for r in got] == [0, 1, 3, 4, 6, 7]
    assert [r["id"] for r in tasks.medmcqa_eval_rows(str(d), "harness", 6)] == [0, 1, 2, 3, 4, 5]  # the harness keeps all


def test_fallback_training_starts_after_the_holdout_single_choice_rows(med, capsys):
    d, rows = med
    train_rows = tasks.medmcqa_rows(str(d), "train")
    # the 5th single-choice row is id 6 (0,1,3,4,6): training starts at id 7
    assert [r["id"] for r in train_rows] == [7, 8, 9, 10, 11]
    assert "training on validation rows 8.." in capsys.readouterr().out
    assert [r["id"] for r in tasks.medmcqa_eval_rows(str(d), "paper", None)] == [0, 1, 3, 4, 6]
    assert [r["id"] for r in tasks.medmcqa_eval_rows(str(d), "harness", None)] == [0, 1, 2, 3, 4, 5, 6]
    with pytest.raises(ValueError, match="reaches validation rows that training uses.*at most 5"):
        tasks.medmcqa_eval_rows(str(d), "paper", 6)


def test_base_results_cache_goes_stale_with_data_model_or_library(tmp_path, monkeypatch):
    monkeypatch.setenv("SMF_MINI_CACHE", str(tmp_path / "cache"))
    calls = []
    monkeypatch.setattr(common, "load_model", lambda *a, **k: (None, None))
    monkeypatch.setattr(eval, "run_suite", lambda *a, **k: calls.append(1) or {"medmcqa_acc": 0.5})
    write_rows(tmp_path / "data" / "medmcqa" / "validation.jsonl", [row(0)])
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text("{}")
    cfg = {"model": str(tmp_path / "model"), "data_dir": str(tmp_path / "data"), "task": "medmcqa"}

    def base():
        return eval.base_results(cfg, "harness", "cpu", which=("medmcqa",))

    base(), base()
    assert len(calls) == 1  # cached
    write_rows(tmp_path / "data" / "medmcqa" / "validation.jsonl", [row(0, cop=1)])  # a data row changed
    base()
    assert len(calls) == 2
    (tmp_path / "model" / "config.json").write_text('{"changed": 1}')  # the model folder changed
    base()
    assert len(calls) == 3
    monkeypatch.setattr(torch, "__version__", "0.0-other")  # another library version
    base()
    assert len(calls) == 4
    base()
    assert len(calls) == 4


def test_load_memory_refuses_another_shape(tmp_path):
    model = common.tiny_random_model("llama", hidden_size=32, intermediate_size=64, num_hidden_layers=3)
    memory.attach_memory(model, memory.MemoryConfig(slots=256, heads=1, topk=4, key_dim=16, layers=[1]))
    checkpoints.save_memory(model, str(tmp_path / "m.safetensors"))
    other = common.tiny_random_model("llama", hidden_size=32, intermediate_size=64, num_hidden_layers=3)
    memory.attach_memory(other, memory.MemoryConfig(slots=256, heads=1, topk=4, key_dim=16, layers=[2]))
    with pytest.raises(ValueError, match="already has memory"):
        checkpoints.load_memory(other, str(tmp_path / "m.safetensors"))
    wide = common.tiny_random_model("llama", hidden_size=64, intermediate_size=64, num_hidden_layers=3)
    with pytest.raises(ValueError, match="made for a model of width 32, but this model's width is 64"):
        checkpoints.load_memory(wide, str(tmp_path / "m.safetensors"))
    same = common.tiny_random_model("llama", hidden_size=32, intermediate_size=64, num_hidden_layers=3)
    mems = checkpoints.load_memory(same, str(tmp_path / "m.safetensors"))  # a model without memory: loads all of it
    assert sorted(mems) == [1] and torch.equal(mems[1].keys, memory.memory_layers(model)[1].keys)


def test_paper_preset_runs_offline_on_a_tiny_qwen2_with_local_files(tmp_path, capsys):
    """The paper preset end to end with --data-dir: SMF on a tiny random Qwen2, background from
    the local OASST1 file, evaluation with the paper protocol; the resolved configuration
    prints where every piece of data comes from."""
    import train
    from transformers import AutoTokenizer

    model_dir = tmp_path / "qwen2"
    tok = AutoTokenizer.from_pretrained(common.offline_model_dir())
    common.tiny_random_model("qwen2", vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_attention_heads=2,
                             num_key_value_heads=1, num_hidden_layers=2).save_pretrained(model_dir)
    tok.save_pretrained(model_dir)
    data = tmp_path / "data"
    write_rows(data / "medmcqa" / "train.jsonl", [dict(row(i, single=i != 3), exp="Because.") for i in range(8)])
    write_rows(data / "medmcqa" / "validation.jsonl", [row(i, cop=i % 4) for i in range(4)])
    write_rows(data / "trivia_qa" / "validation.jsonl", [{"question": "Capital of France", "answer": {"value": "Paris", "aliases": ["Paris"]}}])
    write_rows(data / "wikitext" / "wikitext-2-v1" / "test.jsonl", [{"text": t} for t in ["", " = Alpha = \n", " One two . \n"]])
    write_rows(data / "oasst1" / "train.jsonl", [{"text": f"Reply {i}.", "role": "assistant", "lang": "en"} for i in range(5)])
    argv = ["--preset", "paper", "--method", "smf", "--model", str(model_dir), "--data-dir", str(data), "--runs-dir", str(tmp_path / "runs"),
            "--memory-layers", "1", "--memory-slots", "256", "--memory-topk", "8", "--memory-key-dim", "32", "--top-t", "16",
            "--train-rows", "5", "--epochs", "1", "--batch-size", "2", "--grad-accum", "1", "--max-length", "64", "--no-bf16"]
    assert train.main(argv) == 0
    assert "data_sources" in capsys.readouterr().out  # printed with the resolved configuration
    run = tmp_path / "runs" / "paper-smf"
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["data_sources"]["train"] == f"{data}/medmcqa/train.jsonl" and cfg["data_sources"]["background"] == f"{data}/oasst1/train.jsonl"
    assert cfg["resolved_steps"] == 3  # 5 single-choice rows (row 3 is multi-choice), batch 2, one epoch
    res = json.loads((run / "results.json").read_text())
    assert res["protocol"] == "paper" and res["trained"]["n"]["medmcqa"] == 4 and "triviaqa_acc" in res["trained"]
