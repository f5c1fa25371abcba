"""What every bench script shares: numbers are taken on an idle machine or not at all."""

from __future__ import annotations

import os
import sys

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
