"""Settings: one typed, documented model shared by the CLI, the language server and the
notebook magic, and the user config file that feeds it.

Precedence, highest first (documented once, in the README):

1. explicit arguments: CLI flags, magic options, a request's fields;
2. the per-file header of a .sql file (``-- text2sql: connection=shop``), server only;
3. client settings: LSP/VS Code settings, IPython ``%config Text2SQL.*``;
4. the user config file (TOML);
5. the defaults below.

A layer that leaves a value unset (missing, ``None`` or ``""``) lets the layer below
show through; ``connections`` merge by name (a higher layer replaces a whole entry).

The config file is ``$TEXT2SQL_CONFIG`` if set, else ``config.toml`` in the platform's
user config directory (``$XDG_CONFIG_HOME/text2sql/config.toml`` on Linux)::

    connection = "shop"            # default connection (a name below, or a URL)
    row_limit = 1000               # also: timeout_s, trigger, log_level, max_tokens, n_candidates,
                                   # constrained_decoding, restricted_vocabulary

    [model]
    path = "/models/my-gemma"      # HF model dir or .gguf; omit for the embedded default
    adapter = "none"               # peft adapter dir, "none", or omit for the shipped one
    precision = "auto"             # auto | nf4 | int8 | w8a16 | bf16 | fp32
    device = "auto"                # auto | cpu | cuda

    [connections.shop]
    url = "postgresql+psycopg://me:${SHOP_PASSWORD}@localhost/shop"
    exclude = ["users.password_hash", "*.ssn", "audit_*"]

``${NAME}`` is replaced by the environment variable NAME when the connection is used
(:func:`resolve_connection`), so secrets stay out of the file.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from text2sql.errors import ConfigError

PRECISIONS = ("auto", "nf4", "int8", "w8a16", "bf16", "fp32")
DEVICES = ("auto", "cpu", "cuda")
TRIGGERS = ("auto", "manual")
LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True, repr=False)
class ConnectionConfig:
    """A database text2sql may use. ``url`` may hold ``${ENV}`` references until resolved;
    the repr hides its password, so a ConnectionConfig can be logged."""

    #: The name in the config file; None for a URL given directly.
    name: str | None
    #: SQLAlchemy URL (``${ENV}`` expanded by :func:`resolve_connection`).
    url: str
    #: Tables (``audit_*``) and columns (``users.password_hash``, ``*.ssn``) never shown nor queried.
    exclude: tuple[str, ...] = ()
    #: Distinct sample values per text column shown to the model (0 = none).
    samples: int = 3
    #: Overrides ``Settings.row_limit`` for this connection.
    row_limit: int | None = None
    #: Overrides ``Settings.timeout_s`` for this connection.
    timeout_s: float | None = None

    def __repr__(self) -> str:
        from text2sql.db import redact

        return (f"ConnectionConfig(name={self.name!r}, url={redact(self.url)!r}, exclude={self.exclude!r}, "
                f"samples={self.samples!r}, row_limit={self.row_limit!r}, timeout_s={self.timeout_s!r})")


@dataclass(frozen=True, repr=False)
class Settings:
    """Every setting of text2sql, with its default (the repr hides passwords)."""

    #: Default connection: a name from ``connections`` or a URL; None = bundled Chinook demo.
    connection: str | None = None
    #: Named connections (config file, client settings), by name.
    connections: dict[str, ConnectionConfig] = field(default_factory=dict)
    #: Model: a Hugging Face model directory or a .gguf file; None = the embedded Gemma 3 270M.
    model: str | None = None
    #: LoRA adapter directory; None = the adapter shipped with text2sql (if any); "none" = no adapter.
    adapter: str | None = None
    #: Weights precision: auto (NF4 on CUDA, the measured fastest on CPU), nf4, int8 (int8 output head),
    #: w8a16 (int8 weights, bf16 activations; CPU), bf16, fp32.
    precision: str = "auto"
    #: Where the model runs: auto (CUDA when available), cpu, cuda.
    device: str = "auto"
    #: Editor inline completions: "auto" (as you type, debounced) or "manual" (on request only).
    trigger: str = "auto"
    #: Maximum new tokens per generated query.
    max_tokens: int = 256
    #: Candidates generated per question (greedy, then beams): the first that validates, runs and
    #: answers something wins (``Assistant.generate``); 1 = greedy only.
    n_candidates: int = 1
    #: Keep the names the model writes to the schema's tables and columns while decoding.
    constrained_decoding: bool = True
    #: Score only the tokens SQL for the prompt can use (keywords, the schema's and the
    #: question's words, short ASCII pieces) instead of all 262k: faster decoding.
    restricted_vocabulary: bool = True
    #: Maximum rows fetched when running a query.
    row_limit: int = 1000
    #: Statement timeout in seconds when running a query.
    timeout_s: float = 10.0
    #: Logging level of the server / CLI: debug, info, warning, error.
    log_level: str = "info"

    def __repr__(self) -> str:
        from text2sql.db import redact

        parts = [f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self)]
        parts[0] = f"connection={redact(self.connection) if self.connection else None!r}"
        return f"Settings({', '.join(parts)})"


_CHOICES = {"precision": PRECISIONS, "device": DEVICES, "trigger": TRIGGERS, "log_level": LOG_LEVELS}
_WHOLE = {"max_tokens", "n_candidates", "row_limit"}
_SECONDS = {"timeout_s"}
_FLAGS = {"constrained_decoding", "restricted_vocabulary"}
# camelCase spellings used by editor settings.
_ALIASES = {"maxTokens": "max_tokens", "nCandidates": "n_candidates", "rowLimit": "row_limit",
            "timeout": "timeout_s", "timeoutS": "timeout_s", "logLevel": "log_level",
            "constrainedDecoding": "constrained_decoding", "restrictedVocabulary": "restricted_vocabulary"}
_MODEL_KEYS = {"path": "model", "adapter": "adapter", "precision": "precision", "device": "device",
               "max_tokens": "max_tokens", "n_candidates": "n_candidates",
               "constrained_decoding": "constrained_decoding", "restricted_vocabulary": "restricted_vocabulary"}
_CONNECTION_KEYS = {"url", "exclude", "samples", "row_limit", "timeout_s"}
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def config_path() -> Path:
    """Where the user config file is (it need not exist)."""
    explicit = os.environ.get("TEXT2SQL_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg:  # honoured on every platform, not only where platformdirs does
        return Path(xdg).expanduser() / "text2sql" / "config.toml"
    import platformdirs

    return Path(platformdirs.user_config_dir("text2sql")) / "config.toml"


def read_config_file(path: Path | None = None) -> dict:
    """The config file as one flat settings layer (``{}`` when there is none).

    ConfigError, naming the file and the line, when it is not valid TOML."""
    import tomllib

    path = Path(path) if path is not None else config_path()
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:  # its message ends with "(at line L, column C)"
        raise ConfigError(f"{path}: not valid TOML: {err}") from err
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read the config file {path}: {err}") from err
    flat = {key: value for key, value in data.items() if key != "model"}
    model = data.get("model")
    if isinstance(model, dict):
        for key, value in model.items():
            flat[_MODEL_KEYS.get(key, f"model.{key}")] = value  # unknown keys get a warning
    elif model is not None:
        flat["model"] = model
    return flat


def coerce_settings(raw: dict | None, base: Settings | None = None, *,
                    source: str | None = None) -> tuple[Settings, list[str]]:
    """``base`` updated with one layer of (possibly bad) values: good values are kept, each
    bad one is reported in one warning line (prefixed with ``source``) and left at its
    base value. Unset values (``None``, ``""``) keep the base value."""
    base = base or Settings()
    warnings: list[str] = []
    values: dict = {}
    names = {f.name for f in dataclasses.fields(Settings)}
    prefix = f"{source}: " if source else ""
    if raw is not None and not isinstance(raw, dict):
        return base, [f"{prefix}settings must be a table of key = value, not {type(raw).__name__}"]
    for key, value in (raw or {}).items():
        key = _ALIASES.get(key, key)
        if key not in names:
            warnings.append(f"{prefix}unknown setting {key!r} ignored")
            continue
        if isinstance(value, str):
            value = value.strip()
        if value is None or value == "":
            continue
        if key == "connections":
            merged, problems = _coerce_connections(value, base.connections)
            values[key] = merged
            warnings.extend(prefix + p for p in problems)
            continue
        try:
            values[key] = _coerce(key, value)
        except (TypeError, ValueError) as err:
            warnings.append(f"{prefix}setting {key}={value!r} is invalid ({err}); using {getattr(base, key)!r}")
    return dataclasses.replace(base, **values), warnings


def _coerce(key: str, value):
    if key == "device" and isinstance(value, str) and re.fullmatch(r"cuda:\d+", value.strip().lower()):
        return value.strip().lower()  # a specific GPU
    if key in _CHOICES:
        if not isinstance(value, str) or value.lower() not in _CHOICES[key]:
            raise ValueError("expected one of " + ", ".join(_CHOICES[key]))
        return value.lower()
    if key in _WHOLE:
        return _positive(value, whole=True)
    if key in _SECONDS:
        return _positive(value, whole=False)
    if key in _FLAGS:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "on", "off", "1", "0"):
            return value.lower() in ("true", "on", "1")
        raise ValueError("expected true or false")
    if not isinstance(value, str):
        raise ValueError("expected text")
    return value


def _positive(value, *, whole: bool):
    """A positive int (``whole``) or float from a number or its text; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError("expected a positive number")
    number = float(value) if isinstance(value, str) else value
    if not isinstance(number, (int, float)) or not math.isfinite(number) or number <= 0:
        raise ValueError("expected a positive number")
    if whole:
        if number != int(number):
            raise ValueError("expected a whole number")
        return int(number)
    return float(number)


