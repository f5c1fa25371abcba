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
