"""THE prompt template. Training, evaluation and inference all import this module, and the
shipped adapter was trained on exactly this text: changing it means retraining.

A base model continues a SQL script, so the editor case and the training case are the
same text::

    -- dialect: sqlite
    CREATE TABLE Album (AlbumId INTEGER PRIMARY KEY, Title NVARCHAR(160), ArtistId INTEGER REFERENCES Artist(ArtistId));
    CREATE TABLE Genre (GenreId INTEGER PRIMARY KEY, Name NVARCHAR(120));
    -- Genre.Name: 'Rock', 'Jazz', 'Metal'
    -- Name the top 10 albums with the highest sales amount
    SELECT ...;

Frozen rules (golden files in tests/engine/golden/prompt/ hold them):

- One line per table: ``CREATE TABLE name (col TYPE, ...);`` in introspection order. A
  single-column primary key is inline (``PRIMARY KEY``), a composite one is a trailing
  ``PRIMARY KEY (a, b)``; a single-column foreign key is inline
  (``REFERENCES T(c)``), a composite one a trailing ``FOREIGN KEY (a, b) REFERENCES T(c, d)``.
  Views are ``CREATE VIEW name (col TYPE, ...);``. No NOT NULL, no defaults.
- Sample values: right after its table, one comment line per table with values,
  ``-- Table.Column: 'v1', 'v2', 'v3'`` joined by ``; `` for several columns; at most
  ``SAMPLES_PER_COLUMN`` values per text column, and only values of at most
  ``SAMPLE_MAX_CHARS`` characters (long free text is not a useful literal).
- Identifiers are quoted only when the dialect needs it: not a plain word, a reserved
  keyword of the dialect, or mixed case where the dialect folds unquoted names
  (PostgreSQL/Redshift fold to lower case, Snowflake/Oracle to upper case).
- The question is one line: ``-- `` plus the question with whitespace collapsed.
- Large schemas: every table stays while the schema part fits ``budget_tokens``. Above
  it, tables are ranked by how many question words (lower-cased, crudely stemmed) match
  words of the table name (weight 3) and of its column names (weight 1); the best are kept
  while they fit, then their foreign-key neighbours while they fit; the kept tables keep
  their original order. With no match at all, tables are kept in order while they fit.
  Tokens are counted with ``count_tokens`` (a tokenizer's length) or, without one, the
  deterministic estimate ``ceil(len(text) / 3)``.
"""

from __future__ import annotations

import math
import re

from text2sql.errors import Text2SQLError
from text2sql.schema_model import Schema, Table

DEFAULT_BUDGET_TOKENS = 2000
SAMPLES_PER_COLUMN = 3
SAMPLE_MAX_CHARS = 24

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FOLDS_LOWER = {"postgres", "redshift"}
_FOLDS_UPPER = {"snowflake", "oracle"}


class EmptyQuestion(Text2SQLError):
    """The question is empty or whitespace."""


def estimate_tokens(text: str) -> int:
    """The deterministic token estimate used when no tokenizer is given."""
    return math.ceil(len(text) / 3)


def _reserved(dialect: str) -> set[str]:
    from sqlglot.dialects.dialect import Dialect

    d = Dialect.get_or_raise(dialect)
    words = {k.upper() for k in d.tokenizer_class.KEYWORDS if k.replace("_", "").isalpha()}
    return words | {"ORDER", "GROUP", "SELECT", "FROM", "WHERE", "TABLE", "USER", "INDEX", "KEY", "DESC", "LIMIT"}


_RESERVED_CACHE: dict[str, set[str]] = {}


def quote(name: str, dialect: str) -> str:
    """``name`` as the dialect needs it written (quoted only when required)."""
    if dialect not in _RESERVED_CACHE:
        _RESERVED_CACHE[dialect] = _reserved(dialect)
    needs = (
        not _PLAIN.match(name)
        or name.upper() in _RESERVED_CACHE[dialect]
        or (dialect in _FOLDS_LOWER and name != name.lower())
        or (dialect in _FOLDS_UPPER and name != name.upper())
    )
    if not needs:
        return name
    from sqlglot import exp

    return exp.Identifier(this=name, quoted=True).sql(dialect=dialect)


def _sample_line(table: Table, dialect: str) -> str:
    parts = []
    for col in table.columns:
        vals = [v for v in col.samples if len(v) <= SAMPLE_MAX_CHARS][:SAMPLES_PER_COLUMN]
        if vals:
            rendered = ", ".join("'" + v.replace("'", "''") + "'" for v in vals)
            parts.append(f"{quote(table.name, dialect)}.{quote(col.name, dialect)}: {rendered}")
    return ("-- " + "; ".join(parts) + "\n") if parts else ""


def table_block(table: Table, dialect: str) -> str:
    """The lines that describe one table (its CREATE line and its sample-value line)."""
    q = lambda n: quote(n, dialect)  # noqa: E731
    single_fk = {fk.columns[0]: fk for fk in table.foreign_keys if len(fk.columns) == 1}
    single_pk = table.primary_key[0] if len(table.primary_key) == 1 else None
    items = []
    for col in table.columns:
        item = f"{q(col.name)} {col.type}".rstrip()
        if col.name == single_pk:
            item += " PRIMARY KEY"
        fk = single_fk.get(col.name)
        if fk is not None:
            item += f" REFERENCES {q(fk.ref_table)}({q(fk.ref_columns[0])})" if fk.ref_columns else f" REFERENCES {q(fk.ref_table)}"
        items.append(item)
    if len(table.primary_key) > 1:
        items.append("PRIMARY KEY (" + ", ".join(q(c) for c in table.primary_key) + ")")
    for fk in table.foreign_keys:
        if len(fk.columns) > 1:
            items.append(
                "FOREIGN KEY (" + ", ".join(q(c) for c in fk.columns) + f") REFERENCES {q(fk.ref_table)}("
                + ", ".join(q(c) for c in fk.ref_columns) + ")"
            )
    keyword = "VIEW" if table.kind == "view" else "TABLE"
    return f"CREATE {keyword} {q(table.name)} (" + ", ".join(items) + ");\n" + _sample_line(table, dialect)


