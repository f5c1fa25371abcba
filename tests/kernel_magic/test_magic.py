"""The %%text2sql magic in a real IPython shell, with the tiny overfit model, on real
SQLite and DuckDB files: results checked against independently written queries."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys

import pytest
from IPython.core.error import UsageError

from tests.fixtures.tiny_model import TINY_PAIRS, tiny_config
from tests.kernel_magic.helpers import ask, rows, run, sqlite_path

QUESTION, SQL = next((q, s) for q, s in TINY_PAIRS if "Brazil" in q)  # 5 customers
ALBUMS_Q, ALBUMS_SQL = next((q, s) for q, s in TINY_PAIRS if "albums are there" in q)


def sqlite_rows(url: str, sql: str) -> list[tuple]:
    with sqlite3.connect(sqlite_path(url)) as conn:
        return conn.execute(sql).fetchall()


def test_the_dataframe_equals_an_independent_query_on_sqlite(shell, chinook_sqlite_url):
    cell = ask(shell, f"--db {chinook_sqlite_url}", QUESTION)
    assert cell.error is None, cell.everything
    assert list(cell.result.columns) == ["FirstName", "LastName"]
    assert rows(cell.result) == sqlite_rows(
        chinook_sqlite_url, "SELECT FirstName, LastName FROM Customer WHERE Country = 'Brazil' ORDER BY LastName")


def test_duckdb_rows_and_the_output_variable(shell, chinook_duckdb_url):
    import duckdb

    cell = ask(shell, f"--db {chinook_duckdb_url} -o brazil", QUESTION)
    assert cell.error is None, cell.everything
    assert shell.user_ns["brazil"] is cell.result
    # Opening the file with the user's own settings works right after the cell: text2sql
    # keeps no connection (and so no DuckDB file lock) between cells.
    with duckdb.connect(chinook_duckdb_url.removeprefix("duckdb:///")) as conn:
        expected = conn.execute(
            "SELECT FirstName, LastName FROM Customer WHERE Country = 'Brazil' ORDER BY LastName").fetchall()
    assert rows(cell.result) == expected and len(expected) == 5


def test_the_sql_is_shown_highlighted_for_jupyter_and_plain_for_terminals(shell, chinook_sqlite_url):
    cell = ask(shell, f"--db {chinook_sqlite_url} --no-run", QUESTION)
    assert cell.error is None and cell.result is None
    bundle = next(b for b in cell.displays if "text/markdown" in b)
    assert bundle["text/markdown"].startswith(f"```sql\n{SQL}\n```")
    assert "✓ valid against the live schema" in bundle["text/markdown"]
    assert bundle["text/plain"].splitlines()[0] == SQL
    assert f"database: {chinook_sqlite_url}" in bundle["text/plain"]


def test_connect_then_placeholders_from_the_namespace(shell, chinook_sqlite_url):
    connected = run(shell, f"%text2sql_connect {chinook_sqlite_url}")
    assert connected.error is None
    assert f"connected to {chinook_sqlite_url} (11 tables)" in connected.stdout
    shell.user_ns["country"] = "Brazil"
    cell = ask(shell, "", "Which customers live in {country}?")
    assert cell.error is None and len(cell.result) == 5
    braces = ask(shell, "--no-run", "Which customers live in {country}? {{not a variable}}")
    assert braces.error is None  # {{ }} are literal braces, not placeholders


def test_no_run_insert_and_output_variable_hold_the_sql(shell, chinook_sqlite_url):
    shell.rl_next_input = None
    cell = ask(shell, f"--db {chinook_sqlite_url} --no-run --insert -o query", QUESTION)
    assert cell.error is None and cell.result is None
    assert shell.rl_next_input == SQL  # set_next_input: the next cell holds the SQL
    assert shell.user_ns["query"] == SQL


def test_explain_shows_the_databases_plan(shell, chinook_sqlite_url):
    cell = ask(shell, f"--db {chinook_sqlite_url} --explain", QUESTION)
    assert cell.error is None and cell.result is None
    plan = sqlite_rows(chinook_sqlite_url, f"EXPLAIN QUERY PLAN {SQL.rstrip(';')}")
    shown = next(b["text/plain"] for b in cell.displays if "text/plain" in b and "```text" in b.get("text/markdown", ""))
    assert [line.strip() for line in shown.splitlines()] == [detail for *_, detail in plan]


def test_limit_cuts_the_rows_and_says_so(shell, chinook_sqlite_url):
    cell = ask(shell, f"--db {chinook_sqlite_url} --limit 2", QUESTION)
    assert cell.error is None and len(cell.result) == 2
    assert "showing the first 2 rows" in cell.stdout


def test_precedence_option_over_config_over_toml(shell, chinook_sqlite_url, tiny_model_dir, tmp_path, monkeypatch):
    env = tiny_config(tmp_path, model=tiny_model_dir, row_limit=3)
    monkeypatch.setenv("TEXT2SQL_CONFIG", env["TEXT2SQL_CONFIG"])
    assert len(ask(shell, f"--db {chinook_sqlite_url}", QUESTION).result) == 3  # the TOML
    run(shell, "%config Text2SQL.row_limit = 2")
    try:
        assert len(ask(shell, f"--db {chinook_sqlite_url}", QUESTION).result) == 2  # %config beats the TOML
        assert len(ask(shell, f"--db {chinook_sqlite_url} --limit 4", QUESTION).result) == 4  # the option beats both
    finally:
        shell.run_cell("%config Text2SQL.row_limit = None")


def test_connection_names_from_the_config_file_and_from_connect(shell, chinook_sqlite_url, tiny_model_dir,
                                                                tmp_path, monkeypatch):
    env = tiny_config(tmp_path, model=tiny_model_dir)
    with open(env["TEXT2SQL_CONFIG"], "a") as config:
        config.write(f'[connections.music]\nurl = "{chinook_sqlite_url}"\n')
    monkeypatch.setenv("TEXT2SQL_CONFIG", env["TEXT2SQL_CONFIG"])
    cell = ask(shell, "--db music", ALBUMS_Q)
    assert cell.error is None and rows(cell.result) == sqlite_rows(chinook_sqlite_url, ALBUMS_SQL)
    named = run(shell, f"%text2sql_connect --name shop {chinook_sqlite_url}")
    assert named.error is None and "as 'shop'" in named.stdout
    cell = ask(shell, "--db shop", ALBUMS_Q)
    assert cell.error is None and rows(cell.result) == [(347,)]


@pytest.mark.parametrize(
    "line, body, message",
    [
        ("", "   ", "the cell is empty"),
        ("--db notaurl", ALBUMS_Q, "no connection named 'notaurl'"),
        ("--db sqlite:////nonexistent/x.db", ALBUMS_Q, "no such SQLite database file: /nonexistent/x.db"),
        ("--db 'postgresql+nosuchdriver://u@h/d'", ALBUMS_Q, "unknown database type"),
        ("", "customers in {no_such_variable}", "{no_such_variable} in the question is not a variable"),
        ("--limit 0", ALBUMS_Q, "--limit must be a positive number of rows"),
        ("-o 1x", ALBUMS_Q, "-o '1x' is not a Python variable name"),
        ("--nosuchflag", ALBUMS_Q, "unrecognized arguments: --nosuchflag"),
        ("--db postgresql+psycopg://bob:s3cret@127.0.0.1:1/x", ALBUMS_Q, "cannot connect to postgresql+psycopg://bob:***@127.0.0.1:1/x"),
    ],
)
def test_user_errors_are_one_line_usage_errors(shell, line, body, message):
    cell = ask(shell, line, body)
    assert isinstance(cell.error, UsageError), cell.everything
    assert message in str(cell.error)
    assert "Traceback" not in cell.stderr and len(str(cell.error).splitlines()) == 1
    assert "s3cret" not in cell.everything


def test_connect_errors_are_usage_errors(shell):
    cell = run(shell, "%text2sql_connect sqlite:////nonexistent/x.db")
    assert isinstance(cell.error, UsageError) and "no such SQLite database file" in str(cell.error)
    cell = run(shell, "%text2sql_connect --name 'a://b' sqlite:////nonexistent/x.db")
    assert isinstance(cell.error, UsageError) and "not a usable connection name" in str(cell.error)


def _magics(shell):
    return shell.magics_manager.registry["Text2SQLMagics"]


def test_an_interrupt_cancels_generation_and_the_kernel_keeps_working(shell, chinook_sqlite_url):
    """A real SIGINT (what "Interrupt kernel" sends) arrives while the model is writing."""
    from text2sql.kernel_magic.generation import assistant_for

    magics = _magics(shell)
    pieces: list[str] = []

    def interrupt_on_first_piece(piece: str) -> None:
        pieces.append(piece)
        if len(pieces) == 1:
            os.kill(os.getpid(), signal.SIGINT)

    assistant = assistant_for(magics.options.settings())
    ask(shell, f"--db {chinook_sqlite_url} --no-run", ALBUMS_Q)  # the model is loaded
    cancelled_before = assistant.activity.cancelled
    magics.token_listeners.append(interrupt_on_first_piece)
    # A kernel turns SIGINT into KeyboardInterrupt; a jupyter-server started by another
    # test in this process may have installed its own handler, so restore the kernel's.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        cell = ask(shell, f"--db {chinook_sqlite_url}", QUESTION)
    finally:
        signal.signal(signal.SIGINT, previous)
        magics.token_listeners.remove(interrupt_on_first_piece)
    assert cell.error is None and cell.result is None
    assert "generation cancelled" in cell.stdout
    assert assistant.activity.cancelled == cancelled_before + 1  # the model really stopped
    assert "".join(pieces) != SQL  # it stopped part-way
    after = ask(shell, f"--db {chinook_sqlite_url}", QUESTION)
    assert after.error is None and len(after.result) == 5


def test_config_traits_are_documented_and_reach_the_settings(shell):
    help_text = run(shell, "%config Text2SQL").stdout
    for trait in ("model", "adapter", "precision", "device", "row_limit", "timeout_s", "n_candidates", "connections"):
        assert f"Text2SQL.{trait}" in help_text
    run(shell, "%config Text2SQL.precision = 'bf16'")
    try:
        assert _magics(shell).options.settings().precision == "bf16"
    finally:
        run(shell, "%config Text2SQL.precision = None")
    run(shell, "%config Text2SQL.precision = 'fp8'")  # traitlets refuses it (IPython logs why)
    assert _magics(shell).options.precision is None
    assert _magics(shell).options.settings().precision == "fp32"  # still the tiny model's TOML
    # IPython keeps the refused value in its config: loading the extension again skips it.
    run(shell, "%unload_ext text2sql")
    reloaded = run(shell, "%load_ext text2sql")
    assert reloaded.error is None and "ignoring %config Text2SQL.precision" in reloaded.stdout
    assert _magics(shell).options.settings().precision == "fp32"
    run(shell, "%config Text2SQL.precision = None")


def test_unload_and_load_again(shell, chinook_sqlite_url):
    run(shell, "%unload_ext text2sql")
    gone = ask(shell, f"--db {chinook_sqlite_url}", QUESTION)
    assert isinstance(gone.error, UsageError) and "not found" in str(gone.error)
    assert run(shell, "%load_ext text2sql").error is None
    back = ask(shell, f"--db {chinook_sqlite_url}", QUESTION)
    assert back.error is None and len(back.result) == 5


def test_in_a_kernel_the_sql_grows_in_place_then_shows_the_verdict(shell, chinook_sqlite_url, monkeypatch):
    """The live display of a Jupyter kernel (ipykernel is not installed here, so the shell
    is marked as a kernel; display ids and updates are IPython's real machinery)."""
    monkeypatch.setattr(shell, "kernel", object(), raising=False)
    cell = ask(shell, f"--db {chinook_sqlite_url}", QUESTION)
    assert cell.error is None and len(cell.result) == 5
    bundles = [b for b in cell.displays if "text/markdown" in b]
    assert bundles[0]["text/plain"] == "\n… writing"  # shown before the first token
    assert bundles[-1]["text/markdown"].startswith(f"```sql\n{SQL}\n```")
    assert "✓ valid against the live schema" in bundles[-1]["text/markdown"]
    ids = [display_id for display_id, _ in cell.display_ids[: len(bundles)]]
    assert len(bundles) >= 2 and ids[0] is not None and set(ids) == {ids[0]}  # one output, updated
    assert [update for _, update in cell.display_ids[: len(bundles)]] == [False] + [True] * (len(bundles) - 1)


def test_loading_the_extension_loads_no_model_database_or_jupysql_stack():
    probe = (
        "import sys\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "assert InteractiveShell.instance().run_cell('%load_ext text2sql').success\n"
        "print(sorted(m for m in ('torch', 'transformers', 'pandas', 'sqlalchemy', 'jupyter_server', 'sql')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "[]"
