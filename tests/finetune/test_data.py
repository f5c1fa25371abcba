"""Loaders for every supported format (on files written here), cleaning, splits, configs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from text2sql.errors import ConfigError
from text2sql.finetune.config import load_config
from text2sql.finetune.data import (clean, load_gretel, load_ko_text2sql, load_spider, load_table,
                                    split_by_database)
from text2sql.prompt import render_training_example
from text2sql.schema import introspect

SPIDER = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "spider"
CONTEXT = ("CREATE TABLE farms (id INTEGER PRIMARY KEY, name TEXT, acres REAL);"
           "INSERT INTO farms VALUES (1, 'Green', 10.5), (2, 'Sun', 3);")


def test_gretel_rows_become_sqlite_databases_and_are_cleaned_by_execution(tmp_path):
    rows = [
        {"sql_prompt": "Total acres?", "sql_context": CONTEXT, "sql": "SELECT SUM(acres) FROM farms",
         "domain": "agriculture", "sql_complexity": "aggregation"},
        {"sql_prompt": "Farms over 100 acres", "sql_context": CONTEXT, "sql": "SELECT name FROM farms WHERE acres > 100",
         "domain": "agriculture", "sql_complexity": "basic SQL"},
        {"sql_prompt": "Delete farm 1", "sql_context": CONTEXT, "sql": "DELETE FROM farms WHERE id = 1",
         "domain": "agriculture", "sql_complexity": "basic SQL"},
        {"sql_prompt": "Broken", "sql_context": "CREATE TABLE (", "sql": "SELECT 1", "domain": "x", "sql_complexity": "x"},
        {"sql_prompt": "Total acres?", "sql_context": CONTEXT, "sql": "SELECT SUM(acres) FROM farms",
         "domain": "agriculture", "sql_complexity": "aggregation"},
    ]
    path = tmp_path / "gretel.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    from text2sql.finetune.data import CleaningReport

    report = CleaningReport()
    examples = load_gretel(path, workdir=tmp_path / "ctx", report=report)
    kept, report = clean(examples, report=report)
    assert [e.question for e in kept] == ["Total acres?"]
    assert report.to_dict()["dropped"] == {"context does not run": 1, "gold SQL returns nothing": 1,
                                           "gold SQL refused (not read-only)": 1, "duplicate": 1}
    schema = introspect(f"sqlite:///{kept[0].db_path}")
    prompt, target = render_training_example(schema, kept[0].question, kept[0].sql)
    assert "CREATE TABLE farms (id INTEGER PRIMARY KEY, name TEXT, acres REAL);" in prompt
    assert prompt.endswith("-- Total acres?\n") and target == "SELECT SUM(acres) FROM farms;\n"


def test_ko_text2sql_csv_keeps_db_ids_and_korean_questions(tmp_path):
    path = tmp_path / "ko.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=["db_id", "context", "question", "answer"])
        w.writeheader()
        w.writerow({"db_id": "1", "context": CONTEXT, "question": "농장 이름을 모두 보여줘", "answer": "SELECT name FROM farms"})
    examples = load_ko_text2sql(path, workdir=tmp_path / "ctx")
    assert (examples[0].db_id, examples[0].question) == ("1", "농장 이름을 모두 보여줘")
    kept, _ = clean(examples)
    assert len(kept) == 1


def test_plain_table_with_a_column_map_and_database_paths(tmp_path):
    import shutil

    from text2sql.data import CHINOOK_PATH

    shutil.copy(CHINOOK_PATH, tmp_path / "music.sqlite")
    path = tmp_path / "pairs.jsonl"
    path.write_text(json.dumps({"q": "How many artists?", "query": "SELECT COUNT(*) FROM Artist", "file": "music.sqlite"}) + "\n")
    examples = load_table(path, {"question": "q", "sql": "query", "db_path": "file"})
    assert examples[0].db_path == tmp_path / "music.sqlite" and examples[0].sql.startswith("SELECT COUNT")
    with pytest.raises(ConfigError):
        load_table(path, {"question": "q", "sql": "query"})


def test_spider_train_excludes_chinook_and_holds_out_whole_databases():
    examples = load_spider(SPIDER, "train", exclude={"chinook_1", "store_1"})
    assert not {"chinook_1", "store_1"} & {e.db_id for e in examples}
    train, held = split_by_database(examples, 8, seed=42)
    assert len({e.db_id for e in held}) == 8
    assert not {e.db_id for e in train} & {e.db_id for e in held}
    assert split_by_database(examples, 8, seed=42)[1] == held  # fixed


def test_config_overrides_and_cross_field_checks(tmp_path):
    cfg = load_config("finetune/configs/default.yaml", ["lora_r=32", "bf16=true", "max_steps=10",
                                                        f"data={SPIDER}"])
    assert (cfg.lora_r, cfg.bf16, cfg.max_steps) == (32, True, 10)
    with pytest.raises(ConfigError, match="unknown config keys: lora_rank"):
        load_config("finetune/configs/default.yaml", ["lora_rank=8", f"data={SPIDER}"])
    with pytest.raises(ConfigError, match="lora_r and lora_alpha must be positive"):
        load_config("finetune/configs/default.yaml", ["lora_r=0", f"data={SPIDER}"])
    with pytest.raises(ConfigError, match="no train.json"):
        load_config("finetune/configs/default.yaml", [f"data={tmp_path}"])
    with pytest.raises(ConfigError, match="expected true or false"):
        load_config("finetune/configs/default.yaml", ["bf16=maybe", f"data={SPIDER}"])
