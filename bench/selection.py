"""Which candidate to answer with: selection rules scored on one guided evaluation, to choose
what ``Assistant.generate`` does with ``n > 1`` candidates. Prints a Markdown table and
writes JSON.

    text2sql eval --data ../shared/data/spider --split dev --precision w8a16 --n 8 --out out/n8
    python bench/selection.py out/n8/report.json [--k 1 2 4 8] [--out bench/results/selection.json]

The report must come from ``text2sql eval --n N`` (N > 1): each outcome then lists every
candidate in the assistant's order (greedy first, then the beams by likelihood) and whether
it validated and ran. Every candidate is run here in full, read-only, on the question's
SQLite database, and each rule picks one per question:

* ``greedy``: candidate 0, what ``--n 1`` answers;
* ``first-ok``: the first candidate that validated and ran;
* ``first-rows``: the first that ran and returned at least one row, else ``first-ok``;
* ``vote``: among those that ran, the one whose result most candidates share (the
  earliest on ties), i.e. self-consistency over execution results;
* ``vote-rows``: ``vote`` among those that returned rows, else ``first-ok``;
* ``first-answer``: the first that ran and answered something (``pipeline.answers_something``:
  not empty, not only NULLs, not one row of zeros), else ``first-ok``: the assistant's rule
  since these measurements (it was ``first-ok`` before);
* ``oracle``: a correct one when any is: the ceiling no rule can pass.

``--k`` scores each rule on the first k candidates only. This approximates ``--n k``:
beam search with fewer beams can rank different candidates, so confirm a chosen k with its
own ``text2sql eval`` run. A rule chosen on these questions is chosen on the test set, so
each rule is also scored on two halves of the databases (alternate ones in name order): a
rule worth shipping wins on both, not on one half's luck.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from idle import publish  # bench/idle.py (the script's own folder is on sys.path)

from text2sql.finetune.compare import order_key_columns, results_match
from text2sql.pipeline import answers_something

ROOT = Path(__file__).resolve().parents[1]
SPIDER = ROOT.parent / "shared" / "data" / "spider"


def run_candidates(report: dict, databases: Path, timeout_s: float = 10.0) -> list[list[dict]]:
    """Per outcome, its candidates with ``rows`` (None when running failed) and ``ex``."""
    from tqdm.auto import tqdm

    from text2sql.finetune.evaluate import execute

    scored = []
    for o in tqdm(report["outcomes"], desc="running candidates", unit="q"):
        if not o.get("candidates"):
            raise SystemExit(f"{o['question']!r} has no candidates: evaluate with text2sql eval --n N (N > 1)")
        db = databases / o["db_id"] / f"{o['db_id']}.sqlite"
        gold, keys = execute(db, o["gold"], timeout_s), order_key_columns(o["gold"])
        row = []
        for c in o["candidates"]:
            try:
                rows = execute(db, c["sql"], timeout_s) if c["sql"] else None
            except Exception:
                rows = None
            row.append({**c, "rows": rows, "ex": rows is not None and results_match(gold, rows, keys)})
        scored.append(row)
    return scored


def _result_key(rows) -> tuple:
    """Results that Spider's comparison would call equal, ignoring row order, share a key."""
    return tuple(sorted(repr(tuple(r)) for r in rows))


def _vote(cands: list[dict]) -> dict | None:
    if not cands:
        return None
    counts = Counter(_result_key(c["rows"]) for c in cands)
    best = max(counts.values())
    return next(c for c in cands if counts[_result_key(c["rows"])] == best)


def _ran(cands):
    return [c for c in cands if c["ok"] and c["rows"] is not None]


def _first_ok(cands):
    return next((c for c in cands if c["ok"]), cands[0])


RULES = {
    "greedy": lambda cands: cands[0],
    "first-ok": _first_ok,
    "first-rows": lambda cands: next((c for c in _ran(cands) if c["rows"]), None) or _first_ok(cands),
    "vote": lambda cands: _vote(_ran(cands)) or _first_ok(cands),
    "vote-rows": lambda cands: _vote([c for c in _ran(cands) if c["rows"]]) or _first_ok(cands),
    "first-answer": lambda cands: next((c for c in _ran(cands) if answers_something(c["rows"])), None)
    or _first_ok(cands),
    "oracle": lambda cands: next((c for c in cands if c["ex"]), cands[0]),
}


def score(scored: list[list[dict]], ks: list[int], db_ids: list[str]) -> list[dict]:
    """One row per subset (all, then each half of the databases) and k: each rule's EX (%)
    when it sees the first k candidates."""
    names = sorted(set(db_ids))
    subsets = {"all": range(len(scored))}
    for half in (0, 1):
        keep = set(names[half::2])
        subsets[f"half {half + 1}"] = [i for i, db in enumerate(db_ids) if db in keep]
    out = []
    for subset, idx in subsets.items():
        for k in ks:
            row = {"subset": subset, "questions": len(idx), "k": k}
            for name, rule in RULES.items():
                row[name] = round(100.0 * sum(rule(scored[i][:k])["ex"] for i in idx) / len(idx), 1) if idx else 0.0
            out.append(row)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("report", type=Path, help="report.json of a text2sql eval --n N run")
    ap.add_argument("--k", type=int, nargs="+", default=None, help="candidate counts to score (default 1, 2, 4, ..., N)")
    ap.add_argument("--databases", type=Path, default=SPIDER / "database", help="Spider-format database folder")
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "selection.json")
    args = ap.parse_args(argv)
    report = json.loads(args.report.read_text())
    n = report["summary"]["n_candidates"]
    ks = args.k or sorted({n} | {2 ** i for i in range(n.bit_length())})  # 1, 2, 4, ... up to n, and n
    rows = score(run_candidates(report, args.databases), ks, [o["db_id"] for o in report["outcomes"]])
    return publish({"report": str(args.report), "summary": report["summary"], "rows": rows}, str(args.out), table)


def table(result: dict) -> str:
    s = result["summary"]
    lines = [f"Selection rules on {s['evaluated']} questions ({s['data']}, n = {s['n_candidates']}; "
             "EX %, each rule seeing the first k candidates)", "",
             "| questions | k | " + " | ".join(RULES) + " |", "|---" * (len(RULES) + 2) + "|"]
    lines += [f"| {r['subset']} ({r['questions']}) | {r['k']} | " + " | ".join(str(r[name]) for name in RULES) + " |"
              for r in result["rows"]]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