def _coerce_connections(value, base: dict) -> tuple[dict, list[str]]:
    """Named connections merged over ``base``; a bad entry is dropped with a warning."""
    if not isinstance(value, dict):
        return dict(base), [f"connections must be a table of named connections, not {type(value).__name__}"]
    merged, problems = dict(base), []
    for name, raw in value.items():
        try:
            merged[str(name)] = connection_from(str(name), raw)
        except ConfigError as err:
            problems.append(str(err))
    return merged, problems


def connection_from(name: str | None, raw) -> ConnectionConfig:
    """A ConnectionConfig from a URL string or a ``{url=..., exclude=[...], ...}`` table.
    ConfigError (naming the connection, never its URL) when an entry is bad."""
    if isinstance(raw, ConnectionConfig):
        return raw
    if isinstance(raw, str) and raw.strip():
        return ConnectionConfig(name=name, url=raw.strip())
    if not isinstance(raw, dict) or not isinstance(raw.get("url"), str) or not raw["url"].strip():
        raise ConfigError(f'connection {name!r} needs url = "..." (a SQLAlchemy URL)')
    unknown = sorted(set(raw) - _CONNECTION_KEYS)
    if unknown:
        raise ConfigError(f"connection {name!r}: unknown key(s) {', '.join(unknown)} "
                          f"(expected {', '.join(sorted(_CONNECTION_KEYS))})")
    exclude = raw.get("exclude", ())
    if isinstance(exclude, str):
        exclude = [exclude]
    if not isinstance(exclude, (list, tuple)) or not all(isinstance(p, str) and p.strip() for p in exclude):
        raise ConfigError(f'connection {name!r}: exclude must be a list of patterns like ["users.password_hash", "*.ssn"]')
    samples = raw.get("samples", 3)
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 0:
        raise ConfigError(f"connection {name!r}: samples must be a whole number >= 0, not {samples!r}")
    try:
        row_limit = None if raw.get("row_limit") is None else _positive(raw["row_limit"], whole=True)
        timeout_s = None if raw.get("timeout_s") is None else _positive(raw["timeout_s"], whole=False)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"connection {name!r}: row_limit and timeout_s must be positive numbers ({err})") from None
    return ConnectionConfig(name=name, url=raw["url"].strip(), exclude=tuple(p.strip() for p in exclude),
                            samples=samples, row_limit=row_limit, timeout_s=timeout_s)


