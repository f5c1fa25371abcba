"""The ``text2sql`` command end to end, in a subprocess, on real database files."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from text2sql.data import CHINOOK_PATH


def cli(*args: str, env_extra: dict | None = None, stdin: str | None = None, tmp_home: Path | None = None):
    env = dict(os.environ)
    if tmp_home is not None:  # an empty user config: defaults only
        env["XDG_CONFIG_HOME"] = str(tmp_home / "config")
        env.pop("TEXT2SQL_CONFIG", None)
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "text2sql", *args],
        capture_output=True,
        text=True,
        input=stdin,
        env=env,
        timeout=120,
    )


@pytest.fixture
def home(tmp_path):
    return tmp_path


def test_help_lists_every_command_and_loads_no_torch(home):
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from text2sql.cli import main; "
         "rc = main(['--help']) if False else None; "
         "from text2sql.cli import build_parser; build_parser().format_help(); "
         "print('torch' in sys.modules, 'pygls' in sys.modules)"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.stdout.strip() == "False False", proc.stderr
    out = cli("--help", tmp_home=home).stdout
    for command in ("schema", "check", "run", "ask", "cache", "serve", "finetune", "eval"):
        assert command in out


def test_schema_defaults_to_the_bundled_chinook(home):
    proc = cli("schema", tmp_home=home)
    assert proc.returncode == 0, proc.stderr
    assert "-- dialect: sqlite" in proc.stdout
    for table in ("Album", "Artist", "InvoiceLine", "Track"):
        assert f"CREATE TABLE {table} (" in proc.stdout


def test_schema_with_a_question_prints_the_whole_prompt(home, chinook_sqlite_url):
    proc = cli("schema", "--db", chinook_sqlite_url, "-q", "how many albums?", tmp_home=home)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.rstrip().endswith("-- how many albums?")


def test_check_reports_line_and_column_and_exits_nonzero(home, chinook_sqlite_url):
    proc = cli("check", "--db", chinook_sqlite_url, "SELECT Name\nFROM Artist\nWHERE nme = 'x'", tmp_home=home)
    assert proc.returncode == 1
    assert "3:7" in proc.stdout and "nme" in proc.stdout


def test_check_accepts_a_valid_query_from_stdin(home, chinook_sqlite_url):
    proc = cli("check", "--db", chinook_sqlite_url, "-", stdin="SELECT Title FROM Album", tmp_home=home)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_run_prints_the_rows_of_the_query(home, chinook_sqlite_url):
    sql = "SELECT Name FROM Artist WHERE ArtistId <= 3 ORDER BY ArtistId"
    proc = cli("run", "--db", chinook_sqlite_url, "--format", "csv", sql, tmp_home=home)
    assert proc.returncode == 0, proc.stderr
    expected = [r[0] for r in sqlite3.connect(CHINOOK_PATH).execute(sql)]
    assert proc.stdout.splitlines() == ["Name", *expected]


@pytest.mark.parametrize(
    "sql",
    [
        "DELETE FROM Artist",
        "DROP TABLE Artist",
        "SELECT 1; DELETE FROM Artist",
        "PRAGMA writable_schema = 1",
        "ATTACH DATABASE '/tmp/x.db' AS x",
    ],
)
def test_run_refuses_anything_that_is_not_a_read_only_query(home, chinook_sqlite_url, sql):
    proc = cli("run", "--db", chinook_sqlite_url, sql, tmp_home=home)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error:") and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "db, needle",
    [
        ("notaurl", "notaurl"),
        ("sqlite:////nonexistent/dir/x.db", "/nonexistent/dir/x.db"),
        ("postgresql+psycopg://bob:s3cret@127.0.0.1:1/shop", "127.0.0.1"),
    ],
)
def test_bad_databases_give_one_clear_line_without_the_password(home, db, needle):
    proc = cli("schema", "--db", db, tmp_home=home)
    assert proc.returncode == 1
    assert needle in proc.stderr
    assert "s3cret" not in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_empty_sql_is_a_clear_error(home, chinook_sqlite_url):
    proc = cli("run", "--db", chinook_sqlite_url, "   ", tmp_home=home)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "empty" in proc.stderr.lower()
