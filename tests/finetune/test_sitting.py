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
