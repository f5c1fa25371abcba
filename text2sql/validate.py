"""Validation of SQL against a schema, with sqlglot, in the connection's dialect.

``check`` returns positioned problems (1-based line/column, ready for ``line:col`` output
and LSP ranges) and never raises: syntax errors, unknown tables and columns (CTEs,
derived tables, aliases and ``USING`` understood), excluded objects, and anything that is
not one read-only query. ``ensure_read_only`` is the same read-only policy as an
exception: it is the first of text2sql's two read-only layers (the read-only connection
in db.py / execute.py is the second).
"""

from __future__ import annotations

import logging

from text2sql.errors import InvalidSQL, ReadOnlyViolation
from text2sql.problems import Problem
from text2sql.readonly import policy_problems
from text2sql.schema import is_excluded
from text2sql.schema_model import Schema


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


def _node_problem(sql: str, node, message: str, code: str) -> Problem:
    meta = getattr(node, "meta", None) or {}
    if "start" in meta and "end" in meta:
        return span_problem(sql, meta["start"], meta["end"] + 1, message, code)
    return Problem(message, code, 1, 1, 1, len(sql.split("\n", 1)[0]) + 1)


def parse(sql: str, dialect: str):
    """sqlglot statements, or (None, [syntax Problem]) when the text does not parse."""
    import sqlglot
    from sqlglot.errors import ParseError, TokenError

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
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


def _schema_problems(sql: str, statement, schema: Schema) -> list[Problem]:
    from sqlglot import exp
    from sqlglot.optimizer.scope import Scope, traverse_scope

    problems: list[Problem] = []
    try:
        scopes = traverse_scope(statement)
    except Exception:
        return problems
    cte_names = {c.alias_or_name.lower() for c in statement.find_all(exp.CTE)}
    for scope in scopes:
        sources: dict[str, set[str] | None] = {}  # alias -> known columns (None: unknown/any)
        for alias, source in scope.sources.items():
            if isinstance(source, Scope):
                names = source.expression.named_selects if hasattr(source.expression, "named_selects") else []
                star = any(isinstance(s, exp.Star) or (isinstance(s, exp.Column) and s.is_star)
                           for s in getattr(source.expression, "selects", []))
                sources[alias.lower()] = None if star or not names else {n.lower() for n in names}
            elif isinstance(source, exp.Table):
                name = source.name
                if name.lower() in cte_names:
                    sources[alias.lower()] = None
                    continue
                table = schema.table(f"{source.db}.{name}" if source.db else name) or schema.table(name)
                if table is None:
                    if is_excluded(name, None, schema.exclude):
                        problems.append(_node_problem(sql, source.this, f"table {name} is excluded from text2sql", "excluded"))
                    else:
                        problems.append(_node_problem(sql, source.this, f"unknown table {name}", "unknown-table"))
                    sources[alias.lower()] = None
                    continue
                sources[alias.lower()] = {c.name.lower() for c in table.columns}
                hidden = [p for p in schema.exclude if "." in p and is_excluded(name, p.split(".", 1)[1].replace("*", "x"), [p])]
                if hidden and _selects_star_of(scope, alias):
                    problems.append(_node_problem(sql, source.this, f"SELECT * on {name} would include excluded columns; name the columns", "excluded"))
            else:
                sources[alias.lower()] = None
        if not sources:
            continue
        select_aliases = {s.alias.lower() for s in getattr(scope.expression, "selects", []) if isinstance(s, exp.Alias)}
        for column in scope.columns:
            if column.is_star or not column.name:
                continue
            if isinstance(scope.expression, exp.Select) and column.find_ancestor(exp.Select) is not scope.expression:
                continue  # belongs to a nested query, checked in its own scope
            if column.this.args.get("quoted") and dialect_string_fallback(schema.dialect, column):
                continue
            col = column.name.lower()
            qualifier = column.table.lower() if column.table else None
            if qualifier:
                if qualifier in sources:
                    known = sources[qualifier]
                    if known is not None and col not in known:
                        problems.append(_unknown_column(sql, column, schema))
                elif not _outer_has_alias(scope, qualifier):
                    problems.append(_node_problem(sql, column.args.get("table"), f"unknown table or alias {column.table}", "unknown-table"))
                continue
            if any(known is None or col in known for known in sources.values()) or col in select_aliases:
                continue
            if _outer_has_column(scope, col, schema):
                continue  # correlated reference to an outer query
            problems.append(_unknown_column(sql, column, schema))
    return problems


