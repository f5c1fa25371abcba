"""``text2sql finetune {prepare,train,pack,merge,sweep}`` and ``text2sql eval``.

Forwarded here by the main CLI only when invoked, so ``text2sql --help`` never imports
torch or transformers. Errors are ``Text2SQLError``s, printed by the main CLI."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _prepare(args) -> int:
    from text2sql.finetune.config import load_config
    from text2sql.finetune.data import load_for_config, split_by_database

    cfg = load_config(args.config, args.overrides)
    examples, report = load_for_config(cfg, workdir=Path(cfg.output_dir) / "contexts")
    train, heldout = split_by_database(examples, cfg.heldout_databases, seed=cfg.seed)
    summary = {"cleaning": report.to_dict(), "train_examples": len(train), "train_databases": len({e.db_id for e in train}),
               "heldout_examples": len(heldout), "heldout_databases": sorted({e.db_id for e in heldout}),
               "excluded_databases": list(cfg.exclude_databases)}
    print(json.dumps(summary, indent=1))
    return 0


def _train(args) -> int:
    from text2sql.finetune.config import load_config
    from text2sql.finetune.train import train

    adapter = train(load_config(args.config, args.overrides))
    print(f"adapter written to {adapter}")
    return 0


def _merge(args) -> int:
    from text2sql.finetune.merge import merge

    print(f"merged model written to {merge(args.run, args.out, model=args.model, gguf=args.gguf, gguf_type=args.gguf_type)}")
    return 0


def _pack(args) -> int:
    from text2sql.finetune.sitting import pack, size_mb

    folder = pack(args.run, args.dest, max_mb=args.max_mb)
    print(f"packed {folder} ({size_mb(folder.parent):.1f} MB); commit it, and continue with resume_from={args.dest}")
    return 0


def _sweep(args) -> int:
    from text2sql.finetune.sweep import run_sweep

    print(f"sweep table written to {run_sweep(args.config, args.overrides)}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="text2sql finetune", description="fine-tune the text2sql model (LoRA/QLoRA)")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func, help_text in (("prepare", _prepare, "load, clean and split the data; print a report"),
                                  ("train", _train, "train (resumes from the last checkpoint in output_dir)"),
                                  ("sweep", _sweep, "a grid of short runs scored on held-out train databases")):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("config", help="a YAML config (see finetune/configs/)")
        p.add_argument("overrides", nargs="*", metavar="key=value", help="override config values")
        p.set_defaults(func=func)
    p = sub.add_parser("pack", help="pack a run's last checkpoint (bf16) to commit and resume in a later sitting")
    p.add_argument("run", help="a training output dir")
    p.add_argument("dest", help="the folder to write (replaced), e.g. finetune/checkpoints/r24")
    p.add_argument("--max-mb", type=float, default=40.0, help="refuse a packed checkpoint larger than this (default 40)")
    p.set_defaults(func=_pack)
    p = sub.add_parser("merge", help="merge an adapter into its base model")
    p.add_argument("run", help="a training output dir (or an adapter dir)")
    p.add_argument("out", help="where to write the merged model")
    p.add_argument("--model", help="the base model (default: the embedded Gemma 3 270M)")
    p.add_argument("--gguf", action="store_true", help="also write model.gguf (for llama.cpp, Ollama, LM Studio)")
    p.add_argument("--gguf-type", default="q8_0", choices=["q8_0", "f16"], help="GGUF matrix type (default q8_0)")
    p.set_defaults(func=_merge)
    args = parser.parse_args(argv)
    return args.func(args)


def eval_main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="text2sql eval", description="execution accuracy on Spider-format data")
    parser.add_argument("--data", required=True,
                        help="a Spider-format directory (dev.json, database/) or a JSON questions file")
    parser.add_argument("--split", default=None,
                        help="Spider: the split file (default dev); questions file: the 'split' value to keep (default all)")
    parser.add_argument("--model", help="model dir or .gguf (default: the embedded Gemma 3 270M)")
    parser.add_argument("--adapter", help='adapter dir; "none" for the base model (default: the shipped adapter)')
    from text2sql.config import PRECISIONS

    parser.add_argument("--precision", default="auto", choices=PRECISIONS, help="weights precision (default: auto)")
    parser.add_argument("--limit", type=int, help="evaluate only N questions (a stride sample over the split)")
    parser.add_argument("--n", type=int, default=1, help="candidates per question (>1: execution-guided selection)")
    parser.add_argument("--batch-size", type=int, default=8,
                        help="greedy questions on one database decoded together (1: one by one, with latency columns)")
    parser.add_argument("--timeout", type=float, default=10.0, help="per-query timeout in seconds")
    parser.add_argument("--unconstrained", action="store_true",
                        help="decode freely (setting constrained_decoding=false), for the ablation")
    parser.add_argument("--restricted-vocabulary", action=argparse.BooleanOptionalAction, default=None,
                        help="score only the tokens SQL for the prompt can use (default: the setting "
                             "restricted_vocabulary)")
    parser.add_argument("--out", default="out/eval", help="report directory (report.json, report.md)")
    args = parser.parse_args(argv)
    from text2sql.finetune.evaluate import evaluate, load_questions, load_spider, write_report
    from text2sql.pipeline import Assistant

    questions_file = Path(args.data).is_file()
    split = args.split or ("all" if questions_file else "dev")
    if questions_file:
        examples, skipped = load_questions(args.data, split)
    else:
        examples, skipped = load_spider(args.data, split)
    if args.limit and args.limit < len(examples):
        stride = len(examples) / args.limit
        examples = [examples[int(i * stride)] for i in range(args.limit)]
    from text2sql.config import Settings

    chosen = {} if args.restricted_vocabulary is None else {"restricted_vocabulary": args.restricted_vocabulary}
    settings = Settings(constrained_decoding=not args.unconstrained, **chosen)
    assistant = Assistant(model=args.model, adapter=args.adapter, precision=args.precision, settings=settings)
    backend = assistant.load(progress=True)
    precision = backend.loaded.info.precision if hasattr(backend, "loaded") else args.precision
    report = evaluate(examples, assistant, n=args.n, timeout_s=args.timeout, batch_size=args.batch_size)
    report.skipped = skipped
    report.data = (f"{Path(args.data).name} {split}"
                   + (f" (stride sample of {args.limit})" if args.limit else "")
                   + (f", batches of {args.batch_size}" if args.n == 1 and args.batch_size > 1 else "")
                   + (", unconstrained" if args.unconstrained else ", schema-constrained")
                   + (", restricted vocabulary" if settings.restricted_vocabulary else "")
                   + f", {precision}")
    json_path, md_path = write_report(report, args.out)
    s = report.summary()
    print(f"EX {s['ex']} %  normalized-SQL match {s['normalized_sql_match']} %  "
          f"({s['evaluated']} evaluated, {s['skipped']} skipped)  -> {md_path}")
    return 0
