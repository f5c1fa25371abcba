"""Shared-schema-prefix training computes the same loss and gradients as plain batches."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from text2sql.finetune.shared_prefix import GroupCollator, group_rows, shared_prefix_loss  # noqa: E402
from text2sql.finetune.train import Collator, sql_only_loss  # noqa: E402

VOCAB = 300


def tiny_lora_gemma(attn: str):
    """A random 4-layer Gemma 3 whose sliding window (8) is shorter than the shared prefix."""
    from peft import LoraConfig, get_peft_model
    from transformers import Gemma3ForCausalLM, Gemma3TextConfig

    torch.manual_seed(0)
    cfg = Gemma3TextConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=4,
                           num_attention_heads=4, num_key_value_heads=1, head_dim=16, sliding_window=8,
                           layer_types=["sliding_attention"] * 3 + ["full_attention"], max_position_embeddings=256)
    cfg._attn_implementation = attn
    model = get_peft_model(Gemma3ForCausalLM(cfg), LoraConfig(r=4, lora_alpha=8, target_modules="all-linear",
                                                              lora_dropout=0.0))
    for name, param in model.named_parameters():
        if "lora_B" in name:  # non-zero B, so that the LoRA path shapes the loss and gets gradients
            torch.nn.init.normal_(param, std=0.05)
    return model.eval()


def rows_for(db: str, schema: list[int], questions: list[tuple[list[int], list[int]]]) -> list[dict]:
    return [{"input_ids": schema + q + sql, "prompt_len": len(schema) + len(q), "db": db} for q, sql in questions]


def make_rows():
    g = torch.Generator().manual_seed(1)

    def ids(n):
        return torch.randint(5, VOCAB, (n,), generator=g).tolist()

    a = rows_for("a.sqlite", ids(21), [(ids(3), ids(6)), (ids(2), ids(2)), (ids(5), ids(9))])
    b = rows_for("b.sqlite", ids(13), [(ids(4), ids(3)), (ids(1), ids(7))])
    return a + b


def grads(model) -> dict:
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}


@pytest.mark.parametrize("attn", ["eager", "sdpa"])
def test_shared_prefix_loss_and_gradients_equal_the_plain_batch(attn):
    model = tiny_lora_gemma(attn)
    rows = make_rows()
    for group in group_rows(rows, group_size=3, seed=0):
        members = [{"input_ids": group["prefix"] + s, "prompt_len": len(group["prefix"]) + p}
                   for s, p in zip(group["suffixes"], group["prompt_lens"])]
        model.zero_grad()
        plain = sql_only_loss(model, Collator(0)(members))
        plain.backward()
        want = grads(model)
        model.zero_grad()
        shared = shared_prefix_loss(model, GroupCollator(0)([group]))
        shared.backward()
        got = grads(model)
        assert shared.item() == pytest.approx(plain.item(), rel=1e-5)
        for name, g in want.items():
            assert torch.allclose(got[name], g, rtol=1e-3, atol=1e-6), name


def test_groups_hold_each_example_once_on_one_database_with_the_schema_as_prefix():
    rows = make_rows()
    groups = group_rows(rows, group_size=2, seed=7)
    assert [g["examples"] for g in groups] == [2, 1, 2]  # a: 3 questions -> 2 + 1; b: 2
    rebuilt = sorted(tuple(g["prefix"] + s) for g in groups for s in g["suffixes"])
    assert rebuilt == sorted(tuple(r["input_ids"]) for r in rows)
    full = [g for g in groups if g["examples"] == 2]
    assert {len(g["prefix"]) for g in full} == {21, 13}  # the whole schema runs once
    for g in groups:  # the last prompt token stays in the suffix: the first SQL token is predicted there
        assert all(p >= 1 for p in g["prompt_lens"])
    assert group_rows(rows, 2, seed=7) == groups  # a resumed run sees the same groups


def test_a_group_of_one_still_trains_on_its_sql_only():
    rows = make_rows()[:1]
    (group,) = group_rows(rows, group_size=4, seed=0)
    batch = GroupCollator(0)([group])
    sql = rows[0]["input_ids"][rows[0]["prompt_len"] :]
    labels = batch["labels"][0]
    assert labels[labels != -100].tolist() == sql


def test_the_sql_token_loss_is_the_cross_entropy_of_the_full_logits_on_the_sql():
    import torch.nn.functional as F

    model = tiny_lora_gemma("sdpa")
    batch = Collator(0)(make_rows())
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    want = F.cross_entropy(logits[:, :-1].reshape(-1, VOCAB), batch["labels"][:, 1:].reshape(-1), ignore_index=-100)
    assert sql_only_loss(model, batch).item() == pytest.approx(want.item(), rel=1e-5)
