"""Shared-schema-prefix batches: train on several questions about one database while
running the schema part of the prompt through the model once.

Every training prompt is ``dialect + CREATE TABLEs`` (identical for all questions on a
database, ~90 % of the tokens) followed by the question and the SQL. A plain batch runs
that schema through the model once per example. Here a batch is a *group*: examples on
the same database. The group's common token prefix runs once (batch 1) into a KV cache,
the cache is expanded (a view, no copy) to the group's size, and the question + SQL
suffixes run on top of it. Autograd flows back through the expanded cache into the
prefix, so the loss and the gradients equal those of the plain batch
(``tests/finetune/test_shared_prefix.py`` checks both, sliding-window layers included),
for a fraction of the tokens.
"""

from __future__ import annotations

import os
import random
from collections import defaultdict


def group_rows(rows, group_size: int, seed: int) -> list[dict]:
    """Rows (``input_ids``, ``prompt_len``, ``db``) -> groups of up to ``group_size`` rows
    on one database, of similar lengths (the suffixes are padded to the group's longest:
    sorting by length halves that waste; ties are broken by a shuffle with ``seed``; the
    Trainer shuffles the groups). Each group holds the
    shared ``prefix`` and per-example ``suffixes`` (what follows it, at least the last
    prompt token, so that the first SQL token is predicted inside the suffix pass) with
    their ``prompt_lens`` counted inside the suffix."""
    by_db: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_db[str(r["db"])].append(r)
    rng = random.Random(seed)
    groups = []
    for db in sorted(by_db):
        members = by_db[db]
        rng.shuffle(members)
        members.sort(key=lambda r: len(r["input_ids"]))
        for start in range(0, len(members), group_size):
            chunk = members[start : start + group_size]
            common = len(os.path.commonprefix([r["input_ids"] for r in chunk]))  # element-wise, lists too
            cut = min(common, min(r["prompt_len"] for r in chunk) - 1)
            cut = max(cut, 0)
            suffixes = [r["input_ids"][cut:] for r in chunk]
            groups.append({"prefix": chunk[0]["input_ids"][:cut], "suffixes": suffixes,
                           "prompt_lens": [r["prompt_len"] - cut for r in chunk],
                           "examples": len(chunk), "length": cut + sum(len(s) for s in suffixes)})
    return groups


class GroupCollator:
    """One group per batch: the prefix ``[1, L]``; suffixes right-padded ``[k, S]``; the
    attention mask ``[k, L + S]``; labels ``-100`` on prompt and padding."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, batch):
        import torch

        if len(batch) != 1:
            raise ValueError("shared-prefix training takes one group per batch (per_device_train_batch_size=1)")
        group = batch[0]
        suffixes, plens = group["suffixes"], group["prompt_lens"]
        k, width, prefix_len = len(suffixes), max(len(s) for s in suffixes), len(group["prefix"])
        ids = torch.full((k, width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((k, prefix_len + width), dtype=torch.long)
        mask[:, :prefix_len] = 1
        labels = torch.full((k, width), -100, dtype=torch.long)
        for i, (s, p) in enumerate(zip(suffixes, plens)):
            ids[i, : len(s)] = torch.tensor(s)
            mask[i, prefix_len : prefix_len + len(s)] = 1
            labels[i, p : len(s)] = ids[i, p : len(s)]
        return {"prefix": torch.tensor([group["prefix"]], dtype=torch.long), "input_ids": ids,
                "attention_mask": mask, "labels": labels}


def shared_prefix_loss(model, inputs):
    """Cross-entropy over a group's SQL tokens: the prefix once, the suffixes on its cache."""
    from transformers.cache_utils import DynamicCache

    from text2sql.finetune.train import base_model, sql_token_loss
    from text2sql.generate import kv_cache_kwargs

    ids = inputs["input_ids"]
    cache = DynamicCache(config=model.config)
    if inputs["prefix"].shape[1]:
        base_model(model).get_decoder()(input_ids=inputs["prefix"], use_cache=True, **kv_cache_kwargs(cache))
        for layer in cache.layers:  # one prefix for the k suffixes: a view; gradients add up
            layer.keys = layer.keys.expand(ids.shape[0], -1, -1, -1)
            layer.values = layer.values.expand(ids.shape[0], -1, -1, -1)
    return sql_token_loss(model, ids, inputs["attention_mask"], inputs["labels"], use_cache=True, **kv_cache_kwargs(cache))
