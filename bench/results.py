"""The README's "Measured results" accuracy table, rendered from the committed
``text2sql eval`` reports in ``bench/results/eval/*.json`` (never typed by hand).

    python bench/results.py            # print the table
    python bench/results.py --write    # rewrite the README block between the markers

``tests/test_readme_results.py`` fails when the README and the reports drift apart.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "bench" / "results" / "eval"
README = ROOT / "README.md"
BEGIN, END = "<!-- results:begin (bench/results.py --write) -->", "<!-- results:end -->"
LEVELS = ("easy", "medium", "hard", "extra")


def load_summaries(directory: Path = REPORTS) -> list[tuple[str, dict]]:
    """(report file stem, summary) for every committed report, in file-name order."""
    return [(p.stem, json.loads(p.read_text())["summary"]) for p in sorted(directory.glob("*.json"))]


def _cell(value, suffix="") -> str:
    return "—" if value is None else f"{value}{suffix}"


def render(summaries: list[tuple[str, dict]]) -> str:
    if not summaries:
        return "No evaluation report is committed yet (`bench/results/eval/` is empty)."
    lines = [
        "| report | model | data | n | questions | EX % | normalized-SQL match % | "
        + " | ".join(f"EX {h} %" for h in LEVELS) + " | s / question | decode tok/s |",
        "|" + "---|" * (9 + len(LEVELS)),
    ]
    for stem, s in summaries:
        by_h = s.get("by_hardness", {})
        levels = " | ".join(f"{by_h[h]['ex']} ({by_h[h]['count']})" if h in by_h else "—" for h in LEVELS)
        lines.append(f"| `{stem}` | {s['model']} | {s.get('data') or '—'} | {s['n_candidates']} | {s['evaluated']} | "
                     f"{s['ex']} | {s['normalized_sql_match']} | {levels} | {_cell(s.get('seconds_per_question'))} | "
                     f"{_cell(s.get('median_decode_tokens_per_s'))} |")
    lines += ["", "EX by hardness shows the questions per level in parentheses; n > 1 is execution-guided "
              "selection. Full reports, with every failure: `bench/results/eval/<report>.md`."]
    return "\n".join(lines)


def readme_block(text: str) -> str:
    try:
        start = text.index(BEGIN) + len(BEGIN)
        return text[start:text.index(END, start)].strip()
    except ValueError:
        raise SystemExit(f"README.md has no results markers ({BEGIN} ... {END})") from None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the README block")
    args = parser.parse_args(argv)
    table = render(load_summaries())
    if not args.write:
        print(table)
        return 0
    text = README.read_text()
    old = readme_block(text)
    README.write_text(text.replace(BEGIN + text.split(BEGIN, 1)[1].split(END, 1)[0], f"{BEGIN}\n{table}\n"))
    print("README.md updated" if old != table else "README.md already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
