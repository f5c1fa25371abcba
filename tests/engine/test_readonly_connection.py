"""The second read-only layer on its own, on all four real databases.

Every bypass is sent with the AST check switched off (``_execute_read_only``), and the
connection must refuse it for the reason we claim (a read-only transaction, a missing
privilege, the SQLite authorizer, DuckDB's locked configuration, one statement only), not
by accident. PostgreSQL and MariaDB run as a NON-superuser role with SELECT grants that
the tests create and drop: a PostgreSQL superuser in a READ ONLY transaction can still
``COPY ... TO PROGRAM``, and MariaDB's root can ``SELECT ... INTO OUTFILE`` (both shown
below). After each attempt no row, database object, sequence or file has changed.

What the connection accepts is recorded as such (SECURITY.md), with what makes it
harmless; and every bypass is refused again by ``run`` before reaching the database.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from text2sql.errors import InvalidSQL, QueryFailed, ReadOnlyViolation
from text2sql.execute import _execute_read_only, run

MARK = f"/tmp/t2s_bypass_{uuid.uuid4().hex[:8]}"  # every file a bypass could create starts so

# (statement, the reason the connection must give). Each one would succeed on a plain,
# writable connection of a privileged account.
RO_SQLITE = "not authorized|authorization denied|readonly database"
BYPASSES: dict[str, list[tuple[str, str]]] = {
    "sqlite": [
        ("DELETE FROM Artist", RO_SQLITE),
        ("UPDATE Artist SET Name = 'x'", RO_SQLITE),
        ("INSERT INTO Artist (Name) VALUES ('x')", RO_SQLITE),
        ("REPLACE INTO Artist (ArtistId, Name) VALUES (1, 'x')", RO_SQLITE),
        ("INSERT INTO Artist (ArtistId, Name) VALUES (1, 'x') ON CONFLICT(ArtistId) DO UPDATE SET Name = 'y'", RO_SQLITE),
        ("INSERT INTO Artist SELECT ArtistId + 1000, Name FROM Artist", RO_SQLITE),
        ("WITH doomed AS (SELECT 1) DELETE FROM Artist", RO_SQLITE),
        ("DELETE FROM Artist WHERE ArtistId = 1 RETURNING *", RO_SQLITE),
        ("DROP TABLE Artist", RO_SQLITE),
        ("CREATE TABLE pwned (a INT)", RO_SQLITE),
        ("CREATE TABLE pwned AS SELECT * FROM Artist", RO_SQLITE),
        ("ALTER TABLE Artist ADD COLUMN x INT", RO_SQLITE),
        ("ALTER TABLE Artist RENAME TO Singer", RO_SQLITE),
        ("CREATE INDEX pwned_idx ON Artist (Name)", RO_SQLITE),
        ("CREATE VIEW pwned_v AS SELECT 1", RO_SQLITE),
        ("CREATE TRIGGER pwned_t AFTER INSERT ON Artist BEGIN DELETE FROM Album; END", RO_SQLITE),
        ("CREATE TEMP TABLE scratch (a INT)", RO_SQLITE),
        ("CREATE TEMP VIEW scratch_v AS SELECT 1", RO_SQLITE),
        ("CREATE VIRTUAL TABLE pwned_fts USING fts5(body)", RO_SQLITE),
        (f"ATTACH DATABASE '{MARK}.db' AS evil", RO_SQLITE),
        ("ATTACH DATABASE ':memory:' AS scratch", RO_SQLITE),
        ("VACUUM", RO_SQLITE),
        (f"VACUUM INTO '{MARK}.db'", RO_SQLITE),
        ("REINDEX", RO_SQLITE),
        ("ANALYZE", RO_SQLITE),
        ("PRAGMA writable_schema = 1", RO_SQLITE),
        ("PRAGMA journal_mode = WAL", RO_SQLITE),
        ("PRAGMA user_version = 42", RO_SQLITE),
        ("PRAGMA query_only = 0", RO_SQLITE),
        ("SELECT load_extension('/tmp/evil.so')", RO_SQLITE),
        ("BEGIN IMMEDIATE", RO_SQLITE),
        ("SAVEPOINT s1", RO_SQLITE),
        ("SELECT 1; DELETE FROM Artist", "one statement at a time"),
        ("SELECT * FROM Artist; DROP TABLE Artist", "one statement at a time"),
    ],
    "duckdb": [
        ("DELETE FROM Artist", "read-only"),
        ("UPDATE Artist SET Name = 'x'", "read-only"),
        ("INSERT INTO Artist VALUES (9999, 'x')", "read-only"),
        ("INSERT OR REPLACE INTO Artist VALUES (1, 'x')", "read-only"),
        ("DROP TABLE Artist", "read-only"),
        ("CREATE TABLE pwned (a INT)", "read-only"),
        ("CREATE TABLE pwned AS SELECT * FROM Artist", "read-only"),
        ("ALTER TABLE Artist ADD COLUMN x INT", "read-only"),
        ("CREATE VIEW pwned_v AS SELECT 1", "read-only"),
        ("CREATE SEQUENCE pwned_seq", "read-only"),
        ("CREATE MACRO pwned_m(a) AS a", "read-only"),
        ("CREATE INDEX pwned_idx ON Artist (Name)", "read-only"),
        (f"COPY Artist TO '{MARK}.csv'", "external access|disabled"),
        ("COPY Artist FROM '/etc/hostname'", "read-only|external access|disabled"),
        (f"COPY (SELECT * FROM Artist) TO '{MARK}.parquet' (FORMAT parquet)", "external access|disabled"),
        ("IMPORT DATABASE '/tmp'", "read-only|external access|disabled"),
        ("SELECT * FROM read_csv('/etc/passwd')", "external access|disabled"),
        ("SELECT * FROM read_text('/etc/passwd')", "external access|disabled"),
        ("SELECT * FROM read_blob('/etc/hostname')", "external access|disabled"),
        ("SELECT * FROM read_json('/etc/hostname')", "external access|disabled"),
        ("SELECT * FROM read_parquet('/tmp/any.parquet')", "external access|disabled"),
        ("SELECT * FROM glob('/etc/*')", "external access|disabled"),
        ("SELECT * FROM sniff_csv('/etc/passwd')", "external access|disabled"),
        ("SELECT * FROM duckdb_secrets()", "disabled by configuration"),
        ("SELECT * FROM '/etc/hostname'", "Table with name /etc/hostname does not exist"),  # no file scan
        ("SELECT * FROM read_csv('https://example.com/data.csv')", "external access|disabled"),
        ("INSTALL httpfs", "external access|disabled|locked"),
        ("LOAD httpfs", "external access|disabled|locked"),
        (f"ATTACH '{MARK}.duckdb' AS other", "external access|disabled|read-only"),
        ("SET enable_external_access = true", "locked"),
        ("SET lock_configuration = false", "locked"),
        ("SET memory_limit = '100GB'", "locked"),
        (f"SET profiling_output = '{MARK}.prof'", "locked"),
        ("PRAGMA enable_profiling", "locked"),
        ("CREATE PERSISTENT SECRET pwned (TYPE s3, KEY_ID 'a', SECRET 'b')", "external access|disabled|read-only|locked"),
        ("SELECT 1; DELETE FROM Artist", "exactly one statement"),
    ],
    "postgres": [
        ('DELETE FROM "Artist"', "read-only transaction"),
        ('UPDATE "Artist" SET "Name" = \'x\'', "read-only transaction"),
        ('INSERT INTO "Artist" VALUES (9999, \'x\')', "read-only transaction"),
        ('INSERT INTO "Artist" VALUES (1, \'x\') ON CONFLICT DO NOTHING', "read-only transaction"),
        ('MERGE INTO "Artist" a USING (SELECT 1 AS id) s ON a."ArtistId" = s.id WHEN MATCHED THEN DELETE',
         "read-only transaction"),
        ('TRUNCATE "Artist"', "read-only transaction"),
        ('DROP TABLE "Artist"', "read-only transaction"),
        ("CREATE TABLE pwned (a INT)", "read-only transaction"),
        ('ALTER TABLE "Artist" ADD COLUMN x INT', "read-only transaction"),
        ("CREATE TEMP TABLE scratch AS SELECT 1", "read-only transaction"),
        ('SELECT * INTO pwned FROM "Artist"', "read-only transaction"),
        ('CREATE INDEX pwned_idx ON "Artist" ("Name")', "read-only transaction"),
        ("CREATE FUNCTION pwned() RETURNS int LANGUAGE sql AS 'SELECT 1'", "read-only transaction"),
        ("CREATE SCHEMA pwned", "read-only transaction"),
        ('GRANT ALL ON "Artist" TO PUBLIC', "read-only transaction"),
        ("CREATE ROLE pwned_role SUPERUSER", "read-only transaction"),
        ("ALTER ROLE CURRENT_USER PASSWORD 'pwned'", "read-only transaction"),
        ('COMMENT ON TABLE "Artist" IS \'pwned\'', "read-only transaction"),
        ('LOCK TABLE "Artist" IN ACCESS EXCLUSIVE MODE', "read-only transaction|permission denied"),
        ('SELECT * FROM "Artist" FOR UPDATE', "read-only transaction"),
        ('WITH gone AS (DELETE FROM "Artist" RETURNING *) SELECT * FROM gone', "read-only transaction"),
        ('DO $$ BEGIN DELETE FROM "Artist"; END $$', "read-only transaction"),
        ("SELECT nextval('pwn_seq')", "read-only transaction"),
        ("SELECT setval('pwn_seq', 99)", "read-only transaction"),
        (f"COPY (SELECT 1) TO PROGRAM 'touch {MARK}.pg'", "permission denied|must be superuser|privileges"),
        (f'COPY "Artist" TO \'{MARK}.csv\'', "permission denied|must be superuser|privileges"),
        ('COPY "Artist" FROM \'/etc/hostname\'', "read-only transaction|permission denied|privileges"),
        (f'COPY "Artist" FROM PROGRAM \'touch {MARK}.pg2\'', "read-only transaction|permission denied|privileges"),
        ("SELECT pg_read_file('/etc/passwd')", "permission denied"),
        ("SELECT pg_read_binary_file('/etc/passwd')", "permission denied"),
        ("SELECT pg_ls_dir('/')", "permission denied"),
        ("SELECT pg_stat_file('/etc/passwd')", "permission denied"),
        ("SELECT lo_import('/etc/passwd')", "permission denied|read-only transaction"),
        (f"SELECT lo_export(1, '{MARK}.lo')", "permission denied"),
        ("SELECT pg_reload_conf()", "permission denied"),
        ("CREATE EXTENSION IF NOT EXISTS pgcrypto", "read-only transaction"),
        ('VACUUM "Artist"', "cannot run inside a transaction block"),
        ('SELECT 1; DELETE FROM "Artist"', "multiple commands"),
        ('COMMIT; BEGIN READ WRITE; DELETE FROM "Artist"; COMMIT', "multiple commands"),
    ],
    "mariadb": [
        ("DELETE FROM Artist", "command denied|READ ONLY"),
        ("UPDATE Artist SET Name = 'x'", "command denied|READ ONLY"),
        ("INSERT INTO Artist VALUES (9999, 'x')", "command denied|READ ONLY"),
        ("REPLACE INTO Artist VALUES (1, 'x')", "command denied|READ ONLY"),
        ("INSERT INTO Artist SELECT ArtistId + 1000, Name FROM Artist", "command denied|READ ONLY"),
        ("INSERT INTO Artist VALUES (1, 'x') ON DUPLICATE KEY UPDATE Name = 'y'", "command denied|READ ONLY"),
        ("TRUNCATE Artist", "command denied|READ ONLY"),
        ("DROP TABLE Artist", "command denied|READ ONLY"),
        ("CREATE TABLE pwned (a INT)", "command denied|READ ONLY"),
        ("CREATE TABLE pwned AS SELECT * FROM Artist", "command denied|READ ONLY"),
        ("CREATE TEMPORARY TABLE scratch (a INT)", "Access denied|command denied|READ ONLY"),
        ("ALTER TABLE Artist ADD COLUMN x INT", "command denied|READ ONLY"),
        ("RENAME TABLE Artist TO Singer", "command denied|READ ONLY"),
        ("CREATE INDEX pwned_idx ON Artist (Name)", "command denied|READ ONLY"),
        ("CREATE VIEW pwned_v AS SELECT 1", "command denied|READ ONLY"),
        ("CREATE PROCEDURE pwned() SELECT 1", "Access denied|command denied|READ ONLY"),
        ("CREATE DATABASE pwned", "Access denied|READ ONLY"),
        ("DROP DATABASE {db}", "Access denied|READ ONLY"),
        ("GRANT SELECT ON mysql.* TO CURRENT_USER", "Access denied|READ ONLY"),
        ("CREATE USER pwned", "Access denied|READ ONLY"),
        ("SET PASSWORD = PASSWORD('pwned')", "Access denied|READ ONLY|only queries"),
        ("ALTER USER CURRENT_USER() IDENTIFIED BY 'pwned'", "Access denied|READ ONLY"),
        (f"SELECT * FROM Artist INTO OUTFILE '{MARK}.out'", "Access denied"),
        (f"SELECT 'x' INTO DUMPFILE '{MARK}.dump'", "Access denied"),
        ("LOAD DATA INFILE '/etc/hostname' INTO TABLE Artist", "Access denied|command denied|READ ONLY"),
        ("LOAD DATA LOCAL INFILE '/etc/hostname' INTO TABLE Artist", "command denied|READ ONLY|not allowed|LOCAL"),
        ("LOCK TABLES Artist WRITE", "Access denied|READ ONLY"),
        ("SET GLOBAL max_connections = 1", "Access denied|privilege"),
        ("FLUSH TABLES", "Access denied|privilege"),
        ("INSTALL SONAME 'ha_blackhole'", "Access denied|command denied|READ ONLY"),
        ("SHUTDOWN", "Access denied|privilege"),
        ("SELECT 1; DELETE FROM Artist", "SQL syntax"),
    ],
}

# Accepted by the connection; what makes each harmless there. run() refuses them all.
ACCEPTED: dict[str, list[tuple[str, str]]] = {
    "postgres": [
        ("SET statement_timeout = 0", "rolled back with the transaction"),
        ("SELECT set_config('statement_timeout', '0', false)", "rolled back with the transaction"),
        ("SELECT lo_create(0)", "the new large object is rolled back with the transaction"),
        ("NOTIFY pwned", "notifications are only sent on COMMIT; the transaction is rolled back"),
    ],
    "mariadb": [
        ("SELECT LOAD_FILE('/etc/passwd')", "NULL without the FILE privilege"),
        ("SET @x = 1", "a user variable of this session only"),
        ("SET SESSION TRANSACTION READ WRITE", "every statement still runs in START TRANSACTION READ ONLY"),
    ],
    "duckdb": [
        ("CREATE TEMP TABLE scratch AS SELECT 1 AS a", "in-memory, rolled back, gone with the connection"),
        ("CHECKPOINT", "a no-op on a read-only database"),
    ],
}


@pytest.fixture(scope="module")
def reader_urls(chinook_sqlite_url, chinook_duckdb_url, chinook_postgres_url, chinook_mariadb_url):
    """The four Chinook URLs; PostgreSQL and MariaDB as a fresh SELECT-only role."""
    role = f"t2s_reader_{os.getpid()}_{uuid.uuid4().hex[:4]}"
    pg_admin = sa.create_engine(chinook_postgres_url, isolation_level="AUTOCOMMIT")
    pg_db = sa.engine.make_url(chinook_postgres_url).database
    with pg_admin.connect() as c:
        c.exec_driver_sql(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE")
        c.exec_driver_sql(f"GRANT CONNECT ON DATABASE {pg_db} TO {role}")
        c.exec_driver_sql(f"GRANT USAGE ON SCHEMA public TO {role}")
        c.exec_driver_sql(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {role}")
        c.exec_driver_sql("CREATE SEQUENCE IF NOT EXISTS pwn_seq")
        c.exec_driver_sql(f"GRANT ALL ON SEQUENCE pwn_seq TO {role}")  # refused by READ ONLY, not by grants
    my_admin = sa.create_engine(chinook_mariadb_url, isolation_level="AUTOCOMMIT")
    my_db = sa.engine.make_url(chinook_mariadb_url).database
    hosts = ("localhost", "127.0.0.1", "%%")
    with my_admin.connect() as c:
        for host in hosts:
            c.exec_driver_sql(f"CREATE USER '{role}'@'{host}'")
            c.exec_driver_sql(f"GRANT SELECT ON {my_db}.* TO '{role}'@'{host}'")
    urls = {
        "sqlite": chinook_sqlite_url,
        "duckdb": chinook_duckdb_url,
        "postgres": sa.engine.make_url(chinook_postgres_url).set(username=role).render_as_string(False),
        "mariadb": sa.engine.make_url(chinook_mariadb_url).set(username=role).render_as_string(False),
    }
    yield urls
    with pg_admin.connect() as c:
        c.exec_driver_sql(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'")
        c.exec_driver_sql(f"DROP OWNED BY {role}")
        c.exec_driver_sql("DROP SEQUENCE IF EXISTS pwn_seq")
        c.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
    with my_admin.connect() as c:
        for host in hosts:
            c.exec_driver_sql(f"DROP USER IF EXISTS '{role}'@'{host}'")
    pg_admin.dispose()
    my_admin.dispose()
    for leftover in Path("/tmp").glob(Path(MARK).name + "*"):
        leftover.unlink()


def _admin(url: str) -> str:
    """The same database as the fixture's privileged account."""
    parsed = sa.engine.make_url(url)
    user = {"postgresql": "postgres", "mysql": "root"}.get(parsed.get_backend_name())
    return parsed.set(username=user).render_as_string(False) if user else url


