"""Lexical structure of a SQL document: comments, literals and statement boundaries.

Every feature of the server needs to know what in a ``.sql`` file is SQL and what is
not: questions live in comments, diagnostics must never touch comment text, completion
must stay quiet inside a string. This module answers that with one small, forgiving
scanner (unterminated comments and literals run to the end of the text) that works on
any input and never raises. It knows the literal forms of the supported dialects:
``'...'`` strings (with ``''`` and, for E-strings, backslash escapes), ``"..."``,
`````...````` and ``[...]`` quoted identifiers, and PostgreSQL ``$tag$...$tag$`` bodies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LINE_COMMENT = "line_comment"
BLOCK_COMMENT = "block_comment"
STRING = "string"
QUOTED_IDENTIFIER = "quoted_identifier"

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True)
class Span:
    """A stretch of text that is not plain SQL code: ``text[start:end]``."""

    kind: str
    start: int
    end: int
    terminated: bool = True

    @property
    def is_comment(self) -> bool:
        return self.kind in (LINE_COMMENT, BLOCK_COMMENT)


@dataclass(frozen=True)
class Statement:
    """One statement: ``text[start:end]`` from its first to its last code character.

    Leading and trailing comments and whitespace are not part of it; comments inside
    it are. The terminating ``;`` is not included.
    """

    start: int
    end: int
    sql: str


def scan(text: str) -> list[Span]:
    """Comments, string literals and quoted identifiers of ``text``, in order."""
    spans: list[Span] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "-" and text.startswith("--", i):
            end = _line_end(text, i)
            spans.append(Span(LINE_COMMENT, i, end))
            i = end
        elif c == "/" and text.startswith("/*", i):
            close = text.find("*/", i + 2)
            end = n if close < 0 else close + 2
            spans.append(Span(BLOCK_COMMENT, i, end, close >= 0))
            i = end
        elif c == "'":
            backslash = i > 0 and text[i - 1] in "eE" and (i < 2 or not (text[i - 2].isalnum() or text[i - 2] == "_"))
            end, ok = _quoted_end(text, i, "'", backslash)
            spans.append(Span(STRING, i, end, ok))
            i = end
        elif c in "\"`":
            end, ok = _quoted_end(text, i, c, False)
            spans.append(Span(QUOTED_IDENTIFIER, i, end, ok))
            i = end
        elif c == "[":
            close = text.find("]", i + 1)
            newline = _line_end(text, i)
            if 0 <= close < newline and _looks_like_bracket_identifier(text[i + 1 : close]):
                spans.append(Span(QUOTED_IDENTIFIER, i, close + 1))
                i = close + 1
            else:
                i += 1
        elif c == "$" and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            match = _DOLLAR_TAG.match(text, i)
            if match:
                tag = match.group(0)
                close = text.find(tag, match.end())
                end = n if close < 0 else close + len(tag)
                spans.append(Span(STRING, i, end, close >= 0))
                i = end
            else:
                i += 1
        else:
            i += 1
    return spans


def _line_end(text: str, i: int) -> int:
    ends = [p for p in (text.find("\n", i), text.find("\r", i)) if p >= 0]
    return min(ends) if ends else len(text)


def _quoted_end(text: str, i: int, quote: str, backslash: bool) -> tuple[int, bool]:
    j, n = i + 1, len(text)
    while j < n:
        ch = text[j]
        if backslash and ch == "\\":
            j += 2
            continue
        if ch == quote:
            if j + 1 < n and text[j + 1] == quote:  # doubled quote = escaped quote
                j += 2
                continue
            return j + 1, True
        j += 1
    return n, False


def _looks_like_bracket_identifier(inner: str) -> bool:
    # T-SQL [My Table]; an array subscript such as a[1] or a[i:j] is not one.
    return bool(inner.strip()) and not re.fullmatch(r"[\d\s:+\-*/]*", inner)


def span_at(spans: list[Span], offset: int) -> Span | None:
    """The span containing ``offset`` (a cursor between two characters).

    A cursor right after a line comment's last character is still in the comment; a
    cursor right after a closed block comment or literal is not.
    """
    for span in spans:
        if span.start < offset < span.end:
            return span
        if offset == span.end and span.start < offset and (span.kind == LINE_COMMENT or not span.terminated):
            return span
        if span.start >= offset:
            break
    return None


def code_mask(text: str, spans: list[Span] | None = None) -> str:
    """``text`` with every comment replaced by spaces (line breaks kept), so offsets hold."""
    spans = scan(text) if spans is None else spans
    out = list(text)
    for span in spans:
        if span.is_comment:
            for k in range(span.start, span.end):
                if out[k] not in "\r\n":
                    out[k] = " "
    return "".join(out)


def statements(text: str, spans: list[Span] | None = None) -> list[Statement]:
    """The statements of ``text``, split at ``;`` outside comments and literals.

    Pieces that hold only comments and whitespace (a question with no SQL yet) are not
    statements.
    """
    spans = scan(text) if spans is None else spans
    masked = code_mask(text, spans)
    result: list[Statement] = []
    begin = 0
    for k in [*_separators(text, spans), len(text)]:
        piece = masked[begin:k]
        if piece.strip():
            first = begin + (len(piece) - len(piece.lstrip()))
            last = begin + len(piece.rstrip())
            result.append(Statement(first, last, text[first:last]))
        begin = k + 1
    return result


def statement_at(text: str, offset: int, spans: list[Span] | None = None) -> tuple[int, int]:
    """The ``(start, end)`` of the ``;``-delimited piece of ``text`` containing ``offset``."""
    spans = scan(text) if spans is None else spans
    start, end = 0, len(text)
    for k in _separators(text, spans):
        if k < offset:
            start = k + 1
        else:
            end = k
            break
    return start, end


def _separators(text: str, spans: list[Span]):
    index = 0
    for k, ch in enumerate(text):
        if ch != ";":
            continue
        while index < len(spans) and spans[index].end <= k:
            index += 1
        if index < len(spans) and spans[index].start <= k < spans[index].end:
            continue
        yield k
