"""Merge a trained LoRA adapter into its base model: a plain transformers model directory
(safetensors + tokenizer) that loads without peft, and with ``--gguf`` also ``model.gguf``
for llama.cpp (gguf_export.py)."""

from __future__ import annotations

from pathlib import Path

from text2sql.errors import ConfigError


def merge(run_dir, out_dir, *, model=None, gguf: bool = False, gguf_type: str = "q8_0") -> Path:
    """``run_dir`` is a training output (with ``adapter/``) or an adapter dir itself."""
    import torch

    from text2sql.model import load_model

    run_dir = Path(run_dir)
    adapter = run_dir / "adapter" if (run_dir / "adapter" / "adapter_config.json").exists() else run_dir
    if not (adapter / "adapter_config.json").exists():
        raise ConfigError(f"no adapter in {run_dir} (expected adapter/adapter_config.json)")
    from text2sql.finetune.gguf_export import TYPES, check_exportable, export_gguf

    if gguf and gguf_type not in TYPES:
        raise ConfigError(f"GGUF type must be one of {', '.join(TYPES)} (got {gguf_type!r})")
    loaded = load_model(model=model, adapter=str(adapter), precision="fp32", device="cpu", progress=True)
    hf = loaded.model
    if hasattr(hf, "merge_and_unload"):
        hf = hf.merge_and_unload()
    if gguf:
        check_exportable(hf.config)  # before anything is written
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    hf.to(torch.float32).save_pretrained(str(out), safe_serialization=True)
    loaded.tokenizer.save_pretrained(str(out))
    if gguf:
        export_gguf(hf, out / "model.gguf", qtype=gguf_type)
    return out