def dialect_string_fallback(dialect: str, column) -> bool:
    """SQLite reads an unknown double-quoted name as a string literal ("USA")."""
    return dialect == "sqlite" and column.table == ""


def _outer_scopes(scope):
    outer = scope.parent
    while outer is not None:
        yield outer
        outer = outer.parent


def _outer_has_alias(scope, alias: str) -> bool:
    return any(alias in {k.lower() for k in outer.sources} for outer in _outer_scopes(scope))


def _outer_has_column(scope, col: str, schema: Schema) -> bool:
    from sqlglot import exp

    for outer in _outer_scopes(scope):
        for src in outer.sources.values():
            if not isinstance(src, exp.Table):
                return True  # a derived source: its columns are not tracked here
            table = schema.table(src.name)
            if table is None or table.column(col) is not None:
                return True
    return False


def _selects_star_of(scope, alias: str) -> bool:
    from sqlglot import exp

    for sel in getattr(scope.expression, "selects", []):
        if isinstance(sel, exp.Star):
            return True
        if isinstance(sel, exp.Column) and sel.is_star and sel.table.lower() == alias.lower():
            return True
    return False


def _unknown_column(sql: str, column, schema: Schema) -> Problem:
    table_hint = f" in {column.table}" if column.table else ""
    name = column.name
    for t in schema.tables:
        if is_excluded(t.name, name, schema.exclude):
            return _node_problem(sql, column.this, f"column {name} is excluded from text2sql", "excluded")
    return _node_problem(sql, column.this, f"unknown column {name}{table_hint}", "unknown-column")


def check(sql: str, schema: Schema | None = None, dialect: str | None = None) -> list[Problem]:
    """Every problem found in ``sql``; an empty list means it is a valid read-only query
    over known tables and columns. Never raises."""
    try:
        if sql is None or not str(sql).strip():
            return [Problem("the SQL is empty", "empty", 1, 1)]
        sql = str(sql)
        dialect = dialect or (schema.dialect if schema else None)
        statements, problems = parse(sql, dialect)
        if problems:
            return problems
        problems = policy_problems(sql, statements, dialect)
        if schema is not None and not any(p.code == "not-read-only" for p in problems):
            for statement in statements:
                problems.extend(_schema_problems(sql, statement, schema))
        return problems
    except Exception as err:  # a bug in a corner of sqlglot must not take a front end down
        return [Problem(f"could not analyse this SQL ({type(err).__name__}: {err})", "syntax", 1, 1)]


def ensure_read_only(sql: str, dialect: str | None = None, schema: Schema | None = None) -> None:
    """Raise ReadOnlyViolation unless ``sql`` is exactly one read-only query (and, with a
    schema, touches no excluded object); InvalidSQL when it does not even parse."""
    if sql is None or not str(sql).strip():
        raise InvalidSQL("the SQL is empty", [Problem("the SQL is empty", "empty", 1, 1)])
    dialect = dialect or (schema.dialect if schema else None)
    statements, problems = parse(sql, dialect)
    if problems:
        raise InvalidSQL(f"the SQL does not parse: {problems[0]}", problems)
    refused = policy_problems(sql, statements, dialect)
    if schema is not None and schema.exclude:
        refused += [p for s in statements for p in _schema_problems(sql, s, schema) if p.code == "excluded"]
    if refused:
        raise ReadOnlyViolation(f"refused: {refused[0].message}")
