"""Carry one training run across sittings: a checkpoint small enough to commit.

A CPU sitting ends with its machine, and with it the run's ``output_dir`` (gitignored, and
a Trainer checkpoint holds fp32 LoRA weights and fp32 Adam moments). ``pack`` copies the
run's last complete checkpoint into a folder meant for git: floating tensors of the
adapter and of the optimizer state in bf16, the scheduler, the RNG states, the trainer
state (its step is the data cursor: the Trainer skips the batches already seen), the
run's ``metrics.jsonl`` up to that step and its resolved config. ``seed`` puts it back
into a fresh ``output_dir`` when the config says ``resume_from: <packed folder>``; the
Trainer then resumes from it as from its own checkpoint (the optimizer casts the moments
back to its fp32 parameters' dtype). A resumed run must be the same run, so ``seed``
refuses a config that differs from the packed one in anything but where outputs go and
``bf16``: precision follows the machine (a sitting on a CPU without AVX512-BF16 goes on in
fp32, where emulated bf16 would take minutes a step), not the run.

    text2sql finetune pack runs/r24 finetune/checkpoints/r24      # end of a sitting; commit it
    text2sql finetune train finetune/configs/default.yaml ... resume_from=finetune/checkpoints/r24

Delete the packed folder once the final adapter lands.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import yaml

from text2sql.errors import ConfigError

CONFIG = "run_config.yaml"  # the resolved config, written by train() into output_dir
# Where outputs go and how often, and the machine's precision: a later sitting may change
# these, nothing else.
_FREE_KEYS = {"output_dir", "save_steps", "save_total_limit", "logging_steps", "resume_from", "bf16"}
_SMALL_FILES = ("trainer_state.json", "scheduler.pt", "training_args.bin", "adapter_config.json")
DEFAULT_MAX_MB = 40.0


def write_config(out: Path, cfg) -> None:
    (out / CONFIG).write_text(yaml.safe_dump(dataclasses.asdict(cfg), sort_keys=False))


def _bf16(value):
    """``value`` with every floating tensor in it cast to bf16 (dicts and lists walked)."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.to(torch.bfloat16) if value.is_floating_point() and value.dim() > 0 else value
    if isinstance(value, dict):
        return {k: _bf16(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_bf16(v) for v in value)
    return value


def size_mb(folder: Path) -> float:
    """Megabytes of the files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def pack(run_dir, dest, max_mb: float = DEFAULT_MAX_MB) -> Path:
    """Pack ``run_dir``'s last complete checkpoint into ``dest/checkpoint-N`` (replacing
    what ``dest`` held); returns that folder. Raises ConfigError when there is nothing to
    pack or the result is larger than ``max_mb``."""
    import torch
    from safetensors.torch import load_file, save_file

    from text2sql.finetune.train import METRICS, last_checkpoint

    run_dir, dest = Path(run_dir), Path(dest)
    ckpt = last_checkpoint(run_dir) if run_dir.is_dir() else None
    if ckpt is None:
        raise ConfigError(f"no complete checkpoint in {run_dir} to pack")
    if not (run_dir / CONFIG).is_file():
        raise ConfigError(f"{run_dir} has no {CONFIG}: it was not written by text2sql finetune train")
    step = int(ckpt.name.split("-")[1])
    staging = dest.with_name(dest.name + ".packing")
    shutil.rmtree(staging, ignore_errors=True)
    target = staging / ckpt.name
    target.mkdir(parents=True)
    for name in _SMALL_FILES:
        if (ckpt / name).is_file():
            shutil.copy2(ckpt / name, target / name)
    for rng in ckpt.glob("rng_state*.pth"):
        shutil.copy2(rng, target / rng.name)
    save_file(_bf16(load_file(str(ckpt / "adapter_model.safetensors"))), str(target / "adapter_model.safetensors"))
    optimizer = torch.load(ckpt / "optimizer.pt", map_location="cpu", weights_only=False)
    torch.save(_bf16(optimizer), target / "optimizer.pt")
    shutil.copy2(run_dir / CONFIG, staging / CONFIG)
    lines = (run_dir / METRICS).read_text().splitlines() if (run_dir / METRICS).is_file() else []
    (staging / METRICS).write_text("".join(x + "\n" for x in lines if x and json.loads(x)["step"] <= step))
    size = size_mb(staging)
    if size > max_mb:
        shutil.rmtree(staging)
        raise ConfigError(f"the packed checkpoint would be {size:.1f} MB, over the {max_mb:g} MB limit "
                          "(a smaller lora_r, or --max-mb)")
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    return dest / ckpt.name


def packed_checkpoint(folder: Path) -> Path:
    ckpts = sorted(folder.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[1]))
    if not ckpts or not (ckpts[-1] / "trainer_state.json").is_file() or not (folder / CONFIG).is_file():
        raise ConfigError(f"resume_from: {folder} is not a packed checkpoint (text2sql finetune pack)")
    return ckpts[-1]


def seed(out: Path, cfg) -> Path:
    """Copy the packed checkpoint ``cfg.resume_from`` into ``out`` (which has none of its
    own) after checking that ``cfg`` is the packed run's config; returns the copy."""
    from text2sql.finetune.train import METRICS

    folder = Path(cfg.resume_from)
    ckpt = packed_checkpoint(folder)
    packed = yaml.safe_load((folder / CONFIG).read_text()) or {}
    mine = dataclasses.asdict(cfg)
    differ = sorted(k for k in set(packed) | set(mine) if k not in _FREE_KEYS and packed.get(k) != mine.get(k))
    if differ:
        detail = ", ".join(f"{k}: {packed.get(k)!r} there, {mine.get(k)!r} here" for k in differ)
        raise ConfigError(f"resume_from: {folder} was packed from another run ({detail})")
    shutil.copytree(ckpt, out / ckpt.name)
    if (folder / METRICS).is_file():
        shutil.copy2(folder / METRICS, out / METRICS)
    return out / ckpt.name
