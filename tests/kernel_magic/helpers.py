"""Running notebook cells in a real IPython shell and reading everything they showed."""

from __future__ import annotations

from dataclasses import dataclass

from IPython.utils.capture import capture_output


@dataclass
class Cell:
    result: object  # the cell's value (a DataFrame with --run)
    error: BaseException | None  # what the cell raised (UsageError for user errors)
    stdout: str
    stderr: str
    displays: list[dict]  # the mimebundles it displayed
    display_ids: list  # per display: (display_id or None, whether it updated an earlier one)

    @property
    def shown(self) -> str:
        """What a terminal would show: printed text and the plain-text displays."""
        return "\n".join([self.stdout, *(b.get("text/plain", "") for b in self.displays)])

    @property
    def everything(self) -> str:
        """All a notebook would show for this cell, as text (error message included)."""
        shown = [str(value) for bundle in self.displays for value in bundle.values()]
        return "\n".join([self.stdout, self.stderr, *shown, str(self.error or ""), repr(self.result)])


def run(shell, source: str) -> Cell:
    """Run one cell the way a notebook does (errors are shown, never raised)."""
    with capture_output() as captured:
        outcome = shell.run_cell(source, store_history=False)
    error = outcome.error_in_exec or outcome.error_before_exec
    return Cell(outcome.result, error, captured.stdout, captured.stderr, [o.data for o in captured.outputs],
                [(o.transient.get("display_id"), o.update) for o in captured.outputs])


def ask(shell, line: str, question: str) -> Cell:
    """Run ``%%text2sql <line>`` with ``question`` as the cell body."""
    return run(shell, f"%%text2sql {line}\n{question}")


def rows(frame) -> list[tuple]:
    return [tuple(r) for r in frame.itertuples(index=False)]


def sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite:///")
