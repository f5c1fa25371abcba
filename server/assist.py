"""From a question in a document to SQL: the one path inline completion, the completion
fallback and the Generate command share.

In order: nothing until the model is ready (a log line says why); automatic requests
honour the ``trigger`` setting and wait out the adaptive debounce; a newer request for
the same document cancels this one (its cancel event is set, the engine stops between
tokens); a repeated question on an unchanged schema comes from the answer cache; the
generation runs in the model thread, reported with work-done progress when the client
gave a token. ``$/cancelRequest`` arrives as ``asyncio.CancelledError``: the cancel
event is set and the request ends at once, while the model thread winds down on its
own and only then stops counting as running.

Counters (for ``text2sql/status``): ``running`` generations in the model thread,
``finished`` with an answer, ``cancelled`` requests (superseded, ``$/cancelRequest``,
closed document, shutdown) — wherever they were when cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass

from lsprotocol import types

from text2sql.errors import GenerationCancelled, Text2SQLError
from text2sql.server.comments import Question
from text2sql.server.generation import CachedAnswer
from text2sql.server.server import READY, Text2SQLServer

log = logging.getLogger("text2sql.server")


@dataclass(frozen=True)
class Answer:
    sql: str
    problems: tuple = ()
    cached: bool = False


async def answer(
    ls: Text2SQLServer,
    uri: str,
    question: Question,
    *,
    automatic: bool,
    progress_token: types.ProgressToken | None = None,
) -> Answer | None:
    """SQL for ``question`` asked in ``uri``, or None (not ready, cancelled, failed)."""
    if automatic and ls.engine_settings().trigger == "manual":
        return None
    if ls.model_state != READY or ls.assistant is None:
        reason = f"failed to load: {ls.model_error}" if ls.model_error else f"is {ls.model_state.replace('_', ' ')}"
        ls.log_to_client(f"text2sql: no SQL suggestion yet, the model {reason}.", types.MessageType.Log)
        return None
    cancel = ls.pending.begin(uri)
    future = None
    try:
        if automatic:
            await asyncio.sleep(ls.debounce.delay(uri))
            if cancel.is_set():
                ls.counters.add("cancelled")
                return None
        text, _ = ls.document(uri)
        target = ls.databases.target_for(text)
        schema = await ls.in_db_thread(ls.databases.schema, target)
        if schema is not None:
            cached = ls.answers.get(schema.version, question.text)
            if cached is not None:
                log.info("answer cache hit for %r", question.text)
                return Answer(cached.sql, cached.problems, cached=True)
        future = ls.model_executor.submit(_generate, ls, ls.assistant, question.text, target, cancel, progress_token)
        result = await asyncio.wrap_future(future)
    except asyncio.CancelledError:
        cancel.set()
        # Not yet in the model thread (debounce, schema, queued): it ends here. Already
        # running: the model thread stops at the next token and counts it itself.
        if future is None or future.cancel():
            ls.counters.add("cancelled")
        raise
    finally:
        ls.pending.end(uri, cancel)
    if result is None:
        return None
    if not result.sql.strip():
        ls.log_to_client(f"text2sql: the model wrote no SQL for {question.text!r}.", types.MessageType.Log)
        return None
    ls.answers.put(result.schema_version, question.text, CachedAnswer(result.sql, tuple(result.problems)))
    return Answer(result.sql, tuple(result.problems))


def _generate(ls: Text2SQLServer, assistant, question: str, target, cancel: threading.Event, token):
    """Runs in the model thread. Returns the engine's Result, or None."""
    if cancel.is_set():  # cancelled while queued behind another generation
        ls.counters.add("cancelled")
        return None
    ls.counters.add("running")
    started = time.monotonic()
    outcome = "failed"
    on_token = None
    if token is not None:
        ls.progress(token, types.WorkDoneProgressBegin(title="text2sql: writing SQL", message=question, cancellable=True))
        written: list[str] = []

        def on_token(piece: str) -> None:
            written.append(piece)
            ls.progress(token, types.WorkDoneProgressReport(message="".join(written)))

    try:
        result = assistant.generate(
            question,
            target,
            cancel=cancel,
            on_token=on_token,
            max_new_tokens=ls.engine_settings().max_tokens,
            execute_check=False,  # the editor checks the inserted SQL itself (diagnostics)
        )
        if cancel.is_set():
            outcome = "cancelled"
            return None
        outcome = "finished"
        ls.debounce.observe_latency(time.monotonic() - started)
        return result
    except GenerationCancelled:
        outcome = "cancelled"
        return None
    except Text2SQLError as error:
        ls.log_to_client(f"text2sql: no SQL for {question!r}: {error}", types.MessageType.Warning)
        return None
    except Exception:
        log.exception("generation failed for %r", question)
        return None
    finally:
        ls.counters.finish(outcome)
        if token is not None:
            ls.progress(token, types.WorkDoneProgressEnd(message=outcome))
