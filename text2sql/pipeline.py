"""Question -> SQL: the one path every front end uses (CLI ``ask``, language server,
notebook magic).

``Assistant.generate`` reads the schema (cached per connection), renders THE prompt
(``text2sql.prompt``), asks the backend for candidates, cuts each back to its first
statement (``prompt.extract_sql``), validates it against the schema (``validate.check``)
and, when allowed, runs it read-only with a two-row limit (``execute.run``). The first
candidate that passes and answers something wins: an empty result, rows of NULLs only or
one row of zeros (``count(*) = 0``) is more often a wrong filter than the answer, so a later
candidate that passes with rows is preferred (``bench/selection.py`` measured the rules);
failing that, the first that passes; if none does, the one with the fewest errors is
returned with its problems, so front ends can show them.

No code path returns SQL the model did not write: there are no templates and no
fallbacks. The one edit made to the model's text is ``text2sql.repair``: when a column
sits on the wrong table of a join (or is misspelt) and exactly one table in scope has it,
the reference is corrected; the candidate lists the change in ``repairs`` and the result
in ``notes``. A model that writes garbage gives a ``Result`` with problems, never an
exception; an empty question is a ``Text2SQLError``.

The model loads lazily on first use, or explicitly with ``load()`` (thread-safe; the
progress callback lets the server and the magic forward loading stages).
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field

from text2sql.errors import QueryFailed, Text2SQLError
from text2sql.problems import Problem

# max_new_tokens = min(settings.max_tokens, BASE + PER_TABLE * shown tables): a query
# rarely needs more than a few dozen tokens per table it can touch.
TOKENS_BASE = 96
TOKENS_PER_TABLE = 24
EXECUTE_CHECK_TIMEOUT_S = 5.0


@dataclass
class Candidate:
    sql: str  # the statement extracted from the completion ("" when there was none)
    problems: list[Problem]
    completion: str  # the model's raw text
    repairs: tuple[str, ...] = ()  # column references corrected by text2sql.repair ("T1.name -> T2.name")
    #: When it ran: whether it answered something (a row with a value other than NULL, and
    #: not one row of only zeros and NULLs); None when it was not run.
    answered: bool | None = None

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)


@dataclass
class Result:
    sql: str  # the chosen candidate's SQL, as the model wrote it (plus its ``repairs``, if any)
    problems: list[Problem]  # the chosen candidate's problems (empty when it validated)
    candidates: list[Candidate]
    model: str  # the model's display name
    schema_version: str
    dialect: str = ""
    elapsed_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.sql) and not any(p.severity == "error" for p in self.problems)


@dataclass
class _Job:
    """One question made ready for the model: its engine, schema, prompt and token cap."""

    engine: object
    schema: object
    prefix: str
    text: str
    limit: int


_DEFAULTS = {"model": None, "adapter": None, "precision": "auto", "device": "auto"}


class Assistant:
    """Writes SQL for questions about a database, with one model loaded once.

    Arguments left at their defaults come from ``settings`` (the user config when None).
    ``backend`` replaces the in-process model (e.g. an HTTP backend).
    """

    def __init__(self, model=None, adapter=None, precision: str = "auto", device: str = "auto",
                 backend=None, settings=None):
        if settings is None:
            from text2sql.config import load_settings

            settings = load_settings()
        self.settings = settings
        given = {"model": model, "adapter": adapter, "precision": precision, "device": device}
        self.model_options = {
            key: value if value != _DEFAULTS[key] else getattr(settings, key, _DEFAULTS[key])
            for key, value in given.items()
        }
        self._backend = backend
        self._load_lock = threading.Lock()
        self._engines: dict[str, object] = {}
        self._engines_lock = threading.Lock()
        from text2sql.schema import SchemaCache

        self.schemas = SchemaCache()

    # -- model

    @property
    def loaded(self) -> bool:
        return self._backend is not None

    def load(self, progress=None):
        """Load the model now (once; concurrent callers wait for the same load).
        ``progress``: a ``(stage, step, total)`` callable, True for a bar on stderr,
        False for silence; None means a bar only when stderr is a terminal."""
        if self._backend is not None:
            return self._backend
        with self._load_lock:
            if self._backend is None:
                from text2sql.generate import TransformersBackend
                from text2sql.model import load_model

                if progress is None:
                    progress = sys.stderr.isatty()
                restricted = bool(getattr(self.settings, "restricted_vocabulary", True))
                backend = TransformersBackend(load_model(progress=progress, restricted_head=restricted,
                                                         **self.model_options))
                if restricted:
                    backend.warm_restricted_vocabulary()
                self._backend = backend
        return self._backend

    @property
    def backend(self):
        return self.load()

    @property
    def model_name(self) -> str:
        return self._backend.name if self._backend is not None else "(not loaded)"

    @property
    def activity(self):
        """Activity counters of the backend (None before the model is loaded)."""
        return self._backend.activity if self._backend is not None else None

    # -- databases

    def engine(self, database=None):
        """(engine, connection config or None) for a name, URL, Engine, or None (default)."""
        import sqlalchemy

        from text2sql.config import resolve_connection
        from text2sql.db import create_engine

        if isinstance(database, sqlalchemy.engine.Engine):
            return database, None
        conn = resolve_connection(database, self.settings)
        with self._engines_lock:
            engine = self._engines.get(conn.url)
            if engine is None:
                engine = self._engines[conn.url] = create_engine(conn.url)
        return engine, conn

    def schema(self, database=None, *, refresh: bool = False):
        """The (cached) schema of ``database``; ``refresh`` re-reads it."""
        return self._schema(*self.engine(database), refresh=refresh)

    def _schema(self, engine, conn, refresh: bool = False):
        opts = {"samples": conn.samples, "exclude": conn.exclude} if conn is not None else {}
        return self.schemas.get(engine, refresh=refresh, **opts)

    # -- question -> SQL

    def generate(self, question: str, database=None, *, n: int | None = None, on_token=None, cancel=None,
                 execute_check: bool = True, max_new_tokens: int | None = None) -> Result:
        started = time.perf_counter()
        n = int(n or getattr(self.settings, "n_candidates", 1) or 1)
        if n < 1:
            raise Text2SQLError(f"the number of candidates must be at least 1 (got {n})")
        job = self._prepare(question, database, max_new_tokens)
        backend = self.load()
        completions = backend.generate(job.text, n=n, max_new_tokens=job.limit, on_token=on_token, cancel=cancel,
                                       prefix=job.prefix, **self._decoding_options(backend.generate, job))
        return self._result(job, completions, execute_check, backend.name, started)

    def generate_many(self, questions, database=None, *, batch_size: int = 8,
                      execute_check: bool = False) -> list["Result | Text2SQLError"]:
        """Greedy SQL for many questions on one database, decoded in batches when the backend
        can (``generate_batch``); for evaluation. Each item is a Result, or the
        ``Text2SQLError`` that question raised (an empty question, say): one bad question
        does not lose the others."""
        started = time.perf_counter()
        out: list = [None] * len(questions)
        groups: dict = {}
        for i, question in enumerate(questions):
            try:
                job = self._prepare(question, database, None)
            except Text2SQLError as err:
                out[i] = err
                continue
            groups.setdefault((job.prefix, job.limit, job.schema), []).append((i, job))
        backend = self.load()
        batch = getattr(backend, "generate_batch", None)
        for (prefix, limit, _), jobs in groups.items():
            for k in range(0, len(jobs), max(1, batch_size)):
                chunk = jobs[k:k + max(1, batch_size)]
                texts = [job.text for _, job in chunk]
                if batch is not None:
                    constraint = self._decoding_options(batch, chunk[0][1])
                    completions = [[c] for c in batch(texts, max_new_tokens=limit, prefix=prefix, **constraint)]
                else:
                    constraint = self._decoding_options(backend.generate, chunk[0][1])
                    completions = [backend.generate(t, n=1, max_new_tokens=limit, prefix=prefix, **constraint)
                                   for t in texts]
                for (i, job), comps in zip(chunk, completions):
                    out[i] = self._result(job, comps, execute_check, backend.name, started)
        return out

    def _decoding_options(self, method, job: "_Job") -> dict:
        """Decoding options the settings ask for and the backend's ``method`` takes:
        ``vocabulary=`` for schema-constrained decoding (``constrained_decoding``) and
        ``restrict_output=`` for the restricted output vocabulary (``restricted_vocabulary``)."""
        import inspect

        takes = inspect.signature(method).parameters
        options = {}
        if getattr(self.settings, "constrained_decoding", True) and "vocabulary" in takes:
            from text2sql.constrain import vocabulary_for

            options["vocabulary"] = vocabulary_for(job.schema)
        if getattr(self.settings, "restricted_vocabulary", True) and "restrict_output" in takes:
            options["restrict_output"] = True
        return options

    def _prepare(self, question, database, max_new_tokens) -> "_Job":
        from text2sql import prompt

        question = prompt.clean_question(question)  # EmptyQuestion (a Text2SQLError) when blank
        engine, conn = self.engine(database)
        schema = self._schema(engine, conn)
        prefix = prompt.schema_prefix(schema, question=question)  # the part shared by all questions
        text = prefix + prompt.question_suffix(question)  # == prompt.render(schema, question)
        shown = prefix.count("\nCREATE ")  # tables shown (a large schema is cut to the relevant ones)
        limit = min(max_new_tokens or self.settings.max_tokens, TOKENS_BASE + TOKENS_PER_TABLE * max(shown, 1))
        return _Job(engine, schema, prefix, text, limit)

    def _result(self, job: "_Job", completions, execute_check: bool, model: str, started: float) -> Result:
        from text2sql import prompt

        candidates: list[Candidate] = []
        for completion in completions:
            sql = prompt.extract_sql(completion)
            if any(c.sql == sql for c in candidates):
                continue
            candidates.append(self._candidate(sql, completion, job, execute_check))
        passed = [c for c in candidates if c.ok]
        chosen = next((c for c in passed if c.answered), passed[0] if passed else None)
        if chosen is None:  # the fewest errors; the earlier (more likely) one on ties
            chosen = min(candidates, key=lambda c: _errors(c.problems))
        notes = [f"corrected column references: {', '.join(chosen.repairs)}"] if chosen.repairs else []
        return Result(
            notes=notes,
            sql=chosen.sql,
            problems=chosen.problems,
            candidates=candidates,
            model=model,
            schema_version=job.schema.version,
            dialect=job.schema.dialect,
            elapsed_s=round(time.perf_counter() - started, 3),
        )

    def _candidate(self, sql: str, completion: str, job: "_Job", execute_check: bool) -> Candidate:
        """The candidate for one completion: checked against the schema; when the check finds
        an unknown column, the repaired SQL replaces it if it has fewer errors; then, when
        allowed and still valid, run once with a two-row limit."""
        problems, repairs = self._check(sql, job.schema), ()
        if any(p.code == "unknown-column" for p in problems):
            from text2sql.repair import repair

            fixed = repair(sql, job.schema)
            if fixed is not None:
                better = self._check(fixed.sql, job.schema)
                if _errors(better) < _errors(problems):
                    sql, problems, repairs = fixed.sql, better, fixed.changes
        answered = None
        if execute_check and not _errors(problems):
            ran, answered = self._run(sql, job.schema, job.engine)
            problems += ran
        return Candidate(sql, problems, completion, repairs, answered)

    @staticmethod
    def _check(sql: str, schema) -> list[Problem]:
        from text2sql.validate import check

        if not sql.strip():
            return [Problem("the model wrote no SQL statement", "empty")]
        try:
            return list(check(sql, schema))
        except Text2SQLError as err:  # the validator refused it outright
            return [Problem(str(err), "syntax")]

    def _run(self, sql: str, schema, engine) -> tuple[list[Problem], bool | None]:
        """(what running ``sql`` read-only with a two-row limit reports, nothing when it runs;
        whether its rows answered something, None when it did not run to the end)."""
        from text2sql.execute import run

        timeout = min(getattr(self.settings, "timeout_s", EXECUTE_CHECK_TIMEOUT_S), EXECUTE_CHECK_TIMEOUT_S)
        try:
            result = run(engine, sql, schema=schema, limit=2, timeout_s=timeout)
        except QueryFailed as err:
            slow = "timed out" in str(err)  # valid but slow is not wrong
            return [Problem(str(err), "execution", severity="warning" if slow else "error")], None
        except Text2SQLError as err:
            return [Problem(str(err), "execution")], None
        return [], answers_something(result.rows)


def _errors(problems) -> int:
    return sum(p.severity == "error" for p in problems)


def answers_something(rows) -> bool:
    """False for what is more often a wrong filter or join than an answer: no rows, rows of
    only NULLs, or one row of only zeros and NULLs (``count(*)`` of nothing, ``sum`` of
    nothing). ``rows`` may be the first rows only: a later row is not looked at."""
    values = [v for row in rows for v in row]
    if not any(v is not None for v in values):
        return False
    return not (len(rows) == 1 and all(v is None or v == 0 for v in values))
