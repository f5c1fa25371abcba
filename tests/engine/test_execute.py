"""Read-only execution: results equal an independent query, limits and timeouts fire."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from text2sql.errors import InvalidSQL, QueryFailed, ReadOnlyViolation
from text2sql.execute import explain, run
from text2sql.schema import introspect

SALES = """
SELECT al.Title, SUM(il.UnitPrice * il.Quantity) AS sales
FROM Album al JOIN Track t ON t.AlbumId = al.AlbumId
JOIN InvoiceLine il ON il.TrackId = t.TrackId
GROUP BY al.AlbumId, al.Title ORDER BY sales DESC, al.Title LIMIT 10
"""

SLOW = {
    "sqlite": "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT COUNT(*) FROM c",
    "duckdb": "SELECT COUNT(*) FROM range(1000000000) a, range(1000000000) b",
    "postgres": "SELECT COUNT(*) FROM generate_series(1, 100000000) a, generate_series(1, 100000000) b",
    "mariadb": "SELECT COUNT(*) FROM InvoiceLine a, InvoiceLine b, InvoiceLine c",
}


def _quoted(sql: str, url: str) -> str:
    return sql if not url.startswith("postgresql") else (
        sql.replace("Album al", '"Album" al').replace("Track t", '"Track" t')
        .replace("InvoiceLine il", '"InvoiceLine" il').replace("al.Title", 'al."Title"')
        .replace("al.AlbumId", 'al."AlbumId"').replace("t.AlbumId", 't."AlbumId"')
        .replace("il.UnitPrice", 'il."UnitPrice"').replace("il.Quantity", 'il."Quantity"')
        .replace("il.TrackId", 'il."TrackId"').replace("t.TrackId", 't."TrackId"')
    )


def test_results_equal_an_independent_query(chinook_any_url):
    sql = _quoted(SALES, chinook_any_url)
    result = run(chinook_any_url, sql, schema=introspect(chinook_any_url))
    plain = sa.create_engine(chinook_any_url)
    with plain.connect() as conn:
        expected = [tuple(r) for r in conn.exec_driver_sql(sql)]
    plain.dispose()
    assert result.columns[0].lower() == "title"
    assert [(r[0], float(r[1])) for r in result.rows] == [(r[0], float(r[1])) for r in expected]
    assert len(result.rows) == 10 and not result.truncated


def test_row_limit_truncates_and_says_so(chinook_sqlite_url):
    result = run(chinook_sqlite_url, "SELECT TrackId FROM Track", limit=25)
    assert len(result.rows) == 25 and result.truncated
    assert "truncated" in result.format_table()


def test_like_with_percent_signs_works_on_every_database(chinook_any_url):
    table = '"Genre"' if chinook_any_url.startswith("postgresql") else "Genre"
    col = '"Name"' if chinook_any_url.startswith("postgresql") else "Name"
    result = run(chinook_any_url, f"SELECT {col} FROM {table} WHERE {col} LIKE 'Ro%' ORDER BY 1")
    assert [r[0] for r in result.rows] == ["Rock", "Rock And Roll"]


@pytest.mark.parametrize("db", ["sqlite", "duckdb", "postgres", "mariadb"])
def test_statement_timeout_fires(request, db):
    url = request.getfixturevalue(f"chinook_{db}_url")
    with pytest.raises(QueryFailed, match="timed out after 1 s"):
        run(url, SLOW[db], timeout_s=1)
    assert run(url, "SELECT 1 AS ok").rows == [(1,)]  # the connection is usable afterwards


def test_writes_and_bad_sql_never_reach_the_database(chinook_sqlite_url):
    with pytest.raises(ReadOnlyViolation):
        run(chinook_sqlite_url, "DELETE FROM Artist")
    with pytest.raises(InvalidSQL):
        run(chinook_sqlite_url, "SELECT nme FROM Artist", schema=introspect(chinook_sqlite_url))
    with pytest.raises(InvalidSQL):
        run(chinook_sqlite_url, "")
    count = sqlite3.connect(chinook_sqlite_url.removeprefix("sqlite:///")).execute("SELECT COUNT(*) FROM Artist")
    assert count.fetchone()[0] == 275


def test_database_errors_are_one_line(chinook_sqlite_url):
    with pytest.raises(QueryFailed) as info:
        run(chinook_sqlite_url, "SELECT no_such_function(1)")
    assert "no_such_function" in str(info.value) and "\n" not in str(info.value)


def test_explain_shows_the_plan(chinook_sqlite_url):
    plan = explain(chinook_sqlite_url, "SELECT * FROM Track WHERE AlbumId = 1")
    assert "Track" in " ".join(str(v) for row in plan.rows for v in row)


def test_to_pandas_keeps_columns_and_rows(chinook_sqlite_url):
    frame = run(chinook_sqlite_url, "SELECT GenreId, Name FROM Genre ORDER BY GenreId LIMIT 3").to_pandas()
    assert list(frame.columns) == ["GenreId", "Name"]
    assert frame["Name"].tolist() == ["Rock", "Jazz", "Metal"]
