"""Lifecycle: settings at initialize and on change, the model loading in the background.

The model takes seconds to minutes to load, so ``initialized`` starts it in the model
thread and reports it with work-done ``$/progress`` (begin / report / end) when the
client supports that. Until it is ready, schema features work and inline requests
return nothing (with a log line). A settings change that touches the model
(``model``, ``adapter``, ``precision``, ``device``) loads it again; a new connection
only needs the schema features to look again.
"""

from __future__ import annotations

import logging
import uuid

from lsprotocol import types

from text2sql.server.server import ERROR, LOADING, READY, Text2SQLServer
from text2sql.server.settings import ServerSettings, describe, parse_settings

log = logging.getLogger("text2sql.server")


def register(ls: Text2SQLServer) -> None:
    @ls.feature(types.INITIALIZE)
    def initialize(ls: Text2SQLServer, params: types.InitializeParams) -> None:
        ls.bind_loop()
        settings, problems = parse_settings(params.initialization_options)
        ls.settings = settings
        ls.initial_problems = problems
        preload_engine()
        ls.assistant = ls.new_assistant()  # schema features work from here on

    @ls.feature(types.INITIALIZED)
    def initialized(ls: Text2SQLServer, params: types.InitializedParams) -> None:
        ls.bind_loop()
        _report_problems(ls, ls.initial_problems)
        log.info("settings: %s", describe(ls.settings, _redact))
        warm_schema(ls)
        start_model_load(ls)

    @ls.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)
    def did_change_configuration(ls: Text2SQLServer, params: types.DidChangeConfigurationParams) -> None:
        settings, problems = parse_settings(params.settings, base=ls.settings)
        _report_problems(ls, problems)
        apply_settings(ls, settings)

    @ls.feature(types.SHUTDOWN)
    def shutdown(ls: Text2SQLServer, params: None) -> None:
        ls.shutdown_work()

    @ls.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: Text2SQLServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.pending.cancel(uri)
        ls.debounce.forget(uri)
        task = ls.diagnostic_tasks.pop(uri, None)
        if task is not None:
            task.cancel()
        if not ls.client_supports("text_document.diagnostic"):  # pushed ones would linger
            ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


def preload_engine() -> None:
    """Import the engine's SQL modules on this thread, before worker threads start.

    The database and model threads would otherwise import sqlglot concurrently, and its
    circular package imports can deadlock two threads importing it at once (seen here:
    ``_DeadlockError`` on ``sqlglot.dialects.dialect``). torch stays in the model thread.
    """
    import sqlglot  # noqa: F401
    import sqlglot.optimizer  # noqa: F401

    import text2sql.prompt  # noqa: F401
    import text2sql.schema  # noqa: F401
    import text2sql.validate  # noqa: F401


def apply_settings(ls: Text2SQLServer, settings: ServerSettings) -> None:
    """Switch to new settings: reload the model only when a model setting changed."""
    previous = ls.settings
    ls.settings = settings
    log.info("settings changed: %s", describe(settings, _redact))
    if settings.connection != previous.connection:
        ls.databases.forget_failures()
        warm_schema(ls)
        ls.refresh_diagnostics()
    if settings.model_key() != previous.model_key():
        ls.answers.clear()
        ls.assistant = ls.new_assistant()
        start_model_load(ls)


def warm_schema(ls: Text2SQLServer) -> None:
    """Introspect the configured connection now, in a database thread: status shows its
    schema, completion is fast from the first request, and a connection that does not
    work is reported at once rather than at the first keystroke."""
    ls.db_executor.submit(ls.databases.schema, ls.databases.default_target())


def _report_problems(ls: Text2SQLServer, problems: list[str]) -> None:
    if problems:
        ls.show("text2sql settings: " + " ".join(problems), types.MessageType.Warning)


def _redact(text: str) -> str:
    from text2sql.db import redact

    return redact(text)


def start_model_load(ls: Text2SQLServer) -> None:
    """Load the current Assistant's model in the model thread, with work-done progress."""
    ls.model_state = LOADING
    ls.model_error = None
    ls.model_name = None
    assistant = ls.assistant
    wanted = ls.client_supports("window.work_done_progress")
    progress = _LoadProgress(ls, f"text2sql-model-load-{uuid.uuid4().hex[:8]}" if wanted else None)

    def load() -> None:
        progress.begin()
        try:
            assistant.load(progress.report)
        except Exception as error:  # a user error (ModelError) or a bug: both end up here
            if assistant is not ls.assistant:
                progress.end("superseded by a newer model setting")
                return
            ls.model_state, ls.model_error = ERROR, _redact(str(error).strip() or type(error).__name__)
            progress.end(f"failed: {ls.model_error}")
            ls.show(f"text2sql: the model could not be loaded: {ls.model_error}", types.MessageType.Error)
            log.debug("model load failed", exc_info=True)
            return
        if assistant is not ls.assistant:  # settings changed meanwhile; a newer load runs
            progress.end("superseded by a newer model setting")
            return
        ls.model_name = assistant.model_name
        ls.model_state = READY
        progress.end("ready")
        ls.log_to_client(f"text2sql: model ready ({ls.model_name}).")

    # Not awaited: creating the progress waits for the client, which must not block the loop.
    ls.model_executor.submit(load)


class _LoadProgress:
    """Work-done progress of one model load; silent when the client has none."""

    def __init__(self, ls: Text2SQLServer, token: str | None) -> None:
        self.ls = ls
        self.token = token

    def begin(self) -> None:
        if self.token is None:
            return
        try:
            self.ls.call_on_loop(self.ls.work_done_progress.create_async(self.token), timeout=10)
        except Exception as error:  # the client refused or did not answer: no progress bar
            log.info("no work-done progress for the model load: %s", error)
            self.token = None
            return
        self.ls.progress(self.token, types.WorkDoneProgressBegin(title="text2sql: loading the model", percentage=0))

    def report(self, stage: str, step: int | None = None, total: int | None = None) -> None:
        """The engine's load progress callback: ``(stage, step, total)``."""
        log.info("model load: %s", stage)
        if self.token is not None:
            percentage = max(0, min(99, int(100 * (step - 1) / total))) if step and total else None
            self.ls.progress(self.token, types.WorkDoneProgressReport(message=str(stage), percentage=percentage))

    def end(self, message: str) -> None:
        if self.token is not None:
            self.ls.progress(self.token, types.WorkDoneProgressEnd(message=message))
