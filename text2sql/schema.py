"""Schema introspection: a live database -> ``Schema`` (schema_model.py).

Tables, views, columns, types, primary and foreign keys, and a few distinct sample values
per text column. The number of database round trips does not grow with the number of
tables: SQLAlchemy's batch reflection (``get_multi_*``) reads the catalog in a handful of
queries, and sample values are fetched with one ``UNION ALL`` query per batch of columns,
only while the schema is small enough for samples to reach the prompt
(``MAX_SAMPLED_COLUMNS``). DuckDB's catalog is read directly, since duckdb-engine cannot
reflect DuckDB columns or keys.

Excluded objects (``exclude`` patterns) never appear in the result, nor do their values.
"""

from __future__ import annotations

import fnmatch
import threading
import warnings

from text2sql.db import describe_error, engine_for, dialect_of, display_url, redact
from text2sql.errors import ConnectionFailed
from text2sql.schema_model import Column, ForeignKey, Schema, Table

MAX_SAMPLED_COLUMNS = 200  # above this many text columns, no sample values at all
SAMPLE_BATCH = 50  # text columns per sample-value query
SAMPLE_MAX_CHARS = 40
SAMPLE_SCAN_ROWS = 1000  # rows read per column when picking sample values
SMALL_TABLE_ROWS = 30  # a table this small is a lookup table: its values are always samples

_TEXT_TYPES = ("CHAR", "TEXT", "CLOB", "STRING", "VARCHAR", "NVARCHAR", "ENUM")


def is_excluded(table: str, column: str | None, patterns) -> bool:
    """True when ``table`` (column None) or ``table.column`` matches an exclusion pattern."""
    t = table.lower()
    for pat in patterns:
        p = pat.lower()
        if "." in p:
            if column is None:
                continue
            tp, cp = p.split(".", 1)
            if fnmatch.fnmatchcase(t, tp) and fnmatch.fnmatchcase(column.lower(), cp):
                return True
        elif fnmatch.fnmatchcase(t, p):
            return True
    return False


def _is_text(type_text: str) -> bool:
    up = type_text.upper()
    return any(k in up for k in _TEXT_TYPES)


def _type_text(coltype, dialect) -> str:
    try:
        return coltype.compile(dialect=dialect)
    except Exception:
        return str(coltype) if str(coltype) else "NULL"


def _reflect_sqlalchemy(conn, include_views: bool):
    from sqlalchemy import inspect
    from sqlalchemy.engine.reflection import ObjectKind

    insp = inspect(conn)
    kind = ObjectKind.TABLE | (ObjectKind.VIEW if include_views else ObjectKind.TABLE)
    view_names = set(insp.get_view_names()) if include_views else set()
    columns = insp.get_multi_columns(kind=kind)
    pks = insp.get_multi_pk_constraint(kind=ObjectKind.TABLE)
    fks = insp.get_multi_foreign_keys(kind=ObjectKind.TABLE)
    tables = []
    for (schema_name, name), cols in sorted(columns.items(), key=lambda kv: kv[0][1].lower()):
        pk = tuple((pks.get((schema_name, name)) or {}).get("constrained_columns") or ())
        tables.append(
            {
                "name": name,
                "kind": "view" if name in view_names else "table",
                "columns": [
                    (c["name"], _type_text(c["type"], conn.dialect), bool(c.get("nullable", True)), c.get("comment"))
                    for c in cols
                ],
                "pk": pk,
                "fks": [
                    (tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]))
                    for fk in fks.get((schema_name, name), ())
                    if fk.get("referred_table")
                ],
            }
        )
    return tables


def _reflect_duckdb(conn, include_views: bool):
    rows = conn.exec_driver_sql(
        "SELECT t.table_name, t.table_type, c.column_name, c.data_type, c.is_nullable "
        "FROM information_schema.tables t JOIN information_schema.columns c "
        "ON c.table_schema = t.table_schema AND c.table_name = t.table_name "
        "WHERE t.table_schema = current_schema() AND t.table_catalog = current_database() "
        "ORDER BY lower(t.table_name), c.ordinal_position"
    ).fetchall()
    cons = conn.exec_driver_sql(
        "SELECT table_name, constraint_type, constraint_column_names, referenced_table, "
        "referenced_column_names FROM duckdb_constraints() "
        "WHERE schema_name = current_schema() AND database_name = current_database() "
        "AND constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY')"
    ).fetchall()
    by_name: dict[str, dict] = {}
    for tname, ttype, cname, dtype, nullable in rows:
        if ttype == "VIEW" and not include_views:
            continue
        entry = by_name.setdefault(
            tname, {"name": tname, "kind": "view" if ttype == "VIEW" else "table", "columns": [], "pk": (), "fks": []}
        )
        entry["columns"].append((cname, dtype, nullable == "YES", None))
    for tname, ctype, cols, ref_table, ref_cols in cons:
        if tname not in by_name:
            continue
        if ctype == "PRIMARY KEY":
            by_name[tname]["pk"] = tuple(cols)
        elif ref_table:
            by_name[tname]["fks"].append((tuple(cols), ref_table, tuple(ref_cols or ())))
    return list(by_name.values())


def _quote(dialect: str, name: str) -> str:
    q = "`" if dialect == "mysql" else '"'
    return q + name.replace(q, q + q) + q


