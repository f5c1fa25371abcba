"""One model per kernel (or Jupyter server), and generation that a kernel interrupt can stop.

``assistant_for(settings)`` keeps one ``text2sql.pipeline.Assistant`` per model
configuration for the life of the process, so the model loads once (with a progress bar)
and later cells only pay for generation.

``generate_interruptibly`` runs ``Assistant.generate`` in a worker thread while the
kernel's main thread waits. IPython delivers Ctrl-C / "Interrupt kernel" as a
KeyboardInterrupt in the main thread only; catching it there sets the worker's cancel
event, the model stops at its next decoding step, and the kernel is free for the next cell.
Streamed text pieces are handed to ``on_piece`` in the main thread (where IPython's
display machinery lives) through a one-slot queue, so the worker never runs ahead of what
the notebook has been shown.
"""

from __future__ import annotations

import queue
import threading

_assistants: dict[tuple, object] = {}  # one Assistant per model configuration
_assistants_lock = threading.Lock()


def assistant_for(settings):
    """The process-wide Assistant for these model settings; ``settings`` (connections,
    limits) is refreshed on every call, the model is not reloaded."""
    from text2sql.pipeline import Assistant

    key = (settings.model, settings.adapter, settings.precision, settings.device)
    with _assistants_lock:
        assistant = _assistants.get(key)
        if assistant is None:
            assistant = _assistants[key] = Assistant(
                model=settings.model, adapter=settings.adapter, precision=settings.precision,
                device=settings.device, settings=settings)
        assistant.settings = settings
        return assistant


class Cancelled(Exception):
    """The user interrupted: nothing was generated (the kernel is fine)."""


def generate_interruptibly(assistant, question: str, database, *, n: int, on_piece=None):
    """``assistant.generate(...)`` that a KeyboardInterrupt in the calling thread cancels.

    Returns the Result; raises ``Cancelled`` when interrupted (or when the model reports
    its own cancellation), and re-raises whatever the generation raised otherwise."""
    from text2sql.errors import GenerationCancelled

    cancel = threading.Event()
    pieces: queue.Queue = queue.Queue(maxsize=1)
    outcome: dict = {}

    def on_token(piece: str) -> None:  # worker thread: wait for the main thread to take it
        while not cancel.is_set():
            try:
                pieces.put(piece, timeout=0.05)
                return
            except queue.Full:
                continue

    def work() -> None:
        try:
            outcome["result"] = assistant.generate(question, database, n=n, cancel=cancel,
                                                   on_token=on_token if on_piece else None)
        except BaseException as err:  # handed to the main thread below
            outcome["error"] = err

    worker = threading.Thread(target=work, name="text2sql-generate", daemon=True)
    worker.start()
    try:
        while worker.is_alive() or not pieces.empty():
            try:
                piece = pieces.get(timeout=0.05)
            except queue.Empty:
                continue
            if on_piece is not None:
                on_piece(piece)
    except KeyboardInterrupt:
        cancel.set()
        _drain_until_done(worker, pieces)
        raise Cancelled() from None
    except BaseException:
        cancel.set()  # a failing display must not leave the model running
        _drain_until_done(worker, pieces)
        raise
    error = outcome.get("error")
    if isinstance(error, GenerationCancelled):
        raise Cancelled() from None
    if error is not None:
        raise error
    return outcome["result"]


def _drain_until_done(worker: threading.Thread, pieces: queue.Queue) -> None:
    """Wait for a cancelled worker, emptying the queue so it is never blocked on it."""
    while worker.is_alive():
        try:
            pieces.get_nowait()
        except queue.Empty:
            pass
        worker.join(0.05)
