"""The schema features on every supported database: SQLite, DuckDB, and the machine's
PostgreSQL and MariaDB servers (Chinook loaded into each; unreachable servers skip,
except under CI=true)."""

import uuid

from lsprotocol import types

from tests.fixtures.tiny_model import tiny_config
from tests.server.conftest import running_server, status


def doc(client, text):
    uri = f"file:///work/db-{uuid.uuid4().hex[:6]}.sql"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="sql", version=1, text=text))
    )
    return uri


async def test_completion_hover_and_diagnostics(chinook_any_url, tmp_path):
    async with running_server(env=tiny_config(tmp_path), options={"connection": chinook_any_url, "trigger": "manual"}) as client:
        uri = doc(client, "SELECT * FROM ")
        result = await client.text_document_completion_async(
            types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=14))
        )
        tables = {item.label.lower(): item.text_edit.new_text for item in result.items}
        assert {"album", "artist", "track", "invoiceline"} <= set(tables)
        artist = tables["artist"]  # written so that this database finds the table (quoted in PostgreSQL)

        uri = doc(client, f"SELECT a. FROM {artist} a")
        result = await client.text_document_completion_async(
            types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=9))
        )
        columns = {item.label.lower(): item.text_edit.new_text for item in result.items}
        assert set(columns) == {"artistid", "name"}

        text = f"SELECT a.{columns['name']}, nme FROM {artist} a"
        uri = doc(client, text)
        hover = await client.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=10))
        )
        assert "name" in hover.contents.value.lower() and "CHAR" in hover.contents.value.upper()
        while uri not in client.diagnostics:
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        (diagnostic,) = client.diagnostics[uri]
        start = text.index("nme")
        assert (diagnostic.range.start.character, diagnostic.range.end.character) == (start, start + 3)
        assert (await status(client))["schema"]["tables"] == 11
