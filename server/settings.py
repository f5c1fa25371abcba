"""The language server's settings: typed, documented, validated in one place.

Clients send them as ``initializationOptions`` (flat) and in
``workspace/didChangeConfiguration`` (flat, or under a ``text2sql`` key as VS Code
sends its section). A bad value never stops the server: it falls back to its default,
and every problem of one update is reported in ONE ``window/showMessage``. Unknown keys
(other clients' settings, the VS Code client's own ``python`` or ``logLevel``) are
ignored. Empty strings and ``null`` mean "the default". Values only ever leave this
module redacted (``describe``): a connection URL may carry a password.

Per file, a ``-- text2sql: connection=<name>`` header overrides ``connection``
(parsed by ``text2sql.config.parse_file_header``).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

PRECISIONS = ("auto", "nf4", "int8", "bf16", "fp32")
TRIGGERS = ("auto", "manual")
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")
MAX_TOKENS_LIMIT = 4096
SECTION = "text2sql"


@dataclass(frozen=True)
class ServerSettings:
    """What the language server can be told by its client."""

    connection: str | None = field(
        default=None,
        metadata={"key": "connection", "doc": "A SQLAlchemy URL or a connection name from the user config; "
                  "unset: the config's default connection, else the bundled Chinook demo."},
    )
    model: str | None = field(
        default=None,
        metadata={"key": "model", "doc": "A local Hugging Face model directory or GGUF file; unset: the embedded default."},
    )
    adapter: str | None = field(
        default=None,
        metadata={"key": "adapter", "doc": "A peft adapter directory; \"none\" for no adapter; unset: the shipped adapter."},
    )
    precision: str = field(
        default="auto", metadata={"key": "precision", "doc": "Weights precision: " + ", ".join(PRECISIONS) + "."}
    )
    device: str = field(default="auto", metadata={"key": "device", "doc": "auto, cpu, mps, cuda or cuda:N."})
    trigger: str = field(
        default="auto",
        metadata={"key": "trigger", "doc": "auto: suggest SQL while typing (debounced); manual: only when asked "
                  "(inline-completion shortcut, completion list, or the Generate SQL command)."},
    )
    max_tokens: int | None = field(
        default=None,
        metadata={"key": "maxTokens", "doc": f"Most new tokens per generation, 1-{MAX_TOKENS_LIMIT}; unset or 0: the engine default."},
    )

    def model_key(self) -> tuple:
        """The settings that need the model loaded again when they change."""
        return (self.model, self.adapter, self.precision, self.device)


def documentation() -> list[tuple[str, str, Any]]:
    """(LSP key, description, default) for every setting, for the README and --help."""
    return [(f.metadata["key"], f.metadata["doc"], f.default) for f in dataclasses.fields(ServerSettings)]


def parse_settings(raw: Any, base: ServerSettings | None = None) -> tuple[ServerSettings, list[str]]:
    """Validate client settings; returns the settings and one line per bad value.

    ``base`` (the current settings) is NOT merged: a configuration update carries the
    whole section, so a key that is missing goes back to its default. It is only used
    when ``raw`` is not a settings object at all, to keep what the server has.
    """
    problems: list[str] = []
    if isinstance(raw, dict) and isinstance(raw.get(SECTION), dict):
        raw = raw[SECTION]
    if raw is None:
        return ServerSettings(), problems
    if not isinstance(raw, dict):
        problems.append(f"{SECTION} settings must be an object, not {type(raw).__name__}; kept the current settings.")
        return base or ServerSettings(), problems

    values: dict[str, Any] = {}
    values["connection"] = _text(raw, "connection", problems)
    values["model"] = _text(raw, "model", problems)
    adapter = _text(raw, "adapter", problems)
    values["adapter"] = adapter
    values["precision"] = _choice(raw, "precision", PRECISIONS, problems)
    values["trigger"] = _choice(raw, "trigger", TRIGGERS, problems)
    device = _text(raw, "device", problems)
    if device is not None and not _DEVICE.match(device.lower()):
        problems.append(f'{SECTION}.device is "{device}", not auto, cpu, mps, cuda or cuda:N; using "auto".')
        device = None
    values["device"] = (device or "auto").lower()
    values["max_tokens"] = _max_tokens(raw.get("maxTokens", raw.get("max_tokens")), problems)
    return ServerSettings(**values), problems


def _text(raw: dict, key: str, problems: list[str]) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{SECTION}.{key} must be a string, not {type(value).__name__}; using the default.")
        return None
    return value.strip() or None


def _choice(raw: dict, key: str, choices: tuple[str, ...], problems: list[str]) -> str:
    value = raw.get(key)
    if value is None or value == "":
        return choices[0]
    if isinstance(value, str) and value.strip().lower() in choices:
        return value.strip().lower()
    shown = value if isinstance(value, str) else repr(value)
    problems.append(f'{SECTION}.{key} is "{shown}", not one of {", ".join(choices)}; using "{choices[0]}".')
    return choices[0]


def _max_tokens(value: Any, problems: list[str]) -> int | None:
    if value is None or value == 0:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_TOKENS_LIMIT:
        problems.append(f"{SECTION}.maxTokens must be an integer from 1 to {MAX_TOKENS_LIMIT} (0 = default); using the default.")
        return None
    return value


def describe(settings: ServerSettings, redact) -> dict[str, Any]:
    """The settings as a JSON object for status and logs, connection redacted."""
    out = {f.metadata["key"]: getattr(settings, f.name) for f in dataclasses.fields(ServerSettings)}
    if out["connection"]:
        out["connection"] = redact(out["connection"])
    return out
