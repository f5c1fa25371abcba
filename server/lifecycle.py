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

    @ls.feature(types.INITIALIZED)
    def initialized(ls: Text2SQLServer, params: types.InitializedParams) -> None:
        ls.bind_loop()
        _report_problems(ls, getattr(ls, "initial_problems", []))
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
        start_model_load(ls)


def warm_schema(ls: Text2SQLServer) -> None:
    """Introspect the configured connection now, in a database thread: status shows its
    schema, completion is fast from the first request, and a connection that does not
    work is reported at once rather than at the first keystroke."""
    ls.db_executor.submit(ls.databases.schema, ls.settings.connection)


def _report_problems(ls: Text2SQLServer, problems: list[str]) -> None:
    if problems:
        ls.show("text2sql settings: " + " ".join(problems), types.MessageType.Warning)


def _redact(text: str) -> str:
    from text2sql.db import redact

    return redact(text)


def start_model_load(ls: Text2SQLServer) -> None:
    """Load (or reload) the model in the model thread, with work-done progress."""
    ls.model_state = LOADING
    ls.model_error = None
    generation = ls.model_generation = getattr(ls, "model_generation", 0) + 1
    token = f"text2sql-model-load-{uuid.uuid4().hex[:8]}" if ls.client_supports("window.work_done_progress") else None
    settings = ls.settings

    def begin() -> None:
        if token is None:
            return
        try:
            ls.call_on_loop(ls.work_done_progress.create_async(token), timeout=10)
        except Exception as error:  # the client refused or did not answer: no progress bar
            log.info("no work-done progress for the model load: %s", error)
            return
        ls.progress(token, types.WorkDoneProgressBegin(title="text2sql: loading the model", percentage=0, cancellable=False))

    def report(message: str, fraction: float | None = None) -> None:
        if token is not None:
            percentage = None if fraction is None else max(0, min(100, int(fraction * 100)))
            ls.progress(token, types.WorkDoneProgressReport(message=str(message), percentage=percentage))

    def load() -> None:
        begin()
        try:
            assistant = ls.build_assistant(settings)
            assistant.load(report)
        except Exception as error:  # a user error (ModelError) or a bug: both end up here
            if generation != ls.model_generation:
                return
            ls.model_state, ls.model_error = ERROR, _redact(str(error).strip() or type(error).__name__)
            if token is not None:
                ls.progress(token, types.WorkDoneProgressEnd(message=f"failed: {ls.model_error}"))
            ls.show(f"text2sql: the model could not be loaded: {ls.model_error}", types.MessageType.Error)
            log.debug("model load failed", exc_info=True)
            return
        if generation != ls.model_generation:  # settings changed meanwhile; a newer load runs
            return
        ls.assistant = assistant
        ls.model_name = ls.describe_model(assistant)
        ls.model_state = READY
        if token is not None:
            ls.progress(token, types.WorkDoneProgressEnd(message="ready"))
        ls.log_to_client(f"text2sql: model ready ({ls.model_name}).")

    # Not awaited: progress creation waits for the client, so it must not block the loop.
    ls.model_executor.submit(load)
