"""The README's accuracy table is generated from the committed eval reports; it must not drift."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import results  # noqa: E402  (bench/results.py)


def test_readme_table_matches_the_committed_eval_reports():
    assert results.readme_block(results.README.read_text()) == results.render(results.load_summaries()), (
        "README.md's results table is stale: run python bench/results.py --write")


def test_readme_speed_tables_match_the_committed_latency_and_throughput_runs():
    block = results.readme_block(results.README.read_text(), results.SPEED_BEGIN, results.SPEED_END)
    assert block == results.render_speed(), "README.md's speed tables are stale: run python bench/results.py --write"


def test_every_report_in_the_table_has_a_markdown_twin_and_counts_that_add_up():
    for stem, s in results.load_summaries():
        assert (results.REPORTS / f"{stem}.md").is_file(), stem
        outcomes = json.loads((results.REPORTS / f"{stem}.json").read_text())["outcomes"]
        assert len(outcomes) == s["evaluated"]
        assert round(100.0 * sum(o["ex"] for o in outcomes) / len(outcomes), 1) == s["ex"]


def test_render_shows_one_row_per_report_with_ex_by_hardness():
    summary = {"model": "m", "data": "spider dev", "n_candidates": 1, "evaluated": 3, "ex": 33.3,
               "normalized_sql_match": 0.0, "by_hardness": {"easy": {"count": 3, "ex": 33.3}},
               "seconds_per_question": 1.5, "median_decode_tokens_per_s": 30.0}
    table = results.render([("adapter-dev", summary)])
    row = table.splitlines()[2]
    assert row.startswith("| `adapter-dev` | m | spider dev | 1 | 3 | 33.3 | 0.0 | 33.3 (3) | — | — | — | 1.5 | 30.0 |")
    assert len(table.splitlines()[0].split("|")) == len(table.splitlines()[1].split("|")) == len(row.split("|"))
    assert "No evaluation report" in results.render([])
