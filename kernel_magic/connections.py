"""Which database a ``%%text2sql`` cell talks to, and whether it is there.

Order: ``--db`` > ``%text2sql_connect`` > JupySQL's active ``%sql`` connection > the
``connection`` setting > the bundled Chinook demo. JupySQL is only looked at when the
notebook already imported it: it is never imported here (it sends telemetry, and nothing
text2sql does may leave the machine) and never required. Its engine is not used either:
text2sql opens its own read-only engine on the same URL.
"""

from __future__ import annotations

import sys


def jupysql_url() -> str | None:
    """The URL (password included, for connecting) of JupySQL's current connection, when
    JupySQL is loaded and that connection is a SQLAlchemy one; otherwise None."""
    module = sys.modules.get("sql.connection")
    if module is None:
        return None
    try:
        current = getattr(getattr(module, "ConnectionManager", None), "current", None)
        # SQLAlchemyConnection.url is redacted ("***"); the engine's URL is the real one.
        engine = getattr(getattr(current, "connection_sqlalchemy", None), "engine", None)
        url = getattr(engine, "url", None)
        if url is None or not hasattr(url, "render_as_string"):
            return None  # no connection, or a plain DB-API one (no URL to reopen)
        return url.render_as_string(hide_password=False)
    except Exception:  # a JupySQL version shaped differently: simply not reused
        return None


def choose_target(db_option: str | None, connected: str | None, settings) -> str | None:
    """The connection name or URL for a cell (None: the configured default / demo)."""
    for candidate in (db_option, connected, jupysql_url(), settings.connection):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return None


def ensure_reachable(engine) -> None:
    """ConnectionFailed (one redacted line) unless the database answers now.

    Pooled connections of a database that went away and came back are dead; the pool is
    emptied first, so a database that is back is seen as back at once."""
    from text2sql.db import check_connection

    engine.dispose()
    check_connection(engine)
