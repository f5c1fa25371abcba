"""The read-only policy on the sqlglot AST: the first of text2sql's two read-only layers.
Also the parsing and positioning it shares with validate.py (text that does not parse is
never read-only).

Accepted: exactly one statement, and it is a query (SELECT, set operations, VALUES, WITH).
Refused anywhere in the tree, CTE bodies included: DML and DDL, PRAGMA, ATTACH/DETACH,
COPY, SET, CALL/EXECUTE and any statement sqlglot only knows as a raw ``Command``,
LOAD/INSTALL, ``SELECT ... INTO``, row locks (``FOR UPDATE``), functions that reach
files, programs, other servers, sequences, settings, locks or sleep (by name or family
prefix, whatever the quoting or schema qualification), DuckDB table names the engine would
read as files, and MySQL/MariaDB executable comments (``/*! ... */``: a comment to sqlglot,
code to the server). The policy cannot see inside user-defined functions or views; the
read-only connection (execute.py) is what stops those from writing.
"""

from __future__ import annotations

import logging

from text2sql.problems import Problem


def position(sql: str, offset: int) -> tuple[int, int]:
    """1-based (line, column) of a 0-based character offset."""
    offset = max(0, min(offset, len(sql)))
    line = sql.count("\n", 0, offset) + 1
    col = offset - (sql.rfind("\n", 0, offset) + 1) + 1
    return line, col


def span_problem(sql: str, start: int, end: int, message: str, code: str, severity: str = "error") -> Problem:
    """A problem covering sql[start:end] (end exclusive)."""
    line, col = position(sql, start)
    end_line, end_col = position(sql, max(end, start + 1))
    return Problem(message, code, line, col, end_line, end_col, severity)


def node_problem(sql: str, node, message: str, code: str) -> Problem:
    """A problem covering the text of a sqlglot node (its token span), or line 1."""
    meta = getattr(node, "meta", None) or {}
    if "start" in meta and "end" in meta:
        return span_problem(sql, meta["start"], meta["end"] + 1, message, code)
    return Problem(message, code, 1, 1, 1, len(sql.split("\n", 1)[0]) + 1)


def parse(sql: str, dialect: str | None):
    """(sqlglot statements, []) or (None, [syntax Problem]) when the text does not parse."""
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    try:
        # A comment after the last ";" parses as an empty statement (exp.Semicolon holding the
        # comment): not a statement. (MySQL's executable /*! */ comments are caught separately.)
        statements = [s for s in sqlglot.parse(sql, read=dialect)
                      if s is not None and not isinstance(s, sqlglot.exp.Semicolon)]
        return statements, []
    except ParseError as err:
        e = (err.errors or [{}])[0]
        line, col = e.get("line") or 1, e.get("col") or 1
        highlight = e.get("highlight") or ""
        start_col = max(1, col - len(highlight) + 1) if highlight else col
        desc = (e.get("description") or str(err)).split(". Line")[0]
        if "<Token" in desc:  # "Expected table name but got <Token ... text: WHERE ...>"
            desc = desc.split(" but got <Token")[0] + (f" but got {highlight!r}" if highlight else "")
        return None, [Problem(f"syntax error: {desc}", "syntax", line, start_col, line, col + 1)]
    except TokenError as err:
        return None, [Problem(f"syntax error: {err}", "syntax", 1, 1)]
    except Exception as err:  # sqlglot may raise other errors on odd input
        return None, [Problem(f"syntax error: {type(err).__name__}: {err}", "syntax", 1, 1)]


