"""What the cursor is looking at inside a SQL statement, without a full parse.

Completion and hover run on half-typed SQL that no parser accepts, so this module reads
tokens instead: the clause the cursor is in (a table goes after ``FROM``/``JOIN``, a
column after ``SELECT``/``WHERE``/``ON``/``GROUP BY``/``ORDER BY``/``HAVING``), the
``alias.`` qualifier being typed, the tables the statement names with their aliases
(from the whole statement, so ``SELECT a.| FROM Artist a`` works), and the identifier
under the cursor. Pure and total: any text and offset give an answer, never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from text2sql.server.sqltext import QUOTED_IDENTIFIER, STRING, code_mask, scan, span_at, statement_at

TABLE = "table"
COLUMN = "column"

_TOKEN = re.compile(
    r"""(?P<ident>[A-Za-z_\u00C0-\uFFFF][\w$\u00C0-\uFFFF]*)
      | (?P<quoted>"(?:[^"]|"")*"?|`(?:[^`]|``)*`?|\[[^\]\r\n]*\]?)
      | (?P<string>'(?:[^']|'')*'?)
      | (?P<number>\d+(?:\.\d*)?)
      | (?P<punct><>|!=|<=|>=|\|\||::|[.,()=<>+\-*/%;])
    """,
    re.VERBOSE,
)

# Keywords after which an expression (a column) is expected.
_COLUMN_CLAUSES = {"SELECT", "WHERE", "ON", "BY", "HAVING", "AND", "OR", "NOT", "WHEN", "THEN", "ELSE",
                   "CASE", "BETWEEN", "IN", "DISTINCT", "USING", "SET", "IS", "LIKE", "RETURNING"}
_TABLE_CLAUSES = {"FROM", "JOIN", "INTO", "UPDATE", "TABLE"}
_OPERATORS = {"=", "<", ">", "<=", ">=", "<>", "!=", "+", "-", "*", "/", "%", "||", "(", ","}
# Words that end a table reference (so they are never taken for an alias).
KEYWORDS = {
    "SELECT", "FROM", "WHERE", "GROUP", "ORDER", "BY", "HAVING", "LIMIT", "OFFSET", "JOIN", "INNER",
    "LEFT", "RIGHT", "FULL", "OUTER", "CROSS", "NATURAL", "ON", "USING", "AS", "AND", "OR", "NOT",
    "UNION", "INTERSECT", "EXCEPT", "ALL", "DISTINCT", "WINDOW", "QUALIFY", "FETCH", "FOR", "WITH",
    "VALUES", "INTO", "SET", "LATERAL", "TABLESAMPLE", "CASE", "WHEN", "THEN", "ELSE", "END", "IN",
    "IS", "NULL", "LIKE", "BETWEEN", "EXISTS", "ASC", "DESC", "UPDATE", "DELETE", "INSERT", "TABLE",
    "CREATE", "DROP", "ALTER", "RETURNING", "PIVOT", "UNPIVOT",
}


@dataclass(frozen=True)
class Token:
    kind: str  # ident | quoted | string | number | punct
    text: str
    start: int
    end: int

    @property
    def word(self) -> str:
        """Upper-cased text of a bare word ("" for anything else)."""
        return self.text.upper() if self.kind == "ident" else ""

    @property
    def name(self) -> str:
        """The identifier this token names, without quotes."""
        if self.kind == "quoted" and self.text:
            close = {"[": "]"}.get(self.text[0], self.text[0])
            inner = self.text[1:-1] if len(self.text) > 1 and self.text.endswith(close) else self.text[1:]
            return inner.replace(close * 2, close) if close != "]" else inner
        return self.text


@dataclass(frozen=True)
class TableRef:
    """A table named in a statement: ``name`` (maybe ``schema.name``) and its alias."""

    name: str
    alias: str | None = None


@dataclass(frozen=True)
class CompletionContext:
    """What to offer at the cursor.

    ``kind`` is ``"table"``, ``"column"`` or None (offer nothing). ``prefix`` is the
    part of the identifier already typed (it starts at ``prefix_start``), ``qualifier``
    the name before a ``.`` (an alias, a table, or for tables a schema).
    """

    kind: str | None
    prefix: str = ""
    prefix_start: int = 0
    qualifier: str | None = None
    tables: tuple[TableRef, ...] = ()


def tokenize(sql: str, base: int = 0) -> list[Token]:
    """Tokens of ``sql`` (comments already blanked out); offsets shifted by ``base``."""
    return [
        Token(m.lastgroup or "punct", m.group(0), base + m.start(), base + m.end())
        for m in _TOKEN.finditer(sql)
    ]


def _statement_tokens(text: str, offset: int) -> tuple[list[Token], list, int]:
    spans = scan(text)
    start, end = statement_at(text, offset, spans)
    masked = code_mask(text, spans)
    return tokenize(masked[start:end], start), spans, start


def table_refs(tokens: list[Token]) -> tuple[TableRef, ...]:
    """Tables named after FROM/JOIN (and in comma lists after FROM), with aliases."""
    refs: list[TableRef] = []
    i, n = 0, len(tokens)
    in_from = False
    while i < n:
        tok = tokens[i]
        word = tok.word
        starts_ref = word in ("FROM", "JOIN") or (in_from and tok.text == ",")
        if word in ("WHERE", "GROUP", "ORDER", "HAVING", "LIMIT", "UNION", "ON", "USING", "SELECT", "WINDOW"):
            in_from = False
        if word in ("FROM", "JOIN"):
            in_from = True
        if not starts_ref:
            i += 1
            continue
        i += 1
        if i < n and tokens[i].word == "LATERAL":
            i += 1
        if i >= n or tokens[i].kind not in ("ident", "quoted") or tokens[i].word in KEYWORDS:
            continue
        parts = [tokens[i].name]
        i += 1
        while i + 1 < n and tokens[i].text == "." and tokens[i + 1].kind in ("ident", "quoted"):
            parts.append(tokens[i + 1].name)
            i += 2
        if i < n and tokens[i].text == "(":  # a table function, not a table
            continue
        alias = None
        if i < n and tokens[i].word == "AS":
            i += 1
        if i < n and tokens[i].kind in ("ident", "quoted") and tokens[i].word not in KEYWORDS:
            alias = tokens[i].name
            i += 1
        refs.append(TableRef(".".join(parts), alias))
    return tuple(refs)


def completion_context(text: str, offset: int) -> CompletionContext:
    """Decide what completion fits at ``offset`` in ``text``."""
    offset = min(max(0, offset), len(text))
    spans = scan(text)
    span = span_at(spans, offset)
    if span is not None and span.kind != QUOTED_IDENTIFIER:
        return CompletionContext(None)
    tokens, _, _ = _statement_tokens(text, offset)
    refs = table_refs(tokens)
    before = [t for t in tokens if t.end <= offset or (t.start < offset < t.end)]
    prefix, prefix_start = "", offset
    if before and before[-1].kind in ("ident", "quoted") and before[-1].end >= offset:
        token = before.pop()
        prefix, prefix_start = text[token.start : offset], token.start
    qualifier = None
    if before and before[-1].text == "." and before[-1].end == prefix_start:
        dot = before.pop()
        if before and before[-1].kind in ("ident", "quoted") and before[-1].end == dot.start:
            qualifier = before.pop().name
        else:
            return CompletionContext(None, prefix, prefix_start, None, refs)
    clause = _clause(before)
    if clause in _TABLE_CLAUSES:
        previous = before[-1] if before else None
        expects_table = previous is not None and (previous.word in ("FROM", "JOIN") or (previous.text == "," and _in_from_list(before)))
        if expects_table or (qualifier is not None and previous is not None and previous.word in ("FROM", "JOIN", ",")):
            return CompletionContext(TABLE, prefix, prefix_start, qualifier, refs)
        return CompletionContext(None, prefix, prefix_start, qualifier, refs)
    if clause in _COLUMN_CLAUSES:
        previous = before[-1] if before else None
        if qualifier is not None:
            return CompletionContext(COLUMN, prefix, prefix_start, qualifier, refs)
        if previous is None or previous.word in _COLUMN_CLAUSES or previous.text in _OPERATORS:
            return CompletionContext(COLUMN, prefix, prefix_start, None, refs)
    return CompletionContext(None, prefix, prefix_start, qualifier, refs)


def _clause(tokens: list[Token]) -> str | None:
    """The nearest clause keyword before the cursor at the cursor's parenthesis level.

    Inside a parenthesis that has no clause of its own (a function call, a grouped
    expression) the enclosing clause counts, unless it is a FROM/JOIN (a subquery or
    table function being typed), which gives ``"("``.
    """
    depth = 0
    in_paren = False
    for tok in reversed(tokens):
        if tok.text == ")":
            depth += 1
        elif tok.text == "(":
            if depth == 0:
                in_paren = True
            else:
                depth -= 1
        elif depth == 0:
            word = tok.word
            if word in _TABLE_CLAUSES or word in ("SELECT", "WHERE", "ON", "BY", "HAVING", "SET", "RETURNING"):
                return "(" if in_paren and word in _TABLE_CLAUSES else word
    return None


def _in_from_list(tokens: list[Token]) -> bool:
    """True when the last ``,`` separates table references of a FROM clause."""
    depth = 0
    for tok in reversed(tokens[:-1]):
        if tok.text == ")":
            depth += 1
        elif tok.text == "(":
            if depth == 0:
                return False
            depth -= 1
        elif depth == 0 and tok.word:
            if tok.word == "FROM":
                return True
            if tok.word in ("JOIN", "ON", "WHERE", "SELECT", "USING"):
                return tok.word == "JOIN"
    return False


@dataclass(frozen=True)
class Reference:
    """The identifier under the cursor: ``name``, its ``qualifier`` and its text span."""

    name: str
    qualifier: str | None
    start: int
    end: int
    clause: str | None
    tables: tuple[TableRef, ...]


def reference_at(text: str, offset: int) -> Reference | None:
    """The (possibly qualified) identifier at ``offset``, for hover."""
    offset = min(max(0, offset), len(text))
    spans = scan(text)
    span = span_at(spans, offset)
    if span is not None and span.kind in (STRING, "line_comment", "block_comment"):
        return None
    tokens, _, _ = _statement_tokens(text, offset)
    for index, tok in enumerate(tokens):
        if tok.kind in ("ident", "quoted") and tok.start <= offset <= tok.end and tok.word not in KEYWORDS:
            qualifier = None
            if index >= 2 and tokens[index - 1].text == "." and tokens[index - 2].kind in ("ident", "quoted"):
                qualifier = tokens[index - 2].name
            return Reference(tok.name, qualifier, tok.start, tok.end, _clause(tokens[:index]), table_refs(tokens))
    return None
