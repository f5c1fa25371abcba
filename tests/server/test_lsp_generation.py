"""SQL from comments over stdio, answered by the overfit tiny model on a real SQLite copy
of Chinook: inline completion, the completion fallback, the Generate command, the
answer cache, cancellation and supersession, and model-load progress.

Nothing here sleeps: tests wait for notifications ($/progress, logMessage) or for the
server's own answers."""

import asyncio

import pytest
import pytest_asyncio
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.fixtures.tiny_model import TINY_PAIRS, tiny_config
from tests.server.conftest import capabilities, plain, send_raw, start, status, stop

pytestmark = pytest.mark.asyncio(loop_scope="module")

LONG_QUESTION, LONG_SQL = TINY_PAIRS[3]  # the longest answer: ~70 tokens


def ended(reports) -> bool:
    return bool(reports) and isinstance(reports[-1], types.WorkDoneProgressEnd)


async def wait_for_progress_end(client, token=None):
    """Wait until the work-done progress ``token`` (or any) has ended; returns its reports."""
    while True:
        for key, reports in client.progress_reports.items():
            if (token is None or key == token) and ended(reports):
                return reports
        await client.wait_for_notification(types.PROGRESS)


async def wait_for_report(client, token):
    """Wait until ``token`` has reported at least one generated token."""
    while not any(isinstance(r, types.WorkDoneProgressReport) for r in client.progress_reports.get(token, [])):
        await client.wait_for_notification(types.PROGRESS)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(chinook_sqlite_url, tmp_path_factory):
    env = tiny_config(tmp_path_factory.mktemp("server-generation"))
    client = await start(env=env, options={"connection": chinook_sqlite_url, "trigger": "manual"})
    reports = await wait_for_progress_end(client)  # the model load
    assert reports[-1].message == "ready", reports
    yield client
    await stop(client)


_counter = iter(range(10_000))


def open_doc(client, text: str) -> str:
    uri = f"file:///work/gen-{next(_counter)}.sql"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(text_document=types.TextDocumentItem(uri=uri, language_id="sql", version=1, text=text))
    )
    return uri


def inline_params(uri, line, character, *, automatic=False, token=None):
    kind = types.InlineCompletionTriggerKind.Automatic if automatic else types.InlineCompletionTriggerKind.Invoked
    return types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=types.Position(line=line, character=character),
        context=types.InlineCompletionContext(trigger_kind=kind),
        work_done_token=token,
    )


async def inline(client, uri, line, character, **kw):
    result = await client.text_document_inline_completion_async(inline_params(uri, line, character, **kw))
    return list(result.items if isinstance(result, types.InlineCompletionList) else result or [])


async def test_model_load_is_reported_with_progress(client):
    (token, reports), = [(k, v) for k, v in client.progress_reports.items() if str(k).startswith("text2sql-model-load")]
    assert isinstance(reports[0], types.WorkDoneProgressBegin) and "loading the model" in reports[0].title
    assert isinstance(reports[-1], types.WorkDoneProgressEnd) and reports[-1].message == "ready"
    reply = await status(client)
    assert reply["model"]["state"] == "ready" and reply["schema"]["tables"] == 11


@pytest.mark.parametrize("question,sql", TINY_PAIRS[:3])
async def test_inline_completion_on_the_line_after_the_question(client, question, sql):
    uri = open_doc(client, f"-- text2sql: connection=\n-- {question}\n\nSELECT 1;\n")
    (item,) = await inline(client, uri, 2, 0)
    assert item.insert_text == sql
    assert item.range == types.Range(start=types.Position(line=2, character=0), end=types.Position(line=2, character=0))


async def test_inline_completion_at_the_end_of_the_comment_and_after_a_block(client):
    question, sql = TINY_PAIRS[4]
    text = f"-- {question}"
    uri = open_doc(client, text)
    (item,) = await inline(client, uri, 0, len(text))
    assert item.insert_text == "\n" + sql
    question, sql = TINY_PAIRS[6]
    uri = open_doc(client, f"/*\n * {question}\n */\n")
    (item,) = await inline(client, uri, 3, 0)
    assert item.insert_text == sql


async def test_nothing_where_there_is_no_question(client):
    uri = open_doc(client, "-- text2sql: connection=chinook\nSELECT * FROM Album\n-- a remark\nSELECT 1; -- x\n")
    assert await inline(client, uri, 1, 5) == []
    assert await inline(client, uri, 0, 31) == []  # a directive is not a question


async def test_a_repeated_question_is_answered_from_the_cache(client):
    question, sql = TINY_PAIRS[1]
    before = await status(client)
    uri = open_doc(client, f"-- {question}\n")
    (item,) = await inline(client, uri, 1, 0)
    assert item.insert_text == sql
    after = await status(client)
    assert after["cache"]["hits"] == before["cache"]["hits"] + 1  # asked in the parametrized test above
    assert after["activity"]["finished"] == before["activity"]["finished"]  # no new generation


async def test_automatic_requests_follow_the_manual_trigger_setting(client):
    question, _ = TINY_PAIRS[0]
    uri = open_doc(client, f"-- {question}\n")
    assert await inline(client, uri, 1, 0, automatic=True) == []


