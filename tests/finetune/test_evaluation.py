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


CHINOOK_QUESTIONS = Path(__file__).parents[1] / "fixtures" / "chinook_questions.json"


def test_chinook_questions_have_20_per_language_and_gold_sql_that_returns_rows():
    from text2sql.finetune.evaluate import execute, load_questions

    for lang in ("en", "ko"):
        examples, skipped = load_questions(CHINOOK_QUESTIONS, lang)
        assert len(examples) == 20 and skipped == {}
        assert len({e.question for e in examples}) == 20
        for ex in examples:
            assert ex.db_path.name == "chinook.sqlite"
            assert execute(ex.db_path, ex.gold, 10.0), ex.question
    assert len(load_questions(CHINOOK_QUESTIONS)[0]) == 40


def test_chinook_questions_are_not_spider_questions():
    from text2sql.finetune.evaluate import load_questions

    spider = {ex["question"].strip().lower() for f in ("train.json", "dev.json")
              for ex in json.loads((SPIDER / f).read_text())}
    assert len(spider) > 7_000
    examples, _ = load_questions(CHINOOK_QUESTIONS)
    assert not [e.question for e in examples if e.question.strip().lower() in spider]


def test_bad_questions_files_say_what_is_wrong(tmp_path):
    from text2sql.errors import ConfigError
    from text2sql.finetune.evaluate import load_questions

    bad = tmp_path / "q.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="not a questions file"):
        load_questions(bad)
    bad.write_text(json.dumps({"database": "missing.sqlite", "questions": [{"question": "q", "query": "SELECT 1"}]}))
    with pytest.raises(ConfigError, match="database not found"):
        load_questions(bad)
    with pytest.raises(ConfigError, match="no questions with split 'fr'"):
        load_questions(CHINOOK_QUESTIONS, "fr")


def test_report_says_when_decode_speed_was_not_measured(tmp_path):
    from text2sql.finetune.evaluate import EvalReport, Outcome, write_report

    outcome = dict(db_id="singer", question="How many singers?", gold="SELECT count(*) FROM singer",
                   pred="SELECT count(*) FROM singer", hardness="easy", ex=True, normalized_match=True)
    batched = EvalReport(outcomes=[Outcome(**outcome)], wall_s=2.0, model="m", data="spider dev, batches of 8")
    _, md = write_report(batched, tmp_path / "batched")
    assert "decode tokens/s not measured (batched; --batch-size 1 measures it)." in md.read_text()
    assert "None" not in md.read_text()
    one_by_one = EvalReport(outcomes=[Outcome(**outcome, new_tokens=9, decode_tokens_per_s=31.5)], model="m")
    _, md = write_report(one_by_one, tmp_path / "one")
    assert "median decode 31.5 tokens/s." in md.read_text()
