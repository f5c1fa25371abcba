"""The second read-only layer on its own: every bypass is sent with the AST check
switched off (``_execute_read_only``) and the connection must refuse it, on every
database. PostgreSQL and MariaDB run as a NON-superuser role with SELECT grants that the
tests create (a PostgreSQL superuser in a READ ONLY transaction could still COPY ... TO
PROGRAM). Afterwards no row and no file has changed. What only the AST stops is listed in
SECURITY.md, and asserted here as such."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from text2sql.errors import QueryFailed
from text2sql.execute import _execute_read_only, run

MARK = Path("/tmp") / f"t2s_bypass_{uuid.uuid4().hex[:8]}"

BYPASSES = {
    "sqlite": [
        "DELETE FROM Artist", "UPDATE Artist SET Name = 'x'", "INSERT INTO Artist (Name) VALUES ('x')",
        "DROP TABLE Artist", "CREATE TABLE pwned (a INT)", "ALTER TABLE Artist ADD COLUMN x INT",
        f"ATTACH DATABASE '{MARK}.db' AS evil", f"VACUUM INTO '{MARK}.db'", "PRAGMA writable_schema = 1",
        "PRAGMA journal_mode = DELETE", "SELECT load_extension('/tmp/evil.so')",
        "REPLACE INTO Artist (ArtistId, Name) VALUES (1, 'x')",
    ],
    "duckdb": [
        "DELETE FROM Artist", "UPDATE Artist SET Name = 'x'", "CREATE TABLE pwned (a INT)", "DROP TABLE Artist",
        f"COPY Artist TO '{MARK}.csv'", "SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM '/etc/hostname'",
        "INSTALL httpfs", "LOAD httpfs", f"ATTACH '{MARK}.duckdb' AS other", "SET enable_external_access = true",
        f"EXPORT DATABASE '{MARK}_dump'",
    ],
    "postgres": [
        'DELETE FROM "Artist"', 'UPDATE "Artist" SET "Name" = \'x\'', 'CREATE TABLE pwned (a INT)',
        'DROP TABLE "Artist"', 'TRUNCATE "Artist"', "SELECT pg_read_file('/etc/passwd')",
        "SELECT lo_import('/etc/passwd')", f"COPY (SELECT 1) TO PROGRAM 'touch {MARK}.pg'",
        f"COPY \"Artist\" TO '{MARK}.csv'", 'WITH gone AS (DELETE FROM "Artist" RETURNING *) SELECT * FROM gone',
        'SELECT * INTO pwned FROM "Artist"', "CREATE TEMP TABLE t AS SELECT 1",
        "SELECT pg_ls_dir('/')", "SELECT nextval('pwn_seq')",
    ],
    "mariadb": [
        "DELETE FROM Artist", "UPDATE Artist SET Name = 'x'", "CREATE TABLE pwned (a INT)", "DROP TABLE Artist",
        f"SELECT * FROM Artist INTO OUTFILE '{MARK}.out'", "LOAD DATA INFILE '/etc/passwd' INTO TABLE Artist",
        "INSERT INTO Artist (Name) VALUES ('x')", "TRUNCATE Artist", "CREATE DATABASE pwned",
    ],
}

# Not errors at the connection layer, but harmless there: they return nothing useful.
HARMLESS = {
    "mariadb": [("SELECT LOAD_FILE('/etc/passwd')", [(None,)])],  # no FILE privilege -> NULL
}

# What only the AST policy stops (documented in SECURITY.md): accepted by the
# connection, refused by text2sql before it gets there.
AST_ONLY = {
    "postgres": ["SELECT set_config('statement_timeout', '0', false)", "SET statement_timeout = 0"],
    "mariadb": ["SET @x = 1"],
}


@pytest.fixture(scope="session")
def reader_urls(chinook_sqlite_url, chinook_duckdb_url, chinook_postgres_url, chinook_mariadb_url):
    role = f"t2s_reader_{os.getpid()}"
    pg_admin = sa.create_engine(chinook_postgres_url, isolation_level="AUTOCOMMIT")
    pg_db = sa.engine.make_url(chinook_postgres_url).database
    with pg_admin.connect() as c:
        c.exec_driver_sql(f"CREATE ROLE {role} LOGIN NOSUPERUSER")
        c.exec_driver_sql(f"GRANT CONNECT ON DATABASE {pg_db} TO {role}")
        c.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
        c.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        c.exec_driver_sql("CREATE SEQUENCE pwn_seq")
        c.exec_driver_sql(f"GRANT ALL ON SEQUENCE pwn_seq TO {role}")
    my_admin = sa.create_engine(chinook_mariadb_url, isolation_level="AUTOCOMMIT")
    my_db = sa.engine.make_url(chinook_mariadb_url).database
    with my_admin.connect() as c:
        for host in ("localhost", "127.0.0.1", "%"):
            c.exec_driver_sql(f"CREATE USER '{role}'@'{host}'".replace("%", "%%"))
            c.exec_driver_sql(f"GRANT SELECT ON {my_db}.* TO '{role}'@'{host}'".replace("%", "%%"))
    urls = {
        "sqlite": chinook_sqlite_url,
        "duckdb": chinook_duckdb_url,
        "postgres": sa.engine.make_url(chinook_postgres_url).set(username=role).render_as_string(False),
        "mariadb": sa.engine.make_url(chinook_mariadb_url).set(username=role).render_as_string(False),
    }
    yield urls
    with pg_admin.connect() as c:
        c.exec_driver_sql(f"REASSIGN OWNED BY {role} TO postgres")
        c.exec_driver_sql(f"DROP OWNED BY {role}")
        c.exec_driver_sql("DROP SEQUENCE IF EXISTS pwn_seq")
    with my_admin.connect() as c:
        for host in ("localhost", "127.0.0.1", "%"):
            c.exec_driver_sql(f"DROP USER IF EXISTS '{role}'@'{host}'".replace("%", "%%"))
    pg_admin.dispose()
    my_admin.dispose()


def _fingerprint(url: str) -> str:
    """Row counts and a checksum of every Chinook table, read through a plain connection."""
    from text2sql.db import create_engine

    engine = create_engine(url)  # read-only, the configuration DuckDB allows beside text2sql's
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in sorted(sa.inspect(conn).get_table_names(), key=str.lower):
            q = '"' if engine.dialect.name != "mysql" else "`"
            rows = conn.exec_driver_sql(f"SELECT * FROM {q}{table}{q}").fetchall()
            digest.update(f"{table}:{len(rows)}:{sorted(map(repr, rows))}".encode())
    engine.dispose()
    return digest.hexdigest()


CASES = [(db, sql) for db, sqls in BYPASSES.items() for sql in sqls]


@pytest.mark.parametrize("db, sql", CASES, ids=[f"{d}:{s[:45]}" for d, s in CASES])
def test_connection_alone_refuses_every_bypass(reader_urls, db, sql):
    before = _fingerprint(reader_urls[db] if db in ("sqlite", "duckdb") else _admin(reader_urls[db]))
    with pytest.raises(QueryFailed):
        _execute_read_only(reader_urls[db], sql, timeout_s=5)
    after = _fingerprint(reader_urls[db] if db in ("sqlite", "duckdb") else _admin(reader_urls[db]))
    assert before == after
    assert not list(Path("/tmp").glob(MARK.name + "*")), "a bypass created a file"


def _admin(reader_url: str) -> str:
    url = sa.engine.make_url(reader_url)
    return url.set(username="postgres" if url.get_backend_name() == "postgresql" else "root").render_as_string(False)


@pytest.mark.parametrize("db, sql, expected", [(d, s, e) for d, items in HARMLESS.items() for s, e in items])
def test_harmless_at_the_connection_layer(reader_urls, db, sql, expected):
    assert _execute_read_only(reader_urls[db], sql).rows == expected


@pytest.mark.parametrize("db, sql", [(d, s) for d, sqls in AST_ONLY.items() for s in sqls])
def test_what_only_the_ast_stops_is_stopped_by_run(reader_urls, db, sql):
    _execute_read_only(reader_urls[db], sql)  # the connection accepts it (documented)
    with pytest.raises(Exception) as info:
        run(reader_urls[db], sql)
    assert "refused" in str(info.value) or "not a read-only" in str(info.value)


@pytest.mark.parametrize("db", ["sqlite", "duckdb", "postgres", "mariadb"])
def test_every_bypass_is_also_refused_by_run_before_reaching_the_database(reader_urls, db):
    for sql in BYPASSES[db]:
        with pytest.raises(Exception) as info:
            run(reader_urls[db], sql)
        assert not isinstance(info.value, QueryFailed), f"{sql!r} reached the database"