def _fingerprint(db: str, url: str) -> str:
    """Everything a bypass could change: the database file's bytes and its directory
    (SQLite, DuckDB); every table's rows, the catalog, roles, sequences (servers). Other
    test sessions may create their own t2s_* databases and roles meanwhile: not counted."""
    digest = hashlib.sha256()
    if db in ("sqlite", "duckdb"):
        path = Path(sa.engine.make_url(url).database)
        digest.update(path.read_bytes())
        digest.update(repr(sorted(p.name for p in path.parent.iterdir())).encode())
        return digest.hexdigest()
    role = sa.engine.make_url(url).username  # the reader role, or the admin itself
    engine = sa.create_engine(_admin(url))
    q = "`" if db == "mariadb" else '"'
    catalog = {
        "postgres": ["SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN "
                     "('pg_catalog', 'information_schema') ORDER BY 1, 2",
                     "SELECT rolname, rolsuper, rolpassword IS NULL FROM pg_authid "
                     f"WHERE rolname NOT LIKE 't2s%%' OR rolname = '{role}' ORDER BY 1",
                     "SELECT last_value, is_called FROM pwn_seq", "SELECT count(*) FROM pg_largeobject_metadata",
                     "SELECT datname FROM pg_database WHERE datname NOT LIKE 't2s%%' ORDER BY 1",
                     "SELECT nspname FROM pg_namespace ORDER BY 1",
                     "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1",
                     "SELECT obj_description('\"Artist\"'::regclass)"],
        "mariadb": ["SELECT table_schema, table_name FROM information_schema.tables "
                    "WHERE table_schema = DATABASE() OR table_schema NOT LIKE 't2s%%' ORDER BY 1, 2",
                    "SELECT user, host, authentication_string FROM mysql.user "
                    f"WHERE user NOT LIKE 't2s%%' OR user = '{role}' ORDER BY 1, 2",
                    "SELECT routine_schema, routine_name FROM information_schema.routines "
                    "WHERE routine_schema NOT LIKE 't2s%%' OR routine_schema = DATABASE() ORDER BY 1, 2",
                    "SELECT @@global.max_connections"],
    }[db]
    with engine.connect() as conn:
        for sql in catalog:
            digest.update(repr(conn.exec_driver_sql(sql).fetchall()).encode())
        for table in sorted(sa.inspect(conn).get_table_names()):
            rows = conn.exec_driver_sql(f"SELECT * FROM {q}{table}{q}").fetchall()
            digest.update(f"{table}:{len(rows)}:{sorted(map(repr, rows))}".encode())
    engine.dispose()
    return digest.hexdigest()


