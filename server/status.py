"""The custom ``text2sql/status`` request: what the server is doing, for status bars and tests.

Answer (all fields always present; the connection redacted)::

    {"model": {"state": "not_loaded|loading|ready|error", "name": ..., "error": ...},
     "schema": {"connection": ..., "version": ..., "tables": ..., "error": ...},
     "activity": {"running": n, "cancelled": n, "finished": n, "failed": n},
     "cache": {"hits": n, "misses": n, "size": n},
     "settings": {...}}

``activity`` counts generation requests: running in the model thread now, cancelled
(superseded, ``$/cancelRequest``, document closed), finished with an answer. It never
touches the database or the model: the answer is immediate, even while they are busy.
"""

from __future__ import annotations

from typing import Any

from text2sql.server.server import Text2SQLServer, redact
from text2sql.server.settings import describe

STATUS = "text2sql/status"


def register(ls: Text2SQLServer) -> None:
    @ls.feature(STATUS)
    def status(ls: Text2SQLServer, params: Any = None) -> dict:
        return snapshot(ls)


def snapshot(ls: Text2SQLServer) -> dict:
    target = ls.databases.default_target()
    effective = ls.engine_settings()
    schema = ls.databases.latest(target)
    return {
        "model": {"state": ls.model_state, "name": ls.model_name, "error": ls.model_error},
        "schema": {
            "connection": ls.databases.label(target),
            "version": schema.version if schema is not None else None,
            "tables": len(schema.tables) if schema is not None else None,
            "error": ls.databases.error_for(target),
        },
        "activity": ls.counters.snapshot(),
        "cache": {"hits": ls.answers.hits, "misses": ls.answers.misses, "size": len(ls.answers)},
        "settings": {**describe(ls.settings, redact), "effective": {
            "trigger": effective.trigger, "maxTokens": effective.max_tokens,
            "precision": effective.precision, "device": effective.device,
        }},
    }
