"""Database engines for text2sql: URL handling, password redaction, dialect names, and
engines that are read-only at the connection layer by default.

Read-only is enforced twice in text2sql. The sqlglot AST policy (validate.py) is the
first layer; this module is the second: every engine it creates refuses writes by
itself (SQLite ``mode=ro``, DuckDB ``read_only`` with external access off and the
configuration locked, PostgreSQL ``default_transaction_read_only``, MariaDB session
``READ ONLY``). Per-statement timeouts and ``BEGIN READ ONLY`` live in execute.py.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

from text2sql.errors import ConfigError, ConnectionFailed

# SQLAlchemy dialect name -> sqlglot dialect name.
SQLGLOT_DIALECTS = {
    "sqlite": "sqlite",
    "duckdb": "duckdb",
    "postgresql": "postgres",
    "postgres": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
    "mssql": "tsql",
    "oracle": "oracle",
    "snowflake": "snowflake",
    "bigquery": "bigquery",
    "redshift": "redshift",
    "trino": "trino",
    "presto": "presto",
    "databricks": "databricks",
    "hive": "hive",
    "clickhouse": "clickhouse",
}

# Which pip extra provides the driver for a backend.
_EXTRAS = {"postgresql": "postgres", "mysql": "mysql", "mariadb": "mysql", "duckdb": "duckdb"}

_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^@\s]+)(?P<tail>@)")
_PASSWORD_KV = re.compile(r"(?i)\b(password|passwd|pwd)(\s*=\s*)('[^']*'|\"[^\"]*\"|[^\s;,&]+)")


def redact(value: Any) -> str:
    """Text with every password hidden: ``postgresql://me:***@host/db``."""
    try:
        from sqlalchemy.engine import URL

        if isinstance(value, URL):
            return value.render_as_string(hide_password=True)
    except ImportError:  # pragma: no cover
        pass
    text = str(value)
    text = _URL_PASSWORD.sub(lambda m: m["head"] + "***" + m["tail"], text)
    return _PASSWORD_KV.sub(lambda m: m[1] + m[2] + "***", text)


def display_url(engine_or_url) -> str:
    """The URL as the user wrote it, password hidden (read-only SQLite URIs unwrapped)."""
    url = getattr(engine_or_url, "url", engine_or_url)
    text = redact(url)
    if text.startswith("sqlite:///file"):
        from urllib.parse import unquote

        path = unquote(text.removeprefix("sqlite:///")).removeprefix("file:").split("?", 1)[0]
        return f"sqlite:///{path}"
    return text


def sqlglot_dialect(sqlalchemy_name: str) -> str:
    """The sqlglot dialect for a SQLAlchemy dialect/backend name (``postgresql`` -> ``postgres``)."""
    name = sqlalchemy_name.lower().split("+", 1)[0]
    return SQLGLOT_DIALECTS.get(name, name)


def dialect_of(engine) -> str:
    """sqlglot dialect name of an Engine (MariaDB reports itself as ``mysql``/``mariadb``)."""
    return sqlglot_dialect(engine.dialect.name)


def parse_url(database):
    """A SQLAlchemy ``URL`` from a string (or URL); ``None`` means the bundled Chinook."""
    from sqlalchemy.engine import URL, make_url
    from sqlalchemy.exc import ArgumentError

    if database is None:
        from text2sql.data import chinook_url

        database = chinook_url()
    if isinstance(database, URL):
        return database
    text = str(database).strip()
    if not text:
        raise ConfigError("empty database URL")
    try:
        return make_url(text)
    except (ArgumentError, ValueError) as err:
        raise ConfigError(
            f"not a database URL: {redact(text)!r} (expected e.g. sqlite:///path/to.db, "
            "postgresql+psycopg://user@host/db, mysql+pymysql://user@host/db, duckdb:///file.duckdb)"
        ) from err


def _sqlite_readonly(url):
    from sqlalchemy.engine import URL

    path = url.database
    if not path or path == ":memory:":
        raise ConfigError("an in-memory SQLite database has no schema to work with; give a file path")
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConnectionFailed(f"no such SQLite database file: {file}")
    uri = f"file:{file.resolve().as_posix()}?mode=ro"
    return URL.create("sqlite", database=uri, query={"uri": "true"})


# SQLite functions refused by the read-only authorizer (files, extensions, stalls).
_SQLITE_REFLECTION_PRAGMAS = {"table_info", "table_xinfo", "foreign_key_list", "index_list", "index_info",
                              "index_xinfo", "table_list"}
