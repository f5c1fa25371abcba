"""Schema completion, no model needed: tables after FROM/JOIN, columns after
SELECT/WHERE/ON/GROUP BY/ORDER BY/HAVING (only the columns of ``alias.``'s table after a
qualifier), names quoted the way the connection's dialect needs.

The same ``textDocument/completion`` request also carries the SQL answer for clients
without inline completion (``inline.completion_item``), when the cursor is at a question.
"""

from __future__ import annotations

from lsprotocol import types

from text2sql.server import hover, inline
from text2sql.server.positions import position_at, to_lsp_position
from text2sql.server.server import Text2SQLServer
from text2sql.server.sql_context import TABLE, CompletionContext, completion_context

MAX_ITEMS = 500


def quote_identifier(name: str, dialect: str | None, *, force: bool = False) -> str:
    """``name`` as the dialect must write it, exactly as the prompt writes it
    (``text2sql.prompt.quote``): bare when that means the same name; always quoted when
    the user already typed an opening quote (``force``)."""
    from text2sql import prompt

    dialect = (dialect or "sqlite").lower()
    if not force:
        return prompt.quote(name, dialect)
    from sqlglot import exp

    return exp.Identifier(this=name, quoted=True).sql(dialect=dialect)


def register(ls: Text2SQLServer) -> None:
    @ls.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(trigger_characters=[".", " "]))
    async def completion(ls: Text2SQLServer, params: types.CompletionParams) -> types.CompletionList:
        answer = await inline.completion_item(ls, params)
        if answer is not None:
            return types.CompletionList(is_incomplete=False, items=[answer])
        text, lines, offset = ls.cursor(params.text_document.uri, params.position)
        context = completion_context(text, offset)
        if context.kind is None:
            return types.CompletionList(is_incomplete=False, items=[])
        schema = await ls.in_db_thread(ls.databases.schema, ls.databases.target_for(text))
        if schema is None:
            return types.CompletionList(is_incomplete=False, items=[])
        start = to_lsp_position(lines, position_at(text, context.prefix_start), ls.encoding)
        replace = types.Range(start=start, end=params.position)
        markdown = _supports_markdown(ls)
        items = (table_items if context.kind == TABLE else column_items)(schema, context, replace, markdown)
        return types.CompletionList(is_incomplete=len(items) >= MAX_ITEMS, items=items[:MAX_ITEMS])


def _supports_markdown(ls: Text2SQLServer) -> bool:
    formats = getattr(
        getattr(getattr(getattr(ls.client_capabilities, "text_document", None), "completion", None), "completion_item", None),
        "documentation_format",
        None,
    ) or []
    return types.MarkupKind.Markdown in formats


def _documentation(text: str, markdown: bool):
    return types.MarkupContent(kind=types.MarkupKind.Markdown, value=text) if markdown else hover.plain(text)


def table_items(schema, context: CompletionContext, replace: types.Range, markdown: bool) -> list[types.CompletionItem]:
    quoted = context.prefix[:1] in ('"', "`", "[")
    items = []
    for table in schema.tables:
        if context.qualifier is not None and (table.schema or "").lower() != context.qualifier.lower():
            continue
        name = quote_identifier(table.name, schema.dialect, force=quoted)
        items.append(
            types.CompletionItem(
                label=table.name,
                kind=types.CompletionItemKind.Struct if table.kind == "view" else types.CompletionItemKind.Class,
                detail=f"{table.kind} · {len(table.columns)} columns",
                documentation=_documentation(hover.table_markdown(table), markdown),
                filter_text=name,
                sort_text=table.name.lower(),
                text_edit=types.TextEdit(range=replace, new_text=name),
            )
        )
    return items


def column_items(schema, context: CompletionContext, replace: types.Range, markdown: bool) -> list[types.CompletionItem]:
    quoted = context.prefix[:1] in ('"', "`", "[")
    if context.qualifier is not None:
        table = hover.resolve_table(schema, context.qualifier, context.tables)
        tables = [table] if table is not None else []
    else:
        tables = [t for t in (hover.resolve_table(schema, ref.name, ()) for ref in context.tables) if t is not None]
        tables = list(dict.fromkeys(tables)) or list(schema.tables)
    items = []
    for rank, table in enumerate(tables):
        for column in table.columns:
            name = quote_identifier(column.name, schema.dialect, force=quoted)
            items.append(
                types.CompletionItem(
                    label=column.name,
                    label_details=types.CompletionItemLabelDetails(description=table.name),
                    kind=types.CompletionItemKind.Field,
                    detail=f"{table.name}.{column.name} {column.type}".rstrip(),
                    documentation=_documentation(hover.column_markdown(table, column), markdown),
                    filter_text=name,
                    sort_text=f"{rank:04d}{column.name.lower()}",
                    text_edit=types.TextEdit(range=replace, new_text=name),
                )
            )
    return items
