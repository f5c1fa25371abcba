"""Validation of SQL against a schema, with sqlglot, in the connection's dialect.

``check`` returns positioned problems (1-based line/column, end column exclusive, ready for
``line:col`` output and LSP ranges) and never raises: syntax errors, unknown tables and
columns (with a "did you mean"), ambiguous columns, names that only match in the wrong case
where the dialect folds unquoted names (PostgreSQL: lower case), excluded objects, and
anything that is not one read-only query. CTEs (recursive ones and column lists included),
derived tables, table functions, aliases, correlated subqueries, ``USING`` and ``NATURAL``
joins are understood; a source whose columns cannot be known (a table function without a
column list, a derived table built on ``*``) silences column checks against it rather than
guessing.

``ensure_read_only`` is the same read-only policy as an exception: it is the first of
text2sql's two read-only layers (the read-only connection in execute.py is the second).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from text2sql.errors import InvalidSQL, ReadOnlyViolation
from text2sql.problems import Problem
from text2sql.readonly import node_problem as _node_problem
from text2sql.readonly import parse, policy_problems, position, span_problem  # noqa: F401 (re-exported)
from text2sql.schema import is_excluded
from text2sql.schema_model import Schema, Table


# -- names as the dialect resolves them ------------------------------------------------

def _folding(dialect: str | None) -> str | None:
    """"lower" / "upper" where the dialect folds unquoted names and compares exactly
    (PostgreSQL; Snowflake, Oracle), None where names compare case-insensitively. MySQL
    table-name case depends on the server's lower_case_table_names: treated as insensitive."""
    from sqlglot.dialects.dialect import Dialect, NormalizationStrategy

    try:
        strategy = Dialect.get_or_raise(dialect).NORMALIZATION_STRATEGY
    except Exception:
        return None
    return {NormalizationStrategy.LOWERCASE: "lower", NormalizationStrategy.UPPERCASE: "upper"}.get(strategy)


def _resolves(name: str, quoted: bool, stored: str, folding: str | None) -> bool:
    if folding is None:
        return name.lower() == stored.lower()
    if quoted:
        return name == stored
    return (name.lower() if folding == "lower" else name.upper()) == stored


_DIALECT_NAMES = {"postgres": "PostgreSQL", "snowflake": "Snowflake", "oracle": "Oracle"}


def _case_hint(stored: str, quoted: bool, dialect: str | None, folding: str) -> str:
    from sqlglot import exp

    written = exp.to_identifier(stored, quoted=True).sql(dialect=dialect)
    where = _DIALECT_NAMES.get(dialect or "", dialect)
    if quoted:
        return f"quoted names are case-sensitive in {where}; write {written}"
    return f"{where} reads unquoted names in {folding} case; write {written}"


def _suggest(name: str, candidates) -> str:
    by_lower = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.75)
    return f" (did you mean {by_lower[close[0]]}?)" if close else ""


@dataclass
class _Source:
    """What a name in FROM stands for in one scope."""

    columns: list[str] | None  # stored column names; None when they cannot be known
    table: Table | None = None  # the schema table behind it, if any


def _scope_columns(source) -> list[str] | None:
    """Output column names of a CTE / derived-table scope (None when unknowable)."""
    from sqlglot import exp

    node = source.expression
    while isinstance(node.parent, exp.SetOperation):  # a branch of a (recursive) UNION
        node = node.parent
    node = node.parent if isinstance(node.parent, (exp.CTE, exp.Subquery)) else None
    alias = node.args.get("alias") if node is not None else None
    if alias is not None and alias.columns:
        return [c.name for c in alias.columns]
    selects = getattr(source.expression, "selects", [])
    if any(isinstance(s, exp.Star) or (isinstance(s, exp.Column) and s.is_star) for s in selects):
        return None
    names = getattr(source.expression, "named_selects", [])
    return [n for n in names if n] or None


def _find_table(schema: Schema, source, folding: str | None) -> tuple[Table | None, Table | None]:
    """(exact match, case-insensitive match) of a FROM table as the dialect resolves it."""
    ident, db = source.this, source.db.lower() if source.db else None
    exact = loose = None
    for t in schema.tables:
        if db and t.schema and t.schema.lower() != db:
            continue
        if t.name.lower() == ident.name.lower():
            loose = loose or t
            if exact is None and _resolves(ident.name, bool(ident.args.get("quoted")), t.name, folding):
                exact = t
    return exact, loose


# Columns every table has without declaring them.
_PSEUDO_COLUMNS = {
    "sqlite": ("rowid", "oid", "_rowid_"),
    "duckdb": ("rowid",),
    "postgres": ("ctid", "xmin", "xmax", "cmin", "cmax", "tableoid"),
}