def load_settings(*, client: dict | None = None, header: dict | None = None, explicit: dict | None = None,
                  config_file: Path | None = None, strict: bool = True) -> Settings:
    """Merge the layers in precedence order: defaults < config file < ``client`` <
    ``header`` < ``explicit`` (``None`` values in any layer mean "not given").

    With ``strict`` (the CLI) a bad value raises one ConfigError naming where it came
    from; without it bad values fall back to the layer below (use :func:`coerce_settings`
    directly to collect the warnings, as the server and the magic do)."""
    path = Path(config_file) if config_file is not None else config_path()
    layers = (
        (read_config_file(path), str(path)),
        (client, "client settings"),
        (header, "file header"),
        (explicit, "arguments"),
    )
    settings, problems = Settings(), []
    for layer, source in layers:
        settings, warnings = coerce_settings(layer, settings, source=source)
        problems.extend(warnings)
    if problems and strict:
        raise ConfigError("; ".join(problems))
    return settings


def parse_file_header(text: str) -> dict:
    """Settings from ``-- text2sql: key=value`` lines at the top of a .sql file (before
    the first line that is neither blank nor a ``--`` comment). Several pairs may share a
    line (``-- text2sql: connection=shop precision=fp32``); values may be quoted."""
    import shlex

    found: dict = {}
    for line in text.lstrip("\ufeff").splitlines():
        stripped = line.strip()
        if not stripped:
            continue
        if not stripped.startswith("--"):
            break
        body = stripped[2:].strip()
        if not body.lower().startswith("text2sql:"):
            continue
        rest = body.split(":", 1)[1]
        try:
            items = shlex.split(rest)
        except ValueError:  # an unbalanced quote: fall back to plain words
            items = rest.split()
        for item in items:
            for pair in item.split(","):
                if "=" in pair:
                    key, value = pair.split("=", 1)
                    if key.strip():
                        found[key.strip()] = value.strip()
    return found