def _header(schema: Schema) -> str:
    return f"-- dialect: {schema.dialect}\n"


_WORD = re.compile(r"[A-Za-z]+|\d+")


def _stem(word: str) -> str:
    w = word.lower()
    for suffix in ("ies", "es", "s", "ing", "ed"):
        if len(w) > len(suffix) + 2 and w.endswith(suffix):
            return w[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return w


def _name_words(name: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return {_stem(w) for w in _WORD.findall(spaced) if len(w) > 1}


def link(question: str, schema: Schema, budget_tokens: int = DEFAULT_BUDGET_TOKENS, count_tokens=None) -> Schema:
    """The tables of ``schema`` to show for ``question`` under the token budget (see module doc)."""
    count = count_tokens or estimate_tokens
    blocks = [table_block(t, schema.dialect) for t in schema.tables]
    costs = [count(b) for b in blocks]
    room = budget_tokens - count(_header(schema))
    if sum(costs) <= room:
        return schema
    q = {_stem(w) for w in _WORD.findall(question or "") if len(w) > 1}
    scores = []
    for i, t in enumerate(schema.tables):
        cols = set().union(*(_name_words(c.name) for c in t.columns)) if t.columns else set()
        scores.append(3 * len(_name_words(t.name) & q) + len(cols & q))
    index = {t.name.lower(): i for i, t in enumerate(schema.tables)}
    chosen: list[int] = []
    used = 0

    def take(i: int) -> None:
        nonlocal used
        if i not in chosen and used + costs[i] <= room:
            chosen.append(i)
            used += costs[i]

    ranked = sorted((i for i in range(len(blocks)) if scores[i] > 0), key=lambda i: (-scores[i], i))
    for i in ranked:
        take(i)
    for i in list(chosen):
        t = schema.tables[i]
        for fk in t.foreign_keys:
            if fk.ref_table.lower() in index:
                take(index[fk.ref_table.lower()])
        for j, other in enumerate(schema.tables):
            if any(fk.ref_table.lower() == t.name.lower() for fk in other.foreign_keys):
                take(j)
    if not chosen:
        for i in range(len(blocks)):
            take(i)
    return schema.subset(schema.tables[i].name for i in sorted(chosen))


def schema_prefix(schema: Schema, *, question: str | None = None, budget_tokens: int = DEFAULT_BUDGET_TOKENS,
                  count_tokens=None) -> str:
    """Everything before the question line. Identical for every question while the schema
    fits the budget, so a runtime may cache its KV state."""
    shown = link(question or "", schema, budget_tokens, count_tokens)
    return _header(shown) + "".join(table_block(t, shown.dialect) for t in shown.tables)


def clean_question(question: str) -> str:
    text = " ".join((question or "").split())
    if not text:
        raise EmptyQuestion("the question is empty")
    return text


def question_suffix(question: str) -> str:
    """The question line that follows :func:`schema_prefix`; the model continues after it."""
    return f"-- {clean_question(question)}\n"


def render(schema: Schema, question: str, *, budget_tokens: int = DEFAULT_BUDGET_TOKENS, count_tokens=None) -> str:
    """The whole prompt: ``schema_prefix + question_suffix``."""
    suffix = question_suffix(question)
    return schema_prefix(schema, question=question, budget_tokens=budget_tokens, count_tokens=count_tokens) + suffix


def render_training_example(schema: Schema, question: str, sql: str, **kw) -> tuple[str, str]:
    """(prompt, target) for training: the target is the SQL ending in ``;`` and a newline,
    exactly what :func:`extract_sql` cuts a generation back to."""
    target = " ".join(sql.strip().rstrip(";").split()) + ";\n"
    return render(schema, question, **kw), target


def extract_sql(completion: str) -> str:
    """The first statement of a model continuation: up to and including the first ``;``
    outside strings, quoted identifiers and comments; a blank line or a new ``--`` comment
    line after some SQL also ends it."""
    out = []
    i, n = 0, len(completion)
    quote_char = None
    while i < n:
        ch = completion[i]
        if quote_char:
            out.append(ch)
            if ch == quote_char:
                quote_char = None
            i += 1
            continue
        if ch in "'\"`":
            quote_char = ch
        elif ch == ";":
            out.append(ch)
            break
        elif ch == "\n":
            rest = completion[i + 1 :]
            so_far = "".join(out).strip()
            if so_far and (rest.startswith("\n") or rest.lstrip(" \t").startswith("--") or not rest.strip()):
                break
        elif completion.startswith("--", i) and "".join(out).strip():
            break
        out.append(ch)
        i += 1
    return "".join(out).strip()


def chat_messages(schema: Schema, question: str, **kw) -> list[dict]:
    """The same content as :func:`render`, as one user turn for instruction-tuned models."""
    return [
        {
            "role": "user",
            "content": render(schema, question, **kw) + "-- Answer with one SQL query only.",
        }
    ]


def uses_chat_template(tokenizer, model_name: str | None = None) -> bool:
    """True for instruction-tuned models: a chat template and an instruct-style name."""
    if not getattr(tokenizer, "chat_template", None):
        return False
    name = (model_name or getattr(tokenizer, "name_or_path", "") or "").lower()
    return any(tag in name for tag in ("-it", "instruct", "chat"))
