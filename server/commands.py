"""Commands: "Generate SQL from comment" (``text2sql.generate``, also offered as a code
action on a question comment) and "Refresh schema" (``text2sql.refreshSchema``).

``text2sql.generate`` takes ``[uri, position]``; the cursor may be anywhere in the
question's comment. The SQL is inserted after the comment with ``workspace/applyEdit``
(the document is not touched when the model has no answer). ``text2sql.refreshSchema``
introspects the connections in use again — the way back after the database was down
or its schema changed — and re-checks open documents.
"""

from __future__ import annotations

import logging

from lsprotocol import types

from text2sql.server.assist import answer
from text2sql.server.inline import question_at
from text2sql.server.positions import to_lsp_position
from text2sql.server.server import Text2SQLServer

log = logging.getLogger("text2sql.server")

GENERATE = "text2sql.generate"
REFRESH_SCHEMA = "text2sql.refreshSchema"


def register(ls: Text2SQLServer) -> None:
    @ls.command(GENERATE)
    async def generate(ls: Text2SQLServer, uri: str, position: types.Position) -> dict:
        found = question_at(ls, uri, position, anywhere_in_comment=True)
        if found is None:
            ls.show("text2sql: put the cursor on a -- question comment to generate SQL for it.", types.MessageType.Info)
            return {"applied": False, "reason": "no question at the cursor"}
        result = await answer(ls, uri, found, automatic=False)
        if result is None:
            return {"applied": False, "question": found.text, "reason": "no answer (see the log)"}
        _, lines = ls.document(uri)
        at = to_lsp_position(lines, found.insert_at, ls.encoding)
        edit = types.WorkspaceEdit(
            changes={uri: [types.TextEdit(range=types.Range(start=at, end=at), new_text=found.separator + result.sql)]}
        )
        applied = await ls.workspace_apply_edit_async(types.ApplyWorkspaceEditParams(edit=edit, label="Generate SQL"))
        return {"applied": bool(applied and applied.applied), "question": found.text, "sql": result.sql, "cached": result.cached}

    @ls.command(REFRESH_SCHEMA)
    async def refresh_schema(ls: Text2SQLServer, *args) -> dict:
        targets = {ls.databases.default_target()}
        for uri in list(ls.workspace.text_documents):
            targets.add(ls.databases.target_for(ls.document(uri)[0]))
        report = {}
        for target in targets:
            schema = await ls.in_db_thread(ls.databases.schema, target, refresh=True)
            label = ls.databases.label(target)
            report[label] = (
                {"version": schema.version, "tables": len(schema.tables)}
                if schema is not None
                else {"error": ls.databases.error_for(target)}
            )
        ls.refresh_diagnostics()
        return report

    @ls.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.RefactorRewrite]),
    )
    def code_actions(ls: Text2SQLServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        found = question_at(ls, uri, params.range.start, anywhere_in_comment=True)
        if found is None:
            return []
        _, lines = ls.document(uri)
        position = to_lsp_position(lines, found.comment_end, ls.encoding)
        return [
            types.CodeAction(
                title="Generate SQL from comment",
                kind=types.CodeActionKind.RefactorRewrite,
                command=types.Command(title="Generate SQL from comment", command=GENERATE, arguments=[uri, position]),
            )
        ]
