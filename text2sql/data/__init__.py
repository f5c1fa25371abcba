"""Package data the product needs at run time: the Chinook demo database (MIT-style
license in CHINOOK_LICENSE.md) and, once trained, the default LoRA adapter."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent
CHINOOK_PATH = DATA_DIR / "chinook.sqlite"
DEFAULT_ADAPTER_DIR = DATA_DIR / "adapter"


def chinook_url() -> str:
    """SQLAlchemy URL of the bundled Chinook demo database (opened read-only by execute)."""
    return f"sqlite:///{CHINOOK_PATH}"
