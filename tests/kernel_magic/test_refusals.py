"""What the magic refuses to run, with a tiny model trained to write it: a DELETE, a query
on an excluded column, a column that does not exist. Each is shown, refused with a
UsageError naming why, and nothing reaches the database."""

from __future__ import annotations

import sqlite3

import pytest
from IPython.core.error import UsageError

from tests.kernel_magic.conftest import (
    EXCLUDED_COLUMN,
    EXCLUDED_QUESTION,
    EXCLUDED_SQL,
    INVALID_QUESTION,
    INVALID_SQL,
    SAFE_QUESTION,
    WRITE_QUESTION,
    WRITE_SQL,
    model_env,
)
from tests.kernel_magic.helpers import ask, rows, run, sqlite_path


@pytest.fixture(scope="module")
def tiny_env(misbehaving_model, tmp_path_factory):
    """This module's shell uses the misbehaving model."""
    yield from model_env(misbehaving_model, tmp_path_factory)


def album_count(url: str) -> int:
    with sqlite3.connect(sqlite_path(url)) as conn:
        return conn.execute("SELECT COUNT(*) FROM Album").fetchone()[0]


def test_a_write_statement_is_shown_refused_and_never_run(shell, chinook_sqlite_url):
    before = album_count(chinook_sqlite_url)
    cell = ask(shell, f"--db {chinook_sqlite_url}", WRITE_QUESTION)
    assert isinstance(cell.error, UsageError)
    assert str(cell.error) == ("refused, nothing was run: the model wrote a statement that is not read-only "
                               "(DELETE is not a read-only query)")
    assert WRITE_SQL in cell.shown and "✗" in cell.shown  # what was refused is on screen
    assert cell.result is None and album_count(chinook_sqlite_url) == before == 347


def test_no_run_and_insert_refuse_a_write_too(shell, chinook_sqlite_url):
    shell.rl_next_input = None
    cell = ask(shell, f"--db {chinook_sqlite_url} --no-run --insert -o sql_text", WRITE_QUESTION)
    assert isinstance(cell.error, UsageError) and "not read-only" in str(cell.error)
    assert shell.rl_next_input is None and "sql_text" not in shell.user_ns


def test_an_excluded_column_is_refused_and_its_values_never_shown(shell, chinook_sqlite_url):
    guarded = {"guarded": {"url": chinook_sqlite_url, "exclude": [EXCLUDED_COLUMN]}}
    assert run(shell, f"%config Text2SQL.connections = {guarded!r}").error is None
    # Customer.Email is not in the prompt, so constrained decoding (on by default) steers the
    # model away from writing it; off here to test the refusal behind it.
    shell.run_line_magic("config", "Text2SQL.constrained_decoding = False")
    try:
        cell = ask(shell, "--db guarded", EXCLUDED_QUESTION)
        assert isinstance(cell.error, UsageError)
        assert str(cell.error) == ("refused, nothing was run: the model's SQL touches an excluded object "
                                   "(column Email is excluded from text2sql)")
        assert EXCLUDED_SQL in cell.shown
        with sqlite3.connect(sqlite_path(chinook_sqlite_url)) as conn:
            emails = [e for (e,) in conn.execute("SELECT Email FROM Customer WHERE Country = 'Brazil'")]
        assert len(emails) == 5 and not any(e in cell.everything for e in emails)
        # The same connection answers questions that stay clear of the excluded column.
        fine = ask(shell, "--db guarded", SAFE_QUESTION)
        assert fine.error is None and rows(fine.result) == [(347,)]
    finally:
        run(shell, "%config Text2SQL.connections = {}")
        shell.run_line_magic("config", "Text2SQL.constrained_decoding = None")


def test_without_the_exclusion_the_same_query_runs(shell, chinook_sqlite_url):
    """The refusal above comes from the exclusion, not from the query: unguarded, the
    validator accepts the same SQL (the model was trained to write it on the guarded
    prompt only, so this is checked on the engine directly)."""
    from text2sql.execute import run as run_sql
    from text2sql.schema import introspect

    result = run_sql(chinook_sqlite_url, EXCLUDED_SQL, schema=introspect(chinook_sqlite_url))
    assert len(result.rows) == 5


def test_sql_that_does_not_match_the_schema_is_refused(shell, chinook_sqlite_url):
    # The model was trained to invent LoyaltyTier; constrained decoding (on by default)
    # would keep it from writing that name, so it is switched off here with %config.
    shell.run_line_magic("config", "Text2SQL.constrained_decoding = False")
    try:
        cell = ask(shell, f"--db {chinook_sqlite_url}", INVALID_QUESTION)
    finally:
        shell.run_line_magic("config", "Text2SQL.constrained_decoding = None")
    assert isinstance(cell.error, UsageError)
    message = str(cell.error)
    assert message.startswith("the model's SQL is not valid, nothing was run: 1:")
    assert "unknown column LoyaltyTier" in message
    assert INVALID_SQL in cell.shown and "✗" in cell.shown
