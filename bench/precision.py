"""Paired accuracy of the CPU decoding configurations, to choose what ``auto`` means: the
same stride sample of Spider dev (>= 300 questions) evaluated with each precision, with and
without the restricted output vocabulary, against fp32 with the full head. Prints a Markdown
table and writes JSON.

    python bench/precision.py [--limit 300] [--configs fp32 int8 bf16 int8+rv bf16+rv] [--reference fp32]
                              [--adapter DIR] [--model DIR] [--reports out/precision] [--out bench/results/precision.json]

``--reference`` names the configuration the others are paired with: fp32 to choose ``auto``,
or e.g. ``--configs w8a16 w8a16+rv --reference w8a16`` to ask what the restricted vocabulary
alone changes. The JSON records the CPU and whether it has native bf16 (bf16 and w8a16 are
several times slower without it, and may round differently).

Each configuration is one ``text2sql eval`` run (``--precision P``, ``+rv`` adds
``--restricted-vocabulary``) whose report lands in ``--reports/<config>/``; an existing
report there is reused, so an interrupted comparison resumes. Single-request speed is
``bench/latency.py``'s business: the seconds per question here are what the batched runs
took (on an otherwise idle machine when the runs were).

``--from NAME=REPORT.json ...`` pairs committed ``text2sql eval`` reports instead of
running anything, e.g. two adapters evaluated the same way on the full dev set:

    python bench/precision.py --from v4=bench/results/eval/adapter-v4-spider-dev-w8a16rv.json \
        r24=bench/results/eval/adapter-spider-dev-w8a16rv.json --reference v4 --out bench/results/precision-adapters.json
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from idle import publish  # bench/idle.py (the script's own folder is on sys.path)

from text2sql.model import cpu_info, describe_cpu

ROOT = Path(__file__).resolve().parents[1]
SPIDER = ROOT.parent / "shared" / "data" / "spider"


def run(config: str, limit: int, adapter: str | None, reports: Path, data: Path, model: str | None = None) -> dict:
    out = reports / config
    if not (out / "report.json").is_file():
        precision, _, flag = config.partition("+")
        cmd = [sys.executable, "-m", "text2sql", "eval", "--data", str(data), "--split", "dev", "--limit", str(limit),
               "--precision", precision, "--out", str(out)]
        cmd += ["--restricted-vocabulary"] if flag == "rv" else ["--no-restricted-vocabulary"]
        cmd += ["--adapter", adapter] if adapter else []
        cmd += ["--model", model] if model else []
        subprocess.run(cmd, check=True)
    return json.loads((out / "report.json").read_text())


def compare(reports: dict[str, dict], reference: str = "fp32") -> list[dict]:
    """One row per configuration: EX, the change against ``reference`` on the same
    questions, and how many answers are the reference's exact SQL."""
    def key(o):
        return o["db_id"], o["question"], o["gold"]

    ref = {key(o): o for o in reports[reference]["outcomes"]}
    rows = []
    for config, report in reports.items():
        pairs = [(o, ref[key(o)]) for o in report["outcomes"] if key(o) in ref]
        n = len(pairs)
        ex = sum(o["ex"] for o, _ in pairs)
        rows.append({"config": config, "questions": n, "ex": round(100 * ex / n, 1) if n else None,
                     "ex_change_points": round(100 * (ex - sum(r["ex"] for _, r in pairs)) / n, 1) if n else None,
                     "same_sql_as_reference": sum(o["pred"] == r["pred"] for o, r in pairs),
                     "gained": sum(o["ex"] and not r["ex"] for o, r in pairs),
                     "lost": sum(r["ex"] and not o["ex"] for o, r in pairs),
                     "seconds_per_question": report["summary"].get("seconds_per_question"),
                     "data": report["summary"].get("data")})
    return rows


def given_reports(parser, pairs: list[str]) -> dict[str, dict]:
    """``NAME=path`` pairs read as eval reports (a parser error names a bad one)."""
    reports = {}
    for pair in pairs:
        name, sep, path = pair.partition("=")
        if not sep or not name:
            parser.error(f"--from takes NAME=REPORT.json (got {pair!r})")
        try:
            reports[name] = json.loads(Path(path).read_text())
            reports[name]["outcomes"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            parser.error(f"--from {pair}: not a text2sql eval report.json ({exc})")
    return reports


def table(result: dict) -> str:
    lines = [f"| configuration | questions | EX % | change vs {result['reference']} (points) | same SQL as {result['reference']} "
             "| gained / lost | s / question (batches of 8) |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['config']} | {r['questions']} | {r['ex']} | {r['ex_change_points']:+} | "
              f"{r['same_sql_as_reference']}/{r['questions']} | {r['gained']} / {r['lost']} | "
              f"{r['seconds_per_question']} |" for r in result["rows"]]
    machine = result.get("machine")
    lines.append(f"\n{result['model']}; `+rv`: restricted output vocabulary." + (f" {describe_cpu(machine)}." if machine else ""))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=300)
    parser.add_argument("--configs", nargs="+", default=["fp32", "int8", "bf16", "int8+rv", "bf16+rv"])
    parser.add_argument("--adapter")
    parser.add_argument("--model")
    parser.add_argument("--data", type=Path, default=SPIDER)
    parser.add_argument("--reference", default="fp32", help="the configuration the others are paired with")
    parser.add_argument("--reports", type=Path, default=ROOT / "out" / "precision")
    parser.add_argument("--out", default="bench/results/precision.json")
    parser.add_argument("--from", dest="given", nargs="+", metavar="NAME=REPORT",
                        help="pair these text2sql eval report.json files instead of running --configs")
    args = parser.parse_args(argv)
    names = [pair.partition("=")[0] for pair in args.given] if args.given else args.configs
    if args.reference not in names:  # before any run
        parser.error(f"{args.reference} is the reference: keep it in --configs (or --from)")
    if args.given:
        reports = given_reports(parser, args.given)
        summary = reports[args.reference]["summary"]
        limit, machine = summary["evaluated"], summary.get("machine")
    else:
        reports = {c: run(c, args.limit, args.adapter, args.reports, args.data, args.model) for c in args.configs}
        limit, machine = args.limit, cpu_info()
    result = {"reference": args.reference, "limit": limit, "model": reports[args.reference]["summary"]["model"],
              "machine": machine, "rows": compare(reports, args.reference)}
    return publish(result, args.out, table)


if __name__ == "__main__":
    sys.exit(main())
