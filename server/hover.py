"""Hover on a table or column name: its type, keys and a few sample values.

The identifier under the cursor is read with ``sql_context.reference_at``; ``a.Name``
resolves ``a`` through the statement's aliases; a bare column name is looked up in the
statement's tables first, then everywhere. The text is Markdown when the client
renders it, plain text otherwise.
"""

from __future__ import annotations

from lsprotocol import types

from text2sql.server.positions import position_at, to_lsp_position
from text2sql.server.server import Text2SQLServer
from text2sql.server.sql_context import TableRef, reference_at


def register(ls: Text2SQLServer) -> None:
    @ls.feature(types.TEXT_DOCUMENT_HOVER)
    async def on_hover(ls: Text2SQLServer, params: types.HoverParams) -> types.Hover | None:
        text, lines, offset = ls.cursor(params.text_document.uri, params.position)
        ref = reference_at(text, offset)
        if ref is None:
            return None
        schema = await ls.in_db_thread(ls.databases.schema, ls.databases.target_for(text))
        if schema is None:
            return None
        body = describe_reference(schema, ref.name, ref.qualifier, ref.tables, ref.clause)
        if body is None:
            return None
        markdown = types.MarkupKind.Markdown in (_hover_formats(ls) or [types.MarkupKind.Markdown])
        span = types.Range(
            start=to_lsp_position(lines, position_at(text, ref.start), ls.encoding),
            end=to_lsp_position(lines, position_at(text, ref.end), ls.encoding),
        )
        if markdown:
            return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=body), range=span)
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.PlainText, value=plain(body)), range=span)


def _hover_formats(ls: Text2SQLServer):
    return getattr(getattr(getattr(ls.client_capabilities, "text_document", None), "hover", None), "content_format", None)


def resolve_table(schema, name: str, refs: tuple[TableRef, ...]):
    """The table ``name`` means: an alias of the statement, else a table of the schema."""
    low = name.lower()
    for ref in refs:
        if ref.alias is not None and ref.alias.lower() == low:
            return schema.table(ref.name)
    return schema.table(name)


def describe_reference(schema, name: str, qualifier: str | None, refs: tuple[TableRef, ...], clause: str | None) -> str | None:
    """Markdown for the table or column ``name`` (qualified by ``qualifier``), or None."""
    if qualifier is not None:
        table = resolve_table(schema, qualifier, refs)
        column = table.column(name) if table is not None else None
        if column is not None:
            return column_markdown(table, column)
        nested = schema.table(f"{qualifier}.{name}")  # schema.table
        return table_markdown(nested) if nested is not None else None
    table = resolve_table(schema, name, refs)
    if table is not None and (clause in ("FROM", "JOIN") or not _column_in_scope(schema, name, refs)):
        return table_markdown(table)
    scoped = [resolve_table(schema, ref.name, ()) for ref in refs]
    for candidate in [t for t in scoped if t is not None] + list(schema.tables):
        column = candidate.column(name)
        if column is not None:
            return column_markdown(candidate, column)
    return table_markdown(table) if table is not None else None


def _column_in_scope(schema, name: str, refs) -> bool:
    for ref in refs:
        table = schema.table(ref.name)
        if table is not None and table.column(name) is not None:
            return True
    return False


def _keys(table, column) -> list[str]:
    notes = []
    if column.primary_key or column.name in table.primary_key:
        notes.append("primary key")
    for fk in table.foreign_keys:
        if column.name in fk.columns:
            target = fk.ref_columns[list(fk.columns).index(column.name)] if len(fk.ref_columns) == len(fk.columns) else ", ".join(fk.ref_columns)
            notes.append(f"references {fk.ref_table}.{target}")
    return notes


def column_markdown(table, column) -> str:
    lines = [f"**{table.name}.{column.name}** `{column.type or 'untyped'}`"]
    facts = _keys(table, column) + ([] if column.nullable else ["not null"])
    if facts:
        lines.append(", ".join(facts))
    if column.samples:
        lines.append("e.g. " + ", ".join(f"`{_short(s)}`" for s in column.samples[:5]))
    if column.comment:
        lines.append(column.comment)
    return "\n\n".join(lines)


def table_markdown(table) -> str:
    kind = "view" if table.kind == "view" else "table"
    title = f"{table.schema}.{table.name}" if table.schema else table.name
    lines = [f"**{title}** ({kind}, {len(table.columns)} columns)"]
    if table.primary_key:
        lines.append("primary key: " + ", ".join(table.primary_key))
    for fk in table.foreign_keys:
        lines.append(f"{', '.join(fk.columns)} → {fk.ref_table}({', '.join(fk.ref_columns)})")
    columns = [f"- `{c.name}` {c.type}".rstrip() for c in table.columns[:30]]
    if len(table.columns) > 30:
        columns.append(f"- … {len(table.columns) - 30} more")
    return "\n\n".join(lines) + "\n\n" + "\n".join(columns)


def plain(markdown: str) -> str:
    """Markdown of this module as plain text."""
    return markdown.replace("**", "").replace("`", "")


def _short(value: str, limit: int = 40) -> str:
    value = str(value).replace("\n", " ").replace("`", "'")
    return value if len(value) <= limit else value[: limit - 1] + "…"
