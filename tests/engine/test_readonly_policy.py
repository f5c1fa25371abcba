"""The AST read-only policy: the first layer refuses every way to write, read files,
run programs, reach other servers, change settings or stall the server."""

from __future__ import annotations

import pytest

from text2sql.errors import InvalidSQL, ReadOnlyViolation
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
    ["SELECT * FROM users", "SELECT u.* FROM users AS u", "SELECT password_hash FROM users",
     "SELECT * FROM audit_log"],
)
def test_queries_touching_excluded_objects_are_refused(sql):
    problems = check(sql, EXCLUDING)
    assert any(p.code == "excluded" for p in problems), problems
    with pytest.raises(ReadOnlyViolation):
        ensure_read_only(sql, schema=EXCLUDING)


def test_naming_the_allowed_columns_of_a_partly_excluded_table_works():
    assert check("SELECT id, name FROM users", EXCLUDING) == []
