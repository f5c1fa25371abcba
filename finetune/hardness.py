"""Spider's official hardness levels (easy / medium / hard / extra), computed from the
parsed ``sql`` field of Spider's JSON exactly as the official evaluation script does,
quirks included (e.g. it counts WHERE/HAVING units whose first field is the NOT flag as
aggregated). A test checks the official dev counts: 248 / 446 / 174 / 166."""

from __future__ import annotations

LIKE_OP = 9  # index of 'like' in Spider's WHERE_OPS
NO_AGG = 0  # index of 'none' in Spider's AGG_OPS


def _nested(sql: dict) -> list[dict]:
    out = []
    for cond in sql["from"]["conds"][::2] + sql["where"][::2] + sql["having"][::2]:
        if isinstance(cond[3], dict):
            out.append(cond[3])
        if isinstance(cond[4], dict):
            out.append(cond[4])
    for key in ("intersect", "except", "union"):
        if sql[key] is not None:
            out.append(sql[key])
    return out


def _count_agg(units) -> int:
    return len([u for u in units if u[0] != NO_AGG])


def _component1(sql: dict) -> int:
    count = sum(1 for key in ("where", "groupBy", "orderBy") if len(sql[key]) > 0)
    count += sql["limit"] is not None
    if sql["from"]["table_units"]:
        count += len(sql["from"]["table_units"]) - 1
    connectors = sql["from"]["conds"][1::2] + sql["where"][1::2] + sql["having"][1::2]
    count += len([c for c in connectors if c == "or"])
    conds = sql["from"]["conds"][::2] + sql["where"][::2] + sql["having"][::2]
    count += len([c for c in conds if c[1] == LIKE_OP])
    return count


def _others(sql: dict) -> int:
    agg = _count_agg(sql["select"][1]) + _count_agg(sql["where"][::2]) + _count_agg(sql["groupBy"])
    if sql["orderBy"]:
        units = [u[1] for u in sql["orderBy"][1] if u[1]] + [u[2] for u in sql["orderBy"][1] if u[2]]
        agg += _count_agg(units)
    agg += _count_agg(sql["having"])
    count = int(agg > 1)
    count += len(sql["select"][1]) > 1
    count += len(sql["where"]) > 1
    count += len(sql["groupBy"]) > 1
    return count


def hardness(sql: dict) -> str:
    """'easy' | 'medium' | 'hard' | 'extra' for one parsed Spider query."""
    c1, c2, others = _component1(sql), len(_nested(sql)), _others(sql)
    if c1 <= 1 and others == 0 and c2 == 0:
        return "easy"
    if (others <= 2 and c1 <= 1 and c2 == 0) or (c1 <= 2 and others < 2 and c2 == 0):
        return "medium"
    if (others > 2 and c1 <= 2 and c2 == 0) or (2 < c1 <= 3 and others <= 2 and c2 == 0) or (
        c1 <= 1 and others == 0 and c2 <= 1
    ):
        return "hard"
    return "extra"
