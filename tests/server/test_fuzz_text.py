"""Hypothesis: comment detection, position mapping and SQL context never crash, and
the mappings keep their invariants on any text."""

from hypothesis import given, settings, strategies as st
from lsprotocol import types

from text2sql.server.comments import find_question
from text2sql.server.positions import (
    UTF8,
    UTF16,
    UTF32,
    TextPosition,
    offset_of,
    position_at,
    problem_range,
    split_lines,
    to_lsp_position,
    to_text_position,
)
from text2sql.server.sql_context import completion_context, reference_at
from text2sql.server.sqltext import scan, statements

# SQL-ish alphabet so the interesting branches (comments, quotes, breaks) are hit often.
PIECES = st.sampled_from(
    ["--", "/*", "*/", "'", '"', "`", "[", "]", "$$", "$a$", ";", "\n", "\r\n", "\r", " ", "SELECT",
     "FROM", "JOIN", "WHERE", "a.", ".", ",", "(", ")", "text2sql:", "dialect:", "😋", "é", "\t", "x"]
)
SQLISH = st.lists(st.one_of(PIECES, st.text(max_size=3)), max_size=40).map("".join)
ENCODINGS = st.sampled_from([UTF8, UTF16, UTF32])
BIG = st.integers(min_value=-5, max_value=200)


@settings(max_examples=400, deadline=None)
@given(SQLISH, BIG, BIG, st.booleans())
def test_find_question_never_crashes_and_points_inside_the_text(text, line, column, anywhere):
    found = find_question(text, TextPosition(line, column), anywhere_in_comment=anywhere)
    if found is not None:
        lines = split_lines(text)
        assert found.text and found.text == " ".join(found.text.split())
        assert 0 <= found.insert_at.line < len(lines)
        assert 0 <= found.insert_at.column <= len(lines[found.insert_at.line])
        assert found.separator in ("", "\n")


@settings(max_examples=400, deadline=None)
@given(SQLISH, BIG, BIG, ENCODINGS)
def test_lsp_positions_round_trip(text, line, character, encoding):
    lines = split_lines(text)
    pos = to_text_position(lines, types.Position(line=max(0, line), character=max(0, character)), encoding)
    assert 0 <= pos.line < len(lines) and 0 <= pos.column <= len(lines[pos.line])
    lsp = to_lsp_position(lines, pos, encoding)
    assert to_text_position(lines, lsp, encoding) == pos


@settings(max_examples=300, deadline=None)
@given(SQLISH, BIG)
def test_offsets_round_trip(text, offset):
    pos = position_at(text, offset)
    back = offset_of(text, pos)
    clamped = min(max(0, offset), len(text))
    assert back == clamped or text[clamped - 1 : clamped + 1] == "\r\n"


@settings(max_examples=300, deadline=None)
@given(SQLISH, BIG, BIG, st.one_of(st.none(), BIG), st.one_of(st.none(), BIG), BIG, BIG, ENCODINGS)
def test_problem_ranges_stay_inside_the_document(text, line, col, end_line, end_col, oline, ocol, encoding):
    lines = split_lines(text)
    r = problem_range(lines, line, col, end_line, end_col, origin=TextPosition(max(0, oline), max(0, ocol)), encoding=encoding)
    assert (r.start.line, r.start.character) <= (r.end.line, r.end.character)
    assert r.end.line < len(lines)


@settings(max_examples=300, deadline=None)
@given(SQLISH, BIG)
def test_scanner_and_context_never_crash(text, offset):
    spans = scan(text)
    assert all(0 <= s.start < s.end <= len(text) for s in spans)
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:]))
    for statement in statements(text):
        assert statement.sql.strip() and text[statement.start : statement.end] == statement.sql
    completion_context(text, offset)
    reference_at(text, offset)
