"""The LoRA adapter that ships as package data: what the engine loads by default for the
embedded model. Small, LoRA-only, bf16, with its model card, training config and the
Spider dev evaluation report that the README's table is generated from."""

from __future__ import annotations

import json
from pathlib import Path

from text2sql.data import DEFAULT_ADAPTER_DIR
from text2sql.model import resolve_source

ROOT = Path(__file__).resolve().parents[2]
# The report of the default configuration (auto precision, restricted vocabulary) ships with it.
DEV_REPORT = ROOT / "bench" / "results" / "eval" / "adapter-spider-dev-w8a16rv.json"


def test_the_embedded_model_gets_the_shipped_adapter_by_default():
    assert resolve_source(None, None) == ("embedded", None, DEFAULT_ADAPTER_DIR)


def test_shipped_adapter_is_lora_only_bf16_and_small():
    from safetensors import safe_open

    config = json.loads((DEFAULT_ADAPTER_DIR / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["base_model_name_or_path"] == "google/gemma-3-270m"
    assert not config.get("modules_to_save")
    weights = DEFAULT_ADAPTER_DIR / "adapter_model.safetensors"
    assert weights.stat().st_size <= 20 * 2**20
    with safe_open(str(weights), "pt") as f:
        names = list(f.keys())
        assert names and all("lora_" in n for n in names)
        assert not any("embed" in n or "lm_head" in n for n in names)
        assert {str(f.get_tensor(n).dtype) for n in names} == {"torch.bfloat16"}


def test_shipped_adapter_has_its_card_config_and_dev_report():
    card = (DEFAULT_ADAPTER_DIR / "README.md").read_text()
    for needle in ("base_model: google/gemma-3-270m", "library_name: peft", "license: gemma", "- spider",
                   "Q4_K_M", "Gemma Terms of Use", "CC BY-SA 4.0"):
        assert needle in card
    assert "output_dir: runs/r24" in (DEFAULT_ADAPTER_DIR / "training_config.yaml").read_text()
    summary = json.loads(DEV_REPORT.read_text())["summary"]
    assert summary["evaluated"] == 972 and summary["skipped"] == 62 and summary["n_candidates"] == 1
    assert "adapter" in summary["model"]
    report = (DEFAULT_ADAPTER_DIR / "eval" / "report.md").read_text()
    assert f"| all | 972 | {summary['ex']} | {summary['normalized_sql_match']} |" in report
