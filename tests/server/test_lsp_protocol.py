"""The server over stdio: malformed and unknown requests get error responses and the
server keeps answering; bad settings give one message; status answers at once."""

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.fixtures.tiny_model import tiny_config
from tests.server.conftest import running_server, send_raw, status


async def test_malformed_request_gets_an_error_and_the_next_request_is_answered(tmp_path):
    async with running_server(env=tiny_config(tmp_path)) as client:
        # A hover whose params miss textDocument and have a string position.
        with pytest.raises(JsonRpcException) as failure:
            await send_raw(client, {"jsonrpc": "2.0", "id": "bad-1", "method": "textDocument/hover",
                                    "params": {"position": "nowhere"}})
        assert failure.value.code == -32602  # InvalidParams
        with pytest.raises(JsonRpcException) as failure:
            await send_raw(client, {"jsonrpc": "2.0", "id": "bad-2", "method": "text2sql/noSuchMethod", "params": {"x": 1}})
        assert failure.value.code == -32601  # MethodNotFound
        # A notification with bad params has no answer, and stops nothing.
        send_raw(client, {"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": 7}})
        # Not JSON at all.
        client.protocol.writer.write(b"Content-Length: 9\r\n\r\n{not json")
        reply = await status(client)
        assert reply["model"]["state"] in ("loading", "ready")
        # Protocol errors are answered and logged, never shown as popups.
        assert client.messages == []


async def test_bad_settings_fall_back_with_exactly_one_message(tmp_path):
    options = {"precision": "fp8", "trigger": "sometimes", "maxTokens": -3}
    async with running_server(env=tiny_config(tmp_path), options=options) as client:
        params = await client.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
        assert "precision" in params.message and "trigger" in params.message and "maxTokens" in params.message
        reply = await status(client)
        assert reply["settings"]["precision"] is None and reply["settings"]["maxTokens"] is None
        assert reply["settings"]["effective"]["trigger"] == "auto"
        assert reply["settings"]["effective"]["precision"] == "fp32"  # from the user config file
        assert len([m for m in client.messages if "settings" in m.message]) == 1


async def test_without_a_model_schema_features_work_and_inline_requests_say_why(tmp_path, chinook_sqlite_url):
    missing = tmp_path / "no-such-model"
    options = {"model": str(missing), "connection": chinook_sqlite_url}
    async with running_server(env=tiny_config(tmp_path), options=options) as client:
        while not client.messages:
            await client.wait_for_notification(types.WINDOW_SHOW_MESSAGE)
        (message,) = client.messages
        assert message.type == types.MessageType.Error and str(missing) in message.message
        reply = await status(client)
        assert reply["model"]["state"] == "error" and str(missing) in reply["model"]["error"]

        uri = "file:///work/no-model.sql"
        client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(
            uri=uri, language_id="sql", version=1, text="-- How many albums are there?\n\nSELECT * FROM ")))
        result = await client.text_document_inline_completion_async(types.InlineCompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=1, character=0),
            context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked)))
        assert list(result.items) == []
        assert any("failed to load" in m.message for m in client.log_messages)
        completion = await client.text_document_completion_async(types.CompletionParams(
            text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=2, character=14)))
        assert "Album" in {item.label for item in completion.items}  # schema features do not need the model
