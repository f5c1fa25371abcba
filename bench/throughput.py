"""Evaluation throughput: questions per second of ``text2sql eval`` at several batch sizes,
on the same stride sample of Spider dev, with EX and how many answers equal the
one-by-one (batch 1) answers. Prints a Markdown table and writes JSON.

    python bench/throughput.py [--questions 64] [--batch-sizes 1 4 8 16] [--adapter none] [--out bench/results/throughput.json]

Like bench/latency.py it refuses to measure when the load average is above 0.5 unless --force.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

from idle import add_force_flag, busy, publish  # bench/idle.py (the script's own folder is on sys.path)

from text2sql.model import cpu_info, describe_cpu

ROOT = Path(__file__).resolve().parents[1]
SPIDER = ROOT.parent / "shared" / "data" / "spider"


def measure(questions: int, batch_sizes: list[int], model, adapter, precision: str, data: Path) -> dict:
    from text2sql.finetune.evaluate import evaluate, load_spider
    from text2sql.pipeline import Assistant

    examples, _ = load_spider(data, "dev")
    stride = len(examples) / questions
    examples = [examples[int(i * stride)] for i in range(questions)]
    assistant = Assistant(model=model, adapter=adapter, precision=precision)
    assistant.load(progress=False)
    evaluate(examples[:2], assistant, progress=False)  # warm-up: kernels, schema cache
    rows, reference = [], None
    for size in batch_sizes:
        report = evaluate(examples, assistant, progress=False, batch_size=size)
        preds = [o.pred for o in report.outcomes]
        reference = preds if reference is None else reference
        s = report.summary()
        rows.append({"batch_size": size, "questions": s["evaluated"], "wall_s": s["wall_s"],
                     "questions_per_s": s["questions_per_s"], "ex": s["ex"],
                     "same_as_first": sum(a == b for a, b in zip(preds, reference))})
    return {"model": assistant.model_name, "precision": assistant.backend.loaded.info.precision, "rows": rows}


def table(report: dict) -> str:
    first = report["rows"][0]["batch_size"] if report["rows"] else 1
    lines = [f"| batch size | questions | wall s | questions/s | EX % | answers equal to batch {first} |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['batch_size']} | {r['questions']} | {r['wall_s']} | {r['questions_per_s']} | {r['ex']} | "
              f"{r['same_as_first']}/{r['questions']} |" for r in report["rows"]]
    m = report["machine"]
    lines.append(f"\n{report['model']} ({report['precision']}); {m['cpus']} CPUs, load average "
                 f"{m['load_average_at_start']} at start" + (" (forced)" if m["forced"] else "") + f"; {m['platform']}"
                 + (f"; {describe_cpu(m)}" if "cpu" in m else ""))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=64)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 8, 16])
    parser.add_argument("--model")
    parser.add_argument("--adapter")
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--data", type=Path, default=SPIDER)
    add_force_flag(parser)
    parser.add_argument("--out", default="bench/results/throughput.json")
    args = parser.parse_args(argv)
    load = busy(args.force)
    if load is None:
        return 2
    report = measure(args.questions, args.batch_sizes, args.model, args.adapter, args.precision, args.data)
    report["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(),
                         "load_average_at_start": round(load, 2), "forced": args.force, **cpu_info()}
    return publish(report, args.out, table)


if __name__ == "__main__":
    sys.exit(main())
