"""The %%text2sql magic in a real IPython shell, with the tiny overfit model, on real
SQLite and DuckDB files."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading

import pytest
from IPython.core.error import UsageError

from tests.fixtures.tiny_model import TINY_PAIRS
from text2sql.data import CHINOOK_PATH

QUESTION, SQL = next((q, s) for q, s in TINY_PAIRS if "Brazil" in q)


def cell(shell, line: str, body: str):
    """Run one %%text2sql cell the way a notebook does; return (result, error)."""
    outcome = shell.run_cell(f"%%text2sql {line}\n{body}", store_history=False)
    return outcome.result, outcome.error_in_exec


def test_the_dataframe_equals_an_independent_query_on_sqlite(shell, chinook_sqlite_url):
    frame, error = cell(shell, f"--db {chinook_sqlite_url}", QUESTION)
    assert error is None
    expected = sqlite3.connect(chinook_sqlite_url.removeprefix("sqlite:///")).execute(SQL.rstrip(";")).fetchall()
    assert [tuple(r) for r in frame.itertuples(index=False)] == expected
    assert list(frame.columns) == ["FirstName", "LastName"]


def test_duckdb_and_the_output_variable(shell, chinook_duckdb_url):
    frame, error = cell(shell, f"--db {chinook_duckdb_url} -o brazil", QUESTION)
    assert error is None
    assert shell.user_ns["brazil"] is frame
    # The DuckDB file was loaded from the bundled SQLite Chinook: same rows expected.
    expected = sqlite3.connect(CHINOOK_PATH).execute(SQL.rstrip(";")).fetchall()
    assert [tuple(r) for r in frame.itertuples(index=False)] == expected


def test_connect_then_placeholders_from_the_namespace(shell, chinook_sqlite_url, capsys):
    shell.run_cell(f"%text2sql_connect {chinook_sqlite_url}")
    assert "connected to" in capsys.readouterr().out
    shell.user_ns["country"] = "Brazil"
    frame, error = cell(shell, "", "Which customers live in {country}?")
    assert error is None and len(frame) == 5


def test_no_run_prints_the_sql_and_insert_fills_the_next_cell(shell, chinook_sqlite_url, capsys):
    shell.rl_next_input = None
    result, error = cell(shell, f"--db {chinook_sqlite_url} --no-run --insert", QUESTION)
    assert error is None and result is None
    out = capsys.readouterr().out
    assert SQL in out and "✓ valid" in out
    assert shell.rl_next_input == SQL


@pytest.mark.parametrize(
    "line, body, message",
    [
        ("", "   ", "the cell is empty"),
        ("--db notaurl", "How many albums are there?", "no connection named 'notaurl'"),
        ("--db sqlite:////nonexistent/x.db", "How many albums are there?", "no such SQLite database file"),
        ("", "customers in {no_such_variable}", "no_such_variable"),
        ("--db postgresql+psycopg://bob:s3cret@127.0.0.1:1/x", "How many albums are there?", "127.0.0.1"),
    ],
)
def test_user_errors_are_usage_errors(shell, line, body, message):
    _, error = cell(shell, line, body)
    assert isinstance(error, UsageError), error
    assert message in str(error) and "s3cret" not in str(error)


def test_invalid_sql_from_the_model_is_a_usage_error(shell, chinook_sqlite_url, capsys):
    # A question the tiny model never saw: it writes something, but not valid SQL.
    _, error = cell(shell, f"--db {chinook_sqlite_url}", "zebra quantum marmalade?")
    out = capsys.readouterr().out
    if error is None:  # the model happened to write a valid query: it ran read-only
        return
    assert isinstance(error, UsageError) and "not valid" in str(error)
    assert "✗" in out


def test_an_interrupt_cancels_generation_and_the_kernel_keeps_working(shell, chinook_sqlite_url, capsys):
    shell.run_cell("%config Text2SQL.max_tokens = 4000")
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        result, error = cell(shell, f"--db {chinook_sqlite_url}", "zebra quantum marmalade " * 40)
    finally:
        timer.cancel()
        shell.run_cell("%config Text2SQL.max_tokens = 256")
    assert error is None and result is None
    assert "generation cancelled" in capsys.readouterr().out
    frame, error = cell(shell, f"--db {chinook_sqlite_url}", QUESTION)
    assert error is None and len(frame) == 5


def test_config_traits_reach_the_settings(shell):
    shell.run_cell("%config Text2SQL.row_limit = 2")
    try:
        frame, error = cell(shell, "", QUESTION)
        assert error is None and len(frame) == 2
    finally:
        shell.run_cell("%config Text2SQL.row_limit = 1000")
