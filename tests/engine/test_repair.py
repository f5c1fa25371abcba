"""Golden cases for ``text2sql.repair`` over Chinook's schema
(tests/engine/golden/repair/cases.json): each repaired query must also pass the validator
and run on the real Chinook database, where the model's original failed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from text2sql.repair import repair
from text2sql.schema import introspect
from text2sql.validate import check

CASES = json.loads((Path(__file__).parent / "golden" / "repair" / "cases.json").read_text())


@pytest.fixture(scope="module")
def chinook():
    return introspect()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_golden_repair(case, chinook, chinook_sqlite_url):
    got = repair(case["sql"], chinook)
    if case["repaired"] is None:
        assert got is None
        return
    assert got is not None and got.sql == case["repaired"]
    assert list(got.changes) == case["changes"]
    assert any(p.code == "unknown-column" for p in check(case["sql"], chinook))
    assert check(got.sql, chinook) == []
    with sqlite3.connect(chinook_sqlite_url.removeprefix("sqlite:///")) as conn:
        with pytest.raises(sqlite3.OperationalError, match="no such column"):
            conn.execute(case["sql"])
        conn.execute(got.sql).fetchall()


def test_no_schema_no_repair():
    assert repair("SELECT T1.Name FROM Album AS T1 JOIN Artist AS T2 ON T1.ArtistId = T2.ArtistId", None) is None
