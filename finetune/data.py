"""Training data: loaders for Spider, gretel (synthetic_text_to_sql), ko_text2sql and plain
tables (JSONL/CSV/Parquet with a column map), cleaning by execution, and splits.

Every example's schema comes from the engine's own introspection (``text2sql.schema``) of
a real SQLite database: Spider's files, or a small SQLite file built from the example's
CREATE TABLE / INSERT context. So the prompt a model trains on is exactly the prompt it
sees at inference (``text2sql.prompt.render_training_example``).
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import sqlite3
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from text2sql.errors import ConfigError


@dataclass
class Example:
    db_id: str
    question: str
    sql: str
    db_path: Path  # a SQLite file holding the schema (and rows, when the source has them)
    domain: str | None = None
    complexity: str | None = None


@dataclass
class CleaningReport:
    kept: int = 0
    dropped: Counter = field(default_factory=Counter)

    def to_dict(self) -> dict:
        return {"kept": self.kept, "dropped": dict(self.dropped), "dropped_total": sum(self.dropped.values())}


def read_rows(path) -> list[dict]:
    """Rows of a .jsonl, .json (a list), .csv or .parquet file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if suffix == ".json":
        return list(json.loads(path.read_text(encoding="utf-8")))
    if suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f))
    if suffix == ".parquet":
        try:
            import pandas as pd

            return pd.read_parquet(path).to_dict(orient="records")
        except ImportError as err:
            raise ConfigError(f"reading {path} needs pyarrow (pip install pyarrow): {err}") from err
    raise ConfigError(f"unsupported data file {path} (use .jsonl, .json, .csv or .parquet)")


def _context_db(context: str, workdir: Path) -> Path:
    """A SQLite file built from CREATE TABLE / INSERT text (cached by content)."""
    digest = hashlib.sha256(context.encode()).hexdigest()[:16]
    path = workdir / f"ctx_{digest}.sqlite"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        tmp.unlink(missing_ok=True)
        con = sqlite3.connect(tmp)
        try:
            con.executescript(context)
            con.commit()
        finally:
            con.close()
        tmp.rename(path)
    return path


def load_spider(data_dir, split: str = "train", exclude=()) -> list[Example]:
    data_dir = Path(data_dir)
    raw = json.loads((data_dir / f"{split}.json").read_text())
    out = []
    for ex in raw:
        if ex["db_id"] in exclude:
            continue
        db = data_dir / "database" / ex["db_id"] / f"{ex['db_id']}.sqlite"
        out.append(Example(ex["db_id"], ex["question"], ex["query"], db))
    return out


def load_context_rows(rows, *, question: str, sql: str, context: str, db_id: str | None = None,
                      domain: str | None = None, complexity: str | None = None, workdir=None,
                      report: CleaningReport | None = None) -> list[Example]:
    """Examples whose schema is given as SQL text (DDL, optionally INSERTs)."""
    workdir = Path(workdir or tempfile.mkdtemp(prefix="t2s_ctx_"))
    workdir.mkdir(parents=True, exist_ok=True)
    out = []
    for i, row in enumerate(rows):
        try:
            db_path = _context_db(str(row[context]), workdir)
        except sqlite3.Error:
            if report is not None:
                report.dropped["context does not run"] += 1
            continue
        out.append(Example(str(row.get(db_id)) if db_id else f"ctx{i}", str(row[question]), str(row[sql]), db_path,
                           row.get(domain) if domain else None, row.get(complexity) if complexity else None))
    return out


def load_gretel(path, workdir=None, report=None) -> list[Example]:
    """gretelai/synthetic_text_to_sql columns: sql_prompt, sql_context, sql, domain, sql_complexity."""
    return load_context_rows(read_rows(path), question="sql_prompt", sql="sql", context="sql_context",
                             domain="domain", complexity="sql_complexity", workdir=workdir, report=report)


def load_ko_text2sql(path, workdir=None, report=None) -> list[Example]:
    """shangrilar/ko_text2sql columns: db_id, context (DDL), question, answer."""
    return load_context_rows(read_rows(path), question="question", sql="answer", context="context", db_id="db_id",
                             workdir=workdir, report=report)


def load_table(path, columns: dict, workdir=None, report=None) -> list[Example]:
    """Any JSONL/CSV/Parquet file: ``columns`` maps question/sql and context or db_path."""
    rows = read_rows(path)
    if "context" in columns:
        return load_context_rows(rows, question=columns["question"], sql=columns["sql"], context=columns["context"],
                                 db_id=columns.get("db_id"), workdir=workdir, report=report)
    if "db_path" not in columns:
        raise ConfigError("a table dataset needs a 'context' (DDL) or a 'db_path' column")
    base = Path(path).parent
    return [Example(str(r.get(columns.get("db_id", ""), "") or Path(r[columns["db_path"]]).stem), str(r[columns["question"]]),
                    str(r[columns["sql"]]), base / r[columns["db_path"]]) for r in rows]


def clean(examples, *, drop_empty: bool = True, timeout_s: float = 5.0, domains=None, complexities=None,
          report: CleaningReport | None = None) -> tuple[list[Example], CleaningReport]:
    """Cleaning by execution (the Phi-2 seed): drop examples whose database is missing, whose
    gold SQL is not one read-only query or fails, or (``drop_empty``) returns no rows;
    drop duplicates; filter by domain / complexity."""
    from text2sql.execute import run

    report = report or CleaningReport()
    kept, seen = [], set()
    for ex in examples:
        if domains and ex.domain not in domains:
            report.dropped["domain filtered"] += 1
            continue
        if complexities and ex.complexity not in complexities:
            report.dropped["complexity filtered"] += 1
            continue
        key = (str(ex.db_path), " ".join(ex.question.lower().split()), " ".join(ex.sql.lower().split()))
        if key in seen:
            report.dropped["duplicate"] += 1
            continue
        if not ex.db_path.is_file():
            report.dropped["database missing"] += 1
            continue
        try:
            rows = run(f"sqlite:///{ex.db_path}", ex.sql, limit=1, timeout_s=timeout_s).rows
        except Exception as err:
            report.dropped["gold SQL refused (not read-only)" if "refused" in str(err) else "gold SQL fails"] += 1
            continue
        if drop_empty and not rows:
            report.dropped["gold SQL returns nothing"] += 1
            continue
        seen.add(key)
        kept.append(ex)
    report.kept = len(kept)
    return kept, report


def split_by_database(examples, heldout: int, seed: int = 0) -> tuple[list[Example], list[Example]]:
    """(train, heldout): ``heldout`` whole databases, chosen with a fixed seed, kept apart."""
    dbs = sorted({ex.db_id for ex in examples})
    rng = random.Random(seed)
    held = set(rng.sample(dbs, min(heldout, max(len(dbs) - 1, 0)))) if heldout else set()
    return [e for e in examples if e.db_id not in held], [e for e in examples if e.db_id in held]


def load_for_config(cfg, workdir=None) -> tuple[list[Example], CleaningReport]:
    """The examples a training config asks for, cleaned."""
    report = CleaningReport()
    if cfg.format == "spider":
        examples = load_spider(cfg.data, cfg.split, exclude=set(cfg.exclude_databases))
    elif cfg.format == "gretel":
        examples = load_gretel(cfg.data, workdir, report)
    elif cfg.format == "ko_text2sql":
        examples = load_ko_text2sql(cfg.data, workdir, report)
    else:
        examples = load_table(cfg.data, cfg.columns, workdir, report)
    return clean(examples, drop_empty=cfg.drop_empty_results, report=report)