def _partly_excluded(table: str, patterns) -> bool:
    """True when a ``table.column`` pattern may have removed columns of ``table``."""
    from fnmatch import fnmatchcase

    return any("." in p and fnmatchcase(table.lower(), p.lower().split(".", 1)[0]) for p in patterns)


def _schema_problems(sql: str, statement, schema: Schema) -> list[Problem]:
    from sqlglot import exp
    from sqlglot.optimizer.scope import Scope, traverse_scope

    try:
        scopes = traverse_scope(statement)
    except Exception:
        return []
    dialect, folding = schema.dialect, _folding(schema.dialect)
    problems: list[Problem] = []
    cte_names = {c.alias_or_name.lower() for c in statement.find_all(exp.CTE)}
    for scope in scopes:
        sources: dict[str, _Source] = {}
        for alias, source in scope.sources.items():
            key = alias.lower()
            if isinstance(source, Scope):
                sources[key] = _Source(_scope_columns(source))
            elif not isinstance(source, exp.Table):
                sources[key] = _Source(None)
            elif not isinstance(source.this, exp.Identifier):  # table function: json_each(...), generate_series(...)
                names = source.alias_column_names
                sources[key] = _Source(list(names) or None)
            elif source.name.lower() in cte_names and not source.db:
                sources[key] = _Source(None)
            else:
                sources[key] = _Source(None)
                table, loose = _find_table(schema, source, folding)
                name = source.name
                if table is None:
                    if loose is not None:
                        msg = f"unknown table {name}: {_case_hint(loose.name, bool(source.this.args.get('quoted')), dialect, folding)}"
                        problems.append(_node_problem(sql, source.this, msg, "unknown-table"))
                    elif is_excluded(name, None, schema.exclude):
                        problems.append(_node_problem(sql, source.this, f"table {name} is excluded from text2sql", "excluded"))
                    else:
                        hint = _suggest(name, schema.table_names)
                        problems.append(_node_problem(sql, source.this, f"unknown table {name}{hint}", "unknown-table"))
                    continue
                if is_excluded(table.name, None, schema.exclude):  # a schema built without filtering
                    problems.append(_node_problem(sql, source.this, f"table {name} is excluded from text2sql", "excluded"))
                    continue
                pseudo = [] if table.kind == "view" else list(_PSEUDO_COLUMNS.get(dialect, ()))
                sources[key] = _Source([c.name for c in table.columns] + pseudo, table)
                if _partly_excluded(table.name, schema.exclude) and _exposes_all_columns(scope, alias):
                    msg = f"* on {name} would include excluded columns; name the columns"
                    problems.append(_node_problem(sql, source.this, msg, "excluded"))
        if sources:
            problems += _column_problems(sql, scope, sources, schema, folding)
    return problems


def _column_problems(sql: str, scope, sources: dict[str, _Source], schema: Schema, folding) -> list[Problem]:
    from sqlglot import exp

    problems = []
    select = scope.expression if isinstance(scope.expression, exp.Select) else None
    aliases = {s.alias.lower() for s in getattr(scope.expression, "selects", []) if isinstance(s, exp.Alias)}
    joins = select.args.get("joins") or [] if select is not None else []
    natural = any(j.method.upper() == "NATURAL" for j in joins)
    using = {u.name.lower() for j in joins for u in (j.args.get("using") or [])}
    for column in scope.columns:
        if column.is_star or not column.name:
            continue
        if select is not None and column.find_ancestor(exp.Select) is not select:
            continue  # belongs to a nested query, checked in its own scope
        quoted = bool(column.this.args.get("quoted"))
        if quoted and schema.dialect == "sqlite" and not column.table:
            continue  # SQLite reads an unknown double-quoted name as a string literal ("USA")
        name, qualifier = column.name, column.table.lower() if column.table else None
        if qualifier:
            if qualifier not in sources:
                if not _outer_has_alias(scope, qualifier):
                    hint = _suggest(column.table, [k for k in sources])
                    problems.append(_node_problem(sql, column.args.get("table"),
                                                  f"unknown table or alias {column.table}{hint}", "unknown-table"))
                continue
            src = sources[qualifier]
            if src.columns is not None:
                problem = _match_column(sql, column, [src], schema, folding, in_=column.table)
                if problem:
                    problems.append(problem)
            continue
        if any(src.columns is None for src in sources.values()):
            continue
        holders = [a for a, src in sources.items() if any(c.lower() == name.lower() for c in src.columns)]
        if not holders:
            if name.lower() in aliases or _outer_has_column(scope, name, schema):
                continue  # a select alias, or a correlated reference to an outer query
            row_source = sources.get(name.lower())
            if row_source and row_source.table and _partly_excluded(row_source.table.name, schema.exclude):
                problems.append(_node_problem(sql, column.this, f"{name} as a whole row would include excluded columns",
                                              "excluded"))
                continue
            problems.append(_match_column(sql, column, list(sources.values()), schema, folding))
        elif len(holders) > 1 and not natural and name.lower() not in using | aliases:
            # (sqlglot's scope leaves out ORDER BY names that match an output column)
            msg = f"column {name} is ambiguous (in {', '.join(holders)}); qualify it"
            problems.append(_node_problem(sql, column.this, msg, "ambiguous-column"))
        else:
            problem = _match_column(sql, column, [sources[holders[0]]], schema, folding)
            if problem:
                problems.append(problem)
    return problems


