"""Schema features over stdio against a real SQLite copy of Chinook: table and column
completion, hover, and diagnostics (push and pull) placed on exactly the bad text."""

import pytest
import pytest_asyncio
from lsprotocol import types

from tests.fixtures.tiny_model import tiny_config
from tests.server.conftest import capabilities, start, stop

pytestmark = pytest.mark.asyncio(loop_scope="module")

CHINOOK_TABLES = {
    "Album", "Artist", "Customer", "Employee", "Genre", "Invoice", "InvoiceLine", "MediaType",
    "Playlist", "PlaylistTrack", "Track",
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(chinook_sqlite_url, tmp_path_factory):
    env = tiny_config(tmp_path_factory.mktemp("server-schema"))
    client = await start(env=env, options={"connection": chinook_sqlite_url, "trigger": "manual"})
    yield client
    await stop(client)


_counter = iter(range(10_000))


async def open_doc(client, text: str) -> str:
    uri = f"file:///work/query-{next(_counter)}.sql"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="sql", version=1, text=text))
    )
    return uri


def end_of(text: str) -> types.Position:
    lines = text.split("\n")
    return types.Position(line=len(lines) - 1, character=len(lines[-1]))


async def complete(client, text: str):
    uri = await open_doc(client, text)
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=end_of(text))
    )
    return list(result.items if isinstance(result, types.CompletionList) else (result or []))


async def test_tables_after_from(client):
    items = await complete(client, "-- all albums\nSELECT * FROM ")
    assert {item.label for item in items} == CHINOOK_TABLES
    album = next(item for item in items if item.label == "Album")
    assert album.text_edit.new_text == "Album" and "3 columns" in album.detail


async def test_tables_after_join_filtered_by_nothing_typed_yet(client):
    items = await complete(client, "SELECT * FROM Album al JOIN ")
    assert {item.label for item in items} == CHINOOK_TABLES


async def test_alias_columns_after_where(client):
    items = await complete(client, "SELECT a.Name FROM Artist a WHERE a.")
    assert [item.label for item in items] == ["ArtistId", "Name"]
    assert "NVARCHAR(120)" in items[1].detail


async def test_columns_of_the_statement_tables_after_select(client):
    uri = await open_doc(client, "SELECT  FROM Genre")
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=7))
    )
    assert [item.label for item in result.items] == ["GenreId", "Name"]


async def test_mixed_case_names_are_quoted_for_postgres(chinook_postgres_url, tmp_path):
    client = await start(env=tiny_config(tmp_path), options={"connection": chinook_postgres_url, "trigger": "manual"})
    try:
        items = await complete(client, "SELECT * FROM ")
        new_text = {item.label: item.text_edit.new_text for item in items}
        assert {name.lower() for name in new_text} == {name.lower() for name in CHINOOK_TABLES}
        for label, text in new_text.items():
            assert text == (label if label == label.lower() else f'"{label}"')
    finally:
        await stop(client)


async def test_no_completion_inside_comments_or_strings(client):
    assert await complete(client, "-- SELECT * FROM ") == []
    assert await complete(client, "SELECT 'FROM ") == []


async def test_hover_shows_a_column_type_and_keys(client):
    text = "SELECT t.Milliseconds FROM Track t JOIN Album a ON a.AlbumId = t.AlbumId"
    uri = await open_doc(client, text)
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=12))
    )
    assert "Track.Milliseconds" in hover.contents.value and "INTEGER" in hover.contents.value
    assert hover.range == types.Range(start=types.Position(line=0, character=9), end=types.Position(line=0, character=21))
    column = text.index("t.AlbumId") + 3
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=column))
    )
    assert "Track.AlbumId" in hover.contents.value and "references Album.AlbumId" in hover.contents.value


async def test_hover_on_a_table(client):
    uri = await open_doc(client, "SELECT * FROM Artist")
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=16))
    )
    assert hover.contents.value.startswith("**Artist** (table, 2 columns)")


async def test_diagnostic_on_exactly_the_unknown_column(client):
    text = "-- every artist's name\nSELECT nme FROM Artist;\n-- SELECT bogus FROM nowhere\n"
    uri = await open_doc(client, text)
    while uri not in client.diagnostics:
        await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    (diagnostic,) = client.diagnostics[uri]
    assert diagnostic.range == types.Range(start=types.Position(line=1, character=7), end=types.Position(line=1, character=10))
    assert diagnostic.severity == types.DiagnosticSeverity.Error and "nme" in diagnostic.message


async def test_questions_and_commented_sql_get_no_diagnostics(client):
    text = "-- top 10 albums by sales\n/* SELECT nothing FROM nowhere */\n"
    uri = await open_doc(client, text)
    while uri not in client.diagnostics:
        await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert list(client.diagnostics[uri]) == []


async def test_diagnostics_follow_edits(client):
    text = "SELECT Name FROM Artist"
    uri = await open_doc(client, text)
    while uri not in client.diagnostics:
        await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    assert list(client.diagnostics[uri]) == []
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangePartial(
                range=types.Range(start=types.Position(line=0, character=17), end=types.Position(line=0, character=23)),
                text="Artists",
            )],
        )
    )
    while not client.diagnostics[uri]:
        await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    (diagnostic,) = client.diagnostics[uri]
    assert diagnostic.range == types.Range(start=types.Position(line=0, character=17), end=types.Position(line=0, character=24))


async def test_pull_diagnostics_when_the_client_supports_them(chinook_sqlite_url, tmp_path):
    client = await start(
        env=tiny_config(tmp_path), options={"connection": chinook_sqlite_url}, caps=capabilities(pull_diagnostics=True)
    )
    try:
        uri = await open_doc(client, "SELECT 1;\n\n  SELECT Title, nme FROM Album")
        report = await client.text_document_diagnostic_async(
            types.DocumentDiagnosticParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
        (diagnostic,) = report.items
        assert diagnostic.range == types.Range(start=types.Position(line=2, character=16), end=types.Position(line=2, character=19))
        assert uri not in client.diagnostics  # nothing pushed to a pull client
    finally:
        await stop(client)


async def test_file_header_overrides_the_connection(client, tmp_path_factory):
    import sqlite3

    other = tmp_path_factory.mktemp("other-db") / "shop.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE widgets (id INTEGER PRIMARY KEY, colour TEXT)")
    items = await complete(client, f"-- text2sql: connection=sqlite:///{other}\nSELECT * FROM ")
    assert [item.label for item in items] == ["widgets"]
    items = await complete(client, "SELECT * FROM ")  # other documents keep the setting's database
    assert {item.label for item in items} == CHINOOK_TABLES


async def test_a_connection_change_applies_without_a_restart(client, chinook_sqlite_url, tmp_path_factory):
    import sqlite3

    from tests.server.conftest import status

    other = tmp_path_factory.mktemp("changed-db") / "inventory.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE parts (id INTEGER PRIMARY KEY)")
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"text2sql": {"connection": f"sqlite:///{other}", "trigger": "manual"}})
    )
    try:
        assert (await status(client))["schema"]["connection"] == f"sqlite:///{other}"
        assert [item.label for item in await complete(client, "SELECT * FROM ")] == ["parts"]
    finally:
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"text2sql": {"connection": chinook_sqlite_url, "trigger": "manual"}})
        )
    assert {item.label for item in await complete(client, "SELECT * FROM ")} == CHINOOK_TABLES
