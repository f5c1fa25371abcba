"""The schema as every part of text2sql sees it: plain, frozen, hashable data.

Introspection (``schema.py``) produces it; the prompt, the validator, the language
server's completion and hover, and fine-tuning consume it. Keeping it free of
SQLAlchemy means the same object can be built from Spider's ``tables.json``, from an
in-memory SQLite, or from a live server.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # database type as text, e.g. "INTEGER", "NVARCHAR(160)"
    nullable: bool = True
    primary_key: bool = False
    samples: tuple[str, ...] = ()  # a few distinct values (text columns only), as text
    comment: str | None = None


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    ref_table: str
    ref_columns: tuple[str, ...]
    ref_schema: str | None = None


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    kind: str = "table"  # "table" | "view"
    schema: str | None = None  # database schema (namespace), None for the default one

    def column(self, name: str) -> Column | None:
        """Case-insensitive column lookup."""
        low = name.lower()
        for col in self.columns:
            if col.name.lower() == low:
                return col
        return None


@dataclass(frozen=True)
class Schema:
    """All tables of one connection, in a stable order, plus the sqlglot dialect."""

    dialect: str  # sqlglot dialect name: sqlite, postgres, mysql, duckdb, ...
    tables: tuple[Table, ...] = ()
    name: str | None = None  # e.g. database name; informational only
    # Exclusion patterns of the connection (fnmatch, case-insensitive): "audit_*" names
    # tables, "users.password_hash" / "*.ssn" name columns. Excluded objects are already
    # absent from ``tables``; the validator uses the patterns to refuse queries that would
    # reach them anyway (an excluded table, or SELECT * on a table that lost columns).
    exclude: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def table(self, name: str) -> Table | None:
        """Case-insensitive table lookup; accepts ``schema.table`` too."""
        low = name.lower()
        for t in self.tables:
            if t.name.lower() == low:
                return t
            if t.schema and f"{t.schema}.{t.name}".lower() == low:
                return t
        return None

    @property
    def table_names(self) -> list[str]:
        return [t.name for t in self.tables]

    @property
    def version(self) -> str:
        """A short id that changes whenever anything in the schema changes."""
        payload = json.dumps(
            {"dialect": self.dialect, "exclude": self.exclude, "tables": [asdict(t) for t in self.tables]},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def subset(self, names) -> "Schema":
        """The same schema restricted to ``names`` (kept in the original order)."""
        keep = {n.lower() for n in names}
        return Schema(
            dialect=self.dialect,
            tables=tuple(t for t in self.tables if t.name.lower() in keep),
            name=self.name,
            exclude=self.exclude,
        )

    def to_dict(self) -> dict:
        return {
            "dialect": self.dialect,
            "name": self.name,
            "exclude": list(self.exclude),
            "tables": [asdict(t) for t in self.tables],
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Schema":
        tables = []
        for t in data["tables"]:
            cols = tuple(Column(**{**c, "samples": tuple(c.get("samples", ()))}) for c in t["columns"])
            fks = tuple(
                ForeignKey(
                    columns=tuple(fk["columns"]),
                    ref_table=fk["ref_table"],
                    ref_columns=tuple(fk["ref_columns"]),
                    ref_schema=fk.get("ref_schema"),
                )
                for fk in t.get("foreign_keys", ())
            )
            tables.append(
                Table(
                    name=t["name"],
                    columns=cols,
                    primary_key=tuple(t.get("primary_key", ())),
                    foreign_keys=fks,
                    kind=t.get("kind", "table"),
                    schema=t.get("schema"),
                )
            )
        return cls(
            dialect=data["dialect"],
            tables=tuple(tables),
            name=data.get("name"),
            exclude=tuple(data.get("exclude", ())),
        )
