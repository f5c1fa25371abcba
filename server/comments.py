"""Find the question a cursor is answering: the comment the SQL should be written for.

A user asks for SQL by writing a comment and leaving the cursor where the SQL should go:

- on an empty line right after a ``-- question`` comment (consecutive ``--`` lines are
  one question),
- at the end of that comment line,
- on an empty line right after a ``/* question */`` block, or right after its ``*/``.

Not questions: ``-- text2sql: ...`` directives, ``key: value`` header lines at the top
of a file (``-- dialect: sqlite``), separator lines (``-- -----``), comments that share
a line with code, and MySQL ``/*! ... */`` / optimizer-hint ``/*+ ... */`` blocks.

Pure functions over text and code-point positions (see ``positions.py``); they never
raise, whatever the text or position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from text2sql.server.positions import TextPosition, line_starts, split_lines
from text2sql.server.sqltext import BLOCK_COMMENT, LINE_COMMENT, scan

_DIRECTIVE = re.compile(r"^\s*text2sql\s*:", re.IGNORECASE)
# "key: value" lines that describe a file rather than ask something.
_HEADER_FIELD = re.compile(
    r"^\s*(dialect|database|db|connection|schema|author|date|created|updated|file|name|"
    r"description|purpose|version|license|copyright)\s*:",
    re.IGNORECASE,
)
_HAS_WORD = re.compile(r"\w")


@dataclass(frozen=True)
class Question:
    """A question and where its SQL goes.

    ``insert_at`` is the cursor; ``separator`` is what must come before the SQL there
    (a line break when the cursor is at the end of the comment line itself).
    """

    text: str
    comment_start: TextPosition
    comment_end: TextPosition
    insert_at: TextPosition
    separator: str = ""


@dataclass(frozen=True)
class _CommentLine:
    line: int
    body: str
    start_column: int
    kind: str
    first_line: int  # the line the comment starts on (differs for blocks)
    end_column: int


def is_directive(comment_body: str) -> bool:
    """True for ``text2sql: key=value`` directive text (the per-file header)."""
    return bool(_DIRECTIVE.match(comment_body))


def find_question(text: str, position: TextPosition, *, anywhere_in_comment: bool = False) -> Question | None:
    """The question the cursor at ``position`` asks for, or None.

    With ``anywhere_in_comment`` (used by the "Generate SQL from comment" command and
    code action) a cursor anywhere inside a question comment counts as its end.
    """
    lines = split_lines(text)
    if not lines:
        return None
    line = min(max(0, position.line), len(lines) - 1)
    column = min(max(0, position.column), len(lines[line]))
    comments = _whole_line_comments(text, lines)
    current = lines[line]

    if not current.strip() and line > 0 and (line - 1) in comments:
        # Empty line right after a comment: the SQL goes where the cursor is.
        return _question(comments, line - 1, TextPosition(line, column), "", lines)

    entry = comments.get(line)
    if entry is None:
        return None
    at_end = not current[column:].strip()
    if not (at_end or anywhere_in_comment):
        return None
    if not at_end and entry.kind == LINE_COMMENT and column < entry.start_column:
        return None  # in the indentation before the comment
    if _continues(comments, entry, lines) and not anywhere_in_comment:
        return None  # the question goes on below; its SQL belongs after all of it
    while _continues(comments, entry, lines):
        line += 1
        entry = comments[line]
    end = TextPosition(line, len(lines[line].rstrip()))
    insert = TextPosition(line, column) if line == position.line and at_end else end
    return _question(comments, line, insert, "\n", lines)


def _question(comments: dict[int, _CommentLine], last_line: int, insert: TextPosition, separator: str, lines) -> Question | None:
    entry = comments[last_line]
    if not _is_question_line(entry, lines):
        return None
    if entry.kind == BLOCK_COMMENT:
        body = _block_text(entry.body)
        start = TextPosition(entry.first_line, entry.start_column)
    else:
        parts = [entry.body]
        first = entry
        while first.line - 1 in comments:
            above = comments[first.line - 1]
            if above.kind != LINE_COMMENT or not _is_question_line(above, lines):
                break
            parts.insert(0, above.body)
            first = above
        body = " ".join(p.strip() for p in parts)
        start = TextPosition(first.line, first.start_column)
    question = " ".join(body.split())
    if not question:
        return None
    return Question(
        text=question,
        comment_start=start,
        comment_end=TextPosition(last_line, entry.end_column),
        insert_at=insert,
        separator=separator,
    )


def _continues(comments: dict[int, _CommentLine], entry: _CommentLine, lines) -> bool:
    """True when the ``--`` question on ``entry`` goes on on the next line."""
    below = comments.get(entry.line + 1)
    return (
        entry.kind == LINE_COMMENT
        and _is_question_line(entry, lines)
        and below is not None
        and below.kind == LINE_COMMENT
        and _is_question_line(below, lines)
    )


def _is_question_line(entry: _CommentLine | None, lines) -> bool:
    if entry is None:
        return False
    body = entry.body
    if is_directive(body) or not _HAS_WORD.search(body):
        return False
    if entry.kind == LINE_COMMENT and _HEADER_FIELD.match(body) and _in_file_header(entry.line, lines):
        return False
    return True


def _in_file_header(line: int, lines) -> bool:
    """True when ``line`` is in the comment block that opens the file."""
    for k in range(0, line):
        stripped = lines[k].strip()
        if not stripped.startswith("--"):
            return False
    return True


def _whole_line_comments(text: str, lines: list[str]) -> dict[int, _CommentLine]:
    """For each line that holds nothing but a comment (or ends a block comment that
    started on a line of its own), the comment seen from that line."""
    starts = line_starts(text)
    result: dict[int, _CommentLine] = {}
    for span in scan(text):
        if not span.is_comment:
            continue
        first_line = _line_of(starts, span.start)
        first_column = span.start - starts[first_line]
        if lines[first_line][:first_column].strip():
            continue  # code before the comment on its line
        if span.kind == LINE_COMMENT:
            body = text[span.start + 2 : span.end]
            result[first_line] = _CommentLine(first_line, body, first_column, LINE_COMMENT, first_line, span.end - starts[first_line])
        else:
            if not span.terminated:
                continue
            inner = text[span.start + 2 : span.end - 2]
            if inner[:1] in ("!", "+"):
                continue
            last_line = _line_of(starts, span.end - 1)
            end_column = span.end - starts[last_line]
            if lines[last_line][end_column:].strip():
                continue  # code after the block on its closing line
            result[last_line] = _CommentLine(last_line, inner, first_column, BLOCK_COMMENT, first_line, end_column)
    return result


def _line_of(starts: list[int], offset: int) -> int:
    low, high, line = 0, len(starts) - 1, 0
    while low <= high:
        mid = (low + high) // 2
        if starts[mid] <= offset:
            line, low = mid, mid + 1
        else:
            high = mid - 1
    return line


def _block_text(inner: str) -> str:
    """The words of a block comment, without the `` * `` gutters of a boxed comment."""
    out = []
    for raw in inner.splitlines():
        stripped = raw.strip()
        if stripped.startswith("*"):
            stripped = stripped.lstrip("*").strip()
        out.append(stripped)
    return " ".join(p for p in out if p)
