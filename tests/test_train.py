"""train.py: presets, flags, errors, each method on a tiny model, LoRA counts, resume."""
import json
import math
from pathlib import Path

import pytest
import torch

import checkpoints
import common

import data
import settings
import smf_mini
import train



def run(tmp_path, *flags):
    return train.main(["--runs-dir", str(tmp_path), *flags])


def small(tiny_dir, method, steps=6, extra=()):
    return applicable(["--method", method, "--model", tiny_dir, "--n-countries", "4", "--batch-size", "36", "--steps", str(steps),
                       "--memory-layers", "1", "--memory-slots", "256", "--memory-topk", "8", "--memory-key-dim", "32",
                       "--top-t", "64", "--background-docs", "8", "--warmup", "1", "--no-eval", "--save-every", "2", *extra])


def applicable(flags: list[str]) -> list[str]:
    """flags without the tiny run's settings that this combination would not read (train.py
    refuses a flag that does nothing): SMF's with another method, the memory's with LoRA, full
    finetuning or --init-memory, --n-countries with another task than the fictional one."""
    def last(name: str, default: str) -> str:
        return next((flags[i + 1] for i in range(len(flags) - 2, -1, -1) if flags[i] == name), default)

    method, task = last("--method", "smf"), last("--task", "fictional")
    drop = set()
    if method != "smf":
        drop |= {"--top-t", "--background-docs", "--rule"}
    if method not in ("smf", "retrofit") or "--init-memory" in flags:
        drop |= {"--memory-layers", "--memory-slots", "--memory-topk", "--memory-key-dim"}
    if task != "fictional":
        drop.add("--n-countries")
    out, skip = [], False
    for f in flags:
        if skip:
            skip = False
        elif f in drop:
            skip = True
        else:
            out.append(f)
    return out


def test_presets_resolve_and_flags_override():
    p = train.build_parser()
    cfg = train.resolve_config(p.parse_args([]))
    mcq = [train.resolve_config(p.parse_args(["--task", "mcq"] + f))
           for f in ([], ["--epochs", "3"], ["--steps", "7"], ["--method", "retrofit"], ["--preset", "paper"])]
    # the budget follows the data on tiny; --steps wins; a retrofit trains on background text; paper counts epochs already
    assert [(c["steps"], c["epochs"]) for c in mcq] == [(None, settings.MCQ_EPOCHS), (None, 3.0), (7, None), (60, None), (None, 3)]
    assert train.resolve_config(p.parse_args(["--task", "mcq", "--mcq-views", " bare,question"]))["mcq_views"] == "question,bare"
    assert cfg["method"] == "smf" and cfg["preset"] == "tiny" and cfg["model"] == common.OFFLINE_MODEL
    assert cfg["lr"] == train.PRESETS["tiny"]["smf_lr"]
    paper = train.resolve_config(p.parse_args(["--preset", "paper", "--method", "lora"]))
    assert paper["model"] == "Qwen/Qwen2.5-0.5B-Instruct" and paper["memory_layers"] == [6, 12, 18]
    assert paper["lr"] == 2e-4 and paper["lora_r"] == 16 and paper["top_t"] == 512
    over = train.resolve_config(p.parse_args(["--preset", "paper", "--method", "smf", "--lr", "1e-3", "--top-t", "7",
                                              "--memory-layers", "1,2", "--no-bf16"]))
    assert over["lr"] == 1e-3 and over["smf_lr"] == 1e-3 and over["top_t"] == 7 and over["memory_layers"] == [1, 2]
    assert over["bf16"] is False
    with pytest.raises(SystemExit, match="--top-t does nothing here"):  # full finetuning reads no SMF setting
        train.resolve_config(p.parse_args(["--preset", "paper", "--method", "full", "--top-t", "7"]))


def test_help_shows_defaults(capsys):
    with pytest.raises(SystemExit):
        train.build_parser().parse_args(["--help"])
    out = capsys.readouterr().out
    assert "--top-t" in out and "1000 / 512" in " ".join(out.split())


