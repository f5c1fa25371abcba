"""Sweeps (the Korean LLM book's experiments): a grid of short training runs over LoRA
r/alpha or the training-data fraction, each scored by execution accuracy on the same
held-out Spider TRAIN databases, written as one Markdown + JSON table."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import yaml

from text2sql.errors import ConfigError


def runs(sweep: dict) -> list[dict]:
    """Override dicts: ``grid`` is a product of lists; ``pairs`` a list of override dicts."""
    if "pairs" in sweep:
        return [dict(p) for p in sweep["pairs"]]
    grid = sweep.get("grid") or {}
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]


def run_sweep(path, extra_overrides=()) -> Path:
    from text2sql.finetune.config import load_config
    from text2sql.finetune.data import load_for_config, split_by_database
    from text2sql.finetune.evaluate import EvalExample, evaluate
    from text2sql.finetune.train import train
    from text2sql.pipeline import Assistant

    spec = yaml.safe_load(Path(path).read_text()) or {}
    if "base" not in spec:
        raise ConfigError(f"{path}: a sweep needs base: <training config> and grid: or pairs:")
    base = Path(path).parent / spec["base"]
    out_root = Path(spec.get("output_dir", "runs/sweep"))
    rows = []
    for overrides in runs(spec):
        name = "_".join(f"{k}{v}" for k, v in overrides.items())
        items = [f"{k}={v}" for k, v in overrides.items()] + list(extra_overrides) + [f"output_dir={out_root / name}"]
        cfg = load_config(base, items)
        examples, _ = load_for_config(cfg, workdir=out_root / "contexts")
        train_set, heldout = split_by_database(examples, cfg.heldout_databases, seed=cfg.seed)
        if spec.get("max_eval"):
            heldout = heldout[: int(spec["max_eval"])]
        adapter = train(cfg, examples=train_set)
        assistant = Assistant(model=cfg.model, adapter=str(adapter), precision="fp32", device="auto")
        report = evaluate([EvalExample(e.db_id, e.question, e.sql, e.db_path) for e in heldout], assistant)
        summary = report.summary()
        rows.append({"run": name, **overrides, "heldout_questions": summary["evaluated"], "ex": summary["ex"],
                     "normalized_sql_match": summary["normalized_sql_match"]})
    out_root.mkdir(parents=True, exist_ok=True)
    (out_root / "sweep.json").write_text(json.dumps(rows, indent=1))
    keys = [k for k in rows[0] if k != "run"] if rows else []
    md = ["| run | " + " | ".join(keys) + " |", "|---" * (len(keys) + 1) + "|"]
    md += ["| " + r["run"] + " | " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    (out_root / "sweep.md").write_text("\n".join(md) + "\n")
    print("\n".join(md))
    return out_root / "sweep.md"
