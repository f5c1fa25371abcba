"""Introspection of Chinook on every supported database, exclusions, and bounded round trips."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from text2sql.db import create_engine
from text2sql.errors import ConfigError, ConnectionFailed
from text2sql.schema import SchemaCache, introspect

CHINOOK_TABLES = {"album", "artist", "customer", "employee", "genre", "invoice", "invoiceline",
                  "mediatype", "playlist", "playlisttrack", "track"}


def test_chinook_on_every_database(chinook_any_url):
    schema = introspect(chinook_any_url)
    assert {t.name.lower() for t in schema.tables} == CHINOOK_TABLES
    album = schema.table("Album")
    assert [c.name for c in album.columns] == ["AlbumId", "Title", "ArtistId"]
    assert album.primary_key == ("AlbumId",)
    fk = album.foreign_keys[0]
    assert (fk.columns, fk.ref_table.lower(), fk.ref_columns) == (("ArtistId",), "artist", ("ArtistId",))
    assert schema.table("PlaylistTrack").primary_key == ("PlaylistId", "TrackId")
    assert len(schema.table("Track").foreign_keys) == 3
    assert schema.table("Genre").column("Name").samples[:2] == ("Alternative", "Alternative & Punk")
    assert schema.table("Customer").column("Country").samples[0] == "USA"  # the most frequent
    assert schema.dialect in {"sqlite", "duckdb", "postgres", "mysql"}


def test_exclusions_hide_tables_columns_and_their_values(chinook_any_url):
    schema = introspect(chinook_any_url, exclude=("employee", "customer.email", "*.phone", "playlist*"))
    names = {t.name.lower() for t in schema.tables}
    assert "employee" not in names and "playlist" not in names and "playlisttrack" not in names
    customer = schema.table("Customer")
    assert customer.column("Email") is None and customer.column("Phone") is None
    assert customer.column("Country") is not None
    assert "Employee" not in str(schema.to_dict()).replace("EmployeeId", "")
    assert schema.exclude == ("employee", "customer.email", "*.phone", "playlist*")


def _count_round_trips(engine):
    counter = {"n": 0}

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _count(*_a, **_k):
        counter["n"] += 1

    return counter


@pytest.mark.parametrize("n_tables", [50, 2000])
def test_round_trips_do_not_grow_with_the_number_of_tables(tmp_path, n_tables):
    path = tmp_path / f"wide{n_tables}.sqlite"
    con = sqlite3.connect(path)
    for i in range(n_tables):
        ref = f", parent_id INTEGER REFERENCES t{i - 1}(id)" if i else ""
        con.execute(f"CREATE TABLE t{i} (id INTEGER PRIMARY KEY, name TEXT{ref})")
    con.commit()
    con.close()
    engine = create_engine(f"sqlite:///{path}")
    counter = _count_round_trips(engine)
    schema = introspect(engine)
    assert len(schema.tables) == n_tables
    # SQLite's dialect reflects per table through PRAGMAs; the bound is what
    # text2sql itself adds: samples are one query per 50 columns, and none above 200.
    counter_without = counter["n"]
    counter["n"] = 0
    introspect(engine, samples=0)
    assert counter_without - counter["n"] <= 4


def test_round_trips_on_postgres_do_not_grow_from_11_to_2000_tables():
    """In a database of its own, so other tests never see the 2,000 tables."""
    from tests.fixtures.databases import PG_ADMIN_URL, server_database, load_chinook

    admin, name, url = server_database(PG_ADMIN_URL, "PostgreSQL")
    try:
        load_chinook(url)
        engine = create_engine(url)
        counter = _count_round_trips(engine)
        small_schema = introspect(engine)
        small = counter["n"]
        with sa.create_engine(url).begin() as conn:
            conn.exec_driver_sql(";".join(f"CREATE TABLE wide_{i} (id INTEGER PRIMARY KEY, label TEXT)"
                                          for i in range(2000)))
        counter["n"] = 0
        wide = introspect(engine)
        assert len(small_schema.tables) == 11 and len(wide.tables) == 2011
        # samples stop above MAX_SAMPLED_COLUMNS, so the wide read may even take fewer trips
        assert counter["n"] <= small, (small, counter["n"])
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def test_schema_version_changes_with_the_schema(chinook_sqlite_url, tmp_path):
    cache = SchemaCache()
    first = cache.get(chinook_sqlite_url)
    assert cache.get(chinook_sqlite_url) is first
    path = chinook_sqlite_url.removeprefix("sqlite:///")
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE IF NOT EXISTS Review (ReviewId INTEGER PRIMARY KEY, Body TEXT)")
    con.commit()
    con.close()
    assert cache.get(chinook_sqlite_url) is first  # cached until refreshed
    refreshed = cache.refresh(chinook_sqlite_url)
    assert refreshed.version != first.version and refreshed.table("Review") is not None
    con = sqlite3.connect(path)
    con.execute("DROP TABLE Review")
    con.commit()
    con.close()


def test_duckdb_foreign_keys_are_read_from_the_catalog(chinook_duckdb_url):
    track = introspect(chinook_duckdb_url).table("Track")
    assert {fk.ref_table for fk in track.foreign_keys} == {"Album", "MediaType", "Genre"}


@pytest.mark.parametrize(
    "url, error, needle",
    [
        ("", ConfigError, "empty"),
        ("nosuchdb://x/y", ConfigError, "nosuchdb"),
        ("sqlite:////nonexistent/dir/x.db", ConnectionFailed, "/nonexistent/dir/x.db"),
        ("postgresql+psycopg://bob:s3cret@127.0.0.1:1/shop", ConnectionFailed, "127.0.0.1"),
        ("mysql+pymysql://root:wrongpw@127.0.0.1:3306/test", ConnectionFailed, "root"),
    ],
)
def test_bad_databases_raise_one_redacted_line(url, error, needle, tmp_path):
    with pytest.raises(error) as info:
        introspect(url)
    message = str(info.value)
    assert needle in message and "\n" not in message
    assert "s3cret" not in message and "wrongpw" not in message


def test_a_missing_sqlite_file_is_never_created(tmp_path):
    target = tmp_path / "missing.db"
    with pytest.raises(ConnectionFailed):
        introspect(f"sqlite:///{target}")
    assert not target.exists()