def _created_files() -> list[str]:
    return sorted(str(p) for p in Path("/tmp").glob(Path(MARK).name + "*"))


CASES = [(db, sql, reason) for db, items in BYPASSES.items() for sql, reason in items]


@pytest.mark.parametrize("db, sql, reason", CASES, ids=[f"{d}:{s[:50]}" for d, s, _ in CASES])
def test_the_connection_alone_refuses_every_bypass(reader_urls, db, sql, reason):
    url = reader_urls[db]
    sql = sql.format(db=sa.engine.make_url(url).database)
    before = _fingerprint(db, url)
    with pytest.raises(QueryFailed, match=f"(?i){reason}") as refused:
        _execute_read_only(url, sql, timeout_s=5)
    assert "\n" not in str(refused.value)
    assert _fingerprint(db, url) == before, "a row, object or file of the database changed"
    assert _created_files() == [], "a bypass created a file"


def test_at_least_thirty_bypasses_per_database():
    assert {db: len(items) >= 30 for db, items in BYPASSES.items()} == dict.fromkeys(BYPASSES, True)


@pytest.mark.parametrize("db, sql, why", [(d, s, w) for d, items in ACCEPTED.items() for s, w in items])
def test_what_the_connection_accepts_is_harmless_and_refused_by_run(reader_urls, db, sql, why):
    url = reader_urls[db]
    before = _fingerprint(db, url)
    try:
        result = _execute_read_only(url, sql, timeout_s=5)  # accepted: see SECURITY.md
    except QueryFailed as err:  # PostgreSQL: executed, then reported as returning no rows
        assert db == "postgres" and "returns no rows" in str(err)
    else:
        if "LOAD_FILE" in sql:
            assert result.rows == [(None,)]
    assert _fingerprint(db, url) == before
    with pytest.raises((ReadOnlyViolation, InvalidSQL)):
        run(url, sql)


