"""The read-only policy on the sqlglot AST: the first of text2sql's two read-only layers.

Accepted: exactly one statement, and it is a query (SELECT, set operations, VALUES, WITH).
Refused anywhere in the tree, CTE bodies included: DML and DDL, PRAGMA, ATTACH/DETACH,
COPY, SET, CALL/EXECUTE and any statement sqlglot only knows as a raw ``Command``,
LOAD/INSTALL, ``SELECT ... INTO``, row locks (``FOR UPDATE``), and functions that reach
files, programs, other servers, sequences, settings or sleep.
"""

from __future__ import annotations

from text2sql.problems import Problem

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
        "pg_logical_emit_message", "current_setting",
        # MariaDB / MySQL
        "load_file", "sleep", "benchmark", "get_lock", "release_lock", "sys_exec", "sys_eval",
        # SQLite
        "load_extension", "readfile", "writefile", "edit", "fts3_tokenizer",
        # DuckDB
        "read_csv", "read_csv_auto", "read_parquet", "parquet_scan", "read_json", "read_json_auto",
        "read_json_objects", "read_ndjson", "read_ndjson_auto", "read_text", "read_blob", "glob",
        "sniff_csv", "parquet_metadata", "parquet_schema", "iceberg_scan", "delta_scan",
        "sqlite_scan", "sqlite_attach", "postgres_scan", "postgres_attach", "mysql_scan",
        "query", "query_table", "getenv", "read_xlsx", "st_read",
    }
)


def _function_name(node) -> str | None:
    from sqlglot import exp

    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.Func):
        names = {node.sql_name().lower(), node.key.lower()}
        hit = names & FORBIDDEN_FUNCTIONS
        return next(iter(hit)) if hit else node.sql_name().lower()
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
    if name and name in FORBIDDEN_FUNCTIONS:
        return f"function {name}() is not allowed (files, programs, servers, settings or sleep)"
    if isinstance(node, exp.Table) and isinstance(node.this, (exp.Anonymous, exp.Func)):
        fname = _function_name(node.this)
        if fname in FORBIDDEN_FUNCTIONS:
            return f"table function {fname}() is not allowed"
    return None


def _file_table(sql: str, node) -> str | None:
    """DuckDB reads a file for ``FROM 'path.csv'``: a table named by a string literal."""
    from sqlglot import exp

    if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
        start = (node.this.meta or {}).get("start")
        name = node.this.name
        if (start is not None and sql[start : start + 1] == "'") or "/" in name or "\\" in name:
            return f"reading a file as a table ({name!r}) is not allowed"
    return None


def policy_problems(sql: str, statements, dialect: str | None) -> list[Problem]:
    """Problems with code ``not-read-only`` for parsed ``statements`` of ``sql``."""
    from sqlglot import exp

    from text2sql.validate import _node_problem

    whole = Problem("", "not-read-only", 1, 1, sql.count("\n") + 1, len(sql.rsplit("\n", 1)[-1]) + 1)
    problems = []
    if len(statements) > 1:
        problems.append(Problem("only one statement is allowed", "not-read-only", whole.line, whole.column,
                                whole.end_line, whole.end_column))
    for statement in statements:
        if not isinstance(statement, (exp.Query, exp.Values)):
            what = statement.key.upper() if not isinstance(statement, exp.Command) else str(statement.this).upper()
            problems.append(Problem(f"{what} is not a read-only query", "not-read-only", whole.line, whole.column,
                                    whole.end_line, whole.end_column))
            continue
        if isinstance(statement, exp.Select) and not statement.expressions:
            problems.append(Problem("incomplete query: nothing is selected", "syntax", 1, 1, whole.end_line, whole.end_column))
            continue
        for node in statement.walk():
            reason = _forbidden_node(node) or _file_table(sql, node)
            if reason:
                p = _node_problem(sql, node, reason, "not-read-only")
                if p.line == 1 and p.column == 1 and not getattr(node, "meta", None):
                    p = Problem(reason, "not-read-only", whole.line, whole.column, whole.end_line, whole.end_column)
                problems.append(p)
                break
    return problems
