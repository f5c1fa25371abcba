"""The overfit tiny model answers its questions with exactly the trained SQL, on SQLite
and DuckDB, and that SQL returns the same rows as an independently written query."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import pytest

from tests.fixtures.tiny_model import TINY_PAIRS
from text2sql.execute import run

# The same answers, written differently (subqueries, implicit joins, ordinals), run with
# the database driver directly rather than through text2sql.
INDEPENDENT = {
    "How many albums are there?": "SELECT COUNT(AlbumId) FROM Album",
    "List the names of all media types": "SELECT mt.Name FROM MediaType AS mt ORDER BY 1",
    "Which customers live in Brazil?": (
        "SELECT c.FirstName, c.LastName FROM Customer c WHERE c.CustomerId IN "
        "(SELECT CustomerId FROM Customer WHERE Country = 'Brazil') ORDER BY 2"
    ),
    "Name the top 10 albums with the highest sales amount": (
        "SELECT Title, total FROM (SELECT al.AlbumId, al.Title, SUM(il.UnitPrice * il.Quantity) AS total "
        "FROM InvoiceLine il, Track tr, Album al WHERE il.TrackId = tr.TrackId AND tr.AlbumId = al.AlbumId "
        "GROUP BY al.AlbumId, al.Title) AS s ORDER BY total DESC, Title LIMIT 10"
    ),
    "How many tracks does each genre have?": (
        "SELECT g.Name, COUNT(t.TrackId) AS n FROM Track t, Genre g WHERE t.GenreId = g.GenreId "
        "GROUP BY g.GenreId, g.Name ORDER BY n DESC, g.Name"
    ),
    "What is the total invoice amount per billing country?": (
        "SELECT i.BillingCountry, SUM(i.Total) FROM Invoice i GROUP BY 1 ORDER BY 2 DESC, 1"
    ),
    "Which track is the longest?": (
        "SELECT Name FROM Track WHERE Milliseconds = (SELECT MAX(Milliseconds) FROM Track) ORDER BY Name LIMIT 1"
    ),
    "How many employees report to each manager?": (
        "SELECT boss.FirstName, boss.LastName, (SELECT COUNT(*) FROM Employee e WHERE e.ReportsTo = boss.EmployeeId) "
        "AS n FROM Employee boss WHERE boss.EmployeeId IN (SELECT ReportsTo FROM Employee) ORDER BY n DESC, boss.LastName"
    ),
}


def _normal(rows):
    """Rows with sums rounded to cents (float addition order differs between queries)."""
    out = []
    for row in rows:
        out.append(tuple(round(float(v), 2) if isinstance(v, (float, Decimal)) else v for v in row))
    return out


def _sqlite_rows(url: str, sql: str):
    with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
        return conn.execute(sql).fetchall()


def _duckdb_rows(url: str, sql: str):
    # DuckDB allows one configuration per file and process: reuse text2sql's engine
    # settings, but send the query straight to the driver.
    from text2sql.db import create_engine

    with create_engine(url).connect() as conn:
        return conn.exec_driver_sql(sql).fetchall()


def test_every_trained_question_has_an_independent_query():
    assert set(INDEPENDENT) == {q for q, _ in TINY_PAIRS}


@pytest.mark.parametrize("question,sql", TINY_PAIRS, ids=[q for q, _ in TINY_PAIRS])
def test_sqlite_answer_is_the_trained_sql_and_returns_the_right_rows(assistant, chinook_sqlite_url, question, sql):
    result = assistant.generate(question, chinook_sqlite_url)
    assert result.sql == sql
    assert result.ok and result.problems == []
    assert result.dialect == "sqlite"
    got = run(chinook_sqlite_url, result.sql, limit=10_000)
    expected = _sqlite_rows(chinook_sqlite_url, INDEPENDENT[question])
    assert expected, "the independent query returned nothing"
    assert _normal(got.rows) == _normal(expected)


@pytest.mark.parametrize("question,sql", TINY_PAIRS, ids=[q for q, _ in TINY_PAIRS])
def test_duckdb_answer_is_the_trained_sql_and_returns_the_right_rows(assistant, chinook_duckdb_url, question, sql):
    result = assistant.generate(question, chinook_duckdb_url)
    assert result.sql == sql
    assert result.ok, result.problems
    assert result.dialect == "duckdb"
    got = run(chinook_duckdb_url, result.sql, limit=10_000)
    assert _normal(got.rows) == _normal(_duckdb_rows(chinook_duckdb_url, INDEPENDENT[question]))


def test_default_database_is_the_bundled_chinook(assistant):
    question, sql = TINY_PAIRS[0]
    result = assistant.generate(question)
    assert result.sql == sql
    assert result.schema_version == assistant.schema().version
