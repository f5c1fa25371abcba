"""Which config changes a later sitting may make when it resumes a packed checkpoint."""

from __future__ import annotations

import dataclasses

import pytest

from text2sql.errors import ConfigError
from text2sql.finetune.config import TrainConfig
from text2sql.finetune.sitting import seed, write_config


@pytest.fixture
def packed(tmp_path):
    """A packed folder as ``text2sql finetune pack`` leaves it (the tensors do not matter here)."""
    folder = tmp_path / "packed"
    (folder / "checkpoint-3").mkdir(parents=True)
    (folder / "checkpoint-3" / "trainer_state.json").write_text('{"global_step": 3}')
    (folder / "metrics.jsonl").write_text('{"step": 1}\n{"step": 2}\n{"step": 3}\n')
    write_config(folder, TrainConfig(bf16=True, output_dir="runs/first"))
    return folder


def test_a_sitting_on_a_cpu_without_bf16_may_go_on_in_fp32(packed, tmp_path):
    out = tmp_path / "second"
    out.mkdir()
    cfg = TrainConfig(bf16=False, output_dir=str(out), resume_from=str(packed), save_steps=5)
    ckpt = seed(out, cfg)
    assert ckpt == out / "checkpoint-3" and (ckpt / "trainer_state.json").is_file()
    assert (out / "metrics.jsonl").read_text().count("\n") == 3


def test_a_sitting_that_changes_the_run_itself_is_refused(packed, tmp_path):
    cfg = dataclasses.replace(TrainConfig(bf16=True), lora_r=8, resume_from=str(packed))
    with pytest.raises(ConfigError, match=r"packed from another run \(lora_r: 16 there, 8 here\)"):
        seed(tmp_path, cfg)


def test_the_whole_run_speed_leaves_out_the_days_between_sittings(tmp_path):
    import json

    from text2sql.finetune.train import _whole_run

    times = [0, 10, 20, 31, 40] + [400_000 + 12 * i for i in range(4)]  # 4 steps in a sitting days later
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text("".join(json.dumps({"step": i + 1, "loss": 1.0, "time": t}) + "\n" for i, t in enumerate(times)))
    got = _whole_run(metrics, examples_per_step=16)
    assert got == {"all_steps_wall_s": 76.0, "pauses_left_out": 1, "all_steps_examples_per_s": round(7 * 16 / 76, 3)}
