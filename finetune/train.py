"""LoRA / QLoRA training with the Hugging Face ``Trainer`` (so ``accelerate launch`` works
unchanged on a multi-GPU box), resumable from its checkpoints.

What is specific to text2sql:

- Examples are ``prompt.render_training_example`` pairs: the model trains on exactly the
  prompt it sees at inference, and the loss covers only the SQL.
- ``sql_token_loss`` runs the head only on the positions that predict SQL tokens: Gemma
  3's tied 262k-row head is 168M of its 268M parameters, and logits for every prompt
  (or padding) position would dominate a CPU step.
- Batches are length-bucketed (``group_by_length``) to waste little on padding; or, with
  ``shared_prefix``, a batch is a group of questions on one database whose schema prompt
  runs once (``finetune/shared_prefix.py``).
- ``metrics.jsonl`` gets one line per optimizer step; a resumed run first drops the lines
  after its checkpoint, so no step is repeated or skipped. At the end: the adapter in bf16
  (``save_pretrained``), a loss-curve PNG and a model card.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from text2sql.finetune.config import TrainConfig

METRICS = "metrics.jsonl"
EMBEDDED_BASE = "google/gemma-3-270m"  # what the embedded GGUF was quantized from (the card says so too)


def tokenize_examples(examples, tokenizer, max_length: int) -> tuple[list[dict], int]:
    """[{input_ids, prompt_len}], number dropped for length. BOS + prompt, then the SQL."""
    from text2sql.prompt import render_training_example
    from text2sql.schema import SchemaCache

    schemas = SchemaCache()
    rows, dropped = [], 0
    for ex in examples:
        schema = schemas.get(f"sqlite:///{ex.db_path}")
        prompt, target = render_training_example(schema, ex.question, ex.sql)
        p_ids = tokenizer(prompt, add_special_tokens=True).input_ids
        t_ids = tokenizer(target, add_special_tokens=False).input_ids
        if len(p_ids) + len(t_ids) > max_length:
            dropped += 1
            continue
        rows.append({"input_ids": p_ids + t_ids, "prompt_len": len(p_ids), "db": str(ex.db_path)})
    return rows, dropped


class Collator:
    """Right-pads a batch; labels are -100 on the prompt and the padding."""

    def __init__(self, pad_id: int):
        self.pad_id = pad_id

    def __call__(self, rows):
        import torch

        width = max(len(r["input_ids"]) for r in rows)
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        labels = torch.full((len(rows), width), -100, dtype=torch.long)
        for i, r in enumerate(rows):
            n = len(r["input_ids"])
            ids[i, :n] = torch.tensor(r["input_ids"])
            mask[i, :n] = 1
            labels[i, r["prompt_len"] : n] = ids[i, r["prompt_len"] : n]
        return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def base_model(model):
    """The transformers model under a peft wrapper (or the model itself)."""
    return model.get_base_model() if hasattr(model, "get_base_model") else model


def sql_token_loss(model, input_ids, attention_mask, labels, **forward):
    """Cross-entropy over the SQL tokens (labels != -100): the decoder runs on every
    position, the tied 262k-row head only on the positions that predict a SQL token (not
    on the prompt's or the padding's). ``forward`` goes to the decoder (a KV cache)."""
    import torch.nn.functional as F

    base = base_model(model)
    hidden = base.get_decoder()(input_ids=input_ids, attention_mask=attention_mask, **forward).last_hidden_state
    targets = labels[:, 1:]  # position p predicts token p + 1
    wanted = targets != -100
    logits = base.get_output_embeddings()(hidden[:, :-1][wanted])
    cap = getattr(base.config, "final_logit_softcapping", None)
    if cap:
        logits = (logits / cap).tanh() * cap
    return F.cross_entropy(logits.float(), targets[wanted])


def sql_only_loss(model, inputs):
    """The loss of a plain (right-padded) batch."""
    return sql_token_loss(model, inputs["input_ids"], inputs["attention_mask"], inputs["labels"])


def _trainer_classes():
    from transformers import Trainer, TrainerCallback

    class SQLOnlyTrainer(Trainer):
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            if "prefix" in inputs:
                from text2sql.finetune.shared_prefix import shared_prefix_loss

                loss = shared_prefix_loss(model, inputs)
            else:
                loss = sql_only_loss(model, inputs)
            return (loss, None) if return_outputs else loss

    class MetricsWriter(TrainerCallback):
        def __init__(self, path: Path):
            self.path = path

        def on_log(self, args, state, control, logs=None, **kwargs):
            if logs and "loss" in logs and state.is_world_process_zero:
                row = {"step": state.global_step, "loss": logs["loss"], "learning_rate": logs.get("learning_rate"),
                       "epoch": logs.get("epoch"), "time": round(time.time(), 3)}
                with self.path.open("a") as f:
                    f.write(json.dumps(row) + "\n")

    return SQLOnlyTrainer, MetricsWriter


def last_checkpoint(output_dir: Path) -> Path | None:
    """The newest complete checkpoint. The Trainer writes ``trainer_state.json`` last, so a
    run killed while saving leaves a folder without it: skipped, the one before is used."""
    ckpts = sorted((p for p in output_dir.glob("checkpoint-*") if (p / "trainer_state.json").is_file()),
                   key=lambda p: int(p.name.split("-")[1]))
    return ckpts[-1] if ckpts else None


def _trim_metrics(path: Path, upto_step: int) -> None:
    if path.exists():
        rows = [line for line in path.read_text().splitlines() if line and json.loads(line)["step"] <= upto_step]
        path.write_text("".join(r + "\n" for r in rows))


def load_base(cfg: TrainConfig):
    """(model with LoRA attached, tokenizer) for the config."""
    import torch
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    from text2sql.model import load_model

    precision = "nf4" if cfg.quantization == "nf4" else "fp32"
    loaded = load_model(model=cfg.model, adapter="none", precision=precision,
                        device="cuda" if torch.cuda.is_available() else "cpu", progress=True)
    model, tokenizer = loaded.model, loaded.tokenizer
    if cfg.quantization == "nf4":
        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    if cfg.init_adapter:  # continue training an adapter (its own r, alpha and targets apply; lora_dropout is ours)
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, cfg.init_adapter, is_trainable=True)
        _set_lora_dropout(model, cfg.lora_dropout)
    else:
        lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                          target_modules=cfg.target_modules, task_type="CAUSAL_LM")
        model = get_peft_model(model, lora)
    if cfg.bf16 and cfg.quantization == "none":
        # Autocast would cast every frozen weight to bf16 again at every matmul (a fifth of a
        # CPU step, the 262k-row head included); cast them once. The LoRA weights stay fp32.
        for param in model.parameters():
            if not param.requires_grad:
                param.data = param.data.to(torch.bfloat16)
    return model, tokenizer, loaded.info


def _set_lora_dropout(model, p: float) -> None:
    """Every LoRA layer's dropout to ``p`` (identity at 0: CPU dropout masks cost ~10 % of a step)."""
    import torch

    for module in model.modules():
        dropouts = getattr(module, "lora_dropout", None)
        if isinstance(dropouts, torch.nn.ModuleDict):
            for name in list(dropouts.keys()):
                dropouts[name] = torch.nn.Dropout(p) if p > 0 else torch.nn.Identity()


