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
  ``SAMPLE_MAX_CHARS`` printable characters (long free text is not a useful literal; a
  newline would end the comment). Quotes inside a value are doubled, SQL style.
- Identifiers are quoted only when the dialect needs it: not a plain word
  (``[A-Za-z_][A-Za-z0-9_]*``), a reserved word of the dialect (the frozen ``_RESERVED``
  lists below), or mixed case where the dialect folds unquoted names (PostgreSQL/Redshift
  fold to lower case, Snowflake/Oracle to upper case). Quotes are the dialect's own
  (``"..."``, MySQL ```...```), written by sqlglot.
- The question is one line: ``-- `` plus the question with whitespace collapsed (an empty
  question raises :class:`EmptyQuestion`). The model continues with ``SELECT ...;``.
- Large schemas: every table stays while the schema part (header included) fits
  ``budget_tokens`` (default ``DEFAULT_BUDGET_TOKENS``), so the prefix is then the same
  for every question and a runtime can cache it. Above the budget, tables are ranked by how
  many question words match words of the table name (weight 3) and of its column names
  (weight 1); words are split at ``_``, digits and camelCase, lower-cased and crudely
  stemmed (plural, -ing, -ed), and two stems of 4+ letters also match when one is a prefix
  of the other. The best are kept while they fit, then the foreign-key neighbours of the
  kept tables (tables they reference, then tables referencing them) while they fit; the
  kept tables keep their original order. With no match at all, tables are kept in order
  while they fit. Tokens are counted with ``count_tokens`` (a tokenizer's length) or,
  without one, the deterministic estimate ``ceil(len(text) / 3)``. Training renders with
  the same rule (``render_training_example`` calls ``render``).
- Output: :func:`extract_sql` cuts a continuation at the first ``;`` outside strings,
  quoted names and comments, or at a blank line / a new ``--`` line; training targets are
  the SQL on one line plus ``;`` and a newline, so training and inference agree on where SQL ends.
- Instruction-tuned models (:func:`uses_chat_template`) get the same text as one user turn
  (:func:`chat_messages`) through the tokenizer's chat template.
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


# Words that need quotes as table or column names, frozen here (not read from sqlglot at run
# time, so a library upgrade cannot change the prompt): for each dialect, the words the real
# engine (SQLite 3, PostgreSQL 16, MariaDB 10/11, DuckDB) refused as an unquoted column or
# table name in a probe over every keyword sqlglot knows, plus sqlglot's own reserved list
# for the dialect, plus the words sqlglot cannot read back as a plain name (so text2sql's
# validator parses what the prompt shows). Other dialects use the PostgreSQL list.
_RESERVED = {
    "sqlite": frozenset(
        "add all alter and any as autoincrement between case cast check collate commit constraint create "
        "cross current_date current_time current_timestamp current_user default deferrable delete "
        "describe distinct drop else escape except exists false fetch for foreign from glob grant group "
        "having if ilike in index inner insert intersect into is isnull join lateral like limit not "
        "notnull null on or order outer partitioned_by primary qualify references regexp returning revoke "
        "rlike rollback select set table tablesample then to true uncache union unique update using "
        "values when where with xor"
        .split()
    ),
    "postgres": frozenset(
        "all alter analyse analyze and any array as asc asymmetric authorization between binary both case "
        "cast check collate collation column concurrently constraint create cross current_catalog "
        "current_date current_role current_schema current_time current_timestamp current_user default "
        "deferrable desc describe distinct do drop else end except false fetch for foreign freeze from "
        "full glob grant group having if ilike in initially inner insert intersect into is isnull join "
        "lateral leading left like limit localtime localtimestamp natural not notnull null offset on only "
        "or order outer overlaps partitioned_by placing primary qualify references regexp returning "
        "revoke right rlike rollback select session_user similar some symmetric table tablesample then to "
        "trailing true uncache union unique user using values variadic verbose when where window with xor"
        .split()
    ),
    "mysql": frozenset(
        "_ascii _binary _eucjpms _euckr _gbk _greek _hebrew _macce _macroman _sjis _ujis accessible add "
        "all alter analyze and any as asc asensitive before between bigint binary blob both by call "
        "cascade case change char character charset check collate column condition constraint continue "
        "convert create cross cube cume_dist current_date current_role current_time current_timestamp "
        "current_user cursor database databases day_hour day_microsecond day_minute day_second dec "
        "decimal declare default delayed delete dense_rank desc describe deterministic distinct "
        "distinctrow div double drop dual each else elseif empty enclosed escaped except exists exit "
        "explain false fetch first_value float float4 float8 for force foreign from fulltext function "
        "generated get glob grant group grouping groups having high_priority hour_microsecond hour_minute "
        "hour_second if ignore ilike in index infile inner inout insensitive insert int int1 int2 int3 "
        "int4 int8 integer intersect interval into io_after_gtids io_before_gtids is iterate join "
        "json_table key keys kill lag last_value lateral lead leading leave left like limit linear lines "
        "load localtime localtimestamp lock long longblob longtext loop low_priority master_bind "
        "master_ssl_verify_server_cert match maxvalue mediumblob mediumint mediumtext middleint "
        "minute_microsecond minute_second mod modifies natural no_write_to_binlog not notnull nth_value "
        "ntile null numeric of offset on optimize optimizer_costs option optionally or order out outer "
        "outfile over partition partitioned_by percent_rank precision primary procedure purge qualify "
        "range rank read read_write reads real recursive references regexp release rename repeat replace "
        "require resignal restrict return returning revoke right rlike rollback row row_number rows "
        "schema schemas second_microsecond select sensitive separator set show signal smallint spatial "
        "specific sql sql_big_result sql_calc_found_rows sql_small_result sqlexception sqlstate "
        "sqlwarning ssl starting stored straight_join system table tablesample terminated then tinyblob "
        "tinyint tinytext to trailing trigger true uncache undo union unique unlock unsigned update usage "
        "use using utc_date utc_time utc_timestamp values varbinary varchar varcharacter varying virtual "
        "when where while window with write xor year_month zerofill"
        .split()
    ),
    "duckdb": frozenset(
        "all alter analyse analyze and anti any array as asc asof asymmetric at authorization between "
        "binary both by case cast check collate collation column columns concurrently constraint create "
        "cross current_catalog current_date current_role current_time current_timestamp current_user "
        "default deferrable desc describe distinct do drop else end except false fetch for force foreign "
        "freeze from full generated glob grant group having if ilike in initially inner insert install "
        "intersect into is isnull join lambda lateral leading left like limit localtime localtimestamp "
        "map natural not notnull null offset on only or order outer overlaps partitioned_by pivot "
        "pivot_longer pivot_wider placing positional primary qualify references regexp returning revoke "
        "right rlike rollback select semi session_user show similar some struct summarize symmetric table "
        "tablesample then to trailing true try_cast tuple uncache union unique unpack unpivot user using "
        "values variadic verbose when where window with xor"
        .split()
    ),
}


def _reserved(dialect: str) -> frozenset[str]:
    return _RESERVED.get(dialect, _RESERVED["postgres"])


def quote(name: str, dialect: str) -> str:
    """``name`` as the dialect needs it written: quoted only when it is not a plain word,
    is reserved in the dialect, or has the wrong case for a dialect that folds unquoted
    names (PostgreSQL/Redshift to lower case, Snowflake/Oracle to upper case)."""
    needs = (
        not _PLAIN.match(name)
        or name.lower() in _reserved(dialect)
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
        vals = [v for v in col.samples if len(v) <= SAMPLE_MAX_CHARS and v.isprintable()][:SAMPLES_PER_COLUMN]
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
    """Crude English stemming: plural and -ing/-ed endings off (countries -> country,
    addresses -> address, boxes -> box, orders -> order, ordered -> order)."""
    w = word.lower()
    for suffix, repl in (("ies", "y"), ("sses", "ss"), ("xes", "x"), ("ches", "ch"), ("shes", "sh"),
                         ("ing", ""), ("ed", ""), ("s", "")):
        if len(w) > len(suffix) + 1 and w.endswith(suffix) and not (suffix == "s" and w[-2] in "su"):
            return w[: -len(suffix)] + repl
    return w


def _overlap(words: set[str], question: set[str]) -> int:
    """How many of ``words`` match a question word: equal stems, or one stem a prefix of the
    other when both have at least 4 letters (invoice / invoic, create / creat)."""
    return sum(
        1 for w in words
        if w in question or (len(w) >= 4 and any(len(q) >= 4 and (w.startswith(q) or q.startswith(w)) for q in question))
    )


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
        scores.append(3 * _overlap(_name_words(t.name), q) + _overlap(cols, q))
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
    """(prompt, target) for training. The target is the SQL on one line (comments dropped,
    whitespace outside strings and quoted names collapsed to one space, trailing ``;``
    removed) followed by ``;`` and a newline: exactly what :func:`extract_sql` cuts a
    generation back to."""
    pieces: list[list[str]] = []  # [kind, text], comments turned into code " "
    for kind, a, b in _segments(sql):
        kind, text = ("quoted", sql[a:b]) if kind == "quoted" else ("code", sql[a:b] if kind == "code" else " ")
        if pieces and pieces[-1][0] == kind == "code":
            pieces[-1][1] += text
        else:
            pieces.append([kind, text])
    one_line = "".join(re.sub(r"\s+", " ", text) if kind == "code" else text for kind, text in pieces)
    return render(schema, question, **kw), one_line.strip().rstrip("; \t\r\n") + ";\n"


def _segments(text: str) -> list[tuple[str, int, int]]:
    """``text`` cut into (kind, start, end) pieces, kind one of "code", "quoted" ('...',
    "..." or `...`, a doubled quote staying inside), "line_comment" (``--`` to the end of
    the line, newline excluded) and "block_comment"; unterminated pieces run to the end."""
    pieces: list[tuple[str, int, int]] = []
    i = start = 0
    n = len(text)
    while i < n:
        if text[i] in "'\"`":
            kind, end = "quoted", i + 1
            while end < n:
                if text[end] == text[i]:
                    if text[end + 1 : end + 2] != text[i]:
                        break
                    end += 1  # a doubled quote is part of the text
                end += 1
            end = min(end + 1, n)
        elif text.startswith("--", i):
            j = text.find("\n", i)
            kind, end = "line_comment", n if j < 0 else j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            kind, end = "block_comment", n if j < 0 else j + 2
        else:
            i += 1
            continue
        if i > start:
            pieces.append(("code", start, i))
        pieces.append((kind, i, end))
        i = start = end
    if n > start:
        pieces.append(("code", start, n))
    return pieces


def extract_sql(completion: str) -> str:
    """The first statement of a model continuation: up to and including the first ``;``
    outside strings, quoted identifiers and comments. Whitespace and comments before the
    SQL are skipped; after some SQL, a blank line or a line starting with ``--`` ends it
    (the model moved on to a new question). Comments inside the statement are kept. A
    Markdown code fence around the SQL (instruction-tuned models) is removed."""
    text = completion or ""
    fence = re.match(r"\s*```[A-Za-z]*[ \t]*\n", text)  # chat models wrap SQL in Markdown
    if fence:
        text = text[fence.end() :]
        text = text[: m.start()] if (m := re.search(r"^[ \t]*```", text, re.MULTILINE)) else text
    out: list[str] = []
    for kind, a, b in _segments(text):
        if kind != "code":
            if out:
                out.append(text[a:b])
            continue
        for i in range(a, b):
            ch = text[i]
            if not out and (ch.isspace() or ch == ";"):
                continue
            if ch == ";":
                out.append(ch)
                return "".join(out).strip()
            if ch == "\n":
                next_line = text[i + 1 :].split("\n", 1)[0].strip()
                if not next_line or next_line.startswith("--"):
                    return "".join(out).strip()
            out.append(ch)
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
    """True for instruction-tuned models: the tokenizer has a chat template AND the model
    is named like an instruct model (``-it``, ``instruct``, ``chat``). Base checkpoints
    such as Gemma 3 PT ship a chat template too, and the shipped adapter continues the
    plain prompt, so the template alone is not enough."""
    if not getattr(tokenizer, "chat_template", None):
        return False
    name = (model_name or getattr(tokenizer, "name_or_path", "") or "").lower()
    return any(tag in name for tag in ("-it", "instruct", "chat"))
