"""THE prompt template, frozen by golden files (tests/engine/golden/prompt/*.txt).

A change here changes what the shipped adapter was trained on: regenerate the golden
files only deliberately (UPDATE_GOLDEN=1) and retrain."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from text2sql import prompt
from text2sql.schema import introspect
from text2sql.schema_model import Column, ForeignKey, Schema, Table

GOLDEN = Path(__file__).parent / "golden" / "prompt"
QUESTION = "Name the top 10 albums with the highest sales amount"


@pytest.fixture(scope="module")
def chinook():
    return introspect()


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text(), f"prompt changed: {path} (retraining needed if deliberate)"


@pytest.mark.parametrize("dialect", ["sqlite", "postgres", "mysql", "duckdb"])
def test_chinook_prompt_is_frozen(chinook, dialect):
    _golden(f"chinook_{dialect}.txt", prompt.render(dataclasses.replace(chinook, dialect=dialect), QUESTION))


def test_render_is_prefix_plus_question_and_the_prefix_is_shared(chinook):
    a, b = prompt.render(chinook, "how many albums?"), prompt.render(chinook, "list genres")
    prefix = prompt.schema_prefix(chinook)
    assert a == prefix + "-- how many albums?\n" and b.startswith(prefix)


def test_questions_are_one_line_and_never_empty(chinook):
    assert prompt.render(chinook, "  top\n albums\t by  sales ").endswith("-- top albums by sales\n")
    with pytest.raises(prompt.EmptyQuestion):
        prompt.render(chinook, " \n ")


def test_quoting_only_where_the_dialect_needs_it():
    assert prompt.quote("Album", "sqlite") == "Album"
    assert prompt.quote("Album", "postgres") == '"Album"'
    assert prompt.quote("album", "postgres") == "album"
    assert prompt.quote("order", "sqlite") == '"order"'
    assert prompt.quote("first name", "mysql") == "`first name`"


def test_composite_keys_and_views():
    t = Table("PlaylistTrack", (Column("PlaylistId", "INTEGER"), Column("TrackId", "INTEGER")),
              primary_key=("PlaylistId", "TrackId"),
              foreign_keys=(ForeignKey(("PlaylistId", "TrackId"), "Other", ("A", "B")),))
    v = Table("Sales", (Column("Total", "REAL"),), kind="view")
    text = prompt.schema_prefix(Schema("sqlite", (t, v)))
    assert "PRIMARY KEY (PlaylistId, TrackId), FOREIGN KEY (PlaylistId, TrackId) REFERENCES Other(A, B));" in text
    assert "CREATE VIEW Sales (Total REAL);" in text


def _wide_schema(n: int) -> Schema:
    tables = []
    for i in range(n):
        fks = (ForeignKey(("customer_id",), "customers", ("id",)),) if i == 7 else ()
        name = {3: "customers", 7: "orders", 11: "order_items"}.get(i, f"misc_table_{i}")
        cols = (Column("id", "INTEGER", primary_key=True), Column("customer_id", "INTEGER"), Column("note", "TEXT"))
        tables.append(Table(name, cols, primary_key=("id",), foreign_keys=fks))
    return Schema("sqlite", tuple(tables))


def test_large_schema_keeps_related_tables_and_fk_neighbours_within_budget():
    schema = _wide_schema(500)
    text = prompt.render(schema, "How many orders per month?", budget_tokens=400)
    assert prompt.estimate_tokens(prompt.schema_prefix(schema, question="How many orders per month?",
                                                      budget_tokens=400)) <= 400
    assert "CREATE TABLE orders (" in text and "CREATE TABLE customers (" in text  # FK neighbour
    assert text.index("CREATE TABLE customers") < text.index("CREATE TABLE orders")  # original order
    assert text.count("CREATE TABLE") < 30


def test_small_schemas_are_never_cut(chinook):
    assert prompt.link("albums", chinook) is chinook


@pytest.mark.parametrize(
    "completion, sql",
    [
        (" SELECT Name FROM Artist;\nSELECT 2;", "SELECT Name FROM Artist;"),
        ("SELECT 'a;b' FROM t; junk", "SELECT 'a;b' FROM t;"),
        ('SELECT "x;y" FROM t;', 'SELECT "x;y" FROM t;'),
        ("SELECT a\nFROM t\n\n-- next question", "SELECT a\nFROM t"),
        ("SELECT a FROM t\n-- another comment\nSELECT", "SELECT a FROM t"),
        ("", ""),
    ],
)
def test_extract_sql_cuts_the_first_statement(completion, sql):
    assert prompt.extract_sql(completion) == sql


def test_training_target_is_what_extract_sql_returns(chinook):
    p, target = prompt.render_training_example(chinook, QUESTION, "SELECT  COUNT(*)\nFROM Album ;")
    assert p == prompt.render(chinook, QUESTION)
    assert target == "SELECT COUNT(*) FROM Album;\n"
    assert prompt.extract_sql(target + "-- more") == target.strip()
