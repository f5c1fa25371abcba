"""The README's "Measured results" tables, rendered from committed measurements (never
typed by hand): accuracy from the ``text2sql eval`` reports in ``bench/results/eval/*.json``,
speed from ``bench/results/latency.json`` and ``throughput.json`` (``bench/latency.py``,
``bench/throughput.py``), paired accuracy from ``precision.json`` and ``precision-*.json``
(``bench/precision.py``), candidate-selection rules from ``selection.json`` (``bench/selection.py``).

    python bench/results.py            # print the tables
    python bench/results.py --write    # rewrite the README blocks between their markers

``tests/test_readme_results.py`` fails when the README and the measurements drift apart.
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
SPEED_BEGIN, SPEED_END = "<!-- speed:begin (bench/results.py --write) -->", "<!-- speed:end -->"
LATENCY, THROUGHPUT = ROOT / "bench" / "results" / "latency.json", ROOT / "bench" / "results" / "throughput.json"
PRECISION = ROOT / "bench" / "results" / "precision.json"
SELECTION = ROOT / "bench" / "results" / "selection.json"
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


def render_speed(latency: Path = LATENCY, throughput: Path = THROUGHPUT, precision: Path = PRECISION,
                 selection: Path = SELECTION) -> str:
    """The latency, evaluation-throughput, paired-precision and selection-rule tables, from
    their JSON files."""
    sys.path.insert(0, str(ROOT / "bench"))
    import latency as latency_bench
    import precision as precision_bench
    import selection as selection_bench
    import throughput as throughput_bench

    parts = []
    # precision.json (which configuration auto picks), then precision-*.json: paired checks
    # such as what the restricted vocabulary alone changes (--reference w8a16); latency-*.json:
    # other machines
    def variants(path, bench):  # latency-<machine>.json beside latency.json, and so on
        return [(p, bench) for p in sorted(path.parent.glob(path.stem + "-*.json"))]

    for path, bench in ((latency, latency_bench), *variants(latency, latency_bench), (throughput, throughput_bench),
                        (precision, precision_bench), *variants(precision, precision_bench),
                        (selection, selection_bench)):
        name = Path(bench.__file__).name
        if path.is_file():
            parts.append(f"`bench/{name}` (`{path.relative_to(ROOT)}`):\n\n" + bench.table(json.loads(path.read_text())))
        else:
            parts.append(f"`bench/{name}`: no idle run has been recorded yet.")
    return "\n\n".join(parts)


def _block_span(text: str, begin: str = BEGIN, end: str = END) -> tuple[int, int]:
    """Where the generated block lies in ``text``: after ``begin``, up to ``end``."""
    try:
        start = text.index(begin) + len(begin)
        return start, text.index(end, start)
    except ValueError:
        raise SystemExit(f"README.md has no markers {begin} ... {end}") from None


def readme_block(text: str, begin: str = BEGIN, end: str = END) -> str:
    start, stop = _block_span(text, begin, end)
    return text[start:stop].strip()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the README block")
    args = parser.parse_args(argv)
    blocks = [(BEGIN, END, render(load_summaries())), (SPEED_BEGIN, SPEED_END, render_speed())]
    if not args.write:
        print("\n\n".join(table for _, _, table in blocks))
        return 0
    text = original = README.read_text()
    for begin, end, table in blocks:
        start, stop = _block_span(text, begin, end)
        text = f"{text[:start]}\n{table}\n{text[stop:]}"
    README.write_text(text)
    print("README.md updated" if text != original else "README.md already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
