"""How a generated query is shown: highlighted SQL in Jupyter front ends (a ``sql`` code
block), plain text in a terminal, followed by the validation result."""

from __future__ import annotations


def _in_kernel(shell) -> bool:
    return getattr(shell, "kernel", None) is not None


def show_result(shell, result) -> None:
    """Display the SQL and what the validator said about it."""
    if result.problems:
        verdict = "\n".join(f"✗ {p}" for p in result.problems)
    else:
        verdict = f"✓ valid against the live schema (version {getattr(result, 'schema_version', '') or '?'})"
    if _in_kernel(shell):
        from IPython.display import Markdown, display

        display(Markdown(f"```sql\n{result.sql}\n```\n\n{verdict}"))
    else:
        print(result.sql)
        print(verdict)
