"""Completion context, aliases, hover text and identifier quoting (pure units).

The schema objects are the engine's real ``Schema`` type, built by hand."""

import pytest

from text2sql.schema_model import Column, ForeignKey, Schema, Table
from text2sql.server.hover import describe_reference
from text2sql.server.schema_completion import quote_identifier
from text2sql.server.sql_context import COLUMN, TABLE, TableRef, completion_context, reference_at

SCHEMA = Schema(
    dialect="sqlite",
    tables=(
        Table("Artist", (Column("ArtistId", "INTEGER", False, True), Column("Name", "NVARCHAR(120)", samples=("AC/DC", "Accept"))),
              primary_key=("ArtistId",)),
        Table("Album", (Column("AlbumId", "INTEGER", False, True), Column("Title", "NVARCHAR(160)", False),
                        Column("ArtistId", "INTEGER", False)),
              primary_key=("AlbumId",), foreign_keys=(ForeignKey(("ArtistId",), "Artist", ("ArtistId",)),)),
    ),
)


def ctx(sql_with_cursor):
    offset = sql_with_cursor.index("|")
    return completion_context(sql_with_cursor.replace("|", ""), offset)


@pytest.mark.parametrize(
    "sql,kind,qualifier,prefix",
    [
        ("SELECT * FROM |", TABLE, None, ""),
        ("SELECT * FROM Alb|", TABLE, None, "Alb"),
        ("SELECT * FROM Album al JOIN |", TABLE, None, ""),
        ("SELECT * FROM Album, |", TABLE, None, ""),
        ("SELECT * FROM main.|", TABLE, "main", ""),
        ("SELECT | FROM Artist", COLUMN, None, ""),
        ("SELECT Name, | FROM Artist", COLUMN, None, ""),
        ("SELECT a.Name FROM Artist a WHERE a.|", COLUMN, "a", ""),
        ("SELECT a.Na| FROM Artist a", COLUMN, "a", "Na"),
        ("SELECT * FROM Album al JOIN Artist ar ON al.ArtistId = ar.|", COLUMN, "ar", ""),
        ("SELECT Name FROM Artist GROUP BY |", COLUMN, None, ""),
        ("SELECT Name FROM Artist ORDER BY N|", COLUMN, None, "N"),
        ("SELECT count(|) FROM Artist", COLUMN, None, ""),
        ("SELECT 1; SELECT * FROM |", TABLE, None, ""),
    ],
)
def test_completion_context(sql, kind, qualifier, prefix):
    found = ctx(sql)
    assert (found.kind, found.qualifier, found.prefix) == (kind, qualifier, prefix)


@pytest.mark.parametrize(
    "sql",
    ["-- SELECT * FROM |", "SELECT 'FROM |'", "/* FROM | */", "SELECT * FROM Artist |", "SELECT Name |"],
)
def test_nothing_to_offer(sql):
    assert ctx(sql).kind is None


def test_aliases_come_from_the_whole_statement():
    found = ctx("SELECT a.| FROM Artist AS a JOIN Album b ON b.ArtistId = a.ArtistId; SELECT * FROM Track t")
    assert found.tables == (TableRef("Artist", "a"), TableRef("Album", "b"))


def test_quoted_and_schema_qualified_tables():
    found = ctx('SELECT x.| FROM "My Table" x, public.orders o')
    assert found.tables == (TableRef("My Table", "x"), TableRef("public.orders", "o"))


def test_hover_text_for_columns_tables_and_aliases():
    text = "SELECT a.Name, Title FROM Artist a JOIN Album ON Album.ArtistId = a.ArtistId"
    ref = reference_at(text, text.index("Name") + 1)
    assert (ref.name, ref.qualifier) == ("Name", "a")
    body = describe_reference(SCHEMA, ref.name, ref.qualifier, ref.tables, ref.clause)
    assert "Artist.Name" in body and "NVARCHAR(120)" in body and "AC/DC" in body
    ref = reference_at(text, text.index("Title"))
    assert "Album.Title" in describe_reference(SCHEMA, ref.name, ref.qualifier, ref.tables, ref.clause)
    ref = reference_at(text, text.index("Album ON") + 2)
    body = describe_reference(SCHEMA, ref.name, ref.qualifier, ref.tables, ref.clause)
    assert body.startswith("**Album** (table, 3 columns)") and "ArtistId → Artist(ArtistId)" in body
    ref = reference_at(text, text.index("Album.ArtistId") + len("Album.") + 1)
    assert "references Artist.ArtistId" in describe_reference(SCHEMA, ref.name, ref.qualifier, ref.tables, ref.clause)
    assert reference_at(text, text.index("SELECT") + 2) is None  # a keyword


@pytest.mark.parametrize(
    "name,dialect,expected",
    [
        ("Artist", "sqlite", "Artist"),
        ("Artist", "postgres", '"Artist"'),
        ("artist", "postgres", "artist"),
        ("order", "sqlite", '"order"'),
        ("My Table", "mysql", "`My Table`"),
        ("My Table", "tsql", "[My Table]"),
        ('a"b', "duckdb", '"a""b"'),
        ("Artist", "mysql", "Artist"),
    ],
)
def test_dialect_aware_quoting(name, dialect, expected):
    assert quote_identifier(name, dialect) == expected


def test_an_opening_quote_the_user_typed_is_kept():
    assert quote_identifier("Artist", "sqlite", force=True) == '"Artist"'
    assert quote_identifier("Artist", "mysql", force=True) == "`Artist`"
    found = ctx('SELECT * FROM "Art|')
    assert (found.kind, found.prefix) == (TABLE, '"Art')