def test_a_reset_statement_timeout_does_not_outlive_its_transaction(chinook_postgres_url):
    engine_url = chinook_postgres_url
    from text2sql.db import create_engine

    engine = create_engine(engine_url, pool_size=1, max_overflow=0)  # one pooled connection, reused
    try:
        _execute_read_only(engine, "SELECT set_config('statement_timeout', '0', false)")
        with pytest.raises(QueryFailed, match="timed out after 1 s"):
            _execute_read_only(engine, "SELECT pg_sleep(3)", timeout_s=1)
    finally:
        engine.dispose()


# A privileged account is NOT contained by the connection layer: why the tests above use
# a SELECT-only role, and why SECURITY.md tells users to give text2sql one.
PRIVILEGED = {
    "postgres": "COPY (SELECT 1) TO PROGRAM 'touch {file}'",
    "mariadb": "SELECT 1 INTO OUTFILE '{file}'",
}


@pytest.mark.parametrize("db", sorted(PRIVILEGED))
def test_a_privileged_account_can_reach_files_inside_a_read_only_transaction(reader_urls, db):
    admin = _admin(reader_urls[db])
    target = f"{MARK}_privileged_{db}"
    try:
        try:
            _execute_read_only(admin, PRIVILEGED[db].format(file=target), timeout_s=5)
        except QueryFailed:
            pass  # PostgreSQL's COPY returns no rows; the program has run by then
        assert Path(target).exists(), "the connection layer alone stopped a privileged account (update SECURITY.md)"
    finally:
        Path(target).unlink(missing_ok=True)
    with pytest.raises((ReadOnlyViolation, InvalidSQL)):
        run(admin, PRIVILEGED[db].format(file=target))
    assert not Path(target).exists()


