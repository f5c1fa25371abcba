"""Databases that go away and come back, and passwords that never reach notebook output.

SQLite and DuckDB files are moved away and back; a PostgreSQL database (reached with a
password in its URL; the test server trusts local users, so any password connects) is
dropped and created again. While a database is gone every cell is a one-line UsageError;
once it is back the next cell works, without restarting the kernel.
"""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
import sqlalchemy as sa
from IPython.core.error import UsageError

from tests.fixtures.databases import PG_ADMIN_URL, load_chinook, unreachable
from tests.fixtures.tiny_model import TINY_PAIRS
from tests.kernel_magic.helpers import ask, rows, run

QUESTION, SQL = next((q, s) for q, s in TINY_PAIRS if "Brazil" in q)
ALBUMS_Q = next(q for q, _ in TINY_PAIRS if "albums are there" in q)
SECRET = "Pw-" + uuid.uuid4().hex[:10]  # must never appear in anything a cell shows


@pytest.mark.parametrize("kind", ["sqlite", "duckdb"])
def test_a_database_file_that_goes_away_and_comes_back(shell, kind, chinook_sqlite_url, chinook_duckdb_url,
                                                       tmp_path):
    source = (chinook_sqlite_url if kind == "sqlite" else chinook_duckdb_url).split(":///", 1)[1]
    path = tmp_path / os.path.basename(source)
    shutil.copy(source, path)
    url = f"{kind}:///{path}"
    first = ask(shell, f"--db {url}", QUESTION)
    assert first.error is None and len(first.result) == 5

    path.rename(tmp_path / "elsewhere")
    gone = ask(shell, f"--db {url}", QUESTION)
    assert isinstance(gone.error, UsageError), gone.everything
    assert str(path) in str(gone.error)
    assert "cannot connect" in str(gone.error) or "no such" in str(gone.error)

    (tmp_path / "elsewhere").rename(path)
    back = ask(shell, f"--db {url}", QUESTION)
    assert back.error is None and rows(back.result) == rows(first.result)


@pytest.fixture
def postgres_with_password():
    """A fresh PostgreSQL database with Chinook; its URL carries SECRET as the password.
    Yields (url, drop, create) so a test can make the database go away and come back."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"t2s_magic_{os.getpid()}_{uuid.uuid4().hex[:6]}"

    def create():
        with admin.connect() as conn:
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        load_chinook(admin.url.set(database=name).render_as_string(hide_password=False))

    def drop():
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    try:
        create()
    except sa.exc.OperationalError as err:
        admin.dispose()
        unreachable(f"PostgreSQL at {admin.url.render_as_string(hide_password=True)}: {str(err.orig).splitlines()[0]}")
    url = admin.url.set(database=name, password=SECRET).render_as_string(hide_password=False)
    try:
        yield url, drop, create
    finally:
        drop()
        admin.dispose()


def test_postgres_dropped_and_recreated_without_ever_showing_the_password(shell, postgres_with_password):
    url, drop, create = postgres_with_password
    shown_url = url.replace(SECRET, "***")
    seen: list[str] = []

    def cell(source: str):
        result = run(shell, source)
        seen.append(result.everything)
        return result

    connected = cell(f"%text2sql_connect --name pg {url}")
    assert connected.error is None, connected.everything
    assert f"connected to {shown_url} (11 tables) as 'pg'" in connected.stdout
    answered = cell(f"%%text2sql --db pg --no-run\n{ALBUMS_Q}")
    # The tiny model was trained on SQLite/DuckDB prompts only, so its PostgreSQL SQL may
    # be refused by the validator; what matters here is that the database was reached.
    assert answered.error is None or "cannot connect" not in str(answered.error)
    assert f"database: {shown_url}" in answered.everything
    cell("%config Text2SQL")

    drop()
    down = cell(f"%%text2sql --db pg\n{ALBUMS_Q}")
    assert isinstance(down.error, UsageError)
    assert str(down.error).startswith(f"cannot connect to {shown_url}: ")
    assert "does not exist" in str(down.error)
    again = cell(f"%text2sql_connect {url}")
    assert isinstance(again.error, UsageError) and "cannot connect" in str(again.error)

    create()
    back = cell(f"%text2sql_connect {url}")
    assert back.error is None and "(11 tables)" in back.stdout
    answered = cell(f"%%text2sql --no-run\n{ALBUMS_Q}")
    assert answered.error is None or "cannot connect" not in str(answered.error)
    assert f"database: {shown_url}" in answered.everything  # checked against the live schema again

    for text in seen:
        assert SECRET not in text
    assert len(seen) == 7


def test_an_unreachable_server_is_one_redacted_line(shell):
    url = f"postgresql+psycopg://reader:{SECRET}@127.0.0.1:1/shop"
    for source in (f"%text2sql_connect {url}", f"%%text2sql --db {url}\n{ALBUMS_Q}"):
        result = run(shell, source)
        assert isinstance(result.error, UsageError)
        message = str(result.error)
        assert message.startswith("cannot connect to postgresql+psycopg://reader:***@127.0.0.1:1/shop")
        assert len(message.splitlines()) == 1 and SECRET not in result.everything
