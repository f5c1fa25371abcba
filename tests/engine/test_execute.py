"""Read-only execution on the four real databases: results equal an independent query
through the plain driver, row/size limits and timeouts fire, errors are one redacted line,
engines stay usable after a failure."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys

import pytest
import sqlalchemy as sa

from text2sql.db import create_engine
from text2sql.errors import ConfigError, ConnectionFailed, InvalidSQL, QueryFailed, ReadOnlyViolation
from text2sql.execute import _execute_read_only, explain, run
from text2sql.schema import introspect

DBS = ["sqlite", "duckdb", "postgres", "mariadb"]

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


def _url(request, db: str) -> str:
    return request.getfixturevalue(f"chinook_{db}_url")


def _q(url: str, name: str) -> str:
    """An identifier as the database needs it (PostgreSQL keeps Chinook's capitals quoted)."""
    return f'"{name}"' if url.startswith("postgresql") else name


def _quoted(sql: str, url: str) -> str:
    if not url.startswith("postgresql"):
        return sql
    names = ("Album", "Track", "InvoiceLine", "Title", "AlbumId", "UnitPrice", "Quantity", "TrackId")
    return re.sub(r"\b(" + "|".join(names) + r")\b", r'"\1"', sql)


def _plain_rows(url: str, sql: str) -> list[tuple]:
    """The same query through SQLAlchemy and the driver alone: no text2sql involved."""
    plain = sa.create_engine(url)
    try:
        with plain.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(sql)]
    finally:
        plain.dispose()


def test_results_equal_an_independent_query(chinook_any_url):
    sql = _quoted(SALES, chinook_any_url)
    result = run(chinook_any_url, sql, schema=introspect(chinook_any_url))
    expected = _plain_rows(chinook_any_url, sql)
    assert result.columns[0].lower() == "title" and result.columns[1].lower() == "sales"
    assert [(r[0], float(r[1])) for r in result.rows] == [(r[0], float(r[1])) for r in expected]
    assert len(result.rows) == 10 and not result.truncated and result.elapsed_s > 0


@pytest.mark.parametrize("db", DBS)
def test_row_limit_truncates_says_so_and_the_engine_stays_usable(request, db):
    url = _url(request, db)
    engine = create_engine(url, pool_size=1, max_overflow=0) if db in ("postgres", "mariadb") else create_engine(url)
    try:
        sql = f"SELECT {_q(url, 'TrackId')} FROM {_q(url, 'Track')} ORDER BY 1"
        result = run(engine, sql, limit=25)
        assert [r[0] for r in result.rows] == list(range(1, 26)) and result.truncated
        assert "(25 rows, truncated)" in result.format_table()
        # the unread 3,478 rows were abandoned; the next query on the same engine works
        assert run(engine, f"SELECT COUNT(*) FROM {_q(url, 'Track')}").rows == [(3503,)]
        exact = run(engine, sql, limit=3503)
        assert len(exact.rows) == 3503 and not exact.truncated
    finally:
        engine.dispose()


@pytest.mark.parametrize("db", DBS)
def test_result_size_limit_stops_early_with_a_note(request, db):
    url = _url(request, db)
    result = run(url, f"SELECT {_q(url, 'Name')} FROM {_q(url, 'Track')} ORDER BY {_q(url, 'TrackId')}", max_bytes=2000)
    assert result.truncated and 0 < len(result.rows) < 200
    assert sum(len(r[0]) for r in result.rows) <= 2000
    assert "larger than 2,000 bytes" in result.format_table()


@pytest.mark.parametrize("db", DBS)
def test_an_empty_result_keeps_its_columns(request, db):
    url = _url(request, db)
    sql = f"SELECT {_q(url, 'ArtistId')}, {_q(url, 'Name')} AS artist FROM {_q(url, 'Artist')} WHERE 1 = 0"
    result = run(url, sql)
    assert [c.lower() for c in result.columns] == ["artistid", "artist"] and result.rows == []
    assert list(result.to_pandas().columns) == result.columns


def test_like_with_percent_signs_works_on_every_database(chinook_any_url):
    table, col = _q(chinook_any_url, "Genre"), _q(chinook_any_url, "Name")
    result = run(chinook_any_url, f"SELECT {col} FROM {table} WHERE {col} LIKE 'Ro%' ORDER BY 1")
    assert [r[0] for r in result.rows] == ["Rock", "Rock And Roll"]


@pytest.mark.parametrize("db", DBS)
def test_statement_timeout_fires(request, db):
    url = _url(request, db)
    with pytest.raises(QueryFailed, match="timed out after 1 s"):
        run(url, SLOW[db], timeout_s=1)
    assert run(url, "SELECT 1 AS ok").rows == [(1,)]  # the database is usable afterwards


@pytest.mark.parametrize("db, sleep", [("postgres", "SELECT pg_sleep(5)"), ("mariadb", "SELECT SLEEP(5)")])
def test_a_sleep_is_cut_by_the_timeout(request, db, sleep):
    """MariaDB ends an interrupted SLEEP() with the value 1, not an error: still a timeout."""
    with pytest.raises(QueryFailed, match="timed out after 1 s"):
        _execute_read_only(_url(request, db), sleep, timeout_s=1)