def expand_env(text: str, *, connection: str | None = None) -> str:
    """Replace ``${NAME}`` by the environment variable NAME (ConfigError when unset)."""

    def sub(match):
        name = match.group(1)
        if name not in os.environ:
            where = f"connection {connection!r}" if connection else "a connection URL"
            raise ConfigError(f"environment variable {name} is not set (referenced as ${{{name}}} in {where})")
        return os.environ[name]

    return _ENV_REF.sub(sub, text)


def resolve_connection(name_or_url: str | None, settings: Settings | None = None) -> ConnectionConfig:
    """The connection to use: a configured name, a URL, or (None) the default connection,
    else the bundled Chinook demo. ``${ENV}`` references are expanded here."""
    settings = settings or Settings()
    target = name_or_url.strip() if isinstance(name_or_url, str) else name_or_url
    if target in (None, ""):
        target = settings.connection
    if target in (None, ""):
        from text2sql.data import chinook_url

        return ConnectionConfig(name="chinook-demo", url=chinook_url())
    if target in settings.connections:
        conn = connection_from(target, settings.connections[target])
    elif "://" in target or target.startswith("sqlite:"):
        conn = ConnectionConfig(name=None, url=target)
    else:
        known = ", ".join(sorted(settings.connections)) or "none configured"
        from text2sql.db import redact

        raise ConfigError(f"no connection named {redact(target)!r} (known: {known}; config file: {config_path()})")
    return dataclasses.replace(conn, url=expand_env(conn.url, connection=conn.name))
