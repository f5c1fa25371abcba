"""The language server's settings: typed, documented, validated in one place.

Clients send them as ``initializationOptions`` (flat) and in
``workspace/didChangeConfiguration`` (flat, or under a ``text2sql`` key as VS Code
sends its section). They are the *client* layer of text2sql's settings
(``text2sql.config``: explicit > per-file header > client > config file > defaults), so
a setting the client leaves unset comes from the user's config file, and values are
validated by the engine's own rules (``coerce_settings``). A bad value never stops the
server: it is dropped (the lower layers apply), and every problem of one update is
reported in ONE ``window/showMessage``. Unknown keys (other clients' settings, the VS
Code client's ``python`` or ``logLevel``) are ignored; empty strings, ``null`` and a
``maxTokens`` of 0 mean "unset". Values only leave this module redacted (``describe``):
a connection URL may carry a password.

Per file, a ``-- text2sql: connection=<name>`` header overrides ``connection``
(``text2sql.config.parse_file_header``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

SECTION = "text2sql"


@dataclass(frozen=True)
class ServerSettings:
    """What the language server's client set; None = unset (config file or default)."""

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
        metadata={"key": "adapter", "doc": "A peft adapter directory, or \"none\"; unset: the shipped adapter."},
    )
    precision: str | None = field(
        default=None, metadata={"key": "precision", "doc": "Weights precision: auto, nf4, int8, w8a16, bf16 or fp32."}
    )
    device: str | None = field(default=None, metadata={"key": "device", "doc": "auto, cpu or cuda."})
    trigger: str | None = field(
        default=None,
        metadata={"key": "trigger", "doc": "auto: suggest SQL while typing (adaptive debounce); manual: only when "
                  "asked (inline-completion shortcut, completion list, or the Generate SQL command)."},
    )
    max_tokens: int | None = field(
        default=None, metadata={"key": "maxTokens", "doc": "Most new tokens per generated query; unset or 0: the default."}
    )

    def client_layer(self) -> dict[str, Any]:
        """The set values, named as ``text2sql.config.Settings`` names them."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}

    def model_key(self) -> tuple:
        """The settings that need the model loaded again when they change."""
        return (self.model, self.adapter, self.precision, self.device)


_BY_KEY = {f.metadata["key"]: f.name for f in dataclasses.fields(ServerSettings)}
_BY_KEY["max_tokens"] = "max_tokens"


def documentation() -> list[tuple[str, str]]:
    """(LSP key, description) for every setting, for the README and --help."""
    return [(f.metadata["key"], f.metadata["doc"]) for f in dataclasses.fields(ServerSettings)]


def parse_settings(raw: Any, base: ServerSettings | None = None) -> tuple[ServerSettings, list[str]]:
    """Validate client settings; returns the settings and one line per bad value.

    A configuration update carries the whole section, so a key that is missing is unset
    (``base`` is NOT merged); ``base`` is kept only when ``raw`` is not an object at all.
    """
    from text2sql.config import coerce_settings

    problems: list[str] = []
    if isinstance(raw, dict) and isinstance(raw.get(SECTION), dict):
        raw = raw[SECTION]
    if raw is None:
        return ServerSettings(), problems
    if not isinstance(raw, dict):
        problems.append(f"{SECTION} settings must be an object, not {type(raw).__name__}; kept the current settings.")
        return base or ServerSettings(), problems

    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = _BY_KEY.get(key)
        if name is None:
            continue
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "" or (name == "max_tokens" and value == 0 and not isinstance(value, bool)):
            continue
        if name == "max_tokens" and (isinstance(value, bool) or not isinstance(value, int)):
            problems.append(f"{SECTION}.maxTokens must be a whole number, not {value!r}; using the default.")
            continue
        if name != "max_tokens" and not isinstance(value, str):
            problems.append(f"{SECTION}.{key} must be text, not {value!r}; using the default.")
            continue
        coerced, warnings = coerce_settings({name: value})
        if warnings:
            problems.append(f"{SECTION}.{key}: " + "; ".join(w.replace("setting ", "", 1) for w in warnings) + ".")
            continue
        values[name] = getattr(coerced, name)
    return ServerSettings(**values), problems


def describe(settings: ServerSettings, redact) -> dict[str, Any]:
    """The client's settings as a JSON object for status and logs, connection redacted."""
    out = {f.metadata["key"]: getattr(settings, f.name) for f in dataclasses.fields(ServerSettings)}
    if out["connection"]:
        out["connection"] = redact(out["connection"])
    return out