@pytest.mark.parametrize("flags,msg", [
    (["--rule", "bm25"], "--rule must be one of"),
    (["--memory-layers", "a,b"], "comma-separated integers"),
    (["--top-t", "0"], "--top-t must be at least 1"),
    (["--steps", "0"], "--steps must be at least 1"),
    (["--save-every", "0"], "--save-every must be at least 1"),
    (["--eval-limit", "0"], "--eval-limit must be at least 1"),
    (["--memory-mode", "foo"], "--memory-mode must be"),
    (["--n-countries", "3"], "--n-countries must be at least 4"),
    (["--split", "train"], "--split must be 'dev' or 'test'"),
    (["--row-step-cap", "-1"], "--row-step-cap must be 0"),
    (["--min-read-ratio", "-1"], "--min-read-ratio must be 0"),
    (["--min-read-ratio", "1", "--rule", "tf"], "--min-read-ratio compares with background reads"),
    (["--scale-lr", "-1"], "--scale-lr must be 0"),
    (["--scale-lr", "0.01", "--init-memory", "runs/r"], "a retrofitted memory does not have"),
])
def test_bad_flags_give_one_clear_error(flags, msg):
    with pytest.raises(SystemExit, match=msg):
        train.resolve_config(train.build_parser().parse_args(flags))


def test_bad_data_file_errors(tmp_path):
    import tasks

    f = tmp_path / "medmcqa" / "validation.jsonl"
    f.parent.mkdir()
    f.write_text('{"question": "q", "opa": "a", "opb": "b", "opc": "c", "opd": "d", "cop": 1}\n{"question": "q2"}\n')
    with pytest.raises(ValueError, match=r"validation.jsonl, row 2: missing field\(s\) opa"):
        tasks.medmcqa_rows(str(tmp_path), "validation")
    f.write_text("not json\n")
    with pytest.raises(ValueError, match="row 1: not valid JSON"):
        tasks.medmcqa_rows(str(tmp_path), "validation")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        tasks.trivia_rows(str(tmp_path))


def test_memory_layer_out_of_range(tmp_path, tiny_dir):
    """Checked from the model's config before anything is written."""
    with pytest.raises(SystemExit, match="out of range: this model has layers 0..2"):
        run(tmp_path, *small(tiny_dir, "smf", extra=["--memory-layers", "7"]))
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("method", ["smf", "lora", "full"])
def test_each_method_lowers_loss_on_repeated_batch(tmp_path, tiny_dir, method):
    lr = {"smf": ["--lr", "2000", "--smf-optimizer", "sgd"], "lora": ["--lr", "5e-3"], "full": ["--lr", "3e-3"]}[method]
    assert run(tmp_path, *small(tiny_dir, method, extra=lr)) == 0
    d = tmp_path / f"tiny-{method}"
    log = [json.loads(l) for l in (d / "log.jsonl").read_text().splitlines()]
    assert len(log) == 6 and log[-1]["loss"] < log[0]["loss"]
    assert not (tmp_path / f"tiny-{method}.partial").exists()
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["method"] == method
    ckpt = {"smf": "memory.safetensors", "lora": "adapter", "full": "model"}[method]
    assert (d / ckpt).exists()
    # eval.py loads the run the way training saved it, and the trained model is not the base model
    import eval
    import memory

    model, tok, _ = eval.load_run(d)
    base, _ = common.load_model(tiny_dir)
    ids = torch.tensor([tok("The capital of")["input_ids"]])
    with torch.no_grad():
        assert not torch.allclose(model(ids).logits, base(ids).logits)
    if method == "smf":
        assert sorted(memory.memory_layers(model)) == [1]


