"""Attention for one decoded token on CPU, as three small matmuls instead of SDPA's kernel.

While decoding, each layer attends one query row per head to the whole cached prompt (the
schema prefix, ~1,000 tokens on Chinook). torch's CPU SDPA runs its blocked flash
attention kernel for that too, and on the 2-core dev machine it took ~2 ms per call
(18 calls a token) where the plain computation -- scores = q k^T, softmax, p v -- took
~0.3 ms, in fp32 from bf16 inputs, which is also as exact as SDPA (fp32 reference
difference 0.002 for both; scores rounded to bf16 were 4x worse).

``install(model)`` registers the attention under :data:`NAME` with transformers'
attention and mask interfaces (the masks are SDPA's) and switches a model that uses SDPA
to it. Every other call -- a prompt prefill, training, dropout, extra biases -- goes to
transformers' SDPA unchanged, so answers do not change, only decode time.
"""

from __future__ import annotations

NAME = "text2sql_decode_sdpa"


def attention(module, query, key, value, attention_mask, dropout: float = 0.0, scaling: float | None = None,
              **kwargs):
    """transformers attention interface: (batch, heads, q_len, dim) in, (batch, q_len, heads, dim) out."""
    import torch
    from transformers.integrations.sdpa_attention import sdpa_attention_forward

    batch, heads, q_len, dim = query.shape
    kv_heads = key.shape[1]
    if (q_len != 1 or dropout or kwargs.get("softcap") is not None or kwargs.get("position_bias") is not None
            or kwargs.get("output_attentions") or heads % kv_heads or torch.is_grad_enabled()):
        return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                      **kwargs)
    group = heads // kv_heads
    scale = scaling if scaling is not None else dim ** -0.5
    # the query heads sharing a key/value head become rows of one matmul (no repeat of the cache)
    q = query.reshape(batch, kv_heads, group, dim).float()
    scores = torch.matmul(q, key.float().transpose(-1, -2)) * scale  # (batch, kv_heads, group, kv_len)
    if attention_mask is not None:
        mask = attention_mask  # (batch, 1 or heads, 1, kv_len)
        mask = mask.reshape(batch, kv_heads, group, -1) if mask.shape[1] == heads and heads > 1 else mask
        scores = scores.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else scores + mask.float()
    probs = torch.softmax(scores, dim=-1)
    out = torch.matmul(probs, value.float()).to(value.dtype)  # (batch, kv_heads, group, dim)
    return out.reshape(batch, 1, heads, dim), None


def install(model) -> bool:
    """Use :func:`attention` in ``model`` if it runs transformers' SDPA; True when switched."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

    config = model.config
    if getattr(config, "_attn_implementation", None) != "sdpa":
        return False
    AttentionInterface.register(NAME, attention)
    ALL_MASK_ATTENTION_FUNCTIONS.register(NAME, sdpa_mask)
    for sub in {id(c): c for c in (config, getattr(config, "text_config", None)) if c is not None}.values():
        sub._attn_implementation = NAME
    return True
