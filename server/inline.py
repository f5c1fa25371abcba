"""SQL from a comment as an inline completion (LSP 3.18 ``textDocument/inlineCompletion``).

With the cursor where a question's SQL goes (see ``comments.py``), the answer comes
back as ONE inline item inserted at the cursor; at the end of the comment line itself
the item starts with a line break. An automatic request (the editor asking while the
user types) follows the ``trigger`` setting and the debounce; an invoked one always
runs. Clients without inline completion get the same SQL from ``textDocument/completion``
(see ``completion_item``).
"""

from __future__ import annotations

from lsprotocol import types

from text2sql.server.assist import answer
from text2sql.server.comments import Question, find_question
from text2sql.server.positions import to_lsp_position, to_text_position
from text2sql.server.server import Text2SQLServer


def register(ls: Text2SQLServer) -> None:
    @ls.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())
    async def inline_completion(ls: Text2SQLServer, params: types.InlineCompletionParams) -> types.InlineCompletionList:
        uri = params.text_document.uri
        found = question_at(ls, uri, params.position)
        if found is None:
            return types.InlineCompletionList(items=[])
        automatic = params.context.trigger_kind == types.InlineCompletionTriggerKind.Automatic
        result = await answer(ls, uri, found, automatic=automatic, progress_token=params.work_done_token)
        if result is None:
            return types.InlineCompletionList(items=[])
        cursor = types.Position(line=params.position.line, character=params.position.character)
        item = types.InlineCompletionItem(
            insert_text=found.separator + result.sql,
            range=types.Range(start=cursor, end=cursor),
        )
        return types.InlineCompletionList(items=[item])


def question_at(ls: Text2SQLServer, uri: str, position: types.Position, *, anywhere_in_comment: bool = False) -> Question | None:
    """The question asked at an LSP position of an open document, if any."""
    text, lines = ls.document(uri)
    return find_question(text, to_text_position(lines, position, ls.encoding), anywhere_in_comment=anywhere_in_comment)


async def completion_item(ls: Text2SQLServer, params: types.CompletionParams) -> types.CompletionItem | None:
    """The answer as a completion item, for clients that have no inline completion."""
    if ls.client_supports("text_document.inline_completion"):
        return None
    uri = params.text_document.uri
    found = question_at(ls, uri, params.position)
    if found is None:
        return None
    trigger = params.context.trigger_kind if params.context else types.CompletionTriggerKind.Invoked
    result = await answer(ls, uri, found, automatic=trigger != types.CompletionTriggerKind.Invoked)
    if result is None:
        return None
    text = found.separator + result.sql
    snippets = ls.client_supports("text_document.completion.completion_item.snippet_support")
    _, lines = ls.document(uri)
    at = to_lsp_position(lines, found.insert_at, ls.encoding)
    first_line = result.sql.strip().splitlines()[0] if result.sql.strip() else result.sql
    return types.CompletionItem(
        label=first_line if len(first_line) <= 60 else first_line[:57] + "...",
        kind=types.CompletionItemKind.Snippet,
        detail=f"text2sql: SQL for “{found.text}”",
        documentation=result.sql,
        filter_text=found.text,
        sort_text="0",
        preselect=True,
        insert_text_format=types.InsertTextFormat.Snippet if snippets else types.InsertTextFormat.PlainText,
        text_edit=types.TextEdit(range=types.Range(start=at, end=at), new_text=_snippet(text) if snippets else text),
    )


def _snippet(text: str) -> str:
    """``text`` as a snippet body: literal, with the cursor left after it."""
    return text.replace("\\", "\\\\").replace("$", "\\$").replace("}", "\\}") + "$0"