def test_invented_disease_files_are_medmcqa_rows_that_task_mcq_trains_on(tmp_path, tiny_dir):
    """scripts/make_mcq_task.py writes a task in MedMCQA's row schema; --task mcq trains on its
    train rows (questions with the answer's text, and each explanation as a statement) and
    scores its validation rows; the files are refused a second time rather than overwritten."""
    import importlib.util

    import tasks

    spec = importlib.util.spec_from_file_location("make_mcq_task", Path(train.__file__).parent / "scripts" / "make_mcq_task.py")
    mk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    task_dir = tmp_path / "task"
    assert mk.main([str(task_dir), "--diseases", "4", "--seed", "3"]) == 0
    tr = tasks.read_jsonl(task_dir / "medmcqa" / "train.jsonl", tasks.MEDMCQA_FIELDS)
    va = tasks.read_jsonl(task_dir / "medmcqa" / "validation.jsonl", tasks.MEDMCQA_FIELDS)
    assert len(tr) == 12 and len(va) == 24  # 4 diseases x 3 facts; two held-out questions per fact
    for rows in (tr, va):  # every row's gold option is the answer its explanation states, and it appears once
        for r in rows:
            opts = tasks.medmcqa_options(r)
            assert r["exp"].rstrip(".").endswith(opts[r["cop"]]) and len(set(opts)) == 4
    assert not {r["question"] for r in tr} & {r["question"] for r in va}  # held-out phrasings only
    pairs = data.training_examples(dict(task="mcq", data_dir=str(task_dir)))
    assert pairs[0] == (tasks.mcq_prompt(tr[0]["question"], tasks.medmcqa_options(tr[0])), " " + tasks.medmcqa_options(tr[0])[tr[0]["cop"]])
    assert pairs[12:] == [("", r["exp"]) for r in tr] and len(pairs) == 24
    with pytest.raises(SystemExit, match="already exists"):
        mk.main([str(task_dir), "--diseases", "4"])
    with pytest.raises(SystemExit, match="--task mcq reads its rows from --data-dir"):
        run(tmp_path, *applicable([*small(tiny_dir, "smf"), "--task", "mcq"]))
    flags = small(tiny_dir, "smf", extra=["--task", "mcq"])
    flags = [f for i, f in enumerate(flags) if f != "--no-eval" and "--steps" not in flags[i - 1 : i + 1]]
    assert run(tmp_path, *flags, "--data-dir", str(task_dir), "--eval-limit", "3") == 0
    # no --steps: the budget is MCQ_EPOCHS epochs over the default views' 48 examples (4 per fact) in batches of 36
    config = json.loads((tmp_path / "tiny-smf" / "config.json").read_text())
    assert config["mcq_views"] == "question,statement,shuffled,bare" and len(data.training_examples(config)) == 48
    assert config["steps"] is None and config["resolved_steps"] == math.ceil(settings.MCQ_EPOCHS * 48 / 36) == 3
    res = json.loads((tmp_path / "tiny-smf" / "results.json").read_text())
    assert res["protocol"] == "tiny" and res["trained"]["n"]["task"] == 3 and "medmcqa/" in res["trained"]["data"]
    # results.json carries SMF's record of its memory rows (rows.json), also when eval.py rewrites it
    rows = json.loads((tmp_path / "tiny-smf" / "rows.json").read_text())
    assert res["memory_rows"] == rows and rows["layers"]["1"]["rows_changed"] > 0
    import eval

    assert eval.main([str(tmp_path / "tiny-smf")]) == 0
    assert json.loads((tmp_path / "tiny-smf" / "results.json").read_text())["memory_rows"] == rows


