"""Model loading: sources, precision plans, and one clear ModelError (naming the path and
the fix) for every missing or broken model or adapter."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tests.fixtures.tiny_model import TINY_PAIRS
from text2sql import model as model_mod
from text2sql import prompt
from text2sql.errors import ModelError
from text2sql.generate import TransformersBackend
from text2sql.model import load_model, plan_precision, resolve_source
from text2sql.schema import introspect


def _one_line(err: ModelError) -> str:
    text = str(err)
    assert "\n" not in text
    return text


@pytest.fixture
def tiny_copy(tiny_model_dir, tmp_path):
    target = tmp_path / "tiny-copy"
    shutil.copytree(tiny_model_dir, target)
    return target


def test_missing_model_directory_names_the_path_and_the_fix(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelError) as err:
        load_model(str(missing), progress=False)
    text = _one_line(err.value)
    assert str(missing) in text and "config.json" in text and "embedded default" in text


def test_a_directory_that_is_not_a_model(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelError, match="has no config.json") as err:
        load_model(str(tmp_path), progress=False)
    assert str(tmp_path) in str(err.value)


def test_truncated_weights_are_reported_as_corrupt(tiny_copy):
    weights = tiny_copy / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:4096])
    with pytest.raises(ModelError) as err:
        load_model(str(tiny_copy), adapter="none", precision="fp32", progress=False)
    text = _one_line(err.value)
    assert str(tiny_copy) in text and "re-export" in text


def test_broken_config_is_reported_as_corrupt(tiny_copy):
    (tiny_copy / "config.json").write_text("{ not json")
    with pytest.raises(ModelError, match="could not load the model") as err:
        load_model(str(tiny_copy), adapter="none", precision="fp32", progress=False)
    assert str(tiny_copy) in str(err.value)


def test_missing_gguf_file(tmp_path):
    with pytest.raises(ModelError, match="does not exist") as err:
        load_model(str(tmp_path / "model.gguf"), progress=False)
    assert str(tmp_path / "model.gguf") in str(err.value)


def test_garbage_gguf_file_fails_cleanly_and_leaves_no_cache_entry(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x00" * 64)
    with pytest.raises(ModelError, match="could not convert") as err:
        load_model(str(bad), progress=False)
    assert str(bad) in _one_line(err.value)
    models = tmp_path / "cache" / "text2sql" / "models"
    assert [p.name for p in models.iterdir() if not p.name.endswith(".lock")] == []


def test_missing_adapter_and_non_adapter_directory(tiny_model_dir, tmp_path):
    with pytest.raises(ModelError, match="adapter not found") as err:
        load_model(str(tiny_model_dir), adapter=str(tmp_path / "nope"), progress=False)
    assert str(tmp_path / "nope") in str(err.value)
    with pytest.raises(ModelError, match="adapter_config.json"):
        load_model(str(tiny_model_dir), adapter=str(tmp_path), progress=False)


@pytest.mark.parametrize("precision,device,message", [
    ("int4", "auto", "unknown precision"),
    ("fp32", "tpu", "unknown device"),
])
def test_bad_precision_or_device(precision, device, message):
    with pytest.raises(ModelError, match=message):
        plan_precision(precision, device)


def test_cuda_requested_without_a_gpu():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ModelError, match="no CUDA GPU"):
        plan_precision("auto", "cuda")


def test_auto_precision_on_cpu_follows_the_documented_order(monkeypatch):
    plan = plan_precision("auto", "cpu")
    if model_mod._cpu_has_native_bf16() and model_mod._w8a16_available():  # this dev machine
        assert plan.precision == "w8a16" and not plan.notes
    elif model_mod._int8_cpu_available():
        assert plan.precision == "int8" and not plan.notes
    else:
        assert plan.precision in ("bf16", "fp32") and plan.notes
    monkeypatch.setattr(model_mod, "_w8a16_available", lambda: False)
    monkeypatch.setattr(model_mod, "_int8_cpu_available", lambda: True)
    monkeypatch.setattr(model_mod, "_cpu_has_native_bf16", lambda: True)
    assert plan_precision("auto", "cpu").precision == "int8"
    monkeypatch.setattr(model_mod, "_int8_cpu_available", lambda: False)
    assert plan_precision("auto", "cpu").precision == "bf16"
    monkeypatch.setattr(model_mod, "_cpu_has_native_bf16", lambda: False)
    fallback = plan_precision("auto", "cpu")
    assert fallback.precision == "fp32" and fallback.notes
    assert plan_precision("nf4", "cpu").precision == "nf4"  # only when asked for


def test_auto_precision_is_w8a16_where_the_cpu_has_bf16_and_the_int8_kernel(monkeypatch):
    monkeypatch.setattr(model_mod, "_cpu_has_native_bf16", lambda: True)
    monkeypatch.setattr(model_mod, "_w8a16_available", lambda: True)
    for restricted in (True, False):
        assert plan_precision("auto", "cpu", restricted_head=restricted).precision == "w8a16"
    assert plan_precision("bf16", "cpu").precision == "bf16"  # an explicit choice stays
    monkeypatch.setattr(model_mod, "_cpu_has_native_bf16", lambda: False)  # bf16 activations would crawl
    assert plan_precision("auto", "cpu", restricted_head=True).precision in ("int8", "fp32")


def test_auto_precision_with_the_restricted_head_is_bf16_without_the_int8_kernel(monkeypatch):
    monkeypatch.setattr(model_mod, "_w8a16_available", lambda: False)
    monkeypatch.setattr(model_mod, "_cpu_has_native_bf16", lambda: True)
    assert plan_precision("auto", "cpu", restricted_head=True).precision == "bf16"
    assert plan_precision("auto", "cpu", restricted_head=False).precision == (
        "int8" if model_mod._int8_cpu_available() else "bf16")
    assert plan_precision("fp32", "cpu", restricted_head=True).precision == "fp32"  # an explicit choice stays
    monkeypatch.setattr(model_mod, "_cpu_has_native_bf16", lambda: False)
    assert plan_precision("auto", "cpu", restricted_head=True).precision in ("int8", "fp32")


@pytest.mark.parametrize("precision", ["auto", "bf16", "nf4"])
def test_every_cpu_precision_still_writes_the_trained_sql(tiny_model_dir, precision):
    if precision == "nf4":
        pytest.importorskip("bitsandbytes")
    loaded = load_model(str(tiny_model_dir), adapter="none", precision=precision, device="cpu", progress=False)
    backend = TransformersBackend(loaded)
    schema = introspect(None)
    assert loaded.info.precision != "auto"
    if precision == "auto" and loaded.info.precision == "int8":
        # Only the 262k-row output head is quantized (see text2sql/model.py for why).
        assert "quantized" in type(loaded.model.get_output_embeddings()).__module__
    if precision == "auto" and loaded.info.precision == "w8a16":
        assert type(loaded.model.get_output_embeddings()).__name__ == "Int8WeightLinear"
    for question, sql in TINY_PAIRS[:3]:
        assert backend.generate(prompt.render(schema, question)) == [sql]


def test_progress_callback_reports_stages(tiny_model_dir):
    stages = []
    loaded = load_model(str(tiny_model_dir), adapter="none", precision="fp32",
                        progress=lambda *stage: stages.append(stage))
    assert stages and stages[-1][1] == stages[-1][2]
    assert loaded.info.load_seconds > 0 and loaded.info.device == "cpu"


def test_shipped_adapter_is_used_for_the_embedded_model_only(tmp_path, monkeypatch, tiny_model_dir):
    import text2sql.data

    shipped = tmp_path / "adapter"
    shipped.mkdir()
    (shipped / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA"}))
    monkeypatch.setattr(text2sql.data, "DEFAULT_ADAPTER_DIR", shipped)
    assert resolve_source(None, None) == ("embedded", None, shipped)
    assert resolve_source(None, "none") == ("embedded", None, None)
    assert resolve_source(str(tiny_model_dir), None) == ("hf", tiny_model_dir, None)
    monkeypatch.setattr(text2sql.data, "DEFAULT_ADAPTER_DIR", tmp_path / "absent")
    assert resolve_source(None, None) == ("embedded", None, None)


def test_importing_text2sql_and_the_runtime_modules_loads_no_torch():
    code = (
        "import sys, text2sql, text2sql.pipeline, text2sql.generate, text2sql.model, "
        "text2sql.cli_model, text2sql.cache; "
        "print(sorted(m for m in ('torch', 'transformers', 'peft') if m in sys.modules))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
