"""Diagnostics: syntax errors and unknown tables/columns, checked against the live schema.

Every query statement of the document (``sqltext.statements``; comments are never
checked, a question with no SQL yet is not a statement) goes through the engine's
``validate.check``; each ``Problem`` becomes a diagnostic on exactly the text it names
(``positions.problem_range``). Statements that are not queries (DDL, DML in a migration
script) are not this assistant's business and are skipped.

Pull (``textDocument/diagnostic``) when the client supports it, else push
(``textDocument/publishDiagnostics``) debounced after open and change. Without a
reachable database there is nothing to check against: no diagnostics, never stale ones.
"""

from __future__ import annotations

import asyncio
import logging
import re

from lsprotocol import types

from text2sql.server.positions import position_at, problem_range, split_lines
from text2sql.server.server import Text2SQLServer
from text2sql.server.sqltext import statements

log = logging.getLogger("text2sql.server")

CHANGE_DELAY_S = 0.3
SOURCE = "text2sql"
_QUERY_START = re.compile(r"^\s*(\(\s*)*(SELECT|WITH|VALUES|TABLE|FROM)\b", re.IGNORECASE)
_IGNORED_CODES = {"not-read-only", "empty"}
_SEVERITY = {"error": types.DiagnosticSeverity.Error, "warning": types.DiagnosticSeverity.Warning}


def register(ls: Text2SQLServer) -> None:
    @ls.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: Text2SQLServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.bind_loop()
        schedule(ls, params.text_document.uri, 0.0)

    @ls.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: Text2SQLServer, params: types.DidChangeTextDocumentParams) -> None:
        schedule(ls, params.text_document.uri, CHANGE_DELAY_S)

    @ls.feature(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(identifier=SOURCE, inter_file_dependencies=False, workspace_diagnostics=False),
    )
    async def pull(ls: Text2SQLServer, params: types.DocumentDiagnosticParams) -> types.RelatedFullDocumentDiagnosticReport:
        items = await diagnose(ls, params.text_document.uri)
        return types.RelatedFullDocumentDiagnosticReport(items=items)



def uses_pull(ls: Text2SQLServer) -> bool:
    return ls.client_supports("text_document.diagnostic")


def schedule(ls: Text2SQLServer, uri: str, delay: float) -> None:
    """Push diagnostics for ``uri`` after ``delay`` s, replacing a pending run."""
    if uses_pull(ls):
        return
    previous = ls.diagnostic_tasks.pop(uri, None)
    if previous is not None:
        previous.cancel()
    ls.diagnostic_tasks[uri] = asyncio.ensure_future(_push(ls, uri, delay))


async def _push(ls: Text2SQLServer, uri: str, delay: float) -> None:
    try:
        if delay:
            await asyncio.sleep(delay)
        document = ls.workspace.text_documents.get(uri)
        if document is None:
            return  # closed meanwhile
        version = document.version
        items = await diagnose(ls, uri)
        current = ls.workspace.text_documents.get(uri)
        if current is None or current.version != version:
            return  # closed or changed meanwhile; a newer run is scheduled
        ls.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=items, version=version))
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("diagnostics failed for %s", uri)
    finally:
        if ls.diagnostic_tasks.get(uri) is asyncio.current_task():
            ls.diagnostic_tasks.pop(uri, None)


async def diagnose(ls: Text2SQLServer, uri: str) -> list[types.Diagnostic]:
    text, _ = ls.document(uri)
    queries = [s for s in statements(text) if _QUERY_START.match(s.sql)]
    if not queries:
        return []
    schema = await ls.in_db_thread(ls.databases.schema, ls.databases.target_for(text))
    if schema is None:
        return []
    return await ls.in_db_thread(check_document, text, queries, schema, ls.encoding)


def check_document(text: str, queries, schema, encoding: str) -> list[types.Diagnostic]:
    """Run the validator over each query statement and place its problems (blocking)."""
    from text2sql.validate import check

    lines = split_lines(text)
    diagnostics = []
    for statement in queries:
        origin = position_at(text, statement.start)
        for problem in check(statement.sql, schema):
            if problem.code in _IGNORED_CODES:
                continue
            diagnostics.append(
                types.Diagnostic(
                    range=problem_range(
                        lines, problem.line, problem.column, problem.end_line, problem.end_column,
                        origin=origin, encoding=encoding,
                    ),
                    message=problem.message,
                    severity=_SEVERITY.get(problem.severity, types.DiagnosticSeverity.Warning),
                    code=problem.code,
                    source=SOURCE,
                )
            )
    return diagnostics


def refresh(ls: Text2SQLServer) -> None:
    """Check every open document again (after a schema refresh or a new connection)."""
    if uses_pull(ls):
        if ls.client_supports("workspace.diagnostics.refresh_support"):
            ls.on_loop(ls.workspace_diagnostic_refresh, None)
        return
    for uri in list(ls.workspace.text_documents):
        ls.on_loop(schedule, ls, uri, 0.0)