def test_retrofit_then_smf_from_it(tmp_path, tiny_dir):
    assert run(tmp_path, *small(tiny_dir, "retrofit", steps=3, extra=["--lr", "1e-3"])) == 0
    assert (tmp_path / "tiny-retrofit" / "memory.safetensors").exists()
    # memory flags would do nothing beside the loaded memory (it keeps its own sizes): refused
    extra = ["--init-memory", str(tmp_path / "tiny-retrofit")]
    with pytest.raises(SystemExit, match="--memory-slots does nothing here"):
        run(tmp_path, *small(tiny_dir, "smf", steps=3, extra=extra), "--memory-slots", "1024")
    assert run(tmp_path, *small(tiny_dir, "smf", steps=3, extra=extra)) == 0
    cfg = json.loads((tmp_path / "tiny-smf" / "config.json").read_text())
    assert cfg["init_memory"] == str(tmp_path / "tiny-retrofit")
    assert cfg["memory_slots"] == 256 and cfg["memory_layers"] == [1] and cfg["memory_topk"] == 8
    # rows.json counts the rows changed from the retrofit's memory, where this run started
    from safetensors.torch import load_file

    start = load_file(tmp_path / "tiny-retrofit" / "memory.safetensors")["layer1.values.weight"]
    end = load_file(tmp_path / "tiny-smf" / "memory.safetensors")["layer1.values.weight"]
    rec = json.loads((tmp_path / "tiny-smf" / "rows.json").read_text())["layers"]["1"]
    assert rec["rows_changed"] == int((end != start).any(dim=1).sum()) > 0
    with pytest.raises(SystemExit, match="no memory.safetensors there"):
        run(tmp_path, *small(tiny_dir, "smf", steps=3, extra=["--init-memory", str(tmp_path / "nope"), "--name", "x"]))


def test_smf_records_rows_read_selected_moved_and_how_far_rows_moved(tmp_path, tiny_dir):
    """Each log row holds, per memory layer, the rows the step read, selected and moved
    (moved <= selected <= read); rows.json holds the rows changed (the union of the rows
    moved: the rows memory.safetensors stores as changed, and the rows of
    rows_changed.safetensors) and quantiles of their L2 distance from the start, which match a
    recomputation from the saved memory and the regenerated fresh one."""
    import eval
    import memory
    from safetensors.torch import load_file

    cap = 0.05
    assert run(tmp_path, *small(tiny_dir, "smf", extra=["--lr", "2000", "--row-step-cap", str(cap)])) == 0
    d = tmp_path / "tiny-smf"
    log = [json.loads(l) for l in (d / "log.jsonl").read_text().splitlines()]
    steps = [r["rows"]["1"] for r in log]
    assert len(steps) == 6 and all(0 < s["moved"] <= s["selected"] <= s["read"] <= 256 and s["selected"] <= 64 for s in steps)
    assert any(s["selected"] < s["read"] for s in steps)  # top-t 64 really selects
    rec = json.loads((d / "rows.json").read_text())["layers"]["1"]
    changed = set(load_file(d / "memory.safetensors")["layer1.rows"].tolist())  # rows that differ from the fresh memory
    moved = set(load_file(d / "rows_changed.safetensors")["layer1"].flatten().tolist()) - {-1}
    assert rec["rows_changed"] == len(changed) == len(moved) and changed == moved
    assert max(s["moved"] for s in steps) <= rec["rows_changed"] <= rec["moves"] == sum(s["moved"] for s in steps)
    assert rec["per_step"]["read"]["mean"] == pytest.approx(sum(s["read"] for s in steps) / 6)
    # move sizes, recomputed from the saved memory against the fresh memory of the run's seed
    model, _, cfg = eval.load_run(d)
    fresh = memory.fresh_memories(model.config.hidden_size, model.smf_memory_config, cfg["seed"])[1].values.weight.detach()
    dist = (memory.memory_layers(model)[1].values.weight.detach() - fresh).norm(dim=1)
    dist = dist[dist > 0].double()
    m = rec["move_l2"]
    assert m["median"] == pytest.approx(float(torch.quantile(dist, 0.5)), rel=1e-5)
    assert m["max"] == pytest.approx(float(dist.max()), rel=1e-5) and m["min"] <= m["p25"] <= m["median"] <= m["p90"] <= m["max"]
    assert m["max"] <= cap * 6 + 1e-6  # the cap bounds every step's move
    res = json.loads((d / "rows.json").read_text())
    assert res["row_step_cap"] == cap and res["top_t"] == 64


def lora_count(shapes, r):
    return sum(r * (i + o) for i, o in shapes)