@pytest.mark.parametrize("db", ["postgres", "mariadb"])
def test_the_read_only_transaction_refuses_writes_even_for_the_owner(reader_urls, db):
    admin = _admin(reader_urls[db])
    table, column = ('"Artist"', '"Name"') if db == "postgres" else ("Artist", "Name")
    before = _fingerprint(db, admin)
    for sql in (f"DELETE FROM {table}", f"UPDATE {table} SET {column} = 'x'", f"DROP TABLE {table}",
                "CREATE TABLE pwned (a INT)"):
        with pytest.raises(QueryFailed, match="(?i)read-only transaction|READ ONLY"):
            _execute_read_only(admin, sql)
    assert _fingerprint(db, admin) == before


def test_the_owner_cannot_leave_the_read_only_transaction(reader_urls):
    """Sent as one simple-protocol string, this deleted every artist despite BEGIN READ ONLY."""
    admin = _admin(reader_urls["postgres"])
    before = _fingerprint("postgres", admin)
    for sql in ('COMMIT; BEGIN READ WRITE; DELETE FROM "Artist"; COMMIT',
                'COMMIT; SET default_transaction_read_only = off; DELETE FROM "Artist"'):
        with pytest.raises(QueryFailed, match="multiple commands"):
            _execute_read_only(admin, sql)
    assert _fingerprint("postgres", admin) == before


@pytest.mark.parametrize("db", ["sqlite", "duckdb", "postgres", "mariadb"])
def test_run_refuses_every_bypass_before_the_database_sees_it(reader_urls, db):
    """With the privileged account, where the connection alone would not stop file access."""
    url = _admin(reader_urls[db])
    before = _fingerprint(db, url)
    for sql, _reason in BYPASSES[db]:
        with pytest.raises((ReadOnlyViolation, InvalidSQL)):
            run(url, sql.format(db=sa.engine.make_url(url).database))
    assert _fingerprint(db, url) == before
    assert _created_files() == []


@pytest.mark.parametrize("db", ["sqlite", "duckdb"])
def test_a_writable_engine_is_refused(tmp_path, chinook_sqlite_url, db):
    if db == "sqlite":
        engine = sa.create_engine(chinook_sqlite_url)
    else:
        pytest.importorskip("duckdb_engine")
        engine = sa.create_engine(f"duckdb:///{tmp_path / 'scratch.duckdb'}")
    try:
        with pytest.raises(QueryFailed, match="refusing to run on a"):
            _execute_read_only(engine, "SELECT 1")
    finally:
        engine.dispose()
