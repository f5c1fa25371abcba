"""Range mapping between code-point text positions and LSP positions (unit tests)."""

from lsprotocol import types

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


def rng(sl, sc, el, ec):
    return types.Range(start=types.Position(line=sl, character=sc), end=types.Position(line=el, character=ec))


def test_lines_split_on_exactly_the_lsp_line_breaks():
    assert split_lines("a\r\nb\rc\nd") == ["a", "b", "c", "d"]
    assert split_lines("a\n") == ["a", ""]
    # Form feed and unicode line separators are not LSP line breaks.
    assert split_lines("a\x0cb\u2028c") == ["a\x0cb\u2028c"]


def test_utf16_positions_count_surrogate_pairs_twice():
    lines = ["x = '😋' + nme"]
    # code point column 10 ("nme" starts there) is UTF-16 column 11, UTF-8 column 13
    assert to_lsp_position(lines, TextPosition(0, 11), UTF16) == types.Position(line=0, character=12)
    assert to_lsp_position(lines, TextPosition(0, 11), UTF8) == types.Position(line=0, character=14)
    assert to_lsp_position(lines, TextPosition(0, 11), UTF32) == types.Position(line=0, character=11)
    assert to_text_position(lines, types.Position(line=0, character=12), UTF16) == TextPosition(0, 11)
    # A position inside the surrogate pair snaps to the emoji itself.
    assert to_text_position(lines, types.Position(line=0, character=6), UTF16) == TextPosition(0, 5)


def test_out_of_range_positions_are_clamped_not_errors():
    lines = split_lines("SELECT 1\nFROM t")
    assert to_text_position(lines, types.Position(line=9, character=3)) == TextPosition(1, 6)
    assert to_text_position(lines, types.Position(line=0, character=99)) == TextPosition(0, 8)
    assert to_lsp_position(lines, TextPosition(7, 7)) == types.Position(line=1, character=6)


def test_offsets_and_positions_round_trip_over_crlf():
    text = "SELECT 1;\r\n-- q\r\nSELECT nme FROM Artist"
    for offset in range(len(text) + 1):
        pos = position_at(text, offset)
        back = offset_of(text, pos)
        # Only the offset between "\r" and "\n" has no position of its own.
        assert back == offset or text[offset - 1 : offset + 1] == "\r\n"
    assert position_at(text, text.index("nme")) == TextPosition(2, 7)


def test_problem_range_is_exact_for_an_unknown_column():
    text = "-- names\nSELECT nme FROM Artist"
    lines = split_lines(text)
    # The statement starts on document line 1; the problem is at its line 1, column 8.
    assert problem_range(lines, 1, 8, 1, 11, origin=TextPosition(1, 0)) == rng(1, 7, 1, 10)


def test_problem_range_offsets_only_the_first_line_of_an_indented_statement():
    text = "x;   SELECT a\nFROM nowhere"
    lines = split_lines(text)
    origin = TextPosition(0, 5)
    assert problem_range(lines, 1, 8, 1, 9, origin=origin) == rng(0, 12, 0, 13)
    assert problem_range(lines, 2, 6, 2, 13, origin=origin) == rng(1, 5, 1, 12)


def test_problem_without_an_end_covers_the_identifier_or_one_character():
    lines = split_lines('SELECT "Na me", x FROM t')
    assert problem_range(lines, 1, 8) == rng(0, 7, 0, 14)
    assert problem_range(lines, 1, 15) == rng(0, 14, 0, 15)


def test_problem_range_in_utf16_after_non_bmp_text():
    lines = split_lines("SELECT '𝄞', nme FROM t")
    assert problem_range(lines, 1, 13, 1, 16, encoding=UTF16) == rng(0, 13, 0, 16)