async def test_generate_command_inserts_the_sql_after_the_comment(client):
    question, sql = TINY_PAIRS[5]
    text = f"-- {question}\nSELECT 1;\n"
    uri = open_doc(client, text)
    reply = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(command="text2sql.generate", arguments=[uri, {"line": 0, "character": 4}])
    )
    assert reply["applied"] is True and reply["sql"] == sql
    (edit,) = client.applied_edits[-1].edit.changes[uri]
    assert edit.new_text == "\n" + sql
    assert edit.range.start == types.Position(line=0, character=len(text.split("\n")[0]))
    # Raw request: pygls's client would read a CodeAction as a Command (a converter quirk).
    actions = plain(await send_raw(client, {
        "jsonrpc": "2.0", "id": "actions-1", "method": "textDocument/codeAction",
        "params": {"textDocument": {"uri": uri},
                   "range": {"start": {"line": 0, "character": 2}, "end": {"line": 0, "character": 2}},
                   "context": {"diagnostics": []}},
    }))
    (action,) = actions
    assert action["title"] == "Generate SQL from comment" and action["kind"] == "refactor.rewrite"
    assert action["command"]["command"] == "text2sql.generate"
    assert action["command"]["arguments"] == [uri, {"line": 0, "character": len(text.split("\n")[0])}]


async def test_cancel_request_stops_the_generation(client):
    before = await status(client)
    uri = open_doc(client, f"-- {LONG_QUESTION} (cancelled)\n")
    token = "gen-cancel"
    client.progress_reports[token] = []
    request = asyncio.ensure_future(
        client.protocol.send_request_async(types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(uri, 1, 0, token=token), msg_id="cancel-me")
    )
    await wait_for_report(client, token)  # the model is writing
    client.cancel_request(types.CancelParams(id="cancel-me"))
    with pytest.raises(JsonRpcException) as failure:
        await request
    assert failure.value.code == -32800  # RequestCancelled
    reports = await wait_for_progress_end(client, token)  # the model thread has stopped
    assert reports[-1].message == "cancelled"
    partial = [r.message for r in reports if isinstance(r, types.WorkDoneProgressReport)][-1]
    assert LONG_SQL.startswith(partial) and partial != LONG_SQL
    after = await status(client)
    assert after["activity"]["running"] == 0
    assert after["activity"]["cancelled"] == before["activity"]["cancelled"] + 1
    assert after["activity"]["finished"] == before["activity"]["finished"]


async def test_a_newer_request_for_the_same_document_cancels_the_older(client):
    before = await status(client)
    question, sql = TINY_PAIRS[0]
    uri = open_doc(client, f"-- {LONG_QUESTION} (superseded)\n\n-- {question}\n")
    token = "gen-superseded"
    client.progress_reports[token] = []
    older = asyncio.ensure_future(client.text_document_inline_completion_async(inline_params(uri, 1, 0, token=token)))
    await wait_for_report(client, token)
    (item,) = await inline(client, uri, 3, 0)
    assert item.insert_text == sql
    result = await older
    assert list(result.items) == []
    assert (await wait_for_progress_end(client, token))[-1].message == "cancelled"
    after = await status(client)
    assert after["activity"]["cancelled"] == before["activity"]["cancelled"] + 1
    assert after["activity"]["running"] == 0


async def test_completion_fallback_for_clients_without_inline_completion(chinook_sqlite_url, tmp_path):
    fallback = await start(
        env=tiny_config(tmp_path), options={"connection": chinook_sqlite_url}, caps=capabilities(inline=False)
    )
    try:
        await wait_for_progress_end(fallback)
        question, sql = TINY_PAIRS[2]
        uri = open_doc(fallback, f"-- {question}\n")
        result = await fallback.text_document_completion_async(
            types.CompletionParams(text_document=types.TextDocumentIdentifier(uri=uri), position=types.Position(line=1, character=0))
        )
        (item,) = result.items
        assert item.kind == types.CompletionItemKind.Snippet
        assert item.insert_text_format == types.InsertTextFormat.Snippet
        assert item.text_edit.new_text == sql + "$0"  # nothing in this SQL needs snippet escaping
        assert item.documentation == sql
    finally:
        await stop(fallback)


async def test_automatic_trigger_debounces_and_honours_cancel_request(client, chinook_sqlite_url):
    client.workspace_did_change_configuration(
        types.DidChangeConfigurationParams(settings={"text2sql": {"connection": chinook_sqlite_url, "trigger": "auto"}})
    )
    try:
        before = await status(client)
        assert before["settings"]["effective"]["trigger"] == "auto"
        question, sql = TINY_PAIRS[7]
        uri = open_doc(client, f"-- {question}\n")
        # Cancelled while it waits out the debounce: it never reaches the model.
        request = asyncio.wrap_future(  # sent now, so the cancel surely follows it
            client.protocol.send_request(
                types.TEXT_DOCUMENT_INLINE_COMPLETION, inline_params(uri, 1, 0, automatic=True), msg_id="debounced"
            )
        )
        client.cancel_request(types.CancelParams(id="debounced"))
        with pytest.raises(JsonRpcException) as failure:
            await request
        assert failure.value.code == -32800
        middle = await status(client)
        assert middle["activity"]["cancelled"] == before["activity"]["cancelled"] + 1
        assert middle["activity"]["finished"] == before["activity"]["finished"]
        # Left alone, an automatic request answers after the debounce.
        (item,) = await inline(client, uri, 1, 0, automatic=True)
        assert item.insert_text == sql
        after = await status(client)
        assert after["activity"]["finished"] == before["activity"]["finished"] + 1 and after["activity"]["running"] == 0
    finally:
        client.workspace_did_change_configuration(
            types.DidChangeConfigurationParams(settings={"text2sql": {"connection": chinook_sqlite_url, "trigger": "manual"}})
        )
