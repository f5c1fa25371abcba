"""Golden (SQL -> problems) pairs: tests/engine/golden/validate/NAME.sql with NAME.json,
checked against Chinook's schema (in the dialect named by an optional first line
``-- dialect: NAME``, SQLite otherwise). Files named ``*_ok`` must give no problem.

Regenerate the expected files with UPDATE_GOLDEN=1 after a deliberate change, and review
the diff: the JSON holds what a user sees (line:col, code, message)."""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from text2sql.schema import introspect
from text2sql.validate import check

GOLDEN = Path(__file__).parent / "golden" / "validate"
CASES = sorted(p.stem for p in GOLDEN.glob("*.sql"))
SCHEMA_CODES = {"unknown-table", "unknown-column", "ambiguous-column"}
DATABASES = {"sqlite": "chinook_sqlite_url", "postgres": "chinook_postgres_url", "duckdb": "chinook_duckdb_url"}


def _dialect(name: str) -> str:
    sql = (GOLDEN / f"{name}.sql").read_text()
    return sql.split("\n", 1)[0].split(": ", 1)[1].strip() if sql.startswith("-- dialect: ") else "sqlite"


def _codes(name: str) -> set[str]:
    return {p["code"] for p in json.loads((GOLDEN / f"{name}.json").read_text())}


@functools.cache
def _chinook():
    return introspect()


@pytest.fixture(scope="module")
def chinook():
    return _chinook()


@pytest.mark.parametrize("name", CASES)
def test_golden(name, chinook):
    sql = (GOLDEN / f"{name}.sql").read_text()
    if sql.startswith("-- dialect: "):
        chinook = dataclasses.replace(chinook, dialect=sql.split("\n", 1)[0].split(": ", 1)[1].strip())
    got = [
        {"line": p.line, "column": p.column, "end_line": p.end_line, "end_column": p.end_column,
         "code": p.code, "message": p.message}
        for p in check(sql, chinook)
    ]
    expected_file = GOLDEN / f"{name}.json"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected_file.write_text(json.dumps(got, indent=2) + "\n")
    assert got == json.loads(expected_file.read_text())
    if name.endswith("_ok"):
        assert got == []


RUNNABLE = [n for n in CASES if _dialect(n) in DATABASES and (n.endswith("_ok") or _codes(n) & SCHEMA_CODES)]


@pytest.mark.parametrize("name", RUNNABLE)
def test_golden_verdicts_agree_with_the_real_database(name, request):
    """A query the validator passes runs on Chinook in its database; one it flags for an
    unknown or ambiguous name is refused by that database too."""
    engine = sa.create_engine(request.getfixturevalue(DATABASES[_dialect(name)]))
    try:
        with engine.connect() as conn:
            try:
                conn.exec_driver_sql((GOLDEN / f"{name}.sql").read_text()).fetchall()
                ran = True
            except sa.exc.DBAPIError:
                ran = False
            conn.rollback()
    finally:
        engine.dispose()
    assert ran == name.endswith("_ok")


def test_problem_span_covers_exactly_the_identifier(chinook):
    sql = "SELECT Name\nFROM Artist\nWHERE nme = 'x'"
    (p,) = check(sql, chinook)
    line = sql.splitlines()[p.line - 1]
    assert line[p.column - 1 : p.end_column - 1] == "nme"


def test_no_false_positives_on_spider_dev_gold_queries():
    spider = Path(__file__).resolve().parents[3] / "shared" / "data" / "spider"
    if not spider.is_dir():
        spider = Path("/work/shared/data/spider")
    dev = json.loads((spider / "dev.json").read_text())
    schemas, flagged, checked = {}, [], 0
    for ex in dev:
        db = spider / "database" / ex["db_id"] / f"{ex['db_id']}.sqlite"
        if not db.exists():
            continue
        schema = schemas.setdefault(ex["db_id"], introspect(f"sqlite:///{db}", samples=0))
        checked += 1
        if check(ex["query"], schema):
            flagged.append(ex["query"])
    assert checked > 900
    assert flagged == []  # every gold query of Spider dev that runs on its database is clean


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_check_never_raises_on_any_text(text):
    problems = check(text, None, "sqlite")
    assert isinstance(problems, list)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["SELECT", "FROM", "Artist", "Name", ",", "(", ")", "WHERE", "=", "'x'", ";",
                                 "JOIN", "ON", "a.", "*", "WITH", "AS", "--", "\n", "DELETE", "UNION", '"Album"',
                                 "USING", "GROUP BY", "ORDER BY", "/*", "*/", "/*!", "$$", "`", "LATERAL", "json_each",
                                 "read_csv", "INTO", "x(", "RECURSIVE", "NATURAL", "1", "::", "[", "]"]), max_size=25),
       st.sampled_from(["sqlite", "postgres", "mysql", "duckdb"]))
def test_check_never_raises_on_sql_like_noise(tokens, dialect):
    problems = check(" ".join(tokens), dataclasses.replace(_chinook(), exclude=("Employee.*", "Invoice*")), dialect)
    assert isinstance(problems, list)
    for p in problems:
        assert p.line >= 1 and p.column >= 1 and (p.end_line is None or p.end_line >= p.line)
