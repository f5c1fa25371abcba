"""One exception hierarchy for the engine, so every front end can turn a user error into
one clear line (CLI exit code, LSP showMessage, IPython UsageError, HTTP 400) and let
real bugs surface as tracebacks."""

from __future__ import annotations


class Text2SQLError(Exception):
    """Base class of every error a user can cause; ``str(err)`` is the one-line message."""


class ConfigError(Text2SQLError):
    """A bad setting, config file, connection name or URL."""


class ConnectionFailed(Text2SQLError):
    """The database could not be reached (down, wrong password, missing file)."""


class ReadOnlyViolation(Text2SQLError):
    """The SQL is not a single read-only query, or touches an excluded object."""


class InvalidSQL(Text2SQLError):
    """The SQL does not parse or does not match the schema; carries the problems."""

    def __init__(self, message: str, problems=()):
        super().__init__(message)
        self.problems = list(problems)


class QueryFailed(Text2SQLError):
    """The database refused or aborted a query (error, timeout, limit)."""


class ModelError(Text2SQLError):
    """A model or adapter is missing, corrupt, or cannot be loaded."""


class GenerationCancelled(Text2SQLError):
    """Generation was cancelled cooperatively (newer request, interrupt)."""
