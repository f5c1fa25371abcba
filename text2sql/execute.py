"""Read-only execution of validated SQL, with row, size and time limits.

``run`` first applies the AST policy (validate.py) and, with a schema, the schema check;
only then does ``_execute_read_only`` send the statement. That function is the second,
independent layer (tests call it directly, with the AST check off): it refuses engines
that are not read-only, sends exactly one statement (PostgreSQL through the extended
protocol, MariaDB without multi-statements, DuckDB after counting statements, SQLite's
driver runs one), inside a read-only transaction that is always rolled back:

- PostgreSQL: ``BEGIN READ ONLY`` + ``SET LOCAL statement_timeout``; rows streamed.
- MariaDB/MySQL: ``max_statement_time`` (``max_execution_time``) + ``START TRANSACTION
  READ ONLY``; rows streamed (unbuffered cursor).
- SQLite: a ``mode=ro`` connection with the read-only authorizer, a progress handler
  enforcing the timeout.
- DuckDB: ``read_only`` with external access off and the configuration locked,
  ``BEGIN TRANSACTION READ ONLY``, ``interrupt()`` from a timer.

Rows are fetched in batches, so the row limit and the result-size limit bound memory.
Every failure is one redacted line: QueryFailed ("timed out after N s" for timeouts),
ConnectionFailed when the database cannot be reached.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from dataclasses import dataclass, field

from text2sql.db import describe_error, dialect_of, display_url, engine_for
from text2sql.errors import ConfigError, ConnectionFailed, InvalidSQL, QueryFailed, Text2SQLError
from text2sql.validate import check, ensure_read_only

DEFAULT_MAX_BYTES = 50_000_000  # about 50 MB of cell text
_BATCH = 1000
_TIMEOUT_CODES = {"57014", 1969, 3024}  # PG query_canceled, MariaDB / MySQL statement time exceeded


@dataclass
class ResultSet:
    """Rows of one query, at most ``limit`` of them (``truncated`` says there were more)."""

    columns: list[str]
    rows: list[tuple]
    truncated: bool = False
    elapsed_s: float = 0.0
    sql: str = ""
    #: Why rows were cut, for the user ("result larger than ... bytes").
    notes: list[str] = field(default_factory=list)
    #: The plan as text (``explain`` only).
    plan: str = ""

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame([list(r) for r in self.rows], columns=self.columns)

    def format_table(self, max_width: int = 40) -> str:
        """A plain-text table for terminals."""

        def cell(v) -> str:
            text = "NULL" if v is None else str(v).replace("\n", " ")
            return text if len(text) <= max_width else text[: max_width - 1] + "…"

        body = [[cell(v) for v in row] for row in self.rows]
        widths = [max([len(c)] + [len(r[i]) for r in body]) for i, c in enumerate(self.columns)]

        def line(vals) -> str:
            return " | ".join(v.ljust(w) for v, w in zip(vals, widths)).rstrip()

        out = [line(self.columns), "-+-".join("-" * w for w in widths)] + [line(r) for r in body]
        out.append(f"({len(self.rows)} row{'s' if len(self.rows) != 1 else ''}{', truncated' if self.truncated else ''})")
        return "\n".join(out + self.notes)


class _Limits:
    """The limits of one execution, and what happened to them."""

    def __init__(self, limit: int, timeout_s: float, max_bytes: int):
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ConfigError(f"the row limit must be a whole number >= 1, not {limit!r}")
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, (int, float)) or not math.isfinite(timeout_s) \
                or timeout_s <= 0:
            raise ConfigError(f"the timeout must be a positive number of seconds, not {timeout_s!r}")
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ConfigError(f"the result-size limit must be a whole number >= 1, not {max_bytes!r}")
        self.limit, self.timeout_s, self.max_bytes = limit, float(timeout_s), max_bytes
        self.timer_fired = False  # the SQLite / DuckDB timeout stopped the query
        self.abandoned = False  # rows were left unread on a server connection
        self.notes: list[str] = []

    def collect(self, fetch) -> tuple[list[tuple], bool]:
        """Rows from ``fetch(n)`` until the row or size limit; (rows, truncated)."""
        rows: list[tuple] = []
        size = 0
        while True:
            batch = fetch(min(_BATCH, self.limit + 1 - len(rows)))
            if not batch:
                return rows, False
            for row in batch:
                if len(rows) >= self.limit:
                    return rows, True
                size += sum(len(v) if isinstance(v, (str, bytes, bytearray)) else len(str(v)) for v in row)
                if size > self.max_bytes:
                    self.notes.append(f"(stopped after {len(rows)} rows: the result is larger than {self.max_bytes:,} bytes)")
                    return rows, True
                rows.append(tuple(row))


def _names(description) -> list[str]:
    return [d[0] for d in description] if description else []


def _run_sqlite(engine, raw, sql: str, limits: _Limits):
    from text2sql.db import _sqlite_authorizer

    url = engine.url
    if not (url.query.get("uri") == "true" and "mode=ro" in (url.database or "")):
        raise QueryFailed("refusing to run on a writable SQLite engine; create it with text2sql.db.create_engine")
    raw.set_authorizer(_sqlite_authorizer)  # reads, selects and plain functions only
    deadline = time.monotonic() + limits.timeout_s

    def progress() -> int:
        if time.monotonic() > deadline:
            limits.timer_fired = True
            return 1  # SQLite aborts the statement: "interrupted"
        return 0

    raw.set_progress_handler(progress, 10_000)
    try:
        cursor = raw.cursor()
        cursor.execute(sql)  # the sqlite3 driver refuses more than one statement
        columns = _names(cursor.description)
        rows, truncated = limits.collect(cursor.fetchmany) if columns else ([], False)
        cursor.close()
    finally:
        raw.set_progress_handler(None, 0)
        if raw.in_transaction:
            raw.rollback()
    return columns, rows, truncated


def _run_duckdb(engine, raw, sql: str, limits: _Limits):
    # duckdb-engine's wrapper passes these attributes through to the DuckDB connection.
    ext, locked, readonly = raw.execute(
        "SELECT current_setting('enable_external_access'), current_setting('lock_configuration'), "
        "(SELECT readonly FROM duckdb_databases() WHERE database_name = current_database())").fetchone()
    if ext or not locked or not readonly:
        raise QueryFailed("refusing to run on a DuckDB engine that is not read-only with external access off "
                          "and its configuration locked; create it with text2sql.db.create_engine")
    count = len(raw.extract_statements(sql))
    if count != 1:
        raise QueryFailed(f"the database refused the query: expected exactly one statement, found {count}")

    def interrupt() -> None:
        limits.timer_fired = True
        raw.interrupt()

    timer = threading.Timer(limits.timeout_s, interrupt)
    timer.daemon = True
    raw.execute("BEGIN TRANSACTION READ ONLY")
    timer.start()
    try:
        raw.execute(sql)  # a streaming result: rows are produced as they are fetched
        columns = _names(raw.description)
        rows, truncated = limits.collect(raw.fetchmany) if columns else ([], False)
    finally:
        timer.cancel()
        try:
            raw.execute("ROLLBACK")
        except Exception:  # the statement ended the transaction itself (COMMIT); nothing to undo
            pass
    return columns, rows, truncated


def _run_postgres(engine, raw, sql: str, limits: _Limits):
    cursor = raw.cursor()
    if not hasattr(cursor, "stream"):
        raise QueryFailed("text2sql runs PostgreSQL queries through psycopg 3: use a postgresql+psycopg:// URL")
    cursor.execute("BEGIN READ ONLY")
    cursor.execute(f"SET LOCAL statement_timeout = {max(1, int(limits.timeout_s * 1000))}")
    # stream(): the extended protocol (exactly one statement), rows arrive one at a time,
    # and closing it early cancels the rest.
    stream = cursor.stream(sql)
    try:
        first = next(stream, None)
        if first is None:
            columns, rows, truncated = _pg_columns(raw, sql), [], False
        else:
            columns = _names(cursor.description)
            rest = itertools.chain([first], stream)
            rows, truncated = limits.collect(lambda n: list(itertools.islice(rest, n)))
    finally:
        stream.close()
    cursor.execute("ROLLBACK")
    return columns, rows, truncated


def _pg_columns(raw, sql: str) -> list[str]:
    """Column names of a query that returned no rows (stream() keeps none): describe it."""
    from psycopg import pq

    encoding = raw.info.encoding
    prepared = raw.pgconn.prepare(b"", sql.encode(encoding))
    if prepared.status != pq.ExecStatus.COMMAND_OK:
        return []
    described = raw.pgconn.describe_prepared(b"")
    return [described.fname(i).decode(encoding) for i in range(described.nfields)]


def _run_mysql(engine, raw, sql: str, limits: _Limits):
    try:
        import pymysql
        from pymysql.constants import CLIENT
    except ImportError:  # pragma: no cover - the mysql extra brings it
        pymysql = None
    if pymysql is None or not isinstance(raw, pymysql.connections.Connection) \
            or raw.client_flag & CLIENT.MULTI_STATEMENTS:
        raise QueryFailed("text2sql runs MariaDB/MySQL queries through PyMySQL without multi-statements: "
                          "use a mysql+pymysql:// URL")
    setup = raw.cursor()
    if engine.dialect.is_mariadb:
        setup.execute(f"SET SESSION max_statement_time = {limits.timeout_s:.3f}")
    else:
        setup.execute(f"SET SESSION max_execution_time = {max(1, int(limits.timeout_s * 1000))}")
    setup.execute("START TRANSACTION READ ONLY")
    cursor = raw.cursor(pymysql.cursors.SSCursor)  # unbuffered: rows stream from the server
    started = time.monotonic()
    cursor.execute(sql)
    columns = _names(cursor.description)
    rows, truncated = limits.collect(cursor.fetchmany) if columns else ([], False)
    if time.monotonic() - started >= limits.timeout_s:
        # MariaDB ends an interrupted SLEEP() or BENCHMARK() with a value, not an error.
        raise TimeoutError("max_statement_time reached")
    if truncated:
        limits.abandoned = True  # closing the cursor would read every remaining row
        return columns, rows, truncated
    cursor.close()
    setup.execute("ROLLBACK")
    return columns, rows, truncated


_RUNNERS = {"sqlite": _run_sqlite, "duckdb": _run_duckdb, "postgres": _run_postgres, "mysql": _run_mysql}
_SERVERS = ("postgres", "mysql")


def _failure(err: Exception, limits: _Limits) -> QueryFailed:
    """One redacted line for a driver error; timeouts say so."""
    codes = {getattr(err, "sqlstate", None), err.args[0] if getattr(err, "args", None) else None}
    if limits.timer_fired or codes & _TIMEOUT_CODES or isinstance(err, TimeoutError):
        return QueryFailed(f"the query timed out after {limits.timeout_s:g} s")
    message = describe_error(err)
    if "didn't produce a result" in message:  # psycopg stream() on SET, LISTEN, ...
        message = "the statement returns no rows (only queries are run)"
    return QueryFailed(f"the database refused the query: {message}")


def _execute_read_only(database, sql: str, *, limit: int = 1000, timeout_s: float = 10.0,
                       max_bytes: int = DEFAULT_MAX_BYTES) -> ResultSet:
    """Send ``sql`` as is, on a read-only connection, in a read-only transaction that is
    rolled back. No AST check here: this is the second layer on its own."""
    limits = _Limits(limit, timeout_s, max_bytes)
    started = time.perf_counter()
    with engine_for(database) as engine:
        dialect = dialect_of(engine)
        runner = _RUNNERS.get(dialect)
        if runner is None:
            raise QueryFailed(f"text2sql cannot run queries on {engine.dialect.name} "
                              "(SQLite, DuckDB, PostgreSQL and MariaDB/MySQL are supported)")
        try:
            conn = engine.connect()
            if dialect in _SERVERS:  # the transaction is ours: BEGIN READ ONLY ... ROLLBACK
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            raw = conn.connection.driver_connection
        except Exception as err:
            raise ConnectionFailed(f"cannot connect to {display_url(engine)}: {describe_error(err)}") from err
        with conn:
            try:
                columns, rows, truncated = runner(engine, raw, sql, limits)
            except Text2SQLError:
                raise
            except Exception as err:
                if dialect in _SERVERS:  # its state is unknown (aborted, mid-COPY): never reuse it
                    conn.invalidate()
                raise _failure(err, limits) from err
            if limits.abandoned:
                conn.invalidate()  # closes the socket; the server rolls back and stops sending
    return ResultSet(columns, rows, truncated, time.perf_counter() - started, sql, limits.notes)


def _validated(engine, sql: str, schema) -> str:
    dialect = schema.dialect if schema is not None else dialect_of(engine)
    ensure_read_only(sql, dialect, schema)
    if schema is not None:
        problems = [p for p in check(sql, schema, dialect) if p.severity == "error"]
        if problems:
            raise InvalidSQL(f"the SQL does not match the schema: {problems[0]}", problems)
    return dialect


def run(database, sql: str, *, schema=None, limit: int = 1000, timeout_s: float = 10.0,
        max_bytes: int = DEFAULT_MAX_BYTES) -> ResultSet:
    """Validate, then run ``sql`` read-only; InvalidSQL / ReadOnlyViolation / QueryFailed /
    ConnectionFailed on refusal, all with one-line messages."""
    with engine_for(database) as engine:
        _validated(engine, sql, schema)
        return _execute_read_only(engine, sql, limit=limit, timeout_s=timeout_s, max_bytes=max_bytes)


def explain(database, sql: str, *, schema=None, timeout_s: float = 10.0) -> ResultSet:
    """The database's plan for ``sql`` (same checks as :func:`run`); ``.plan`` is the text."""
    with engine_for(database) as engine:
        dialect = _validated(engine, sql, schema)
        prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
        result = _execute_read_only(engine, prefix + sql.strip().rstrip(";"), limit=10_000, timeout_s=timeout_s)
    result.plan = _plan_text(dialect, result)
    return result


def _plan_text(dialect: str, result: ResultSet) -> str:
    if dialect == "sqlite":  # (id, parent, notused, detail): indent each step under its parent
        depth = {0: -1}
        lines = []
        for node, parent, _unused, detail in result.rows:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + str(detail))
        return "\n".join(lines)
    if dialect == "duckdb":  # (explain_key, explain_value): the value is the drawn plan
        return "\n".join(str(row[-1]) for row in result.rows)
    if len(result.columns) == 1:  # PostgreSQL: one line per row
        return "\n".join(str(row[0]) for row in result.rows)
    return result.format_table(max_width=80)  # MariaDB: a table of steps
