"""Precision w8a16: int8 weights with bf16 activations. The layers compute what bf16 does
(within int8 rounding), the tied head gets its own int8 copy while lookups keep the bf16
embedding, widths the kernel cannot take stay bf16, and the tiny model still writes its
trained SQL."""

from __future__ import annotations

import pytest
import torch

from text2sql import int8_linear
from text2sql.int8_linear import DECODE_ROWS, Int8WeightLinear, quantize_model

pytestmark = pytest.mark.skipif(not int8_linear.available(), reason="this torch lacks _weight_int8pack_mm")


def _relative_error(out: torch.Tensor, ref: torch.Tensor) -> float:
    out, ref = out.detach().float(), ref.detach().float()
    return float((out - ref).abs().max() / ref.abs().max())


@pytest.mark.parametrize("rows", [1, 3, DECODE_ROWS, DECODE_ROWS + 1, 200])
def test_int8_layer_matches_the_bf16_layer_for_decode_and_prefill_shapes(rows):
    torch.manual_seed(0)
    linear = torch.nn.Linear(64, 96, bias=True).to(torch.bfloat16)
    layer = Int8WeightLinear(linear.weight, linear.bias)
    x = torch.randn(2, rows, 64, dtype=torch.bfloat16)
    out = layer(x)
    assert out.shape == (2, rows, 96) and out.dtype == torch.bfloat16
    assert _relative_error(out, linear(x)) < 0.02


def test_weights_are_int8_rows_with_one_scale_each_and_the_state_dict_has_no_bf16_copy():
    linear = torch.nn.Linear(32, 48, bias=False)
    layer = Int8WeightLinear(linear.weight, None)
    state = layer.state_dict()
    assert state["weight"].dtype == torch.int8 and state["weight"].shape == (48, 32)
    assert state["scale"].dtype == torch.bfloat16 and state["scale"].shape == (48,)
    assert set(state) == {"weight", "scale"}  # the bf16 weight for prefill is not read by decoding
    dequantized = state["weight"].float() * state["scale"].float()[:, None]
    assert _relative_error(dequantized, linear.weight) < 0.01


def test_quantizing_in_row_chunks_gives_every_row_its_own_scale(monkeypatch):
    monkeypatch.setattr(int8_linear, "_CHUNK_ROWS", 7)  # 50 rows: chunks of 7 and a partial one
    torch.manual_seed(0)
    weight = (torch.randn(50, 32) * torch.linspace(0.01, 10, 50)[:, None]).to(torch.bfloat16)
    q, scale = int8_linear.quantize_rows(weight)
    assert q.dtype == torch.int8 and q.shape == (50, 32) and scale.shape == (50,)
    assert torch.equal(q.abs().amax(dim=1), torch.full((50,), 127, dtype=torch.int8))  # each row spans the range
    dequantized = q.float() * scale.float()[:, None]
    for row in (0, 6, 7, 49):  # rows on both sides of the chunk borders
        assert _relative_error(dequantized[row], weight[row]) < 0.01


def _tiny_gemma(hidden=64):
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    config = Gemma3TextConfig(vocab_size=512, hidden_size=hidden, intermediate_size=128, num_hidden_layers=2,
                              num_attention_heads=2, num_key_value_heads=1, head_dim=32,
                              tie_word_embeddings=True, sliding_window=16)
    return Gemma3ForCausalLM(config).to(torch.bfloat16).eval()


def test_quantize_model_replaces_every_linear_and_unties_the_head_from_the_embedding():
    model = _tiny_gemma()
    ids = torch.randint(0, 512, (1, 12))
    with torch.no_grad():
        before = model(ids).logits
    embedding = model.get_input_embeddings().weight
    replaced = quantize_model(model, "lm_head")
    assert replaced == 2 * 7 + 1  # q k v o gate up down per layer, and the head
    assert not any(type(m) is torch.nn.Linear for m in model.modules())
    head = model.get_output_embeddings()
    assert isinstance(head, Int8WeightLinear) and head.weight.dtype == torch.int8
    assert model.get_input_embeddings().weight is embedding
    assert head.dense.data_ptr() == embedding.data_ptr()  # no second bf16 copy of the 262k rows
    with torch.no_grad():
        after = model(ids).logits
        step = model(ids[:, :1]).logits  # one row: the int8 kernel path everywhere
        ref_step = before[:, :1]
    assert _relative_error(after, before) < 0.05
    assert _relative_error(step, ref_step) < 0.05


def test_widths_the_kernel_cannot_take_stay_bf16_linear():
    layer = torch.nn.Sequential(torch.nn.Linear(24, 32), torch.nn.Linear(32, 8))
    model = torch.nn.Module()
    model.body = layer
    model.get_input_embeddings = lambda: None
    assert quantize_model(model) == 1
    assert type(model.body[0]) is torch.nn.Linear and isinstance(model.body[1], Int8WeightLinear)


@pytest.mark.slow
def test_tiny_model_in_w8a16_writes_its_trained_sql(tiny_model_dir, tiny_loaded):
    from tests.fixtures.tiny_model import TINY_PAIRS
    from text2sql.config import Settings
    from text2sql.generate import TransformersBackend
    from text2sql.model import load_model
    from text2sql.pipeline import Assistant

    loaded = load_model(str(tiny_model_dir), adapter="none", precision="w8a16", device="cpu", progress=False)
    assert loaded.info.precision == "w8a16"
    assert isinstance(loaded.model.get_output_embeddings(), Int8WeightLinear)
    w8 = Assistant(backend=TransformersBackend(loaded), settings=Settings())
    fp32 = Assistant(backend=TransformersBackend(tiny_loaded), settings=Settings())
    questions = [q for q, _ in TINY_PAIRS][:4]
    for question in questions:
        assert w8.generate(question, None, execute_check=False).sql == \
            fp32.generate(question, None, execute_check=False).sql


def test_w8a16_is_a_cpu_precision_loaded_in_bf16():
    from text2sql.model import plan_precision

    plan = plan_precision("w8a16", "cpu")
    assert plan.precision == "w8a16" and not plan.uses_bitsandbytes and plan.merge_adapter
    assert plan.load_kwargs()["dtype"] == torch.bfloat16
