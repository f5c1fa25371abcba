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


def cpu() -> dict:
    """This machine's CPU model and whether it computes bf16 natively (AVX512-BF16 or AMX):
    bf16 and w8a16 run several times slower without, so results say which it was."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        info = ""
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "unknown")
    return {"cpu": model, "native_bf16": "avx512_bf16" in info or "amx_bf16" in info}


def describe_cpu(machine: dict) -> str:
    if "cpu" not in machine:
        return ""
    return f"{machine['cpu']}, {'native' if machine['native_bf16'] else 'no native'} bf16"


def publish(report: dict, out: str, table) -> int:
    """Write ``report`` as JSON to ``out`` and print its Markdown ``table``; exit status 0."""
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    Path(out).write_text(json.dumps(report, indent=1))
    print(table(report))
    return 0
