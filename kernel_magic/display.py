"""How the magic shows its work: the generated SQL, what the validator said, and plans.

Each is one display object with two representations: ``text/markdown`` (a fenced ``sql``
block, which Jupyter front ends highlight) and ``text/plain`` (what a terminal IPython
prints). The front end picks; nothing here has to guess where it runs. While the model
writes, a kernel shows the SQL growing in place (``LiveSQL``, a display handle updated
from the kernel's main thread); a terminal gets only the final result.
"""

from __future__ import annotations

import time


def _fence(text: str, language: str = "sql") -> str:
    fence = "```"
    while fence in text:  # a fence longer than any backtick run inside
        fence += "`"
    return f"{fence}{language}\n{text}\n{fence}"


def verdict_lines(result) -> list[str]:
    """One line per problem, or one line saying the SQL checked out; then any note (a
    column reference text2sql corrected)."""
    notes = [f"• {note}" for note in getattr(result, "notes", [])]
    if not result.problems:
        return ["✓ valid against the live schema", *notes]
    marks = {"error": "✗", "warning": "⚠"}
    return [f"{marks.get(p.severity, '•')} {p}" for p in result.problems] + notes


class GeneratedSQL:
    """The model's SQL and its verdict, for ``IPython.display.display``."""

    def __init__(self, sql: str, verdict: list[str], where: str = ""):
        self.sql, self.verdict, self.where = sql, verdict, where

    @classmethod
    def of(cls, result, where: str = "") -> GeneratedSQL:
        return cls(result.sql or "-- (the model wrote no SQL)", verdict_lines(result), where)

    def _footer(self) -> list[str]:
        return self.verdict + ([f"database: {self.where}"] if self.where else [])

    def __repr__(self) -> str:
        return "\n".join([self.sql, *self._footer()])

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self))

    def _repr_markdown_(self) -> str:
        return _fence(self.sql) + "\n\n" + "  \n".join(self._footer())


class Plan:
    """The database's query plan (``--explain``)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self.text)

    def _repr_markdown_(self) -> str:
        return _fence(self.text, "text")


def in_kernel(shell) -> bool:
    """A Jupyter kernel (where output can be updated in place), not a terminal."""
    return getattr(shell, "kernel", None) is not None


class LiveSQL:
    """The SQL as the model writes it, updated in place at most ``hz`` times a second."""

    def __init__(self, hz: float = 10.0):
        from IPython.display import display

        self.text, self.last, self.period = "", 0.0, 1.0 / hz
        self.handle = display(GeneratedSQL("", ["… writing"]), display_id=True)

    def __call__(self, piece: str) -> None:
        self.text += piece
        now = time.monotonic()
        if now - self.last >= self.period:
            self.last = now
            self.handle.update(GeneratedSQL(self.text, ["… writing"]))

    def finish(self, shown, note: str = "cancelled") -> None:
        """Replace the growing text with the final display, or (``shown=None``) leave the
        partial text marked with ``note``."""
        self.handle.update(shown if shown is not None else GeneratedSQL(self.text, [note]))