def _match_column(sql, column, sources: list[_Source], schema: Schema, folding, in_: str | None = None):
    """None when ``column`` resolves in one of ``sources``, else the problem to report."""
    name, quoted = column.name, bool(column.this.args.get("quoted"))
    where = f" in {in_}" if in_ else ""
    loose = None
    for src in sources:
        for stored in src.columns or ():
            if _resolves(name, quoted, stored, folding):
                if src.table is not None and is_excluded(src.table.name, stored, schema.exclude):
                    return _node_problem(sql, column.this, f"column {name} is excluded from text2sql", "excluded")
                return None
            if stored.lower() == name.lower():
                loose = stored
    if loose is not None:
        return _node_problem(sql, column.this, f"unknown column {name}{where}: {_case_hint(loose, quoted, schema.dialect, folding)}",
                             "unknown-column")
    tables = [src.table.name for src in sources if src.table is not None] or [t.name for t in schema.tables]
    if any(is_excluded(t, name, schema.exclude) for t in tables):
        return _node_problem(sql, column.this, f"column {name} is excluded from text2sql", "excluded")
    hint = _suggest(name, [c for src in sources for c in (src.columns or ())])
    return _node_problem(sql, column.this, f"unknown column {name}{where}{hint}", "unknown-column")


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
            if not isinstance(src, exp.Table) or not isinstance(src.this, exp.Identifier):
                return True  # a derived source or table function: its columns are not tracked here
            table = schema.table(src.name)
            if table is None or table.column(col) is not None:
                return True
    return False


def _exposes_all_columns(scope, alias: str) -> bool:
    """``*`` in the select list, or ``alias.*`` anywhere in the scope (``row_to_json(u.*)``)."""
    from sqlglot import exp

    if any(isinstance(sel, exp.Star) for sel in getattr(scope.expression, "selects", [])):
        return True
    return any(c.is_star and c.table.lower() == alias.lower() for c in scope.expression.find_all(exp.Column))


def check(sql: str, schema: Schema | None = None, dialect: str | None = None) -> list[Problem]:
    """Every problem found in ``sql``, in text order; an empty list means it is a valid
    read-only query over known tables and columns. Never raises."""
    try:
        if sql is None or not str(sql).strip():
            return [Problem("the SQL is empty", "empty", 1, 1)]
        sql = str(sql)
        dialect = dialect or (schema.dialect if schema else None)
        statements, problems = parse(sql, dialect)
        if problems:
            return problems
        if not statements:
            return [Problem("the SQL has no statement (only comments)", "empty", 1, 1)]
        problems = policy_problems(sql, statements, dialect)
        if schema is not None and not any(p.code == "not-read-only" for p in problems):
            if dialect != schema.dialect:
                import dataclasses

                schema = dataclasses.replace(schema, dialect=dialect)
            for statement in statements:
                problems.extend(_schema_problems(sql, statement, schema))
        return sorted(problems, key=lambda p: (p.line, p.column))
    except Exception as err:  # a bug in a corner of sqlglot must not take a front end down
        return [Problem(f"could not analyse this SQL ({type(err).__name__}: {err})", "syntax", 1, 1)]


def ensure_read_only(sql: str, dialect: str | None = None, schema: Schema | None = None) -> None:
    """Raise ReadOnlyViolation unless ``sql`` is exactly one read-only query (and, with a
    schema, touches no excluded object); InvalidSQL when it does not even parse."""
    if sql is None or not str(sql).strip():
        raise InvalidSQL("the SQL is empty", [Problem("the SQL is empty", "empty", 1, 1)])
    sql = str(sql)
    dialect = dialect or (schema.dialect if schema else None)
    statements, problems = parse(sql, dialect)
    if problems:
        raise InvalidSQL(f"the SQL does not parse: {problems[0]}", problems)
    if not statements:
        empty = Problem("the SQL has no statement (only comments)", "empty", 1, 1)
        raise InvalidSQL(empty.message, [empty])
    refused = policy_problems(sql, statements, dialect)
    if schema is not None and schema.exclude and not refused:
        refused += [p for s in statements for p in _schema_problems(sql, s, schema) if p.code == "excluded"]
    if refused:
        raise ReadOnlyViolation(f"refused: {refused[0].message}")
