"""The language server object: shared state plus thread-safe ways to talk to the client.

Each feature lives in its own module and registers its handlers with ``register(ls)``
(pygls style: thin handlers, the work happens in the engine). This class holds what
they share: the validated settings, the model and its load state, the database/schema
state, generation bookkeeping, and two executors — one thread for the model (one
generation at a time; the CPU is the bottleneck anyway) and a small pool for database
work — so nothing slow ever runs on the event loop that reads the client's messages.

Everything that reaches the client or the log goes through ``redact`` first: a
connection URL may carry a password.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from lsprotocol import types
from pygls.lsp.server import LanguageServer

from text2sql import __version__
from text2sql.server.database import Databases
from text2sql.server.generation import AdaptiveDebounce, AnswerCache, Counters, Pending
from text2sql.server.positions import offset_of, split_lines, to_text_position
from text2sql.server.protocol import Text2SQLProtocol
from text2sql.server.settings import ServerSettings

log = logging.getLogger("text2sql.server")

NOT_LOADED, LOADING, READY, ERROR = "not_loaded", "loading", "ready", "error"


def redact(text: Any) -> str:
    from text2sql.db import redact as engine_redact

    return engine_redact(str(text))


class Text2SQLServer(LanguageServer):
    """A pygls LanguageServer with text2sql's state."""

    def __init__(self) -> None:
        super().__init__(
            name="text2sql",
            version=__version__,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
            protocol_cls=Text2SQLProtocol,
        )
        self.settings = ServerSettings()
        self.initial_problems: list[str] = []  # settings problems found at initialize
        self.model_state = NOT_LOADED
        self.model_error: str | None = None
        self.model_name: str | None = None
        self.assistant = None  # text2sql.pipeline.Assistant: schemas now, the model once loaded
        self.databases = Databases(self)
        self.pending = Pending()
        self.answers = AnswerCache()
        self.counters = Counters()
        self.debounce = AdaptiveDebounce()
        self.model_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="text2sql-model")
        self.db_executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="text2sql-db")
        self.loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self.diagnostic_tasks: dict[str, asyncio.Task] = {}
        self._engine_settings = None
        self._shown: set[str] = set()

    # --- running work off the event loop -------------------------------------------------

    def bind_loop(self) -> None:
        """Remember the event loop (called from a handler, i.e. on the loop thread)."""
        if self.loop is None:
            self.loop = asyncio.get_running_loop()
            self._loop_thread = threading.get_ident()

    async def in_db_thread(self, fn: Callable, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.db_executor, lambda: fn(*args, **kwargs))

    def call_on_loop(self, coroutine, timeout: float | None = None):
        """Run a coroutine on the event loop from a worker thread and wait for it."""
        if self.loop is None or self.loop.is_closed():
            coroutine.close()
            raise RuntimeError("the server is not running")
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def on_loop(self, fn: Callable, *args) -> None:
        """Run ``fn(*args)`` on the event loop thread (sending is not thread-safe)."""
        if self.loop is None or threading.get_ident() == self._loop_thread:
            fn(*args)
        elif not self.loop.is_closed():
            self.loop.call_soon_threadsafe(fn, *args)

    # --- talking to the user, from any thread --------------------------------------------

    def show(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """One ``window/showMessage`` (redacted), also logged."""
        text = redact(message)
        log.log(_LEVELS.get(kind, logging.INFO), "%s", text)
        self.on_loop(self.window_show_message, types.ShowMessageParams(type=kind, message=text))

    def log_to_client(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        """One ``window/logMessage`` (redacted), also in the server log."""
        text = redact(message)
        log.log(_LEVELS.get(kind, logging.INFO), "%s", text)
        self.on_loop(self.window_log_message, types.LogMessageParams(type=kind, message=text))

    def progress(self, token, value) -> None:
        """Send a ``$/progress`` notification from any thread."""
        self.on_loop(_send_progress, self, token, value)

    def report_server_error(self, error: Exception, source) -> None:
        # pygls would show every protocol-level error in a popup; a malformed request
        # already got its error response, so the log is the right place for it.
        # Called straight from pygls's read loop: it must never raise.
        try:
            log.error("LSP error (%s): %s", getattr(source, "__name__", source), redact(error))
        except Exception:
            log.error("LSP error (%s)", getattr(source, "__name__", source))

    # --- the engine's view of the settings ----------------------------------------------

    def engine_settings(self):
        """Effective ``text2sql.config.Settings``: the client's settings over the user's
        config file over the defaults. A broken config file is reported once and skipped."""
        cached = self._engine_settings
        if cached is not None and cached[0] is self.settings:
            return cached[1]
        from text2sql.config import Settings, coerce_settings, read_config_file
        from text2sql.errors import ConfigError

        try:
            file_layer = read_config_file()
        except ConfigError as error:
            self.show_once(f"text2sql: ignoring the config file: {error}", types.MessageType.Warning)
            file_layer = {}
        effective, warnings = coerce_settings(file_layer, Settings())
        if warnings:
            self.show_once("text2sql config file: " + "; ".join(warnings), types.MessageType.Warning)
        effective, _ = coerce_settings(self.settings.client_layer(), effective)
        self._engine_settings = (self.settings, effective)
        return effective

    def new_assistant(self):
        """An engine ``Assistant`` for the current settings (the model is not loaded yet)."""
        from text2sql.pipeline import Assistant

        return Assistant(settings=self.engine_settings())

    def show_once(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """``show`` a message unless this exact message was shown before."""
        if message not in self._shown:
            self._shown.add(message)
            self.show(message, kind)

    # --- documents -------------------------------------------------------------------------

    @property
    def encoding(self) -> str:
        """The negotiated position encoding ("utf-16" unless the client offered another)."""
        encoding = self.workspace.position_encoding or types.PositionEncodingKind.Utf16
        return getattr(encoding, "value", encoding)

    def document(self, uri: str) -> tuple[str, list[str]]:
        """The text of an open document and its LSP lines; a document the client never
        opened is empty (never read from disk behind the client's back)."""
        document = self.workspace.text_documents.get(uri)
        text = document.source if document is not None else ""
        return text, split_lines(text)

    def cursor(self, uri: str, position: types.Position) -> tuple[str, list[str], int]:
        """Text, lines and the code-point offset of an LSP position in a document."""
        text, lines = self.document(uri)
        at = to_text_position(lines, position, self.encoding)
        return text, lines, offset_of(text, at)

    # --- capabilities the client told us about -------------------------------------------

    def client_supports(self, dotted: str) -> bool:
        node: Any = self.client_capabilities
        for part in dotted.split("."):
            node = getattr(node, part, None)
            if node is None:
                return False
        return bool(node)

    def refresh_diagnostics(self) -> None:
        """Check every open document again (new connection, refreshed schema)."""
        from text2sql.server.diagnostics import refresh

        refresh(self)

    def shutdown_work(self) -> None:
        """Cancel generations and stop the worker threads (on shutdown)."""
        self.pending.cancel_all()
        self.model_executor.shutdown(wait=False, cancel_futures=True)
        self.db_executor.shutdown(wait=False, cancel_futures=True)


_LEVELS = {
    types.MessageType.Error: logging.ERROR,
    types.MessageType.Warning: logging.WARNING,
    types.MessageType.Info: logging.INFO,
    types.MessageType.Log: logging.DEBUG,
}


def _send_progress(ls: Text2SQLServer, token, value) -> None:
    if isinstance(value, types.WorkDoneProgressBegin):
        ls.work_done_progress.begin(token, value)
    elif isinstance(value, types.WorkDoneProgressEnd):
        ls.work_done_progress.end(token, value)
    else:
        ls.work_done_progress.report(token, value)


def create_server() -> Text2SQLServer:
    """A server with every feature registered."""
    from text2sql.server import (
        commands,
        diagnostics,
        hover,
        inline,
        lifecycle,
        schema_completion,
        status,
    )

    ls = Text2SQLServer()
    for feature in (lifecycle, inline, schema_completion, hover, diagnostics, commands, status):
        feature.register(ls)
    return ls
