"""GGUF export: a small model shaped like Gemma 3 270M (same attention layout, far fewer
and narrower layers, random weights), written by finetune/gguf_export.py and read back by
transformers' own GGUF loader, is the same model."""

from __future__ import annotations

import pytest

from text2sql.errors import ConfigError


@pytest.fixture(scope="module")
def small_gemma(tiny_model_dir, tmp_path_factory):
    import torch
    from transformers import AutoTokenizer, Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    config = Gemma3TextConfig(vocab_size=262144, hidden_size=64, intermediate_size=128, num_hidden_layers=6,
                              num_attention_heads=2, num_key_value_heads=1, head_dim=256, query_pre_attn_scalar=256,
                              sliding_window=8, max_position_embeddings=1024)
    model = Gemma3ForCausalLM(config).eval()
    with torch.no_grad():  # RMSNorm weights start at 0 (= scale 1); make them matter
        for name, p in model.named_parameters():
            if "norm" in name:
                p.normal_(0, 0.3)
    out = tmp_path_factory.mktemp("small-gemma")
    model.save_pretrained(out)
    AutoTokenizer.from_pretrained(tiny_model_dir).save_pretrained(out)
    return model, out


PROMPT = "-- dialect: sqlite\nCREATE TABLE Album (AlbumId INTEGER, Title TEXT, ArtistId INTEGER);\n-- How many albums?\n"


@pytest.mark.parametrize("qtype,atol", [("f16", 2e-2), ("q8_0", 0.25)])
def test_exported_gguf_loads_back_as_the_same_model(small_gemma, qtype, atol):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from text2sql.finetune.gguf_export import export_gguf

    model, out = small_gemma
    path = export_gguf(model, out / f"model-{qtype}.gguf", qtype=qtype)
    back = AutoModelForCausalLM.from_pretrained(out, gguf_file=path.name, dtype=torch.float32).eval()
    tok_hf, tok_gguf = AutoTokenizer.from_pretrained(out), AutoTokenizer.from_pretrained(out, gguf_file=path.name)
    ids = tok_hf(PROMPT, return_tensors="pt").input_ids
    assert ids.shape[1] > 2 * model.config.sliding_window  # the sliding layers' window matters here
    assert tok_gguf(PROMPT, return_tensors="pt").input_ids.tolist() == ids.tolist()
    with torch.no_grad():
        want, got = model(ids).logits, back(ids).logits
    assert (want - got).abs().max() < atol
    if qtype == "f16":  # random weights give flat logits: only f16 is close enough to keep every argmax
        assert (want.argmax(-1) == got.argmax(-1)).all()


def test_configs_gguf_cannot_describe_are_refused():
    from transformers import Gemma3TextConfig, LlamaConfig

    from text2sql.finetune.gguf_export import check_exportable

    check_exportable(Gemma3TextConfig(num_hidden_layers=6, head_dim=256, query_pre_attn_scalar=256))
    with pytest.raises(ConfigError, match="query_pre_attn_scalar"):
        check_exportable(Gemma3TextConfig(num_hidden_layers=6, head_dim=256, query_pre_attn_scalar=64))
    with pytest.raises(ConfigError, match="layer_types"):
        check_exportable(Gemma3TextConfig(num_hidden_layers=2, layer_types=["sliding_attention", "full_attention"]))
    with pytest.raises(ConfigError, match="Gemma 3 text models"):
        check_exportable(LlamaConfig())
