"""Finding the question for a cursor position (unit tests of the pure detector)."""

import pytest

from text2sql.server.comments import find_question
from text2sql.server.positions import TextPosition as P

DOC = """\
-- text2sql: connection=chinook
-- dialect: sqlite
-- How many albums does each artist have?
-- Order by the count.

SELECT 1; -- a trailing remark

/* Top 5 customers
 * by total invoice amount */

-- ------------
/*+ INDEX(t) */
-- text2sql: connection=other

"""


def q(text, line, col, **kw):
    found = find_question(text, P(line, col), **kw)
    return found.text if found else None


def test_empty_line_after_a_comment_group_joins_its_lines():
    found = find_question(DOC, P(4, 0))
    assert found.text == "How many albums does each artist have? Order by the count."
    assert found.insert_at == P(4, 0) and found.separator == ""
    assert found.comment_start == P(2, 0)


def test_end_of_the_comment_line_inserts_after_a_line_break():
    found = find_question(DOC, P(3, len("-- Order by the count.")))
    assert found.text.startswith("How many albums")
    assert found.separator == "\n"


def test_end_of_the_first_line_of_a_continued_question_is_not_a_question():
    assert q(DOC, 2, len("-- How many albums does each artist have?")) is None


def test_block_comment_question_with_gutters():
    assert q(DOC, 9, 0) == "Top 5 customers by total invoice amount"
    assert q(DOC, 8, len(" * by total invoice amount */")) == "Top 5 customers by total invoice amount"


@pytest.mark.parametrize(
    "line,col",
    [
        (0, 31),  # a directive
        (1, 18),  # a header line
        (2, 5),  # middle of a comment line
        (5, 30),  # comment after code
        (6, 0),  # empty line after a code line with a trailing comment
        (11, 0),  # after a separator line
        (12, 0),  # after an optimizer hint
        (14, 0),  # after a directive further down
    ],
)
def test_not_questions(line, col):
    assert q(DOC, line, col) is None


def test_header_words_count_only_in_the_file_header():
    text = "SELECT 1;\n-- name: the longest track\n"
    assert q(text, 2, 0) == "name: the longest track"


def test_anywhere_in_comment_finds_the_whole_question_and_inserts_after_it():
    found = find_question(DOC, P(2, 6), anywhere_in_comment=True)
    assert found.text == "How many albums does each artist have? Order by the count."
    assert found.insert_at == P(3, len("-- Order by the count.")) and found.separator == "\n"


def test_comment_markers_inside_strings_are_not_comments():
    assert q("SELECT '-- not a question'\n", 1, 0) is None
    assert q("SELECT '/* x */'\n\n", 1, 0) is None


def test_indented_comment_and_crlf_line_breaks():
    text = "    -- list all genres\r\n\r\nSELECT 1"
    found = find_question(text, P(1, 0))
    assert found.text == "list all genres" and found.comment_start == P(0, 4)


def test_unterminated_block_comment_is_not_a_question():
    assert q("/* still typing\n\n", 1, 0) is None


def test_empty_comment_is_not_a_question():
    assert q("--\n\n", 1, 0) is None
    assert q("/* */\n\n", 1, 0) is None
