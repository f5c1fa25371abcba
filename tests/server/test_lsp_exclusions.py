"""Sensitive data stays out of the editor: a connection's ``exclude`` patterns hide
tables and columns from completion and hover, and queries touching them are flagged."""

import pytest
from lsprotocol import types

from tests.fixtures.tiny_model import tiny_config
from tests.server.conftest import running_server


@pytest.fixture
def env_with_excluding_connection(tmp_path, chinook_sqlite_url):
    env = tiny_config(tmp_path)
    with open(env["TEXT2SQL_CONFIG"], "a") as config:
        config.write(f'\n[connections.safe]\nurl = "{chinook_sqlite_url}"\nexclude = ["employee", "Customer.Phone", "*.Fax"]\n')
    return env


def doc(client, text):
    uri = "file:///work/excluded.sql"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="sql", version=1, text=text))
    )
    return uri


async def labels(client, uri, line, character):
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=line, character=character))
    )
    return [item.label for item in result.items]


async def test_excluded_tables_and_columns_never_reach_the_editor(env_with_excluding_connection):
    async with running_server(env=env_with_excluding_connection, options={"connection": "safe"}) as client:
        text = "SELECT c. FROM Customer c JOIN ;\nSELECT Phone, Fax FROM Customer"
        uri = doc(client, text)
        tables = await labels(client, uri, 0, len("SELECT c. FROM Customer c JOIN "))
        assert "Employee" not in tables and "Customer" in tables and len(tables) == 10
        columns = await labels(client, uri, 0, len("SELECT c."))
        assert "FirstName" in columns and "Phone" not in columns and "Fax" not in columns
        hover = await client.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=1, character=8))
        )
        assert hover is None or "Phone" not in hover.contents.value
        while uri not in client.diagnostics:
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        second = text.split("\n")[1]
        flagged = {second[d.range.start.character : d.range.end.character] for d in client.diagnostics[uri] if d.range.start.line == 1}
        assert {"Phone", "Fax"} <= flagged
