"""text2sql: an offline SQL assistant.

A question ("top 10 albums by sales") becomes SQL written by a small local model,
checked against the live schema of a database, and optionally run read-only.

This module stays light on purpose: ``import text2sql`` loads neither torch nor any
front end. Heavy pieces are imported lazily by attribute access.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["Assistant", "Result", "__version__", "load_ipython_extension"]


def __getattr__(name: str):
    # Lazy public API: the pipeline pulls in the model runtime only when asked for.
    if name in ("Assistant", "Result"):
        from text2sql import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module 'text2sql' has no attribute {name!r}")


def load_ipython_extension(ipython):  # pragma: no cover - exercised by kernel tests
    """``%load_ext text2sql`` registers the ``%%text2sql`` magics."""
    from text2sql.kernel_magic import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython):  # pragma: no cover
    from text2sql.kernel_magic import unload_ipython_extension as _unload

    _unload(ipython)
