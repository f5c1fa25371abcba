"""Execution-accuracy comparison of two result sets (gold vs predicted).

Rows are compared as multisets; the order matters only when the gold query has a
top-level ORDER BY, and then only for the ORDER BY keys: rows whose keys tie may come in
any order. Columns may come in any order (the predicted columns are matched to the gold
ones by their values), but their number must agree. Values are normalised: numbers
compare as floats rounded to 6 decimals (so 2.0 == 2 and Decimal('1.10') == 1.1),
text as text, NULL only equals NULL.
"""

from __future__ import annotations

import itertools
from collections import Counter
from decimal import Decimal


def normalize(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float, Decimal)):
        return round(float(value), 6) + 0.0  # + 0.0 folds -0.0
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _norm_rows(rows) -> list[tuple]:
    return [tuple(normalize(v) for v in row) for row in rows]


def _sort_key(value):
    return (value is None, isinstance(value, str), value if value is not None else 0)


def order_key_columns(gold_sql: str, dialect: str = "sqlite") -> list[int] | None:
    """Indexes (in the gold SELECT list) of the top-level ORDER BY keys; [] when the gold
    query is unordered; None when it is ordered by something not in its SELECT list."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(gold_sql, read=dialect)
    except Exception:
        return None
    order = tree.args.get("order")
    if order is None:
        return []
    selects = tree.selects if hasattr(tree, "selects") else []
    rendered = [s.unalias().sql().lower() for s in selects]
    aliases = [s.alias.lower() if isinstance(s, exp.Alias) else "" for s in selects]
    keys = []
    for ordered in order.expressions:
        expr = ordered.this
        text = expr.sql().lower()
        if isinstance(expr, exp.Literal) and expr.is_int:
            keys.append(int(expr.this) - 1)
        elif text in rendered:
            keys.append(rendered.index(text))
        elif text in aliases:
            keys.append(aliases.index(text))
        elif isinstance(expr, exp.Column) and expr.name.lower() in [r.split(".")[-1] for r in rendered]:
            keys.append([r.split(".")[-1] for r in rendered].index(expr.name.lower()))
        else:
            return None
    return keys


def _column_permutations(gold: list[tuple], pred: list[tuple], width: int):
    """Permutations p with pred column p[i] holding the same multiset as gold column i."""
    gold_cols = [Counter(r[i] for r in gold) for i in range(width)]
    pred_cols = [Counter(r[i] for r in pred) for i in range(width)]
    candidates = [[j for j in range(width) if pred_cols[j] == gold_cols[i]] for i in range(width)]
    if any(not c for c in candidates):
        return
    for perm in itertools.product(*candidates):
        if len(set(perm)) == width:
            yield perm


def results_match(gold_rows, pred_rows, order_keys: list[int] | None = None) -> bool:
    """True when the predicted rows are the gold rows (see module doc).
    ``order_keys``: [] unordered; [i, ...] ordered by those gold columns; None ordered by
    something unseen, so the whole rows must come in the same order."""
    gold, pred = _norm_rows(gold_rows), _norm_rows(pred_rows)
    if len(gold) != len(pred):
        return False
    if not gold:
        return True
    width = len(gold[0])
    if any(len(r) != width for r in pred):
        return False
    for perm in _column_permutations(gold, pred, width):
        aligned = [tuple(row[j] for j in perm) for row in pred]
        if Counter(aligned) != Counter(gold):
            continue
        if order_keys == []:
            return True
        if order_keys is None:
            if aligned == gold:
                return True
            continue
        if [tuple(r[k] for k in order_keys) for r in aligned] == [tuple(r[k] for k in order_keys) for r in gold]:
            return True  # same key sequence; ties may differ in order
    return False