def train(cfg: TrainConfig, examples=None) -> Path:
    """Train (or resume) and write the adapter, metrics, loss curve and model card to
    ``cfg.output_dir``; returns the adapter directory."""
    import random

    import torch
    from transformers import TrainingArguments, set_seed

    from text2sql.finetune.data import load_for_config, split_by_database

    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    set_seed(cfg.seed)
    report = None
    if examples is None:
        examples, report = load_for_config(cfg, workdir=out / "contexts")
        examples, _ = split_by_database(examples, cfg.heldout_databases, seed=cfg.seed)
    if cfg.data_fraction < 1:
        examples = random.Random(cfg.seed).sample(examples, max(1, int(len(examples) * cfg.data_fraction)))
    if cfg.max_examples:
        examples = examples[: cfg.max_examples]
    model, tokenizer, info = load_base(cfg)
    rows, too_long = tokenize_examples(examples, tokenizer, cfg.max_length)
    if not rows:
        from text2sql.errors import ConfigError

        raise ConfigError("no training examples left (all filtered, or longer than max_length)")
    (out / "data_report.json").write_text(json.dumps({
        "examples": len(rows), "dropped_too_long": too_long,
        "cleaning": report.to_dict() if report else None,
        "tokens": sum(len(r["input_ids"]) for r in rows),
        "sql_tokens": sum(len(r["input_ids"]) - r["prompt_len"] for r in rows)}, indent=1))
    from text2sql.finetune.sitting import seed, write_config

    resume = last_checkpoint(out)
    if resume is None and cfg.resume_from:  # a run packed at the end of an earlier sitting
        resume = seed(out, cfg)
    write_config(out, cfg)
    metrics = out / METRICS
    if resume is not None:
        _trim_metrics(metrics, int(resume.name.split("-")[1]))
    else:
        metrics.unlink(missing_ok=True)
    for r in rows:
        r["length"] = len(r["input_ids"])
    dataset, collator, per_device = rows, Collator(tokenizer.pad_token_id or 0), cfg.batch_size
    if cfg.shared_prefix:  # a batch = up to batch_size questions on one database, its schema run once
        from text2sql.finetune.shared_prefix import GroupCollator, group_rows

        dataset, per_device = group_rows(rows, cfg.batch_size, cfg.seed), 1
        collator = GroupCollator(tokenizer.pad_token_id or 0)
    examples_per_step = len(rows) / len(dataset) * per_device * cfg.grad_accum
    SQLOnlyTrainer, MetricsWriter = _trainer_classes()
    args = TrainingArguments(
        output_dir=str(out), per_device_train_batch_size=per_device, gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate, num_train_epochs=cfg.epochs, max_steps=cfg.max_steps,
        warmup_steps=cfg.warmup_ratio,  # a float in [0, 1) is a ratio in transformers 5
        weight_decay=cfg.weight_decay, lr_scheduler_type="cosine",
        logging_steps=cfg.logging_steps, save_steps=cfg.save_steps, save_total_limit=cfg.save_total_limit,
        seed=cfg.seed, data_seed=cfg.seed, bf16=cfg.bf16, use_cpu=not torch.cuda.is_available(),
        train_sampling_strategy="random" if cfg.shared_prefix else "group_by_length", length_column_name="length",
        remove_unused_columns=False, report_to=[],
        dataloader_num_workers=0, disable_tqdm=False,
    )
    trainer = SQLOnlyTrainer(model=model, args=args, train_dataset=dataset, data_collator=collator,
                             callbacks=[MetricsWriter(metrics)])
    started = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    elapsed = time.perf_counter() - started
    adapter_dir = out / "adapter"
    save_adapter(trainer.model, adapter_dir, base=cfg.model or EMBEDDED_BASE)
    # Examples and tokens trained in THIS run (a resumed run counts only its own steps),
    # from the means: steps x examples per step (x mean tokens per example). Tokens are
    # the examples' full lengths, whether or not a shared prefix ran once for several.
    steps_here = result.global_step - (int(resume.name.split("-")[1]) if resume else 0)
    mean_len = sum(r["length"] for r in rows) / len(rows)
    examples = steps_here * examples_per_step
    summary = {"train_runtime_s": round(elapsed, 1), "global_step": result.global_step, "steps_this_run": steps_here,
               "train_loss": result.training_loss, "shared_prefix": cfg.shared_prefix,
               "examples_per_s": round(examples / elapsed, 3) if elapsed else None,
               "tokens_per_s": round(examples * mean_len / elapsed, 1) if elapsed else None,
               "resumed_from": str(resume) if resume else None}
    summary.update(_whole_run(metrics, examples_per_step))
    (out / "train_summary.json").write_text(json.dumps(summary, indent=1))
    from text2sql.finetune.card import loss_curve, write_model_card

    loss_curve(metrics, out / "loss.png")
    write_model_card(adapter_dir, cfg, info, summary, json.loads((out / "data_report.json").read_text()))
    return adapter_dir