def qwen_shapes(cfg):
    d, f, L = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
    kv = cfg.num_key_value_heads * (d // cfg.num_attention_heads)
    return [(d, d), (d, kv), (d, kv), (d, d), (d, f), (d, f), (f, d)] * L


def test_lora_setup_trains_only_adapters_and_count_matches_formula():
    """The project's own setup_method (the paper preset's r=16 on all seven projections)."""
    model = common.tiny_random_model("qwen2")
    cfg = train.resolve_config(train.build_parser().parse_args(["--preset", "paper", "--method", "lora"]))
    pm, opt, _ = train.setup_method(model, None, cfg, torch.device("cpu"), progress=False)
    trainable = {n: p.numel() for n, p in pm.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    assert sum(trainable.values()) == lora_count(qwen_shapes(model.config), 16)
    assert sum(p.numel() for g in opt.param_groups for p in g["params"]) == sum(trainable.values())


def test_lora_count_on_qwen25_05b_shapes_without_weights():
    from transformers import AutoModelForCausalLM, Qwen2Config

    # Qwen2.5-0.5B-Instruct's published shapes (config only, no download, no weights)
    qcfg = Qwen2Config(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                       num_key_value_heads=2, vocab_size=151936, tie_word_embeddings=True)
    assert lora_count(qwen_shapes(qcfg), 16) == 8_798_208  # the seed paper's "about 8.8M"
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(qcfg)
    cfg = train.resolve_config(train.build_parser().parse_args(["--preset", "paper", "--method", "lora"]))
    pm, _, _ = train.setup_method(model, None, cfg, torch.device("meta"), progress=False)
    assert sum(p.numel() for p in pm.parameters() if p.requires_grad) == 8_798_208


def test_full_finetuning_changes_every_parameter(tmp_path, tiny_dir):
    """Through train.py's loop: after one step every parameter tensor has moved."""
    assert run(tmp_path, *small(tiny_dir, "full", steps=1, extra=["--lr", "1e-3", "--warmup", "1"])) == 0
    base, _ = common.load_model(tiny_dir)
    trained, _ = common.load_model(str(tmp_path / "tiny-full" / "model"))
    tb = dict(trained.named_parameters())
    same = [n for n, p in base.named_parameters() if torch.equal(p, tb[n])]
    assert not same, same


CHECKPOINT = {"smf": "memory.safetensors", "retrofit": "memory.safetensors", "lora": "adapter/adapter_model.safetensors",
              "full": "model/model.safetensors"}
RESUME_LR = {"smf": ["--smf-optimizer", "adamw", "--lr", "0.05"],
             "smf+scale": ["--smf-optimizer", "adamw", "--lr", "0.05", "--scale-lr", "0.01"], "lora": ["--lr", "5e-3"], "full": ["--lr", "1e-3"],
             "retrofit": ["--lr", "1e-3"]}


@pytest.mark.parametrize("variant", ["smf", "smf+scale", "lora", "full", "retrofit"])
def test_resume_gives_same_weights(tmp_path, tiny_dir, variant, monkeypatch):
    """Every method (and SMF with a trained output scale): a run interrupted after step 4 and
    resumed ends bit-identical to an uninterrupted one (weights and logged losses)."""
    method = variant.split("+")[0]
    flags = small(tiny_dir, method, steps=6, extra=RESUME_LR[variant])
    assert run(tmp_path / "a", *flags) == 0
    # interrupt the second run at the start of step 5 (a checkpoint was saved at step 4)
    real = train.lr_at

    def boom(step, total, cfg):
        if step == 4:
            raise KeyboardInterrupt
        return real(step, total, cfg)

    monkeypatch.setattr(train, "lr_at", boom)
    assert run(tmp_path / "b", *flags) == 130
    assert (tmp_path / "b" / f"tiny-{method}.partial" / "state.pt").exists()
    monkeypatch.setattr(train, "lr_at", real)
    assert run(tmp_path / "b", *flags, "--resume") == 0
    a = (tmp_path / "a" / f"tiny-{method}")
    b = (tmp_path / "b" / f"tiny-{method}")
    la = [json.loads(l)["loss"] for l in (a / "log.jsonl").read_text().splitlines()]
    lb = [json.loads(l)["loss"] for l in (b / "log.jsonl").read_text().splitlines()]
    assert la == lb and len(la) == 6
    from safetensors.torch import load_file

    A, B = load_file(a / CHECKPOINT[method]), load_file(b / CHECKPOINT[method])
    assert A.keys() == B.keys() and all(torch.equal(A[k], B[k]) for k in A)
    if variant == "smf+scale":  # the scale trained, and the small checkpoint kept it
        assert float(A["layer1.scale"]) != 1.0


def test_finished_run_is_not_overwritten_without_flag(tmp_path, tiny_dir):
    """An explicit --name is exactly that folder: a finished run there is refused, and
    replaced only with --overwrite."""
    flags = small(tiny_dir, "full", steps=2, extra=["--lr", "1e-3", "--name", "mine"])
    assert run(tmp_path, *flags) == 0
    with pytest.raises(SystemExit, match="already holds a finished run; pass --overwrite"):
        run(tmp_path, *flags)
    assert run(tmp_path, *flags, "--overwrite") == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["smf", "lora", "full"])
def test_offline_model_each_method_few_steps(tmp_path, method):
    flags = ["--method", method, "--steps", "3", "--n-countries", "4", "--batch-size", "4", "--background-docs", "8",
             "--no-eval", "--save-every", "100"]
    assert run(tmp_path, *applicable(flags)) == 0  # --background-docs is SMF's
    log = [json.loads(l) for l in (tmp_path / f"tiny-{method}" / "log.jsonl").read_text().splitlines()]
    assert len(log) == 3 and all(torch.isfinite(torch.tensor(r["loss"])) for r in log)


def test_background_file_skips_blank_rows(tmp_path):
    f = tmp_path / "bg.jsonl"
    f.write_text('{"text": ""}\n{"text": " A real line.\\n"}\n{"text": "   "}\n{"text": "Another."}\n')
    cfg = dict(train.PRESETS["tiny"], background=str(f), background_docs=10)
    assert data.background_docs(cfg) == [" A real line.\n", "Another."]
    f.write_text('{"text": ""}\n')
    with pytest.raises(SystemExit, match="no non-empty 'text' rows"):
        data.background_docs(cfg)


@pytest.mark.parametrize("name", ["../victim", "a/b", "trail/", ".", "..", ".hidden"])
def test_run_name_must_be_a_plain_folder_name(tmp_path, name):
    """--name is a folder name under --runs-dir, never a path: '--name ../victim --overwrite'
    once deleted an unrelated folder. Refused before anything is created."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    runs = tmp_path / "runs"
    with pytest.raises(SystemExit, match="plain folder name"):
        train.main(["--runs-dir", str(runs), "--name", name, "--overwrite", "--steps", "1"])
    assert (victim / "keep.txt").read_text() == "precious" and not runs.exists()


def test_sweep_runs_each_setting_once(tmp_path, tiny_dir, capsys):
    """--lrs x --seeds: one run each, named by its settings; a second call skips finished runs."""
    flags = small(tiny_dir, "full", steps=2) + ["--lrs", "1e-3,2e-3", "--seeds", "0,1"]
    assert run(tmp_path, *flags) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["full-test-lr0.001-st2-s0", "full-test-lr0.001-st2-s1", "full-test-lr0.002-st2-s0", "full-test-lr0.002-st2-s1"]
    cfg = json.loads((tmp_path / "full-test-lr0.002-st2-s1" / "config.json").read_text())
    assert cfg["lr"] == 2e-3 and cfg["seed"] == 1 and cfg["steps"] == 2
    capsys.readouterr()
    assert run(tmp_path, *flags) == 0
    assert capsys.readouterr().out.count("is finished; skipped") == 4


def test_background_statistics_are_cached(tmp_path, tiny_dir, monkeypatch):
    """A second SMF run with the same model, memory and background reuses the statistics."""
    monkeypatch.setenv("SMF_MINI_CACHE", str(tmp_path / "cache"))
    calls = []
    real = smf_mini.collect_background
    monkeypatch.setattr(smf_mini, "collect_background", lambda *a, **k: calls.append(1) or real(*a, **k))
    for name in ("one", "two"):
        assert run(tmp_path, *small(tiny_dir, "smf", steps=1), "--name", name) == 0
    assert len(calls) == 1 and len(list((tmp_path / "cache" / "background").iterdir())) == 1
    a = checkpoints.load_background(str(tmp_path / "one" / "background.safetensors"))
    b = checkpoints.load_background(str(tmp_path / "two" / "background.safetensors"))
    assert all(torch.equal(a.df[i], b.df[i]) for i in a.df)


@pytest.mark.parametrize("method", ["smf", "full"])
def test_bf16_autocast_path_on_cpu(tmp_path, tiny_dir, method):
    """The GPU's bf16 autocast path, exercised on the CPU (torch supports bf16 autocast there):
    finite losses, the first one within bf16 rounding of the fp32 run's, fp32 master weights."""
    losses = {}
    for flag in ("--no-bf16", "--bf16"):
        name = f"{method}{flag}"
        assert run(tmp_path, *small(tiny_dir, method, steps=2, extra=[flag, "--name", name])) == 0
        losses[flag] = [json.loads(l)["loss"] for l in (tmp_path / name / "log.jsonl").read_text().splitlines()]
    assert all(math.isfinite(x) for x in losses["--bf16"])
    assert losses["--bf16"][0] == pytest.approx(losses["--no-bf16"][0], rel=2e-2)
    assert losses["--bf16"][0] != losses["--no-bf16"][0]  # autocast really ran in bf16
    if method == "smf":
        from safetensors.torch import load_file

        saved = load_file(tmp_path / f"{method}--bf16" / "memory.safetensors")  # rows-only form: row ids + fp32 rows
        floats = [v for k, v in saved.items() if not k.endswith(".rows")]
        assert floats and all(v.dtype == torch.float32 for v in floats)


@pytest.mark.parametrize("method", ["smf", "lora", "full"])
def test_target_loss_and_gradients_equal_the_full_logits_reference(method):
    """train.target_loss runs the output head on target positions only. Reference: the
    whole model's logits at every position and cross_entropy with ignore_index, as
    before. Same loss, and the same gradients on every trainable tensor, for each
    method's model (plain, LoRA-wrapped, with memory)."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(common.offline_model_dir())
    torch.manual_seed(0)
    model = common.tiny_random_model("llama", vocab_size=len(tok))
    flags = ["--method", method, "--rule", "tf", "--memory-layers", "1", "--memory-slots", "64", "--memory-topk", "4"]
    cfg = train.resolve_config(train.build_parser().parse_args(applicable(flags) if method in ("lora", "full") else flags))
    model, opt, _ = train.setup_method(model, tok, cfg, torch.device("cpu"), progress=False)
    for mem in __import__("memory").memory_layers(model).values():
        torch.nn.init.normal_(mem.values.weight)
        mem.sparse_grad = False  # compare dense gradients here (the sparse one has its own test)
    examples = [("Question: where is Zorvia?\nAnswer:", " Paris"), ("Q: 2+2?\nA:", " four, of course")]
    b = train.collate(tok, examples, "answer", 64, "cpu")
    model.eval()  # no LoRA dropout: both passes must see the same network
    params = [p for p in model.parameters() if p.requires_grad]

    def loss_and_grads(fn):
        loss = fn()
        return loss.detach(), torch.autograd.grad(loss, params)

    mine, g_mine = loss_and_grads(lambda: train.target_loss(model, b))
    ref, g_ref = loss_and_grads(lambda: torch.nn.functional.cross_entropy(
        model(input_ids=b["input_ids"], attention_mask=b["attention_mask"]).logits[:, :-1].float().flatten(0, 1),
        b["labels"][:, 1:].flatten(), ignore_index=-100, reduction="sum"))
    assert torch.allclose(mine, ref, rtol=1e-5)
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    bad = [n for n, a, r in zip(names, g_mine, g_ref) if float((a - r).norm()) > 1e-5 * float(r.norm()) + 1e-8]
    assert not bad, bad[:5]  # equal up to float summation order
