"""Execution accuracy (EX) on Spider-format data: every gold and predicted query is run
read-only (per-query timeout) on the question's own SQLite database, and their results
are compared (compare.py). A second column, "normalized-SQL match", is sqlglot-normalised
string equality: a cheap sanity metric, NOT Spider's exact-set match.

Databases that are missing or have no tables are skipped and counted (Spider dev: 972
questions evaluated, 62 skipped for ``wta_1``). Generation goes through the same
``Assistant`` as the product: ``n=1`` is greedy; ``n>1`` is execution-guided selection
(the first of n candidates that validates, executes and returns rows that answer something,
else the first that validates and executes: ``Assistant.generate``).
"""

from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

from text2sql.finetune.compare import order_key_columns, results_match
from text2sql.finetune.hardness import hardness
from text2sql.model import cpu_info, describe_cpu


@dataclass
class EvalExample:
    db_id: str
    question: str
    gold: str
    db_path: Path
    hardness: str | None = None


@dataclass
class Outcome:
    db_id: str
    question: str
    gold: str
    pred: str
    hardness: str | None
    ex: bool
    normalized_match: bool
    error: str | None = None
    seconds: float = 0.0  # generation + validation of this question
    new_tokens: int | None = None  # tokens the greedy decode wrote (backend timings, when it has them)
    decode_tokens_per_s: float | None = None
    # with n > 1: every candidate in the assistant's order, as {"sql", "ok", "answered"} (it
    # validated and ran; its rows answered something), so other selection rules can be scored
    candidates: list[dict] | None = None


@dataclass
class EvalReport:
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: dict = field(default_factory=dict)  # db_id -> questions skipped
    wall_s: float = 0.0
    model: str = ""
    n: int = 1
    data: str = ""  # what was evaluated, e.g. "spider dev" or "chinook_questions.json ko (limit 100)"
    machine: dict = field(default_factory=dict)  # text2sql.model.cpu_info() of the machine it ran on

    @property
    def evaluated(self) -> int:
        return len(self.outcomes)

    def summary(self) -> dict:
        def rate(items, key):
            return round(100.0 * sum(getattr(o, key) for o in items) / len(items), 1) if items else 0.0

        by_h, by_db = defaultdict(list), defaultdict(list)
        for o in self.outcomes:
            by_h[o.hardness or "unknown"].append(o)
            by_db[o.db_id].append(o)
        return {
            "model": self.model,
            "data": self.data,
            "n_candidates": self.n,
            "evaluated": self.evaluated,
            "skipped": sum(self.skipped.values()),
            "skipped_databases": self.skipped,
            "ex": rate(self.outcomes, "ex"),
            "normalized_sql_match": rate(self.outcomes, "normalized_match"),
            "by_hardness": {h: {"count": len(v), "ex": rate(v, "ex"), "normalized_sql_match": rate(v, "normalized_match")}
                            for h, v in sorted(by_h.items(), key=lambda kv: ["easy", "medium", "hard", "extra", "unknown"].index(kv[0]))},
            "by_database": {d: {"count": len(v), "ex": rate(v, "ex")} for d, v in sorted(by_db.items())},
            "wall_s": round(self.wall_s, 1),
            "seconds_per_question": round(self.wall_s / self.evaluated, 3) if self.evaluated else None,
            "mean_generation_s": round(statistics.fmean(o.seconds for o in self.outcomes), 3) if self.outcomes else None,
            "median_decode_tokens_per_s": round(statistics.median(rates), 1) if (rates := [
                o.decode_tokens_per_s for o in self.outcomes if o.decode_tokens_per_s]) else None,
            "questions_per_s": round(self.evaluated / self.wall_s, 3) if self.wall_s else None,
            "machine": self.machine,
        }


def _has_tables(db_path: Path) -> bool:
    import sqlite3

    if not db_path.is_file():
        return False
    con = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return con.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0] > 0
    finally:
        con.close()


