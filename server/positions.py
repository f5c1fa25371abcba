"""Position and range mapping between Python text and LSP coordinates.

The engine speaks in code points: ``Problem`` lines and columns are 1-based, columns
count characters the way Python strings do. LSP positions are 0-based and count code
units of the negotiated position encoding (UTF-16 by default; UTF-8 or UTF-32 when the
client offers them), and LSP recognises exactly three line breaks: ``\\r\\n``, ``\\n`` and
``\\r``. Everything that crosses that boundary goes through this module, which is pure
and total: any input, however out of range, maps to a position inside the document
instead of raising (clients send stale positions while the user types).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

from lsprotocol import types

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_IDENTIFIER_TAIL = re.compile(r"[\w$]+|\"[^\"]*\"|`[^`]*`|\[[^\]]*\]")

UTF8 = types.PositionEncodingKind.Utf8.value
UTF16 = types.PositionEncodingKind.Utf16.value
UTF32 = types.PositionEncodingKind.Utf32.value


def split_lines(text: str) -> list[str]:
    """The document's lines as LSP counts them, without their line breaks.

    A text ending in a line break has one more (empty) line, so a cursor on the fresh
    line after the last newline has a line to live on.
    """
    return _LINE_BREAK.split(text)


def _units(char: str, encoding: str) -> int:
    if encoding == UTF32:
        return 1
    code = ord(char)
    if encoding == UTF8:
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    return 2 if code > 0xFFFF else 1


def units_in(text: str, encoding: str = UTF16) -> int:
    """How many code units ``text`` takes in ``encoding``."""
    if encoding == UTF32:
        return len(text)
    return sum(_units(c, encoding) for c in text)


@dataclass(frozen=True, order=True)
class TextPosition:
    """A 0-based (line, code point column) position inside a document."""

    line: int
    column: int


def to_text_position(lines: Sequence[str], position: types.Position, encoding: str = UTF16) -> TextPosition:
    """Convert an LSP position (code units) to a code-point position, clamped to the text.

    A position inside a surrogate pair or a multi-byte sequence snaps to the character
    that contains it; a line past the end snaps to the end of the document.
    """
    if not lines:
        return TextPosition(0, 0)
    line = max(0, int(position.line))
    if line >= len(lines):
        return TextPosition(len(lines) - 1, len(lines[-1]))
    text = lines[line]
    wanted = max(0, int(position.character))
    used = 0
    for index, char in enumerate(text):
        if used >= wanted:
            return TextPosition(line, index)
        used += _units(char, encoding)
        if used > wanted:  # inside a character: snap to its start
            return TextPosition(line, index)
    return TextPosition(line, len(text))


def to_lsp_position(lines: Sequence[str], position: TextPosition, encoding: str = UTF16) -> types.Position:
    """Convert a 0-based code-point position to an LSP position, clamped to the text."""
    if not lines:
        return types.Position(line=0, character=0)
    line = min(max(0, position.line), len(lines) - 1)
    text = lines[line]
    column = min(max(0, position.column), len(text))
    return types.Position(line=line, character=units_in(text[:column], encoding))


def line_starts(text: str) -> list[int]:
    """The offset in ``text`` where each LSP line begins."""
    return [0] + [match.end() for match in _LINE_BREAK.finditer(text)]


def offset_of(text: str, position: TextPosition) -> int:
    """The index into ``text`` of a code-point position, clamped to the text."""
    lines = split_lines(text)
    line = min(max(0, position.line), len(lines) - 1)
    return line_starts(text)[line] + min(max(0, position.column), len(lines[line]))


def position_at(text: str, offset: int) -> TextPosition:
    """The code-point position of ``text[offset]``, clamped to the text.

    An offset that falls between the ``\\r`` and ``\\n`` of a line break maps to the end
    of that line.
    """
    offset = min(max(0, offset), len(text))
    starts = line_starts(text)
    line = 0
    low, high = 0, len(starts) - 1
    while low <= high:  # the last line start <= offset
        mid = (low + high) // 2
        if starts[mid] <= offset:
            line, low = mid, mid + 1
        else:
            high = mid - 1
    lines = split_lines(text)
    return TextPosition(line, min(offset - starts[line], len(lines[line])))


def problem_range(
    lines: Sequence[str],
    line: int,
    column: int,
    end_line: int | None = None,
    end_column: int | None = None,
    *,
    origin: TextPosition = TextPosition(0, 0),
    encoding: str = UTF16,
) -> types.Range:
    """The LSP range of a problem reported inside a piece of SQL.

    ``line``/``column`` are 1-based and relative to the SQL text, which starts at
    ``origin`` in the document (its first line is offset by ``origin.column``);
    ``end_column`` is exclusive, as in ``text2sql.problems.Problem``. Without an end,
    the range covers the identifier (or quoted identifier) at the start, else one
    character, so an editor always has something to underline.
    """
    start = _absolute(line, column, origin)
    start = _clamp(lines, start)
    if end_line is None and end_column is None:
        end = _token_end(lines, start)
    else:
        end = _clamp(lines, _absolute(end_line if end_line is not None else line, end_column or column, origin))
        if end < start:
            end = _token_end(lines, start)
    return types.Range(start=to_lsp_position(lines, start, encoding), end=to_lsp_position(lines, end, encoding))


def _absolute(line: int, column: int, origin: TextPosition) -> TextPosition:
    line0 = max(0, int(line) - 1)
    col0 = max(0, int(column) - 1)
    if line0 == 0:
        col0 += origin.column
    return TextPosition(origin.line + line0, col0)


def _clamp(lines: Sequence[str], position: TextPosition) -> TextPosition:
    if not lines:
        return TextPosition(0, 0)
    line = min(max(0, position.line), len(lines) - 1)
    return TextPosition(line, min(max(0, position.column), len(lines[line])))


def _token_end(lines: Sequence[str], start: TextPosition) -> TextPosition:
    if not lines:
        return start
    text = lines[start.line]
    match = _IDENTIFIER_TAIL.match(text, start.column)
    if match and match.end() > start.column:
        return TextPosition(start.line, match.end())
    return TextPosition(start.line, min(start.column + 1, len(text)))