def _whole_run(metrics: Path, examples_per_step: int) -> dict:
    """Training time and examples/s over every step in ``metrics.jsonl``, resumed sittings
    included: the sum of the gaps between consecutive steps, leaving out any gap over 20
    times the median one (a machine that ended and a sitting days later, a paused job; the
    step after each such gap goes uncounted with it). ``pauses_left_out`` counts them."""
    try:
        times = [json.loads(line)["time"] for line in metrics.read_text().splitlines() if line.strip()]
    except (OSError, ValueError, KeyError):
        return {}
    gaps = [b - a for a, b in zip(times, times[1:])]
    if not gaps:
        return {}
    limit = 20 * sorted(gaps)[len(gaps) // 2]
    kept = [g for g in gaps if g <= limit]
    wall = sum(kept)
    return {"all_steps_wall_s": round(wall, 1), "pauses_left_out": len(gaps) - len(kept),
            "all_steps_examples_per_s": round(len(kept) * examples_per_step / wall, 3) if wall > 0 else None}


def save_adapter(model, adapter_dir: Path, base: str | None = None) -> None:
    """The LoRA weights only, in bf16 (a few MB); no embedding or head is saved. ``base``
    names the base model in adapter_config.json (the Hub id of the embedded model rather
    than the path of a local cache)."""
    import torch

    if base is not None:
        for config in model.peft_config.values():
            config.base_model_name_or_path = str(base)
    for name, param in model.named_parameters():
        if "lora_" in name:
            param.data = param.data.to(torch.bfloat16)
    model.save_pretrained(str(adapter_dir), safe_serialization=True)
