"""The rows of a model's output head for some token ids, scored as the whole head scores them.

The restricted output vocabulary (``text2sql.output_vocab``) multiplies only the rows of
the allowed tokens. Its greedy choice equals the full head's whenever the model's best
token is allowed only if those rows are computed exactly as the full head computes them,
in every precision:

* a float head (fp32, bf16): its own rows;
* ``w8a16`` (``int8_linear.Int8WeightLinear``): its int8 rows and scales through the same
  weight-only kernel for decode-sized inputs, its bf16 rows for a prefill, as the layer does;
* ``int8`` (a torch.ao dynamic quantized ``Linear``): a dynamic quantized ``Linear`` made of
  its quantized rows (the activations quantize the same way, so the logits are the same);
* any other quantized head (bitsandbytes on a GPU): the float rows of the embedding it is
  tied to, which round differently.
"""

from __future__ import annotations


class Rows:
    """Float rows ``weight[index]`` (and bias): ``__call__(hidden)`` gives their logits."""

    def __init__(self, index, rows, bias):
        self.index, self.rows, self.bias = index, rows, bias

    def __call__(self, hidden):
        import torch

        return torch.nn.functional.linear(hidden.to(self.rows.dtype), self.rows, self.bias)


class Int8Rows(Rows):
    """Rows of a weight-only int8 head: decode steps use its int8 kernel, prefills bf16."""

    def __init__(self, index, rows, bias, int8_rows, scales):
        super().__init__(index, rows, bias)
        self.int8_rows, self.scales = int8_rows, scales

    def __call__(self, hidden):
        import torch

        from text2sql.int8_linear import DECODE_ROWS

        width = hidden.shape[-1]
        count = hidden.numel() // width
        if count > DECODE_ROWS:
            return super().__call__(hidden)
        flat = hidden.reshape(count, width).to(torch.bfloat16).contiguous()
        out = torch.ops.aten._weight_int8pack_mm(flat, self.int8_rows, self.scales)
        if self.bias is not None:
            out = out + self.bias
        return out.reshape(*hidden.shape[:-1], out.shape[-1])


class DynamicQuantRows:
    """Rows of a torch.ao dynamic quantized head, as a dynamic quantized Linear of their own.
    ``parts`` is the head unpacked once (``unpack_dynamic``): unpacking its 262k packed rows
    takes seconds on a CPU, and every generation with the restricted vocabulary needs rows."""

    def __init__(self, index, head, parts):
        import torch
        from torch.ao.nn.quantized.dynamic import Linear

        ints, scales, zero_points, bias = parts
        if scales is not None:
            rows = torch._make_per_channel_quantized_tensor(
                ints.index_select(0, index), scales.index_select(0, index), zero_points.index_select(0, index), 0)
        else:
            rows = torch._make_per_tensor_quantized_tensor(ints.index_select(0, index), *zero_points)
        self.index = index
        self.module = Linear(head.in_features, len(index), dtype=torch.qint8)
        self.module.set_weight_bias(rows, None if bias is None else bias.index_select(0, index))

    def __call__(self, hidden):
        return self.module(hidden.float())


def unpack_dynamic(head):
    """(int8 rows, per-row scales, per-row zero points, bias) of a dynamic quantized head;
    for a per-tensor head, scales is None and zero points is (scale, zero point)."""
    import torch

    weight, bias = head.weight(), head.bias()
    if weight.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
        return weight.int_repr(), weight.q_per_channel_scales(), weight.q_per_channel_zero_points(), bias
    return weight.int_repr(), None, (weight.q_scale(), weight.q_zero_point()), bias


def gatherer(model):
    """(vocabulary size, ``gather(ids) -> rows``) for ``model``'s output head; ids beyond
    the head's rows are dropped."""
    import torch
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    from text2sql.int8_linear import Int8WeightLinear

    head = model.get_output_embeddings()

    def index_of(ids, size, device):
        return torch.tensor([i for i in ids if i < size], dtype=torch.long, device=device)

    if isinstance(head, DynamicLinear):
        size, parts = head.out_features, unpack_dynamic(head)  # once per model (seconds), not per generation
        return size, lambda ids: DynamicQuantRows(index_of(ids, size, "cpu"), head, parts)
    if isinstance(head, Int8WeightLinear):
        def int8(ids):
            index = index_of(ids, head.out_features, head.weight.device)
            pick = [None if t is None else t.index_select(0, index) for t in (head.dense, head.bias, head.weight, head.scale)]
            return Int8Rows(index, *pick)
        return head.out_features, int8
    weight, bias = float_weight(model)

    def dense(ids):
        index = index_of(ids, weight.shape[0], weight.device)
        return Rows(index, weight.index_select(0, index), None if bias is None else bias.index_select(0, index))
    return weight.shape[0], dense


def float_weight(model):
    """(weight, bias) of ``model``'s output head as float tensors: its own weight, or, for a
    quantized head (bitsandbytes), the input embedding it is tied to."""
    import torch

    head = model.get_output_embeddings()
    weight, bias = getattr(head, "weight", None), getattr(head, "bias", None)
    if isinstance(weight, torch.Tensor) and weight.is_floating_point():
        return weight, bias
    config = getattr(model.config, "text_config", None) or model.config
    if getattr(model.config, "tie_word_embeddings", False) or getattr(config, "tie_word_embeddings", False):
        return model.get_input_embeddings().weight, bias
    raise TypeError(f"cannot read the rows of output head {type(head).__name__}")
