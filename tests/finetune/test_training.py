"""Training on the tiny model for real: outputs, resume after SIGKILL, QLoRA, merge, eval."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SPIDER = REPO.parent / "shared" / "data" / "spider"
pytestmark = pytest.mark.slow


def train_cmd(tiny_model_dir, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "text2sql", "finetune", "train", str(REPO / "finetune/configs/tiny.yaml"),
            f"model={tiny_model_dir}", f"data={SPIDER}", f"output_dir={out}", *extra]


def metrics(out: Path) -> list[dict]:
    path = out / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture(scope="module")
def trained(tiny_model_dir, tmp_path_factory):
    """An uninterrupted 6-step run (also the reference for the resume test)."""
    out = tmp_path_factory.mktemp("run") / "full"
    proc = subprocess.run(train_cmd(tiny_model_dir, out), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


def test_a_run_writes_adapter_metrics_curve_and_model_card(trained, tiny_model_dir):
    adapter = trained / "adapter"
    weights = adapter / "adapter_model.safetensors"
    assert weights.stat().st_size < 20 * 2**20
    from safetensors import safe_open

    with safe_open(str(weights), "pt") as f:
        names = list(f.keys())
        assert names and all("lora_" in n for n in names)  # no embedding or head saved
        assert {str(f.get_tensor(n).dtype) for n in names} == {"torch.bfloat16"}
    assert [m["step"] for m in metrics(trained)] == [1, 2, 3, 4, 5, 6]
    assert (trained / "loss.png").read_bytes()[:4] == b"\x89PNG"
    config = json.loads((adapter / "adapter_config.json").read_text())
    assert config["base_model_name_or_path"] == str(tiny_model_dir) and not config["modules_to_save"]
    card = (adapter / "README.md").read_text()
    for needle in ("base_model: google/gemma-3-270m", "library_name: peft", "license: gemma", "- spider",
                   "Q4_K_M", "Gemma Terms of Use", "CC BY-SA 4.0"):
        assert needle in card
    summary = json.loads((trained / "train_summary.json").read_text())
    assert summary["global_step"] == 6 and summary["tokens_per_s"] > 0
    from text2sql.model import load_model

    loaded = load_model(model=str(tiny_model_dir), adapter=str(adapter), precision="fp32", device="cpu", progress=False)
    assert loaded.info.adapter


def test_training_killed_mid_run_resumes_to_the_same_metrics(trained, tiny_model_dir, tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen(train_cmd(tiny_model_dir, out), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and not (len(metrics(out)) >= 3 and (out / "checkpoint-2").exists()):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert (out / "checkpoint-2").exists() and not (out / "adapter").exists()
    resumed = subprocess.run(train_cmd(tiny_model_dir, out), capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    got, want = metrics(out), metrics(trained)
    assert [m["step"] for m in got] == [1, 2, 3, 4, 5, 6]  # none repeated, none skipped
    for a, b in zip(got, want):
        assert abs(a["loss"] - b["loss"]) < 1e-4, (a, b)
    summary = json.loads((out / "train_summary.json").read_text())
    assert "checkpoint-" in summary["resumed_from"] and summary["steps_this_run"] < 6
    assert summary["all_steps_wall_s"] > 0 and summary["all_steps_examples_per_s"] > 0  # both sittings


def test_resume_skips_a_checkpoint_that_a_kill_left_half_written(tmp_path):
    from text2sql.finetune.train import last_checkpoint

    for step, complete in ((2, True), (10, True), (12, False)):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "adapter_model.safetensors").write_bytes(b"")
        if complete:
            (folder / "trainer_state.json").write_text("{}")
    assert last_checkpoint(tmp_path) == tmp_path / "checkpoint-10"  # numeric order, the half-written 12 skipped


def test_a_run_packed_at_the_end_of_a_sitting_resumes_elsewhere_to_the_same_metrics(trained, tiny_model_dir, tmp_path):
    import shutil

    import torch

    sitting = tmp_path / "sitting1"  # the reference run as a sitting that ended after checkpoint-2
    shutil.copytree(trained, sitting, ignore=shutil.ignore_patterns("checkpoint-4", "checkpoint-6", "adapter"))
    packed = tmp_path / "packed"
    proc = subprocess.run([sys.executable, "-m", "text2sql", "finetune", "pack", str(sitting), str(packed)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"resume_from={packed}" in proc.stdout
    assert sorted(p.name for p in packed.iterdir()) == ["checkpoint-2", "metrics.jsonl", "run_config.yaml"]
    moments = torch.load(packed / "checkpoint-2" / "optimizer.pt", weights_only=False)["state"]
    assert {v.dtype for s in moments.values() for k, v in s.items() if k != "step"} == {torch.bfloat16}
    def tensors_size(ckpt):
        return sum((ckpt / name).stat().st_size for name in ("optimizer.pt", "adapter_model.safetensors"))

    assert tensors_size(packed / "checkpoint-2") < 0.7 * tensors_size(sitting / "checkpoint-2")

    out = tmp_path / "sitting2"  # a fresh machine: nothing of the first sitting but the packed folder
    resumed = subprocess.run(train_cmd(tiny_model_dir, out, f"resume_from={packed}"),
                             capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    got, want = metrics(out), metrics(trained)
    assert [m["step"] for m in got] == [1, 2, 3, 4, 5, 6]
    for a, b in zip(got, want):
        assert abs(a["loss"] - b["loss"]) < 0.02 * b["loss"] + 1e-3, (a, b)  # bf16 moments and weights
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["resumed_from"].endswith("checkpoint-2") and summary["steps_this_run"] == 4

    other = subprocess.run(train_cmd(tiny_model_dir, tmp_path / "other", f"resume_from={packed}", "learning_rate=0.01"),
                           capture_output=True, text=True, timeout=300)
    assert other.returncode != 0 and "packed from another run (learning_rate: 0.001 there, 0.01 here)" in other.stderr
    empty = subprocess.run([sys.executable, "-m", "text2sql", "finetune", "pack", str(tmp_path / "nothing"),
                            str(tmp_path / "p2")], capture_output=True, text=True, timeout=300)
    assert empty.returncode != 0 and "no complete checkpoint" in empty.stderr


def test_training_can_continue_from_an_adapter(trained, tiny_model_dir, tmp_path):
    out = tmp_path / "continued"
    proc = subprocess.run(train_cmd(tiny_model_dir, out, f"init_adapter={trained / 'adapter'}", "max_steps=1",
                                    "save_steps=100", "learning_rate=0"), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    fresh = metrics(trained)
    # the same first batch, scored with the trained adapter: lower than the fresh run's first loss
    assert metrics(out)[0]["loss"] < fresh[0]["loss"] - 0.1
    card = (out / "adapter" / "README.md").read_text()
    assert f"continued the adapter in `{trained / 'adapter'}`" in card
    bad = subprocess.run(train_cmd(tiny_model_dir, tmp_path / "bad", f"init_adapter={tmp_path}"),
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode != 0 and "init_adapter: no adapter_config.json" in bad.stderr


def test_qlora_nf4_trains_on_cpu(tiny_model_dir, tmp_path):
    out = tmp_path / "qlora"
    proc = subprocess.run(train_cmd(tiny_model_dir, out, "quantization=nf4", "max_steps=2", "save_steps=100"),
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [m["step"] for m in metrics(out)] == [1, 2]
    assert (out / "adapter" / "adapter_model.safetensors").exists()


def test_accelerate_launch_runs_training_unchanged_and_bf16_autocast_takes_effect(trained, tiny_model_dir, tmp_path):
    """The command a multi-GPU box would use, here with one CPU process; bf16=true changes the
    numerics of the same seeded step (autocast is on) but not by much."""
    out = tmp_path / "accelerate"
    cmd = train_cmd(tiny_model_dir, out, "bf16=true", "max_steps=2", "save_steps=100")
    launch = [sys.executable, "-m", "accelerate.commands.launch", "--cpu", "--num_processes", "1",
              "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "-m", *cmd[2:]]
    proc = subprocess.run(launch, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "adapter written to" in proc.stdout
    got, fp32 = metrics(out), metrics(trained)
    assert [m["step"] for m in got] == [1, 2]
    assert got[0]["loss"] != pytest.approx(fp32[0]["loss"], abs=1e-6)
    assert got[0]["loss"] == pytest.approx(fp32[0]["loss"], rel=0.05)


def test_merge_gives_a_model_that_loads_without_peft(trained, tiny_model_dir, tmp_path):
    out = tmp_path / "merged"
    proc = subprocess.run([sys.executable, "-m", "text2sql", "finetune", "merge", str(trained), str(out),
                           "--model", str(tiny_model_dir)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(out)
    assert not any("lora" in n for n, _ in model.named_parameters())
    # The tiny test model's attention layout is not one GGUF can describe: refused, nothing written.
    refused = subprocess.run([sys.executable, "-m", "text2sql", "finetune", "merge", str(trained),
                              str(tmp_path / "gguf"), "--model", str(tiny_model_dir), "--gguf"],
                             capture_output=True, text=True, timeout=600)
    assert refused.returncode != 0 and "layer_types" in refused.stderr and "cannot be exported" in refused.stderr
    assert not (tmp_path / "gguf").exists()


def test_eval_writes_json_and_markdown_reports_and_batches_change_no_answer(tiny_model_dir, tmp_path):
    reports = {}
    for batch in ("1", "3"):
        out = tmp_path / f"eval-{batch}"
        proc = subprocess.run([sys.executable, "-m", "text2sql", "eval", "--data", str(SPIDER), "--split", "dev",
                               "--model", str(tiny_model_dir), "--adapter", "none", "--precision", "fp32",
                               "--limit", "6", "--batch-size", batch, "--out", str(out)],
                              capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
        reports[batch] = json.loads((out / "report.json").read_text())
    report = reports["3"]
    s = report["summary"]
    assert s["evaluated"] == 6 and s["skipped"] == 62 and 0 <= s["ex"] <= 100
    assert s["data"] == "spider dev (stride sample of 6), batches of 3, schema-constrained, restricted vocabulary, fp32"
    assert len(report["outcomes"]) == 6 and all(o["hardness"] for o in report["outcomes"])
    assert [o["pred"] for o in report["outcomes"]] == [o["pred"] for o in reports["1"]["outcomes"]]
    assert reports["1"]["summary"]["median_decode_tokens_per_s"] > 0
    md = (out / "report.md").read_text()
    assert "| all | 6 |" in md and "## Failures" in md
    machine = s["machine"]  # which CPU: bf16 speed (and rounding) depends on it
    assert machine["cpus"] >= 1 and isinstance(machine["native_bf16"], bool)
    assert f" s on {machine['cpu']}, {machine['cpus']} CPUs, " in md


def test_eval_on_a_questions_file_keeps_one_language_and_reports_decode_speed(tiny_model_dir, tmp_path):
    out = tmp_path / "eval"
    questions = Path(__file__).parents[1] / "fixtures" / "chinook_questions.json"
    proc = subprocess.run([sys.executable, "-m", "text2sql", "eval", "--data", str(questions), "--split", "ko",
                           "--model", str(tiny_model_dir), "--adapter", "none", "--precision", "fp32",
                           "--limit", "3", "--batch-size", "1", "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["evaluated"] == 3 and report["summary"]["skipped"] == 0
    assert {o["db_id"] for o in report["outcomes"]} == {"chinook"}
    assert all(any("\uac00" <= ch <= "\ud7a3" for ch in o["question"]) for o in report["outcomes"])  # Hangul
    assert all(o["new_tokens"] for o in report["outcomes"] if o["pred"])
    assert report["summary"]["median_decode_tokens_per_s"] > 0


def test_sweep_scores_every_run_on_the_same_heldout_databases(tiny_model_dir, tmp_path):
    spec = tmp_path / "sweep.yaml"
    spec.write_text(
        f"base: {REPO / 'finetune/configs/tiny.yaml'}\noutput_dir: {tmp_path / 'sweep'}\nmax_eval: 2\n"
        "pairs:\n  - {lora_r: 2, lora_alpha: 4}\n  - {lora_r: 4, lora_alpha: 8}\n"
    )
    proc = subprocess.run([sys.executable, "-m", "text2sql", "finetune", "sweep", str(spec), f"model={tiny_model_dir}",
                           f"data={SPIDER}", "max_steps=1", "heldout_databases=2", "max_examples=6"],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads((tmp_path / "sweep" / "sweep.json").read_text())
    assert [(r["lora_r"], r["heldout_questions"]) for r in rows] == [(2, 2), (4, 2)]
    assert all(0 <= r["ex"] <= 100 for r in rows)
    assert "| lora_r2_lora_alpha4 |" in (tmp_path / "sweep" / "sweep.md").read_text()


def test_shared_prefix_training_runs_from_the_cli_with_frozen_bf16_weights(tiny_model_dir, tmp_path):
    """A batch = questions on one database (its schema runs once); bf16 casts the frozen
    weights once and keeps the LoRA weights in fp32."""
    out = tmp_path / "shared"
    proc = subprocess.run(train_cmd(tiny_model_dir, out, "shared_prefix=true", "bf16=true", "batch_size=4",
                                    "max_steps=2", "save_steps=100"), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert [m["step"] for m in metrics(out)] == [1, 2] and all(m["loss"] > 0 for m in metrics(out))
    summary = json.loads((out / "train_summary.json").read_text())
    assert summary["shared_prefix"] is True and summary["examples_per_s"] > 0
    from text2sql.finetune.config import load_config
    from text2sql.finetune.train import load_base

    cfg = load_config(REPO / "finetune/configs/tiny.yaml", [f"model={tiny_model_dir}", f"data={SPIDER}", "bf16=true",
                                                            f"init_adapter={out / 'adapter'}", "lora_dropout=0"])
    model, _, _ = load_base(cfg)
    dtypes = {(p.requires_grad, str(p.dtype)) for p in model.parameters()}
    assert dtypes == {(True, "torch.float32"), (False, "torch.bfloat16")}
    lora_dropouts = [d for m in model.modules() if hasattr(m, "lora_dropout") for d in m.lora_dropout.values()]
    assert lora_dropouts and all(type(d).__name__ == "Identity" for d in lora_dropouts)


def test_guided_eval_records_every_candidate_and_picks_the_first_that_answered(tiny_model_dir, tmp_path):
    out = tmp_path / "eval"
    proc = subprocess.run([sys.executable, "-m", "text2sql", "eval", "--data", str(SPIDER), "--split", "dev",
                           "--model", str(tiny_model_dir), "--adapter", "none", "--precision", "fp32",
                           "--limit", "3", "--n", "3", "--out", str(out)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["n_candidates"] == 3
    for o in report["outcomes"]:
        sqls = [c["sql"] for c in o["candidates"]]
        assert 1 <= len(sqls) <= 3 and len(set(sqls)) == len(sqls)
        ran = [c["sql"] for c in o["candidates"] if c["ok"]]
        answered = [c["sql"] for c in o["candidates"] if c["ok"] and c["answered"]]
        assert o["pred"] == (answered or ran or [o["pred"]])[0] and o["pred"] in sqls
