"""Which database a document talks to, its schema, and what to do when it is away.

A document's connection is the ``connection`` setting unless its header says
``-- text2sql: connection=<name>``. Schemas come from the ``Assistant`` (its thread-safe
schema cache: one introspection per connection, explicit refresh), the same ones the
model's prompts are built from. When a
connection fails — a bad URL, a wrong password, a server that is down — the user sees
ONE ``window/showMessage`` for that failure (redacted), schema features return nothing
instead of erroring, and the connection is retried with a growing back-off so a dead
server does not stall every keystroke; "Refresh schema" retries at once, and the first
success after a failure says so in the log.

The blocking methods here run in the server's database threads, never on the loop.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lsprotocol import types

from text2sql.errors import Text2SQLError

if TYPE_CHECKING:
    from text2sql.schema_model import Schema
    from text2sql.server.server import Text2SQLServer

log = logging.getLogger("text2sql.server")

DEMO = "<demo>"  # key of the default connection (user config default, else Chinook)


@dataclass
class _Failure:
    message: str
    attempts: int
    retry_at: float


class Databases:
    def __init__(self, server: "Text2SQLServer", clock=time.monotonic) -> None:
        self._server = server
        self._clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, _Failure] = {}
        self._latest: dict[str, "Schema"] = {}  # the last schema read per connection

    # --- which connection ------------------------------------------------------------------

    def target_for(self, document_text: str | None) -> str | None:
        """The connection a document uses: its header's, else the client setting, else the
        config file's default; None means the bundled Chinook demo."""
        if document_text:
            from text2sql.config import parse_file_header

            header = parse_file_header(document_text) or {}
            name = header.get("connection")
            if name:
                return str(name)
        return self.default_target()

    def default_target(self) -> str | None:
        return self._server.settings.connection or self._server.engine_settings().connection

    def label(self, target: str | None) -> str:
        """What to call a connection in messages and status (redacted)."""
        from text2sql.db import redact

        return redact(target) if target else "Chinook demo"

    # --- schemas (blocking) ----------------------------------------------------------------

    def schema(self, target: str | None, *, refresh: bool = False) -> "Schema | None":
        """The schema of ``target``, or None while it cannot be reached (reported once)."""
        key = target or DEMO
        with self._lock:
            failure = self._failures.get(key)
            if failure is not None and not refresh and self._clock() < failure.retry_at:
                return None
        try:
            schema = self._server.assistant.schema(target, refresh=refresh or failure is not None)
        except Text2SQLError as error:
            self._failed(key, target, error)
            return None
        except Exception as error:  # a driver error the engine did not wrap: same treatment
            log.exception("schema introspection failed for %s", self.label(target))
            self._failed(key, target, error)
            return None
        if failure is not None:
            with self._lock:
                self._failures.pop(key, None)
            self._server.log_to_client(f"Connected to {self.label(target)} again; schema features are back.")
        with self._lock:
            self._latest[key] = schema
        return schema

    def latest(self, target: str | None) -> "Schema | None":
        """The schema last read for ``target`` (no database access), or None."""
        with self._lock:
            return self._latest.get(target or DEMO)

    def error_for(self, target: str | None) -> str | None:
        with self._lock:
            failure = self._failures.get(target or DEMO)
        return failure.message if failure else None

    def forget_failures(self) -> None:
        """After a settings change: report failures of the new configuration afresh."""
        with self._lock:
            self._failures.clear()

    def _failed(self, key: str, target: str | None, error: Exception) -> None:
        from text2sql.db import redact

        message = redact(str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__)
        with self._lock:
            self._latest.pop(key, None)  # what was read before may no longer be true
            previous = self._failures.get(key)
            attempts = previous.attempts + 1 if previous else 1
            self._failures[key] = _Failure(message, attempts, self._clock() + min(60.0, 2.0 ** attempts))
        if previous is None:
            self._server.show(
                f"text2sql: cannot use {self.label(target)}: {message}. Schema completion, hover and "
                "diagnostics are off until it works; run \"Refresh schema\" to retry.",
                types.MessageType.Error,
            )
        else:
            log.info("still cannot use %s: %s", self.label(target), message)
