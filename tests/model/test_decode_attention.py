"""The one-token attention (text2sql.decode_attention) decodes exactly what transformers'
SDPA decodes: same tokens, same logits to float rounding, with padding in the batch and
sliding-window layers whose window the sequence outgrows."""

from __future__ import annotations

import torch

from text2sql import decode_attention


def _model(attn="sdpa"):
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    config = Gemma3TextConfig(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=6,
                              num_attention_heads=4, num_key_value_heads=1, head_dim=32, sliding_window=16,
                              attn_implementation=attn)
    return Gemma3ForCausalLM(config).eval()


def _generate(model, ids, mask):
    with torch.no_grad():
        return model.generate(ids, attention_mask=mask, max_new_tokens=30, do_sample=False, output_logits=True,
                              return_dict_in_generate=True)


def test_decoding_with_the_one_token_attention_equals_sdpa_with_padding_and_sliding_windows():
    model = _model()
    ids = torch.randint(0, 512, (2, 40))
    mask = torch.ones_like(ids)
    mask[1, :5] = 0  # left padding in the second row
    reference = _generate(model, ids, mask)
    assert decode_attention.install(model)
    assert model.model.layers[0].self_attn.config._attn_implementation == decode_attention.NAME
    ours = _generate(model, ids, mask)
    assert torch.equal(ours.sequences, reference.sequences)
    assert max((a - b).abs().max().item() for a, b in zip(ours.logits, reference.logits)) < 1e-4


def test_only_models_running_sdpa_are_switched():
    model = _model("eager")
    assert not decode_attention.install(model)
    assert model.config._attn_implementation == "eager"


def test_gradients_and_prefill_go_through_sdpa_unchanged():
    model = _model()
    ids = torch.randint(0, 512, (1, 20))
    reference = model(ids).logits
    decode_attention.install(model)
    out = model(ids).logits  # grad enabled, 20 query rows: the SDPA path
    assert torch.equal(out, reference)
    out.sum().backward()
    assert model.model.layers[0].self_attn.q_proj.weight.grad is not None
