"""Read-only execution of validated SQL, with row, size and time limits.

``run`` first applies the AST policy (validate.py) and, with a schema, the schema check;
only then does ``_execute_read_only`` send the statement, inside a read-only transaction
on a read-only connection (db.py): PostgreSQL ``BEGIN READ ONLY`` + ``SET LOCAL
statement_timeout``; MariaDB ``max_statement_time`` + ``START TRANSACTION READ ONLY``;
SQLite a ``mode=ro`` file with a progress handler for the timeout; DuckDB ``read_only``
with external access off and an ``interrupt()`` timer. The transaction is always rolled
back. Tests call ``_execute_read_only`` directly to prove the connection alone refuses
writes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from text2sql.db import describe_error, dialect_of, engine_for
from text2sql.errors import InvalidSQL, QueryFailed, Text2SQLError
from text2sql.validate import check, ensure_read_only

DEFAULT_MAX_BYTES = 50_000_000


@dataclass
class ResultSet:
    columns: list[str]
    rows: list[tuple]
    truncated: bool = False
    elapsed_s: float = 0.0
    sql: str = ""
    notes: list[str] = field(default_factory=list)

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame([list(r) for r in self.rows], columns=self.columns)

    def format_table(self, max_width: int = 40) -> str:
        """A plain-text table for terminals."""

        def cell(v) -> str:
            text = "NULL" if v is None else str(v)
            return text if len(text) <= max_width else text[: max_width - 1] + "…"

        body = [[cell(v) for v in row] for row in self.rows]
        widths = [max([len(c)] + [len(r[i]) for r in body]) for i, c in enumerate(self.columns)]
        line = lambda vals: " | ".join(v.ljust(w) for v, w in zip(vals, widths)).rstrip()  # noqa: E731
        out = [line(self.columns), "-+-".join("-" * w for w in widths)] + [line(r) for r in body]
        out.append(f"({len(self.rows)} row{'s' if len(self.rows) != 1 else ''}{', truncated' if self.truncated else ''})")
        return "\n".join(out)


def _timeout_guard(dialect: str, raw_conn, timeout_s: float):
    """Start the per-dialect timeout mechanism; returns a stop() callable."""
    if dialect == "sqlite":
        deadline = time.monotonic() + timeout_s
        raw_conn.set_progress_handler(lambda: 1 if time.monotonic() > deadline else 0, 10_000)
        return lambda: raw_conn.set_progress_handler(None, 0)
    if dialect == "duckdb":
        timer = threading.Timer(timeout_s, raw_conn.interrupt)
        timer.daemon = True
        timer.start()
        return timer.cancel
    return lambda: None


def _begin(dialect: str, conn, timeout_s: float) -> None:
    ms = max(1, int(timeout_s * 1000))
    if dialect == "postgres":
        conn.exec_driver_sql("BEGIN READ ONLY")
        conn.exec_driver_sql(f"SET LOCAL statement_timeout = {ms}")
    elif dialect == "mysql":
        conn.exec_driver_sql(f"SET SESSION max_statement_time = {timeout_s:.3f}")
        conn.exec_driver_sql("START TRANSACTION READ ONLY")


def _execute_read_only(database, sql: str, *, limit: int = 1000, timeout_s: float = 10.0,
                       max_bytes: int = DEFAULT_MAX_BYTES) -> ResultSet:
    """Send ``sql`` as is on a read-only connection in a read-only transaction.
    No AST check here: this is the second layer on its own."""
    started = time.perf_counter()
    try:
        with engine_for(database) as engine, engine.connect() as conn:
            dialect = dialect_of(engine)
            conn = conn.execution_options(isolation_level="AUTOCOMMIT") if dialect in ("postgres", "mysql") else conn
            raw = conn.connection.driver_connection
            _begin(dialect, conn, timeout_s)
            stop = _timeout_guard(dialect, raw, timeout_s)
            try:
                # The driver's own cursor: no parameter parsing, so '%' in LIKE stays as is.
                cursor = raw.cursor()
                cursor.execute(sql)
                returns_rows = cursor.description is not None
                columns = [d[0] for d in cursor.description] if returns_rows else []
                rows, size, truncated = [], 0, False
                if returns_rows:
                    for row in cursor.fetchmany(limit + 1):
                        if len(rows) >= limit:
                            truncated = True
                            break
                        size += sum(len(str(v)) for v in row)
                        if size > max_bytes:
                            truncated = True
                            break
                        rows.append(tuple(row))
                cursor.close()
            finally:
                stop()
                if dialect in ("postgres", "mysql"):
                    conn.exec_driver_sql("ROLLBACK")
                elif conn.in_transaction():
                    conn.rollback()
    except Exception as err:
        message = describe_error(err)
        lowered = message.lower()
        if isinstance(err, Text2SQLError):
            raise
        if any(k in lowered for k in ("interrupt", "statement timeout", "max_statement_time", "canceling statement")):
            raise QueryFailed(f"the query timed out after {timeout_s:g} s") from err
        raise QueryFailed(f"the database refused the query: {message}") from err
    return ResultSet(columns, rows, truncated, time.perf_counter() - started, sql)


def run(database, sql: str, *, schema=None, limit: int = 1000, timeout_s: float = 10.0,
        max_bytes: int = DEFAULT_MAX_BYTES) -> ResultSet:
    """Validate, then run ``sql`` read-only; InvalidSQL / ReadOnlyViolation / QueryFailed
    on refusal, all with one-line messages."""
    with engine_for(database) as engine:
        dialect = schema.dialect if schema is not None else dialect_of(engine)
        ensure_read_only(sql, dialect, schema)
        if schema is not None:
            problems = [p for p in check(sql, schema, dialect) if p.severity == "error"]
            if problems:
                raise InvalidSQL(f"the SQL does not match the schema: {problems[0]}", problems)
        return _execute_read_only(engine, sql, limit=limit, timeout_s=timeout_s, max_bytes=max_bytes)


def explain(database, sql: str, *, schema=None, timeout_s: float = 10.0) -> ResultSet:
    """The database's plan for ``sql`` (same checks as :func:`run`)."""
    with engine_for(database) as engine:
        dialect = schema.dialect if schema is not None else dialect_of(engine)
        ensure_read_only(sql, dialect, schema)
        prefix = "EXPLAIN QUERY PLAN " if dialect == "sqlite" else "EXPLAIN "
        return _execute_read_only(engine, prefix + sql.strip().rstrip(";"), limit=10_000, timeout_s=timeout_s)
