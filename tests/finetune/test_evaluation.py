"""The execution-accuracy harness: comparator golden cases, Spider hardness, dev counts."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from text2sql.finetune.compare import order_key_columns, results_match
from text2sql.finetune.evaluate import load_spider, normalized_sql
from text2sql.finetune.hardness import hardness

SPIDER = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "spider"
CASES = json.loads((Path(__file__).parent / "golden" / "compare_cases.json").read_text())


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_comparator_golden_cases(case):
    gold = [tuple(r) for r in case["gold"]]
    pred = [tuple(r) for r in case["pred"]]
    assert results_match(gold, pred, case["order"]) is case["match"]


@pytest.mark.parametrize(
    "sql, keys",
    [
        ("SELECT a, b FROM t", []),
        ("SELECT a, count(*) FROM t GROUP BY a ORDER BY count(*) DESC", [1]),
        ("SELECT name, age FROM t ORDER BY age", [1]),
        ("SELECT T1.name FROM t AS T1 ORDER BY T1.name", [0]),
        ("SELECT name FROM t ORDER BY age", None),
        ("SELECT name AS n FROM t ORDER BY n", [0]),
    ],
)
def test_order_keys_come_from_the_gold_query(sql, keys):
    assert order_key_columns(sql) == keys


def test_official_hardness_counts_on_spider_dev():
    dev = json.loads((SPIDER / "dev.json").read_text())
    assert Counter(hardness(ex["sql"]) for ex in dev) == {"easy": 248, "medium": 446, "hard": 174, "extra": 166}


def test_dev_has_972_runnable_questions_and_62_skipped():
    examples, skipped = load_spider(SPIDER, "dev")
    assert len(examples) == 972
    assert skipped == {"wta_1": 62}


def test_normalized_sql_ignores_case_spacing_and_semicolons():
    assert normalized_sql("select  Name from ARTIST;") == normalized_sql("SELECT name FROM artist")
    assert normalized_sql("SELECT a FROM t") != normalized_sql("SELECT b FROM t")
