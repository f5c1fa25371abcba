"""Schema-guided repair of the model's most common slip: a column put on the wrong table.

A small model writing a join often qualifies a column with the wrong alias
(``SELECT T1.name FROM concert AS T1 JOIN stadium AS T2 ...`` where only ``stadium`` has
``name``). On Spider dev about a fifth of the shipped model's answers failed to run for
this reason alone. When the column exists in exactly one *other* table of the same
SELECT, the intended reference is unambiguous, so the qualifier is rewritten; anything
less certain is left for the validator to report. Names that are merely close to a real
one (``names`` for ``name``) are corrected the same way: only to a single candidate that
is much closer than any other.

The repair never touches string literals, never adds or removes a table, and returns
the text unchanged when it cannot parse it or finds nothing to fix.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from text2sql.schema_model import Schema, Table

CLOSE = 0.8  # difflib ratio above which a misspelt name may be corrected


@dataclass(frozen=True)
class Repair:
    sql: str  # the repaired SQL (dialect-formatted by sqlglot)
    changes: tuple[str, ...]  # what was changed, for the user: "T1.name -> T2.name"


def repair(sql: str, schema: Schema | None) -> Repair | None:
    """The repaired SQL, or None when there is nothing (certain) to repair."""
    if schema is None or not sql or not sql.strip():
        return None
    import sqlglot
    from sqlglot.optimizer.scope import traverse_scope

    try:
        trees = [t for t in sqlglot.parse(sql, read=schema.dialect) if t is not None]
        if len(trees) != 1:
            return None
        tree = trees[0]
        changes: list[str] = []
        for scope in traverse_scope(tree):
            changes += _repair_scope(scope, schema)
        if not changes:
            return None
        return Repair(tree.sql(dialect=schema.dialect), tuple(changes))
    except Exception:  # a corner of sqlglot must never cost the user the model's answer
        return None


def _tables_in(scope, schema: Schema) -> dict[str, Table]:
    from sqlglot import exp

    tables = {}
    for alias, source in scope.sources.items():
        if isinstance(source, exp.Table) and isinstance(source.this, exp.Identifier):
            table = schema.table(source.name)
            if table is not None:
                tables[alias] = table
    return tables


def _repair_scope(scope, schema: Schema) -> list[str]:
    from sqlglot import exp

    tables = _tables_in(scope, schema)
    if not tables or len(tables) != len(scope.sources):  # subqueries/CTEs as sources: leave it
        return []
    changes = []
    for column in scope.columns:
        if not isinstance(column.this, exp.Identifier) or column.name == "*":
            continue
        qualifier = column.table
        if qualifier:
            owner = next((t for a, t in tables.items() if a.lower() == qualifier.lower()), None)
            if owner is None or owner.column(column.name) is not None:
                continue
            holders = [a for a, t in tables.items() if t.column(column.name) is not None]
            if len(holders) == 1:
                changes.append(f"{qualifier}.{column.name} -> {holders[0]}.{column.name}")
                column.set("table", exp.to_identifier(holders[0]))
                continue
            fixed = _closest(column.name, [c.name for c in owner.columns])
            if fixed:
                changes.append(f"{qualifier}.{column.name} -> {qualifier}.{fixed}")
                column.set("this", exp.to_identifier(fixed))
        elif len(tables) >= 1 and not _known_unqualified(column, scope, tables):
            names = sorted({c.name for t in tables.values() for c in t.columns})
            fixed = _closest(column.name, names)
            if fixed:
                changes.append(f"{column.name} -> {fixed}")
                column.set("this", exp.to_identifier(fixed))
    return changes


def _known_unqualified(column, scope, tables: dict[str, Table]) -> bool:
    """True when an unqualified name is a column of a table in scope, or an alias of the
    select list (``ORDER BY total``), so it must not be touched."""
    name = column.name.lower()
    if any(t.column(name) is not None for t in tables.values()):
        return True
    selects = getattr(scope.expression, "selects", [])
    return any(s.alias_or_name.lower() == name for s in selects if s.alias)


def _closest(name: str, candidates: list[str]) -> str | None:
    """The one candidate clearly closest to ``name`` (case-insensitive), else None."""
    low = {c.lower(): c for c in candidates}
    scored = sorted(((difflib.SequenceMatcher(None, name.lower(), c).ratio(), c) for c in low), reverse=True)
    if not scored or scored[0][0] < CLOSE:
        return None
    if len(scored) > 1 and scored[1][0] >= scored[0][0] - 0.1:
        return None
    return low[scored[0][1]]