def _sample_values(conn, dialect: str, targets, k: int) -> dict:
    """{(table, column): (values...)}: the ``k`` most frequent values among the first
    ``SAMPLE_SCAN_ROWS`` non-null rows, kept only for columns whose top value repeats (a
    categorical column: 'Canada') or whose table is a small lookup table ('Rock' in Genre);
    other unique text such as names, e-mails or phone
    numbers is no useful literal for a query. One UNION ALL query per batch of columns."""
    out: dict[tuple[str, str], list[str]] = {}
    repeats: set[tuple[str, str]] = set()
    cast = "CHAR" if dialect == "mysql" else "TEXT"
    for start in range(0, len(targets), SAMPLE_BATCH):
        batch = targets[start : start + SAMPLE_BATCH]
        parts = []
        for i, (table, column) in enumerate(batch):
            qt, qc = _quote(dialect, table), _quote(dialect, column)
            parts.append(
                f"SELECT * FROM (SELECT {i} AS k, CAST(c AS {cast}) AS v, COUNT(*) AS n, "
                f"(SELECT COUNT(*) FROM (SELECT 1 AS one FROM {qt} LIMIT {SMALL_TABLE_ROWS + 1}) z{i}) AS total FROM "
                f"(SELECT {qc} AS c FROM {qt} WHERE {qc} IS NOT NULL LIMIT {SAMPLE_SCAN_ROWS}) s{i} "
                f"GROUP BY c ORDER BY n DESC, v LIMIT {k}) u{i}"
            )
        try:
            rows = conn.exec_driver_sql(" UNION ALL ".join(parts)).fetchall()
        except Exception:
            conn.rollback()
            continue  # samples are a nicety: never fail introspection over them
        for key, value, count, total in rows:
            if value is None:
                continue
            text = str(value).replace("\n", " ").strip()
            if len(text) > SAMPLE_MAX_CHARS:
                text = text[: SAMPLE_MAX_CHARS - 1] + "…"
            out.setdefault(batch[key], []).append(text)
            if count > 1 or total <= SMALL_TABLE_ROWS:
                repeats.add(batch[key])
    return {key: tuple(dict.fromkeys(vals)) for key, vals in out.items() if key in repeats}


def introspect(database=None, *, samples: int = 3, exclude=(), include_views: bool = True) -> Schema:
    """Read the schema of ``database`` (URL, Engine, or None for the bundled Chinook).

    Tables are ordered by name (case-insensitive); columns in table order. Raises
    ConnectionFailed (one redacted line) when the database cannot be read.
    """
    import sqlalchemy

    exclude = tuple(exclude or ())
    with engine_for(database) as engine:
        return _introspect(engine, samples, exclude, include_views)


def _introspect(engine, samples: int, exclude: tuple, include_views: bool) -> Schema:
    import sqlalchemy

    dialect = dialect_of(engine)
    try:
        with engine.connect() as conn, warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SQLAlchemy's notes on odd SQLite FK declarations
            if dialect == "duckdb":
                raw = _reflect_duckdb(conn, include_views)
            else:
                raw = _reflect_sqlalchemy(conn, include_views)
            raw = [t for t in raw if not is_excluded(t["name"], None, exclude)]
            for t in raw:
                t["columns"] = [c for c in t["columns"] if not is_excluded(t["name"], c[0], exclude)]
            targets = [(t["name"], c[0]) for t in raw if t["kind"] == "table" for c in t["columns"] if _is_text(c[1])]
            values = {}
            if samples > 0 and targets and len(targets) <= MAX_SAMPLED_COLUMNS:
                values = _sample_values(conn, dialect, targets, samples)
    except sqlalchemy.exc.SQLAlchemyError as err:
        raise ConnectionFailed(f"cannot read the schema of {display_url(engine)}: {describe_error(err)}") from err
    except Exception as err:
        if isinstance(err, (ConnectionFailed,)):
            raise
        mod = type(err).__module__.split(".")[0]
        if mod in ("duckdb", "sqlite3", "psycopg", "pymysql"):
            raise ConnectionFailed(f"cannot read the schema of {display_url(engine)}: {redact(err)}") from err
        raise
    tables = []
    for t in raw:
        pk = tuple(c for c in t["pk"] if any(c == col[0] for col in t["columns"]))
        cols = tuple(
            Column(
                name=name,
                type=type_text,
                nullable=nullable,
                primary_key=name in pk,
                samples=values.get((t["name"], name), ()),
                comment=comment,
            )
            for name, type_text, nullable, comment in t["columns"]
        )
        fks = tuple(
            ForeignKey(columns=cols_, ref_table=ref, ref_columns=ref_cols)
            for cols_, ref, ref_cols in t["fks"]
            if not is_excluded(ref, None, exclude)
        )
        tables.append(Table(name=t["name"], columns=cols, primary_key=pk, foreign_keys=fks, kind=t["kind"]))
    name = (engine.url.database or "").removeprefix("file:").split("?", 1)[0]
    return Schema(dialect=dialect, tables=tuple(tables), name=name.rsplit("/", 1)[-1] or None, exclude=exclude)


class SchemaCache:
    """Thread-safe cache of introspected schemas, keyed by (redacted URL, options).

    The language server and the notebook call ``get`` from worker threads; ``refresh``
    re-reads one database, ``clear`` forgets everything.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[tuple, Schema] = {}
        self._key_locks: dict[tuple, threading.Lock] = {}

    @staticmethod
    def _key(database, samples, exclude):
        ident = redact(database.url) if hasattr(database, "url") else redact(database)
        return (ident, samples, tuple(exclude or ()))

    def get(self, database=None, *, samples: int = 3, exclude=(), refresh: bool = False) -> Schema:
        key = self._key(database, samples, exclude)
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
            if not refresh and key in self._entries:
                return self._entries[key]
        with key_lock:  # one introspection per database at a time
            with self._lock:
                if not refresh and key in self._entries:
                    return self._entries[key]
            schema = introspect(database, samples=samples, exclude=exclude)
            with self._lock:
                self._entries[key] = schema
            return schema

    def refresh(self, database=None, **opts) -> Schema:
        return self.get(database, refresh=True, **opts)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
