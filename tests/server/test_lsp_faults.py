"""Faults over stdio: a bad connection, a database that goes away and comes back, and
passwords that must never reach the client or the log."""

import uuid

import pytest
import sqlalchemy as sa
from lsprotocol import types

from tests.fixtures.databases import PG_ADMIN_URL, server_database
from tests.fixtures.tiny_model import tiny_config
from tests.server.conftest import start, status, stop

SECRET = "hunter2-Secret"


async def wait_for_message(client, predicate):
    """Wait until a window/showMessage matching ``predicate`` has arrived."""
    while not any(predicate(m.message) for m in client.messages):
        await client.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
    return [m for m in client.messages if predicate(m.message)]


async def wait_for_log(client, predicate):
    while not any(predicate(m.message) for m in client.log_messages):
        await client.wait_for_notification(types.WINDOW_LOG_MESSAGE)


async def table_labels(client, uri):
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=14))
    )
    return sorted(item.label for item in result.items)


def open_doc(client, text, name="q"):
    uri = f"file:///work/{name}-{uuid.uuid4().hex[:6]}.sql"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="sql", version=1, text=text))
    )
    return uri


async def refresh(client):
    return await client.workspace_execute_command_async(types.ExecuteCommandParams(command="text2sql.refreshSchema"))


@pytest.mark.parametrize(
    "connection,expected",
    [
        ("no-such-connection", "no connection named"),
        ("postgresql+psycopg://me:" + SECRET + "@127.0.0.1:1/nowhere", "Connection refused"),
        ("sqlite:////nonexistent/dir/chinook.sqlite", "no such SQLite database file"),
    ],
)
async def test_bad_connection_gives_one_message_and_the_server_keeps_working(tmp_path, connection, expected):
    log_file = tmp_path / "server.log"
    client = await start(env=tiny_config(tmp_path), options={"connection": connection}, log_file=log_file)
    try:
        (message,) = await wait_for_message(client, lambda text: "cannot use" in text)
        assert message.type == types.MessageType.Error and expected in message.message
        uri = open_doc(client, "SELECT * FROM ")
        for _ in range(3):  # schema features degrade: empty answers, not errors, no new popups
            assert await table_labels(client, uri) == []
        hover = await client.text_document_hover_async(
            types.HoverParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=0, character=2))
        )
        assert hover is None
        reply = await status(client)
        assert expected in reply["schema"]["error"] and reply["schema"]["version"] is None
        assert len([m for m in client.messages if "cannot use" in m.message]) == 1
        shown = [m.message for m in client.messages] + [m.message for m in client.log_messages] + [str(reply)]
        assert not any(SECRET in text for text in shown)
    finally:
        await stop(client)
    assert SECRET not in log_file.read_text()


@pytest.fixture
def postgres_database():
    """A PostgreSQL database this test may drop and create again: (url with a password, admin, name)."""
    admin, name, url = server_database(PG_ADMIN_URL, "PostgreSQL")
    # trust authentication ignores the password: it is there to prove it never leaks
    url = sa.engine.make_url(url).set(password=SECRET).render_as_string(hide_password=False)
    yield url, admin, name
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()


def create_tables(url, *names):
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for name in names:
            conn.exec_driver_sql(f"CREATE TABLE {name} (id integer PRIMARY KEY, label text)")
    engine.dispose()


async def test_database_goes_away_and_comes_back(postgres_database, tmp_path):
    url, admin, name = postgres_database
    create_tables(url, "artist")
    log_file = tmp_path / "server.log"
    client = await start(env=tiny_config(tmp_path), options={"connection": url}, log_file=log_file)
    try:
        uri = open_doc(client, "SELECT * FROM ")
        assert await table_labels(client, uri) == ["artist"]

        with admin.connect() as conn:  # the database disappears, connections and all
            conn.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")
        report = await refresh(client)
        (failure,) = await wait_for_message(client, lambda text: "cannot use" in text)
        assert name in failure.message and failure.type == types.MessageType.Error
        assert "error" in str(report)
        assert await table_labels(client, uri) == []  # degraded, not broken
        assert (await status(client))["schema"]["error"]

        with admin.connect() as conn:  # it comes back, with a new table
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
        create_tables(url, "artist", "album")
        report = await refresh(client)
        await wait_for_log(client, lambda text: "again" in text)
        assert await table_labels(client, uri) == ["album", "artist"]
        reply = await status(client)
        assert reply["schema"]["error"] is None and reply["schema"]["tables"] == 2
        assert len([m for m in client.messages if "cannot use" in m.message]) == 1
        shown = [m.message for m in client.messages] + [m.message for m in client.log_messages] + [str(reply), str(report)]
        assert not any(SECRET in text for text in shown)
    finally:
        await stop(client)
    assert SECRET not in log_file.read_text()