def test_writes_and_bad_sql_never_reach_the_database(chinook_sqlite_url):
    with pytest.raises(ReadOnlyViolation):
        run(chinook_sqlite_url, "DELETE FROM Artist")
    with pytest.raises(InvalidSQL) as info:
        run(chinook_sqlite_url, "SELECT nme FROM Artist", schema=introspect(chinook_sqlite_url))
    assert info.value.problems and "nme" in str(info.value)
    with pytest.raises(InvalidSQL):
        run(chinook_sqlite_url, "")
    count = sqlite3.connect(chinook_sqlite_url.removeprefix("sqlite:///")).execute("SELECT COUNT(*) FROM Artist")
    assert count.fetchone()[0] == 275


def test_database_errors_are_one_line(chinook_sqlite_url, chinook_postgres_url):
    with pytest.raises(QueryFailed) as info:
        run(chinook_sqlite_url, "SELECT no_such_function(1)")
    assert "no_such_function" in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(QueryFailed) as info:
        run(chinook_postgres_url, 'SELECT 1 / 0 FROM "Artist"')
    assert str(info.value) == "the database refused the query: division by zero"


def test_an_engine_is_usable_after_a_failure_that_breaks_its_connection(chinook_postgres_url):
    engine = create_engine(chinook_postgres_url, pool_size=1, max_overflow=0)
    try:
        with pytest.raises(QueryFailed):
            _execute_read_only(engine, 'COPY "Artist" TO STDOUT')  # leaves the connection mid-COPY
        assert _execute_read_only(engine, 'SELECT COUNT(*) FROM "Artist"').rows == [(275,)]
    finally:
        engine.dispose()


@pytest.mark.parametrize("db", DBS)
def test_explain_shows_the_plan_as_text(request, db):
    url = _url(request, db)
    plan = explain(url, f"SELECT * FROM {_q(url, 'Track')} WHERE {_q(url, 'AlbumId')} = 1")
    assert "track" in plan.plan.lower() and plan.rows
    with pytest.raises(ReadOnlyViolation):
        explain(url, f"DELETE FROM {_q(url, 'Track')}")


def test_explain_checks_the_schema_too(chinook_sqlite_url):
    with pytest.raises(InvalidSQL):
        explain(chinook_sqlite_url, "SELECT nme FROM Artist", schema=introspect(chinook_sqlite_url))


def test_the_bundled_demo_is_the_default_database():
    assert run(None, "SELECT COUNT(*) FROM Artist").rows == [(275,)]


@pytest.mark.parametrize("bad", [{"limit": 0}, {"limit": -5}, {"timeout_s": 0}, {"timeout_s": float("nan")},
                                 {"max_bytes": 0}])
def test_bad_limits_are_config_errors(chinook_sqlite_url, bad):
    with pytest.raises(ConfigError):
        run(chinook_sqlite_url, "SELECT 1", **bad)


@pytest.mark.parametrize("url", [
    "postgresql+psycopg://alice:S3cr3t-PW@127.0.0.1:1/shop",
    "mysql+pymysql://alice:S3cr3t-PW@127.0.0.1:1/shop",
])
def test_an_unreachable_server_is_one_line_without_the_password(url):
    with pytest.raises(ConnectionFailed) as info:
        run(url, "SELECT 1")
    message = str(info.value)
    assert "S3cr3t-PW" not in message and "\n" not in message
    assert message.startswith("cannot connect to") and "alice:***@127.0.0.1:1" in message


def test_a_wrong_password_is_not_echoed(chinook_mariadb_url):
    admin = sa.create_engine(chinook_mariadb_url, isolation_level="AUTOCOMMIT")
    user = "t2s_pw_check"
    with admin.connect() as c:
        for host in ("localhost", "127.0.0.1", "%%"):
            c.exec_driver_sql(f"CREATE OR REPLACE USER '{user}'@'{host}' IDENTIFIED BY 'right-Pa55'")
    try:
        url = sa.engine.make_url(chinook_mariadb_url).set(username=user, password="wr0ng-Pa55")
        with pytest.raises(ConnectionFailed) as info:
            run(url.render_as_string(hide_password=False), "SELECT 1")
        assert "wr0ng-Pa55" not in str(info.value) and "right-Pa55" not in str(info.value)
        assert "Access denied" in str(info.value)
    finally:
        with admin.connect() as c:
            for host in ("localhost", "127.0.0.1", "%%"):
                c.exec_driver_sql(f"DROP USER IF EXISTS '{user}'@'{host}'")
        admin.dispose()


def test_to_pandas_keeps_columns_and_rows(chinook_sqlite_url):
    frame = run(chinook_sqlite_url, "SELECT GenreId, Name FROM Genre ORDER BY GenreId LIMIT 3").to_pandas()
    assert list(frame.columns) == ["GenreId", "Name"]
    assert frame["Name"].tolist() == ["Rock", "Jazz", "Metal"]


def test_importing_execute_does_not_import_pandas():
    code = "import sys, text2sql.execute; print('pandas' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