# Functions that read or write files, run programs, reach other servers, change state,
# or stall the server. Lower-case names; checked for every dialect.
FORBIDDEN_FUNCTIONS = frozenset(
    {
        # PostgreSQL
        "pg_read_file", "pg_read_binary_file", "pg_ls_dir", "pg_stat_file", "pg_ls_logdir",
        "pg_ls_waldir", "pg_ls_tmpdir", "lo_import", "lo_export", "lo_from_bytea", "lo_put",
        "lo_create", "lo_unlink", "pg_sleep", "pg_sleep_for", "pg_sleep_until", "dblink",
        "dblink_exec", "dblink_connect", "set_config", "nextval", "setval", "pg_terminate_backend",
        "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile", "pg_advisory_lock",
        "pg_advisory_xact_lock", "pg_notify", "txid_current", "query_to_xml", "query_to_json",
        "pg_logical_emit_message", "current_setting", "query_to_xml_and_xmlschema", "query_to_xmlschema",
        "cursor_to_xml", "table_to_xml", "table_to_xml_and_xmlschema", "schema_to_xml",
        "schema_to_xml_and_xmlschema", "database_to_xml", "database_to_xml_and_xmlschema",
        "pg_current_xact_id", "pg_switch_wal", "pg_promote", "pg_import_system_collations",
        "pg_current_logfile", "loread", "lowrite", "pg_xact_commit_timestamp",
        # MariaDB / MySQL
        "load_file", "sleep", "benchmark", "get_lock", "release_lock", "release_all_locks", "sys_exec",
        "sys_eval", "master_pos_wait", "source_pos_wait", "wait_for_executed_gtid_set",
        "wait_until_sql_thread_after_gtids",
        # SQLite
        "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer", "fsdir", "lsdir", "zipfile",
        "sqlar_uncompress",
        # DuckDB
        "read_csv", "read_csv_auto", "read_parquet", "parquet_scan", "read_json", "read_json_auto",
        "read_json_objects", "read_ndjson", "read_ndjson_auto", "read_text", "read_blob", "glob",
        "sniff_csv", "parquet_metadata", "parquet_schema", "iceberg_scan", "delta_scan",
        "sqlite_scan", "sqlite_attach", "postgres_scan", "postgres_attach", "mysql_scan",
        "query", "query_table", "getenv", "read_xlsx", "st_read", "duckdb_secrets", "which_secret",
        "json_execute_serialized_sql", "load_aws_credentials", "http_get", "http_post", "st_read_meta",
    }
)

# Whole families: PostgreSQL large objects, adminpack files, replication, backups, stats
# resets and locks; dblink; DuckDB readers and scanners of files, lakes and other databases.
FORBIDDEN_PREFIXES = (
    "lo_", "dblink", "pg_file_", "pg_ls_", "pg_read_", "pg_stat_reset", "pg_create_", "pg_drop_",
    "pg_replication_", "pg_logical_", "pg_wal_", "pg_backup_", "pg_start_backup", "pg_stop_backup",
    "pg_advisory", "pg_try_advisory", "pg_sleep", "pg_terminate", "pg_cancel", "pg_log_",
    "read_", "parquet_", "iceberg_", "delta_", "postgres_", "mysql_", "sqlite_scan", "sqlite_attach",
)


def forbidden(name: str | None) -> bool:
    """True for a function name on the refused list (exactly or by family prefix)."""
    return bool(name) and (name in FORBIDDEN_FUNCTIONS or name.startswith(FORBIDDEN_PREFIXES))


def _function_name(node) -> str | None:
    from sqlglot import exp

    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        names = (node.sql_name().lower(), node.key.lower())
        return next((n for n in names if forbidden(n)), names[0])
    return None


def _forbidden_node(node) -> str | None:
    """Why ``node`` makes a query not read-only, or None."""
    from sqlglot import exp

    writes = tuple(
        getattr(exp, name)
        for name in (
            "Insert", "Update", "Delete", "Merge", "Create", "Drop", "Alter", "AlterTable",
            "TruncateTable", "Command", "Pragma", "Attach", "Detach", "Copy", "Set", "Use",
            "Transaction", "Commit", "Rollback", "LoadData", "Grant", "Revoke", "Install",
            "Cache", "Uncache", "Refresh", "Analyze", "Lock", "Into", "Kill", "Export", "Summarize",
        )
        if hasattr(exp, name)
    )
    if isinstance(node, writes):
        if isinstance(node, exp.Lock):
            return "row locks (FOR UPDATE / FOR SHARE) are not allowed"
        if isinstance(node, exp.Into):
            return "SELECT ... INTO writes a table or file"
        keyword = node.key.upper() if not isinstance(node, exp.Command) else str(node.this).upper()
        return f"{keyword} is not a read-only query"
    name = _function_name(node)
    if forbidden(name):
        return f"function {name}() is not allowed (files, programs, servers, settings or sleep)"
    if isinstance(node, exp.Table) and isinstance(node.this, (exp.Anonymous, exp.Func)):
        fname = _function_name(node.this)
        if forbidden(fname):
            return f"table function {fname}() is not allowed"
    return None


