"""Merge a trained LoRA adapter into its base model: a plain transformers model directory
(safetensors + tokenizer) that loads without peft. GGUF export needs llama.cpp's converter,
which is not a dependency: ``--gguf`` says how to get it when it is missing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from text2sql.errors import ConfigError


def merge(run_dir, out_dir, *, model=None, gguf: bool = False) -> Path:
    """``run_dir`` is a training output (with ``adapter/``) or an adapter dir itself."""
    import torch

    from text2sql.model import load_model

    run_dir = Path(run_dir)
    adapter = run_dir / "adapter" if (run_dir / "adapter" / "adapter_config.json").exists() else run_dir
    if not (adapter / "adapter_config.json").exists():
        raise ConfigError(f"no adapter in {run_dir} (expected adapter/adapter_config.json)")
    if gguf and importlib.util.find_spec("convert_hf_to_gguf") is None:
        raise ConfigError("GGUF export needs llama.cpp's convert_hf_to_gguf.py on PYTHONPATH (from a llama.cpp "
                          "checkout); the merged safetensors model was not written")
    loaded = load_model(model=model, adapter=str(adapter), precision="fp32", device="cpu", progress=True)
    hf = loaded.model
    if hasattr(hf, "merge_and_unload"):
        hf = hf.merge_and_unload()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    hf.to(torch.float32).save_pretrained(str(out), safe_serialization=True)
    loaded.tokenizer.save_pretrained(str(out))
    if gguf:
        import subprocess
        import sys

        subprocess.run([sys.executable, "-m", "convert_hf_to_gguf", str(out), "--outfile", str(out / "model.gguf")],
                       check=True)
    return out
