"""Settings: one typed, documented model shared by the CLI, the language server and the
notebook magic, and the user config file that feeds it.

Precedence, highest first (documented once, in the README):

1. explicit arguments: CLI flags, magic options, a request's fields;
2. the per-file header of a .sql file (``-- text2sql: connection=shop``), server only;
3. client settings: LSP/VS Code settings, IPython ``%config Text2SQL.*``;
4. the user config file (TOML);
5. the defaults below.

The config file is ``$TEXT2SQL_CONFIG`` if set, else ``config.toml`` in the platform's
user config directory (``$XDG_CONFIG_HOME/text2sql/config.toml`` on Linux)::

    connection = "shop"            # default connection (a name below, or a URL)

    [model]
    path = "/models/my-gemma"      # HF model dir or .gguf; omit for the embedded default
    adapter = "none"               # peft adapter dir, "none", or omit for the shipped one
    precision = "auto"             # auto | nf4 | int8 | bf16 | fp32
    device = "auto"                # auto | cpu | cuda

    [connections.shop]
    url = "postgresql+psycopg://me:${SHOP_PASSWORD}@localhost/shop"
    exclude = ["users.password_hash", "*.ssn", "audit_*"]

``${NAME}`` is replaced by the environment variable NAME when the connection is used.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from text2sql.errors import ConfigError

PRECISIONS = ("auto", "nf4", "int8", "bf16", "fp32")
DEVICES = ("auto", "cpu", "cuda")
TRIGGERS = ("auto", "manual")


@dataclass(frozen=True)
class ConnectionConfig:
    """A database text2sql may use. ``url`` may hold ``${ENV}`` references until resolved."""

    name: str | None
    url: str
    exclude: tuple[str, ...] = ()  # tables ("audit_*") / columns ("users.password_hash") never shown nor queried
    samples: int = 3  # sample values per text column shown to the model (0 = none)
    row_limit: int | None = None  # overrides Settings.row_limit for this connection
    timeout_s: float | None = None  # overrides Settings.timeout_s for this connection


@dataclass(frozen=True)
class Settings:
    """Every setting of text2sql, with its default."""

    #: Default connection: a name from ``connections`` or a URL; None = bundled Chinook demo.
    connection: str | None = None
    #: Named connections from the config file (or client settings).
    connections: dict = field(default_factory=dict)
    #: Model: a Hugging Face model directory or a .gguf file; None = the embedded Gemma 3 270M.
    model: str | None = None
    #: LoRA adapter directory; None = the adapter shipped with text2sql (if any); "none" = no adapter.
    adapter: str | None = None
    #: Weights precision: auto (NF4 on CUDA, the measured fastest on CPU), nf4, int8, bf16, fp32.
    precision: str = "auto"
    #: Where the model runs: auto (CUDA when available), cpu, cuda.
    device: str = "auto"
    #: Editor inline completions: "auto" (as you type, debounced) or "manual" (on request only).
    trigger: str = "auto"
    #: Maximum new tokens per generated query.
    max_tokens: int = 256
    #: Candidates generated per question (the first valid one wins; 1 = greedy only).
    n_candidates: int = 1
    #: Maximum rows fetched when running a query.
    row_limit: int = 1000
    #: Statement timeout in seconds when running a query.
    timeout_s: float = 10.0
    #: Logging level of the server / CLI: debug, info, warning, error.
    log_level: str = "info"


_CHOICES = {"precision": PRECISIONS, "device": DEVICES, "trigger": TRIGGERS,
            "log_level": ("debug", "info", "warning", "error")}
_POSITIVE = {"max_tokens", "n_candidates", "row_limit", "timeout_s"}
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def config_path() -> Path:
    """Where the user config file is (it need not exist)."""
    explicit = os.environ.get("TEXT2SQL_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg) / "text2sql" / "config.toml"
    import platformdirs

    return Path(platformdirs.user_config_dir("text2sql")) / "config.toml"


def _connection_from(name: str | None, raw) -> ConnectionConfig:
    if isinstance(raw, ConnectionConfig):
        return raw
    if isinstance(raw, str):
        return ConnectionConfig(name=name, url=raw)
    if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
        raise ConfigError(f"connection {name!r} needs a url = \"...\" entry")
    exclude = raw.get("exclude", ())
    if isinstance(exclude, str):
        exclude = [exclude]
    return ConnectionConfig(
        name=name,
        url=raw["url"],
        exclude=tuple(str(p) for p in exclude),
        samples=int(raw.get("samples", 3)),
        row_limit=raw.get("row_limit"),
        timeout_s=raw.get("timeout_s"),
    )


def read_config_file(path: Path | None = None) -> dict:
    """The config file flattened into Settings fields (``{}`` when there is none)."""
    import tomllib

    path = path or config_path()
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: {err}") from err
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err}") from err
    flat = {k: v for k, v in data.items() if k not in ("model", "connections")}
    model = data.get("model", {})
    if isinstance(model, dict):
        for key in ("precision", "device", "adapter", "max_tokens", "n_candidates"):
            if key in model:
                flat[key] = model[key]
        if "path" in model:
            flat["model"] = model["path"]
    elif isinstance(model, str):
        flat["model"] = model
    if "connections" in data:
        flat["connections"] = data["connections"]
    return flat


def coerce_settings(raw: dict | None, base: Settings | None = None) -> tuple[Settings, list[str]]:
    """Settings from a dict of (possibly bad) values on top of ``base``: good values are
    kept, each bad one is reported in one warning line and left at its base value."""
    base = base or Settings()
    warnings: list[str] = []
    values = {}
    names = {f.name: f for f in dataclasses.fields(Settings)}
    aliases = {"maxTokens": "max_tokens", "nCandidates": "n_candidates", "rowLimit": "row_limit",
               "timeout": "timeout_s", "logLevel": "log_level"}
    for key, value in (raw or {}).items():
        key = aliases.get(key, key)
        if key not in names:
            warnings.append(f"unknown setting {key!r} ignored")
            continue
        if value is None or value == "":
            values[key] = getattr(Settings(), key)
            continue
        try:
            values[key] = _coerce(key, value)
        except (TypeError, ValueError) as err:
            warnings.append(f"setting {key}={value!r} is invalid ({err}); using {getattr(base, key)!r}")
    return dataclasses.replace(base, **values), warnings


def _coerce(key: str, value):
    if key in _CHOICES:
        text = str(value).lower()
        if text not in _CHOICES[key]:
            raise ValueError("expected one of " + ", ".join(_CHOICES[key]))
        return text
    if key in _POSITIVE:
        number = float(value) if key == "timeout_s" else int(value)
        if isinstance(value, bool) or number <= 0:
            raise ValueError("expected a positive number")
        return number
    if key == "connections":
        if not isinstance(value, dict):
            raise ValueError("expected a table of named connections")
        return {name: _connection_from(name, raw) for name, raw in value.items()}
    if not isinstance(value, str):
        raise ValueError("expected text")
    return value


def load_settings(*, client: dict | None = None, header: dict | None = None, explicit: dict | None = None,
                  config_file: Path | None = None, strict: bool = True) -> Settings:
    """Merge the layers in precedence order (defaults < file < client < header < explicit).

    With ``strict`` a bad value raises ConfigError (CLI); without it bad values fall back
    (use :func:`coerce_settings` directly to collect the warnings)."""
    settings = Settings()
    for layer in (read_config_file(config_file), client, header, {k: v for k, v in (explicit or {}).items() if v is not None}):
        settings, warnings = coerce_settings(layer, settings)
        if warnings and strict:
            raise ConfigError("; ".join(warnings))
    return settings


def parse_file_header(text: str) -> dict:
    """Settings from ``-- text2sql: key=value`` lines at the top of a .sql file (before
    the first line that is neither blank nor a comment)."""
    found: dict = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            break
        body = stripped[2:].strip()
        if body.lower().startswith("text2sql:"):
            for item in body.split(":", 1)[1].replace(",", " ").split():
                if "=" in item:
                    key, value = item.split("=", 1)
                    found[key.strip()] = value.strip()
    return found


def expand_env(text: str) -> str:
    """Replace ``${NAME}`` by the environment variable NAME (ConfigError when unset)."""

    def sub(match):
        name = match.group(1)
        if name not in os.environ:
            raise ConfigError(f"environment variable {name} is not set (referenced as ${{{name}}} in a connection URL)")
        return os.environ[name]

    return _ENV_REF.sub(sub, text)


def resolve_connection(name_or_url: str | None, settings: Settings | None = None) -> ConnectionConfig:
    """The connection to use: a configured name, a URL, or (None) the default connection,
    else the bundled Chinook demo. ``${ENV}`` references are expanded here."""
    settings = settings or Settings()
    target = name_or_url if name_or_url not in (None, "") else settings.connection
    if target in (None, ""):
        from text2sql.data import chinook_url

        return ConnectionConfig(name="chinook-demo", url=chinook_url())
    if target in settings.connections:
        conn = _connection_from(target, settings.connections[target])
    elif "://" in target or target.startswith("sqlite:"):
        conn = ConnectionConfig(name=None, url=target)
    else:
        known = ", ".join(sorted(settings.connections)) or "none configured"
        raise ConfigError(f"no connection named {target!r} (known: {known}; config file: {config_path()})")
    return dataclasses.replace(conn, url=expand_env(conn.url))