_FILE_EXTENSIONS = frozenset(
    "csv tsv txt json jsonl ndjson parquet xlsx arrow feather ipc avro orc gz zst db duckdb sqlite sqlite3".split()
)


def _file_table(sql: str, node, dialect: str | None) -> str | None:
    """A table reference the database would read as a file: a string literal
    (``FROM 'path.csv'``), a path, and in DuckDB (which reads ``FROM data.csv`` and
    ``FROM "data.csv"`` as files) a name with a dot or a file extension."""
    from sqlglot import exp

    if not (isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier)):
        return None
    start = (node.this.meta or {}).get("start")
    parts = [p for p in (node.catalog, node.db, node.name) if p]
    shown = ".".join(parts)
    if (start is not None and sql[start : start + 1] == "'") or any(c in shown for c in "/\\"):
        return f"reading a file as a table ({shown!r}) is not allowed"
    if dialect == "duckdb" and (
        any(c in p for p in parts for c in ".:*?") or (len(parts) > 1 and node.name.lower() in _FILE_EXTENSIONS)
    ):
        return f"{shown!r} would be read as a file by DuckDB; only tables of the database can be queried"
    return None


def _executable_comments(sql: str, dialect: str | None) -> int | None:
    """Offset of a MySQL/MariaDB executable comment (``/*! ... */``, ``/*M! ... */``):
    sqlglot reads it as a comment, the server runs what is inside. Searched only between
    tokens, so the same text inside a string literal is harmless."""
    import re

    import sqlglot

    marker = re.compile(r"/\*M?!", re.IGNORECASE)
    previous_end = 0
    for token in sqlglot.tokenize(sql, read=dialect):
        found = marker.search(sql, previous_end, token.start)
        if found:
            return found.start()
        previous_end = token.end + 1
    found = marker.search(sql, previous_end)
    return found.start() if found else None


def _statement_word(statement, dialect: str | None) -> str:
    """The keyword that starts a statement (for messages): DELETE, PRAGMA, LISTEN, ..."""
    from sqlglot import exp

    if isinstance(statement, exp.Command):
        return str(statement.this).upper()
    try:
        return (statement.sql(dialect=dialect).split() or [statement.key])[0].upper()
    except Exception:
        return statement.key.upper()


def policy_problems(sql: str, statements, dialect: str | None) -> list[Problem]:
    """Problems with code ``not-read-only`` for parsed ``statements`` of ``sql``."""
    from sqlglot import exp

    whole = Problem("", "not-read-only", 1, 1, sql.count("\n") + 1, len(sql.rsplit("\n", 1)[-1]) + 1)
    problems = []
    comment_at = _executable_comments(sql, dialect)
    if comment_at is not None:
        end = sql.find("*/", comment_at)
        problems.append(span_problem(sql, comment_at, end + 2 if end >= 0 else len(sql),
                                     "executable comments (/*! ... */) are not allowed", "not-read-only"))
    if len(statements) > 1:
        problems.append(Problem("only one statement is allowed", "not-read-only", whole.line, whole.column,
                                whole.end_line, whole.end_column))
    for statement in statements:
        if not isinstance(statement, (exp.Query, exp.Values)):
            what = _statement_word(statement, dialect)
            problems.append(Problem(f"{what} is not a read-only query", "not-read-only", whole.line, whole.column,
                                    whole.end_line, whole.end_column))
            continue
        if isinstance(statement, exp.Select) and not statement.expressions:
            problems.append(Problem("incomplete query: nothing is selected", "syntax", 1, 1, whole.end_line, whole.end_column))
            continue
        for node in statement.walk():
            reason = _forbidden_node(node) or _file_table(sql, node, dialect)
            if reason:
                target = node.this if isinstance(node, exp.Table) and isinstance(node.this, exp.Expression) else node
                p = node_problem(sql, target, reason, "not-read-only")
                if p.line == 1 and p.column == 1 and not getattr(target, "meta", None):
                    p = Problem(reason, "not-read-only", whole.line, whole.column, whole.end_line, whole.end_column)
                problems.append(p)
                break
    return problems
