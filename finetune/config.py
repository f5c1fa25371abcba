"""Training configuration: a dataclass filled from a commented YAML file plus
``key=value`` overrides from the command line (types coerced from the field's type),
with cross-field checks that fail fast, before any model is loaded."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from text2sql.errors import ConfigError


@dataclass
class TrainConfig:
    # -- data
    data: str = "../shared/data/spider"  # a Spider-format dir, or a .jsonl/.csv/.parquet file
    format: str = "spider"  # spider | gretel | ko_text2sql | table
    columns: dict = field(default_factory=dict)  # for format=table: question/sql/context/db_path column names
    split: str = "train"
    exclude_databases: list = field(default_factory=lambda: ["chinook_1", "store_1"])  # Chinook stays unseen
    heldout_databases: int = 8  # train databases held out for tuning (scored by sweeps)
    data_fraction: float = 1.0  # use this fraction of the training examples (sweeps)
    max_examples: int | None = None
    drop_empty_results: bool = True  # cleaning by execution: drop gold queries returning no rows
    # -- model
    model: str | None = None  # base model dir/.gguf; None = the embedded Gemma 3 270M
    quantization: str = "none"  # none | nf4 (QLoRA through bitsandbytes)
    # -- LoRA
    init_adapter: str | None = None  # start from this adapter's LoRA weights (continue a shipped adapter)
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: str = "all-linear"  # peft shorthand: every linear layer but the LM head
    # -- optimisation
    learning_rate: float = 3e-4
    epochs: float = 1.0
    max_steps: int = -1  # > 0 overrides epochs
    batch_size: int = 4  # examples per forward pass (with shared_prefix: questions on one database)
    shared_prefix: bool = False  # group a batch by database and run its schema prompt once (same loss, fewer tokens)
    grad_accum: int = 1
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    max_length: int = 1024  # prompt + SQL tokens; longer examples are dropped
    bf16: bool = False  # bf16 autocast (CPUs with AVX512-BF16, or GPUs)
    seed: int = 42
    # -- outputs
    output_dir: str = "runs/default"
    save_steps: int = 50  # checkpoint cadence (resume restarts from the last one)
    save_total_limit: int = 2
    logging_steps: int = 1
    resume_from: str | None = None  # a packed checkpoint (text2sql finetune pack) to continue when output_dir has none

    def check(self) -> "TrainConfig":
        problems = []
        if self.format not in ("spider", "gretel", "ko_text2sql", "table"):
            problems.append(f"format must be spider, gretel, ko_text2sql or table (got {self.format!r})")
        if self.quantization not in ("none", "nf4"):
            problems.append(f"quantization must be none or nf4 (got {self.quantization!r})")
        if self.quantization == "nf4":
            try:
                import bitsandbytes  # noqa: F401
            except ImportError:
                problems.append("quantization: nf4 needs bitsandbytes (pip install 'text2sql[gpu]')")
        if self.lora_r <= 0 or self.lora_alpha <= 0:
            problems.append("lora_r and lora_alpha must be positive")
        if not 0 < self.data_fraction <= 1:
            problems.append("data_fraction must be in (0, 1]")
        if self.max_steps <= 0 and self.epochs <= 0:
            problems.append("set epochs > 0 or max_steps > 0")
        if self.batch_size <= 0 or self.grad_accum <= 0:
            problems.append("batch_size and grad_accum must be positive")
        if self.format == "table" and not {"question", "sql"} <= set(self.columns):
            problems.append("format: table needs columns: {question: ..., sql: ..., context: ... or db_path: ...}")
        if self.format == "spider" and not (Path(self.data) / f"{self.split}.json").is_file():
            problems.append(f"no {self.split}.json in {self.data}")
        if self.init_adapter and not (Path(self.init_adapter) / "adapter_config.json").is_file():
            problems.append(f"init_adapter: no adapter_config.json in {self.init_adapter}")
        if self.resume_from and not (Path(self.resume_from) / "run_config.yaml").is_file():
            problems.append(f"resume_from: {self.resume_from} is not a packed checkpoint (text2sql finetune pack)")
        if problems:
            raise ConfigError("bad training config: " + "; ".join(problems))
        return self


def _coerce(f: dataclasses.Field, text: str):
    kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    if text.lower() in ("none", "null") and "None" in kind:
        return None
    if kind.startswith("bool"):
        if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError("expected true or false")
        return text.lower() in ("true", "1", "yes")
    if kind.startswith("int"):
        return int(text)
    if kind.startswith("float"):
        return float(text)
    if kind.startswith(("list", "dict")):
        return yaml.safe_load(text)
    return text


def load_config(path=None, overrides=()) -> TrainConfig:
    """The YAML file (relative ``data``/``output_dir`` stay relative to the working dir),
    then ``key=value`` overrides; raises ConfigError on unknown keys or bad values."""
    raw = {}
    if path is not None:
        try:
            raw = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"cannot read {path}: {err}") from err
    fields = {f.name: f for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(raw) - set(fields))
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override {item!r} is not key=value")
        key, value = item.split("=", 1)
        if key not in fields:
            unknown.append(key)
            continue
        try:
            raw[key] = _coerce(fields[key], value)
        except ValueError as err:
            raise ConfigError(f"override {key}={value!r}: {err}") from err
    if unknown:
        raise ConfigError(f"unknown config keys: {', '.join(unknown)} (known: {', '.join(fields)})")
    return TrainConfig(**raw).check()
