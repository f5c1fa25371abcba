"""Weight-only int8 linear layers for CPU decoding (precision ``w8a16``).

Decoding one token multiplies one activation row by every weight matrix (a GEMV), so its
speed is how fast the weights stream from memory. In bf16 the 126 GEMVs of Gemma 3 270M ran
at 6-15 GB/s on the 2-core dev machine; ``torch.ops.aten._weight_int8pack_mm`` (int8
weights with one bf16 scale per output row, bf16 activations) reads half the bytes and ran
a 640 x 2048 GEMV ~5x faster there. Activations stay in bf16: quantizing them too
(torch dynamic int8) turned Gemma's output into garbage, because of activation outliers.

The same kernel is several times *slower* than the bf16 GEMM for many rows (a prompt
prefill), so each layer keeps its bf16 weight for inputs of more than ``DECODE_ROWS`` rows
(a prompt, a long question) and uses the int8 copy for decoding (one row per sequence).
The bf16 copy is a plain attribute, not a parameter: a decode step never reads it.

The kernel needs the input width to be a multiple of 16 (other widths crashed or returned
NaN here); layers of other widths stay bf16 ``Linear``.
"""

from __future__ import annotations

import torch
from torch import nn

DECODE_ROWS = 16  # at most this many input rows go through the int8 kernel
_WIDTH_MULTIPLE = 16
_CHUNK_ROWS = 8192  # rows quantized at a time (bounds the fp32 temporaries)


def available() -> bool:
    """Whether this torch has the CPU weight-only int8 kernel (a tiny call that must work)."""
    op = getattr(torch.ops.aten, "_weight_int8pack_mm", None)
    if op is None:
        return False
    try:
        x = torch.ones(1, 16, dtype=torch.bfloat16)
        out = op(x, torch.ones(8, 16, dtype=torch.int8), torch.ones(8, dtype=torch.bfloat16))
    except Exception:  # noqa: BLE001 - missing kernel for this CPU / build
        return False
    return bool(torch.all(out == 16))


def quantize_rows(weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-row int8: (int8 weight, bf16 scale per row), weight ~= q * scale.
    Works through ``_CHUNK_ROWS`` rows at a time: the fp32 temporaries of the whole 262k-row
    head at once raised the peak memory of a w8a16 load by about a gigabyte."""
    weight = weight.detach()
    q = torch.empty(weight.shape, dtype=torch.int8)
    scale = torch.empty(weight.shape[0], dtype=torch.float32)
    for start in range(0, weight.shape[0], _CHUNK_ROWS):
        w = weight[start:start + _CHUNK_ROWS].float()
        s = w.abs().amax(dim=1).clamp(min=1e-12) / 127.0
        q[start:start + _CHUNK_ROWS] = torch.round(w / s[:, None]).clamp(-127, 127)
        scale[start:start + _CHUNK_ROWS] = s
    return q, scale.to(torch.bfloat16)


class Int8WeightLinear(nn.Module):
    """``y = x @ W.T + b`` with W stored as int8 rows and bf16 scales (see the module docstring)."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, dense: torch.Tensor | None = None):
        super().__init__()
        q, scale = quantize_rows(weight)
        self.in_features, self.out_features = weight.shape[1], weight.shape[0]
        self.register_buffer("weight", q)
        self.register_buffer("scale", scale)
        self.bias = None if bias is None else nn.Parameter(bias.detach().to(torch.bfloat16), requires_grad=False)
        # bf16 weight for many-row inputs; not in the state dict (a decode step never reads it)
        self.dense = (weight if dense is None else dense).detach().to(torch.bfloat16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows = x.numel() // self.in_features
        if rows > DECODE_ROWS:
            return nn.functional.linear(x.to(torch.bfloat16), self.dense, self.bias)
        flat = x.reshape(rows, self.in_features).to(torch.bfloat16).contiguous()
        out = torch.ops.aten._weight_int8pack_mm(flat, self.weight, self.scale)
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8 weights, bf16 activations"


def supported(linear: nn.Module) -> bool:
    return isinstance(linear, nn.Linear) and linear.in_features % _WIDTH_MULTIPLE == 0


def quantize_model(model: nn.Module, head_name: str | None = None) -> int:
    """Replace every supported ``nn.Linear`` of a bf16 ``model`` in place, the output head
    ``head_name`` included: a head tied to the input embedding gets its own int8 copy (the
    embedding stays bf16 for lookups and serves as the head's many-row weight). Returns how
    many layers were replaced."""
    embedding = model.get_input_embeddings()
    replaced = 0
    for name, module in list(model.named_modules()):
        if not supported(module):
            continue
        dense = None
        if name == head_name and embedding is not None and module.weight is embedding.weight:
            dense = embedding.weight  # tied: no second bf16 copy
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(parent, attr, Int8WeightLinear(module.weight, module.bias, dense))
        replaced += 1
    return replaced
