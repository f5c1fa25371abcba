"""What every bench script shares: numbers are taken on an idle machine or not at all, and
written as JSON beside the printed table."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

MAX_LOAD = 0.5


def add_force_flag(parser) -> None:
    parser.add_argument("--force", action="store_true", help=f"measure even when the load average is above {MAX_LOAD}")


def busy(force: bool) -> float | None:
    """The 1-minute load average, or None after telling the user the machine is too busy."""
    load = os.getloadavg()[0]
    if load > MAX_LOAD and not force:
        print(f"load average {load:.2f} > {MAX_LOAD}: the machine is busy; rerun when idle or pass --force",
              file=sys.stderr)
        return None
    return load


def publish(report: dict, out: str, table) -> int:
    """Write ``report`` as JSON to ``out`` and print its Markdown ``table``; exit status 0."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(report, indent=1))
    print(table(report))
    return 0
