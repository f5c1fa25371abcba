"""A problem found in a piece of SQL, positioned the way sqlglot reports errors
(1-based line and column) so front ends can map it straight onto an LSP range
(0-based) or print ``line:col`` in the CLI."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    message: str
    code: str  # "syntax" | "unknown-table" | "unknown-column" | "ambiguous-column" | "not-read-only" | "excluded" | "empty" | "execution"
    line: int = 1  # 1-based
    column: int = 1  # 1-based, first character of the offending text
    end_line: int | None = None  # 1-based, inclusive line of the last character
    end_column: int | None = None  # 1-based, exclusive column after the last character
    severity: str = "error"  # "error" | "warning"

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message} [{self.code}]"