_SQLITE_DENIED_FUNCTIONS = {"load_extension", "readfile", "writefile", "edit", "fts3_tokenizer"}


def _sqlite_authorizer(action, arg1, arg2, _db, _trigger):
    """Connection-level read-only policy for SQLite: reads, selects and plain functions only."""
    import sqlite3

    if action in (sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE):
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION:
        return sqlite3.SQLITE_DENY if (arg2 or "").lower() in _SQLITE_DENIED_FUNCTIONS else sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() in _SQLITE_REFLECTION_PRAGMAS:
        return sqlite3.SQLITE_OK  # schema reflection reads these; they cannot write
    return sqlite3.SQLITE_DENY


def create_engine(database=None, *, read_only: bool = True, **kwargs):
    """An Engine for a URL (string or URL), or ``database`` itself when it is an Engine.

    With ``read_only`` (the default) the connection layer refuses writes on its own.
    Raises ConfigError for a malformed URL or a missing driver; it does not connect
    (see :func:`check_connection`), except that a missing SQLite file fails at once.
    """
    import sqlalchemy
    from sqlalchemy import event

    if isinstance(database, sqlalchemy.engine.Engine):
        return database
    url = parse_url(database)
    backend = url.get_backend_name()
    connect_args: dict[str, Any] = dict(kwargs.pop("connect_args", {}))
    if backend == "sqlite" and read_only:
        url = _sqlite_readonly(url)
        connect_args.setdefault("check_same_thread", False)
    elif backend == "sqlite":
        connect_args.setdefault("check_same_thread", False)
    elif backend == "duckdb" and read_only:
        if url.database and url.database != ":memory:" and not Path(url.database).expanduser().is_file():
            raise ConnectionFailed(f"no such DuckDB database file: {Path(url.database).expanduser()}")
        connect_args["read_only"] = True
        config = dict(connect_args.get("config", {}))
        config.update({"enable_external_access": False, "lock_configuration": True})
        connect_args["config"] = config
    elif backend == "postgresql" and read_only:
        opts = connect_args.get("options", "")
        connect_args["options"] = (opts + " -c default_transaction_read_only=on").strip()
    try:
        engine = sqlalchemy.create_engine(url, connect_args=connect_args, **kwargs)
    except sqlalchemy.exc.NoSuchModuleError as err:
        raise ConfigError(f"unknown database type {url.drivername!r} in {redact(url)}") from err
    except ImportError as err:
        extra = _EXTRAS.get(backend)
        hint = f"; install it with: pip install 'text2sql[{extra}]'" if extra else ""
        raise ConfigError(f"the driver for {url.drivername} is not installed ({err}){hint}") from err
    except sqlalchemy.exc.ArgumentError as err:
        raise ConfigError(f"bad database URL {redact(url)}: {redact(err)}") from err
    if read_only and backend == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_read_only(dbapi_conn, _record):  # pragma: no cover - trivial
            dbapi_conn.set_authorizer(_sqlite_authorizer)

    if read_only and backend in ("mysql", "mariadb"):

        @event.listens_for(engine, "connect")
        def _session_read_only(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("SET SESSION TRANSACTION READ ONLY")
            cur.close()

    return engine


@contextlib.contextmanager
def engine_for(database=None):
    """An engine for ``database``; one created here is disposed on exit (an Engine passed
    in is the caller's and stays open). DuckDB allows one configuration per file per
    process, and an idle pool would keep the file locked."""
    import sqlalchemy

    if isinstance(database, sqlalchemy.engine.Engine):
        yield database
        return
    engine = create_engine(database)
    try:
        yield engine
    finally:
        engine.dispose()


def describe_error(err: BaseException, engine=None) -> str:
    """One redacted line for a driver error: the driver's first line, without SQL dumps."""
    orig = getattr(err, "orig", None) or err
    first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
    where = f" ({display_url(engine)})" if engine is not None else ""
    return redact(f"{first}{where}")


def check_connection(engine) -> None:
    """Connect once; ConnectionFailed with one redacted line when the database is unreachable."""
    import sqlalchemy

    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1").fetchall()
    except sqlalchemy.exc.SQLAlchemyError as err:
        raise ConnectionFailed(f"cannot connect to {display_url(engine)}: {describe_error(err)}") from err
    except Exception as err:  # drivers raise their own types (e.g. duckdb.IOException)
        raise ConnectionFailed(f"cannot connect to {display_url(engine)}: {redact(err)}") from err
