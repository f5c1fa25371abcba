"""Schema-constrained decoding, the lexical half (``SchemaVocabulary.allows``) on Chinook:
what a growing SQL text may and may not contain. The decoding half runs the tiny model in
tests/model/test_generation.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from text2sql.constrain import SchemaVocabulary
from text2sql.schema import introspect


@pytest.fixture(scope="module")
def vocab():
    return SchemaVocabulary(introspect())


ALLOWED = [
    "SELECT COUNT(*) FROM Album;",
    "SELECT Nam",  # still growing: Name
    "SELECT Title FROM Albu",  # still growing: Album
    "select title from album",  # names are matched without case
    "SELECT a.Title FROM Album a JOIN Track t ON t.AlbumId = a.AlbumId",  # aliases without AS
    "SELECT alb.Title FROM Album alb",
    "SELECT T1.Name FROM Album AS T1 JOIN Artist AS T2 ON T1.ArtistId = T2.ArtistId",
    "SELECT T1.Name FROM Album AS T1 JOIN Artist AS T2 ON T1.Name",  # wrong table, right query: repair's job
    "SELECT count(*) AS total FROM Album GROUP BY ArtistId ORDER BY total DESC",
    "SELECT Name FROM Track WHERE Name = 'Popularity of anything at all'",
    'SELECT "Whatever" FROM Track',
    "SELECT Name FROM Track -- any comment text",
    "SELECT Name FROM Track WHERE Milliseconds > 3e5 LIMIT 10",
    "SELECT CAST(Total AS INTEGER), strftime('%Y', InvoiceDate) FROM Invoice",
    "SELECT * FROM Track WHERE GenreId IN (SELECT GenreId FROM Genre WHERE Name LIKE 'R%')",
    # after a subquery closes, bare names belong to the outer SELECT's tables again
    "SELECT Name FROM Track WHERE AlbumId IN (SELECT AlbumId FROM Album WHERE Title LIKE 'A%') AND Composer IS NULL",
    "SELECT Name FROM Track WHERE AlbumId IN (SELECT AlbumId FROM Album WHERE Composer IS NULL)",  # correlated
    "SELECT count(*) FROM Album JOIN Artist ON Album.ArtistId = Artist.ArtistId WHERE Name = 'AC/DC'",
    "SELECT Name, count(*) FROM Track GROUP BY Name ORDER BY count(*) DESC",
    "SELECT max(Total), BillingCountry FROM Invoice GROUP BY BillingCountry",
    # qualifiers the query defines itself: a derived table's alias, an alias still to come
    "SELECT sub.Name FROM (SELECT Name FROM Artist) AS sub WHERE sub.Name LIKE 'A%'",
    "SELECT Title, (SELECT count(*) FROM Track WHERE Track.AlbumId = alb.AlbumId) FROM Album alb",
    "SELECT t.Name FROM (SELECT Name FROM Artist) t WHERE t.Name LIKE 'A%'",  # a derived table, no AS
    "SELECT T1.Title FROM Album AS T1 ORDER BY T1.Title",
]

REFUSED = [
    "SELECT Popularity ",  # no such column anywhere
    "SELECT Name FROM Albums ",  # no such table
    "SELECT Name FROM Albx",  # cannot grow into a table
    "SELECT T1.Name FROM Album AS T1 JOIN Artist AS T2 ON T1.Email ",  # neither table has it
    "SELECT Namx",
    "SELECT Name FROM Album ",  # Album has no Name, while other tables do
    "SELECT Title FROM Album WHERE Milliseconds ",  # a bare column of a table the SELECT does not use
    "SELECT Name FROM Track WHERE AlbumId IN (SELECT AlbumId FROM Album WHERE Email ",
    "SELECT Name FROM Track WHERE AlbumId IN (SELECT AlbumId FROM Album) AND Email ",
    # after FROM, a qualifier that is no table, alias or earlier word: a column being misspelt
    # (the model wrote `WHERE cylinder .` for the column Cylinders, which does not parse)
    "SELECT Name FROM Track WHERE Composers.",
    "SELECT T1.Name FROM Track AS T1 JOIN Album AS T2 ON T1.AlbumId = T2.AlbumId WHERE Titles.",
    # a T1-style qualifier after FROM that no FROM defined; writing it before FROM defines
    # nothing (the shipped model wrote `... FROM album ORDER BY sum(T1.title)` for the demo)
    "SELECT T1.Title FROM Album ORDER BY sum(T1.",
    "SELECT Title FROM Album AS T1 JOIN Track AS T2 ON T1.AlbumId = T3.",
    "SELECT AlbumId FROM Album ORDER BY sum(T1)",  # the same, bare
]


@pytest.mark.parametrize("text", ALLOWED)
def test_real_names_are_allowed_at_every_step(vocab, text):
    bad = [i for i in range(1, len(text) + 1) if not vocab.allows(text[:i], i - 1)]
    assert bad == [], f"refused at {text[:bad[0]]!r}" if bad else ""


@pytest.mark.parametrize("text", REFUSED)
def test_invented_names_are_refused(vocab, text):
    assert not vocab.allows(text, len(text) - 1)


def test_a_spaced_qualifier_after_from_is_judged_with_its_dot(vocab):
    text = "SELECT avg(Milliseconds) FROM Track WHERE Compose"
    assert vocab.allows(text, len(text) - 1)  # still growing: Composer is a column
    assert not vocab.allows(text + " .", len(text))  # the model's " ." after it: no such qualifier
    assert vocab.allows("SELECT a.Title FROM Album AS a WHERE a .", len("SELECT a.Title FROM Album AS a WHERE a"))


def test_only_the_new_part_is_judged(vocab):
    text = "SELECT Popularity FROM Album WHERE Title"
    assert not vocab.allows(text, 0)
    assert vocab.allows(text, text.index("WHERE"))  # earlier words were the model's own business


SPIDER = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "spider"


def test_every_spider_dev_gold_query_passes_at_every_character():
    """The rules never refuse what a correct answer writes: the gold queries of Spider dev's
    972 runnable questions (over their own SQLite schemas) pass at every prefix."""
    vocabularies = {}
    refused, checked = [], 0
    for example in json.loads((SPIDER / "dev.json").read_text()):
        db = example["db_id"]
        path = SPIDER / "database" / db / f"{db}.sqlite"
        if not path.exists():
            continue  # wta_1 ships without its database
        if db not in vocabularies:
            vocabularies[db] = SchemaVocabulary(introspect(f"sqlite:///{path}", samples=0))
        sql, checked = example["query"], checked + 1
        stop = next((i for i in range(1, len(sql) + 1) if not vocabularies[db].allows(sql[:i], i - 1)), None)
        if stop is not None:
            refused.append(sql[:stop])
    assert checked == 972
    assert refused == []
