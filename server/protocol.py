"""The JSON-RPC layer, hardened: a malformed request gets an error response.

pygls turns a request whose params do not match the LSP types into a logged exception
and nothing else, so the client would wait forever for an answer. Here such a request
becomes an ``InvalidParams`` error response for its id, and the server carries on with
the next message. Notifications have no id to answer; they are logged and dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol

log = logging.getLogger("text2sql.server")


@dataclass
class MalformedRequest:
    """A request that could not be read; answered with ``error``."""

    id: Any
    method: str
    error: JsonRpcException
    jsonrpc: str = "2.0"


class Text2SQLProtocol(LanguageServerProtocol):
    def structure_message(self, data: dict[str, Any]):
        if isinstance(data, dict) and "jsonrpc" in data and "method" in data and "params" not in data:
            # JSON-RPC lets a request or notification omit params; pygls's fallback
            # message types (used for custom methods such as text2sql/status) require it.
            data = {**data, "params": None}
        try:
            return super().structure_message(data)
        except Exception as error:
            if isinstance(data, dict) and "id" in data and "method" in data and "jsonrpc" in data:
                if not isinstance(error, JsonRpcException):
                    error = JsonRpcInvalidParams()
                return MalformedRequest(data["id"], str(data["method"]), error)
            raise

    def handle_message(self, message):
        if isinstance(message, MalformedRequest):
            msg_id = message.id if isinstance(message.id, (int, str)) and not isinstance(message.id, bool) else None
            log.warning("answering a malformed %r request (id %r) with %s", message.method, msg_id, message.error.message)
            error = types.ResponseError(
                code=message.error.code,
                message=f"{message.error.message}: the params of {message.method!r} do not match the LSP specification",
            )
            self._send_data(types.ResponseErrorMessage(id=msg_id, error=error))
            return
        return super().handle_message(message)
