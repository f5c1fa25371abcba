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


def _cell(value) -> str:
    return "—" if value is None else str(value)


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


def _block_span(text: str) -> tuple[int, int]:
    """Where the generated block lies in ``text``: after BEGIN, up to END."""
    try:
        start = text.index(BEGIN) + len(BEGIN)
        return start, text.index(END, start)
    except ValueError:
        raise SystemExit(f"README.md has no results markers ({BEGIN} ... {END})") from None


def readme_block(text: str) -> str:
    start, end = _block_span(text)
    return text[start:end].strip()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the README block")
    args = parser.parse_args(argv)
    table = render(load_summaries())
    if not args.write:
        print(table)
        return 0
    text = README.read_text()
    start, end = _block_span(text)
    README.write_text(f"{text[:start]}\n{table}\n{text[end:]}")
    print("README.md updated" if text[start:end].strip() != table else "README.md already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