def load_spider(data_dir, split: str = "dev") -> tuple[list[EvalExample], dict]:
    """(runnable examples, {db_id: skipped count}) of a Spider-format split."""
    data_dir = Path(data_dir)
    raw = json.loads((data_dir / f"{split}.json").read_text())
    examples, skipped, runnable = [], defaultdict(int), {}
    for ex in raw:
        db_path = data_dir / "database" / ex["db_id"] / f"{ex['db_id']}.sqlite"
        if ex["db_id"] not in runnable:
            runnable[ex["db_id"]] = _has_tables(db_path)
        if not runnable[ex["db_id"]]:
            skipped[ex["db_id"]] += 1
            continue
        level = hardness(ex["sql"]) if isinstance(ex.get("sql"), dict) else None
        examples.append(EvalExample(ex["db_id"], ex["question"], ex["query"], db_path, level))
    return examples, dict(skipped)


def load_questions(path, split: str | None = None) -> tuple[list[EvalExample], dict]:
    """(examples, {}) from a JSON questions file: ``{"database": path, "questions": [{"question",
    "query", "split"?, "database"?}]}``; database paths are relative to the file. ``split``
    keeps only the questions with that ``split`` value ("all" or None keeps every one)."""
    from text2sql.errors import ConfigError

    path = Path(path)
    try:
        doc = json.loads(path.read_text())
        rows = doc["questions"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ConfigError(f"{path}: not a questions file ({err}); expected {{\"database\": ..., \"questions\": [...]}}") from err
    examples = []
    for i, row in enumerate(rows):
        if split not in (None, "all") and row.get("split") != split:
            continue
        database = row.get("database", doc.get("database"))
        if not database or "question" not in row or "query" not in row:
            raise ConfigError(f"{path}: question {i} needs 'question', 'query' and a database")
        db_path = (path.parent / database).resolve()
        if not db_path.is_file():
            raise ConfigError(f"{path}: question {i}: database not found: {db_path}")
        examples.append(EvalExample(db_path.stem, row["question"], row["query"], db_path, None))
    if not examples:
        raise ConfigError(f"{path}: no questions with split {split!r}")
    return examples, {}


def normalized_sql(sql: str, dialect: str = "sqlite") -> str:
    import sqlglot
    from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

    try:
        tree = sqlglot.parse_one(sql.strip().rstrip(";"), read=dialect)
        return normalize_identifiers(tree, dialect=dialect).sql(dialect=dialect, normalize=True).lower()
    except Exception:
        return " ".join(sql.lower().rstrip(";").split())


def execute(db_path: Path, sql: str, timeout_s: float):
    """Rows of ``sql`` on a read-only connection (AST policy first); raises on failure."""
    from text2sql.execute import run

    return run(f"sqlite:///{db_path}", sql, limit=100_000, timeout_s=timeout_s).rows


def evaluate(examples, assistant, *, n: int = 1, timeout_s: float = 10.0, progress=True,
             batch_size: int = 1) -> EvalReport:
    """Generate for every example with ``assistant`` and score it by execution.

    ``batch_size > 1`` (greedy only) decodes consecutive questions on the same database
    together (``Assistant.generate_many``): the same SQL, more questions per second. Each
    question's ``seconds`` is then its batch's time over the batch size, and the decode
    timings (tokens, tokens/s) are left empty."""
    from itertools import groupby

    from tqdm.auto import tqdm

    report = EvalReport(n=n)
    started = time.perf_counter()
    bar = tqdm(total=len(examples), desc="eval", unit="q", disable=not progress)
    batched = n == 1 and batch_size > 1
    for db_path, group in groupby(examples, key=lambda ex: ex.db_path):
        group = list(group)
        for k in range(0, len(group), batch_size if batched else 1):
            chunk = group[k:k + (batch_size if batched else 1)]
            t0 = time.perf_counter()
            answers = _generate(chunk, db_path, assistant, n, batched)
            seconds = round((time.perf_counter() - t0) / len(chunk), 3)
            for ex, (pred, error, stats) in zip(chunk, answers):
                report.outcomes.append(_score(ex, pred, error, stats, seconds, timeout_s))
                bar.update(1)
    bar.close()
    report.wall_s = time.perf_counter() - started
    report.machine = cpu_info()
    report.model = assistant.model_name
    return report


def _generate(chunk, db_path, assistant, n: int, batched: bool) -> list[tuple[str, str | None, dict | None]]:
    """(predicted SQL, generation error, backend timings) per example; never raises. With
    ``n > 1`` the timings also carry ``candidates``: each one's SQL, whether it passed, and
    whether it answered something."""
    url = f"sqlite:///{db_path}"
    try:
        if batched:
            results = assistant.generate_many([ex.question for ex in chunk], url, batch_size=len(chunk))
            return [("", f"generation: {r}", None) if isinstance(r, Exception) else (r.sql, None, None)
                    for r in results]
        result = assistant.generate(chunk[0].question, url, n=n, execute_check=n > 1)
        stats = dict(getattr(assistant.backend, "last_stats", None) or {})
        if n > 1:
            stats["candidates"] = [{"sql": c.sql, "ok": c.ok, "answered": c.answered} for c in result.candidates]
        return [(result.sql, None, stats)]
    except Exception as err:  # the model must not stop the evaluation
        return [("", f"generation: {err}", None) for _ in chunk]


def _score(ex: EvalExample, pred: str, error: str | None, stats: dict | None, seconds: float,
           timeout_s: float) -> Outcome:
    ok = False
    if pred and error is None:
        try:
            gold_rows = execute(ex.db_path, ex.gold, timeout_s)
            pred_rows = execute(ex.db_path, pred, timeout_s)
            ok = results_match(gold_rows, pred_rows, order_key_columns(ex.gold))
        except Exception as err:
            error = str(err).splitlines()[0][:300]
    return Outcome(ex.db_id, ex.question, ex.gold, pred, ex.hardness, ok,
                   normalized_sql(pred) == normalized_sql(ex.gold) if pred else False,
                   error, seconds, (stats or {}).get("new_tokens"), (stats or {}).get("decode_tokens_per_s"),
                   (stats or {}).get("candidates"))


def write_report(report: EvalReport, out_dir) -> tuple[Path, Path]:
    """report.json (summary + every outcome) and report.md (tables + failures)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = report.summary()
    (out / "report.json").write_text(json.dumps({"summary": summary, "outcomes": [asdict(o) for o in report.outcomes]},
                                                indent=1, default=str))
    lines = [
        f"# Execution accuracy: {summary['model']}",
        "",
        f"{summary['evaluated']} questions evaluated, {summary['skipped']} skipped (databases missing or empty: "
        f"{', '.join(summary['skipped_databases']) or 'none'}); n = {summary['n_candidates']} "
        f"({'greedy' if summary['n_candidates'] == 1 else 'execution-guided selection'}).",
        "",
        "| subset | questions | EX % | normalized-SQL match % |",
        "|---|---|---|---|",
        f"| all | {summary['evaluated']} | {summary['ex']} | {summary['normalized_sql_match']} |",
    ]
    lines += [f"| {h} | {v['count']} | {v['ex']} | {v['normalized_sql_match']} |" for h, v in summary["by_hardness"].items()]
    decode = summary["median_decode_tokens_per_s"]
    decode = (f"median decode {decode} tokens/s." if decode is not None
              else "decode tokens/s not measured (batched; --batch-size 1 measures it).")
    machine = summary.get("machine")
    where = f" on {describe_cpu(machine)}" if machine else ""
    lines += ["", f"Wall time {summary['wall_s']} s{where}; {summary['seconds_per_question']} s per question "
                  f"({summary['mean_generation_s']} s generating); {summary['questions_per_s']} questions/s; {decode}",
              "", "## By database", "",
              "| database | questions | EX % |", "|---|---|---|"]
    lines += [f"| {d} | {v['count']} | {v['ex']} |" for d, v in summary["by_database"].items()]
    lines += ["", "## Failures", ""]
    for o in report.outcomes:
        if not o.ex:
            lines.append(f"- `{o.db_id}` {o.question}  \n  gold: `{o.gold}`  \n  pred: `{o.pred or '(none)'}`"
                         + (f"  \n  error: {o.error}" if o.error else ""))
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return out / "report.json", out / "report.md"
