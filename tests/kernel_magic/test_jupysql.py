"""Reusing JupySQL's active ``%sql`` connection, without ever importing JupySQL.

JupySQL is not installed here (and must never become a dependency: it sends telemetry),
so its connection registry is stood in for by a module with the same shape as
``sql.connection`` in JupySQL 0.10: ``ConnectionManager.current`` is a connection whose
``url`` is redacted and whose ``connection_sqlalchemy`` is a real SQLAlchemy connection
to a real database. Everything else (the magic, the model, the database) is real.
"""

from __future__ import annotations

import importlib.abc
import sqlite3
import sys
import types

import pytest
import sqlalchemy as sa

from tests.fixtures.tiny_model import TINY_PAIRS
from tests.kernel_magic.helpers import ask, rows, run, sqlite_path

QUESTION, SQL = next((q, s) for q, s in TINY_PAIRS if "Brazil" in q)


class _SQLAlchemyConnection:
    """Shaped like jupysql's SQLAlchemyConnection (only what text2sql may look at)."""

    def __init__(self, engine):
        self._url = repr(engine.url)  # JupySQL shows the URL with the password hidden
        self._connection_sqlalchemy = engine.connect()

    @property
    def url(self):
        return self._url

    @property
    def connection_sqlalchemy(self):
        return self._connection_sqlalchemy


class _DBAPIConnection:
    """Shaped like jupysql's DBAPIConnection: a raw driver connection, no SQLAlchemy URL."""

    def __init__(self, raw):
        self._connection = raw
        self.url = None


@pytest.fixture
def jupysql_connected(monkeypatch):
    """Install the stand-in ``sql.connection``; returns a function making a connection current."""
    package = types.ModuleType("sql")
    module = types.ModuleType("sql.connection")

    class ConnectionManager:
        connections: dict = {}
        current = None

    module.ConnectionManager = ConnectionManager
    package.connection = module
    monkeypatch.setitem(sys.modules, "sql", package)
    monkeypatch.setitem(sys.modules, "sql.connection", module)
    opened = []

    def connect(current):
        ConnectionManager.current = current
        opened.append(current)
        return current

    yield connect
    for current in opened:
        if isinstance(current, _SQLAlchemyConnection):
            current.connection_sqlalchemy.close()
            current.connection_sqlalchemy.engine.dispose()


def test_the_active_sql_connection_is_used_when_no_db_is_given(shell, jupysql_connected, chinook_sqlite_url):
    jupysql_connected(_SQLAlchemyConnection(sa.create_engine(chinook_sqlite_url)))
    cell = ask(shell, "", QUESTION)
    assert cell.error is None, cell.everything
    assert f"database: {chinook_sqlite_url}" in cell.shown
    with sqlite3.connect(sqlite_path(chinook_sqlite_url)) as conn:
        assert rows(cell.result) == conn.execute(SQL.rstrip(";")).fetchall()


def test_db_and_connect_take_precedence_over_jupysql(shell, jupysql_connected, chinook_sqlite_url,
                                                     chinook_duckdb_url):
    jupysql_connected(_SQLAlchemyConnection(sa.create_engine(chinook_sqlite_url)))
    explicit = ask(shell, f"--db {chinook_duckdb_url} --no-run", QUESTION)
    assert f"database: {chinook_duckdb_url}" in explicit.shown
    run(shell, f"%text2sql_connect {chinook_duckdb_url}")
    try:
        connected = ask(shell, "--no-run", QUESTION)
        assert f"database: {chinook_duckdb_url}" in connected.shown
    finally:
        shell.magics_manager.registry["Text2SQLMagics"].connection = None


def test_a_dbapi_connection_is_not_reused(shell, jupysql_connected, chinook_sqlite_url):
    from text2sql.data import chinook_url

    raw = sqlite3.connect(sqlite_path(chinook_sqlite_url))
    try:
        jupysql_connected(_DBAPIConnection(raw))
        cell = ask(shell, "--no-run", QUESTION)
    finally:
        raw.close()
    assert cell.error is None
    assert f"database: sqlite:///{sqlite_path(chinook_url())}" in cell.shown  # the default: the demo


def test_jupysql_is_never_imported(shell, chinook_sqlite_url, monkeypatch):
    assert "sql" not in sys.modules
    attempts: list[str] = []

    class Recorder(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "sql" or name.startswith("sql."):
                attempts.append(name)
            return None

    monkeypatch.setattr(sys, "meta_path", [Recorder(), *sys.meta_path])
    run(shell, "%unload_ext text2sql")
    assert run(shell, "%load_ext text2sql").error is None
    cell = ask(shell, "", QUESTION)
    assert cell.error is None and len(cell.result) == 5
    assert attempts == [] and "sql" not in sys.modules
