"""Start the real language server (``python -m text2sql.server``) as a subprocess and
drive it over stdio with pytest-lsp's client.

``start``/``stop`` and ``running_server`` let each test (or module fixture) decide the
environment (the tiny model's user config from ``tiny_config``: tests never load the real
model), the client capabilities and the ``initializationOptions``. Every server is shut
down (shutdown + exit) in the event loop that started it, and its clean exit is checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from concurrent.futures import Future

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient

SERVER_COMMAND = [sys.executable, "-m", "text2sql.server", "--log-level", "debug"]


def capabilities(*, inline: bool = True, pull_diagnostics: bool = False, snippets: bool = True, progress: bool = True):
    """Client capabilities of a modern editor, with the features under test switchable."""
    return types.ClientCapabilities(
        window=types.WindowClientCapabilities(work_done_progress=progress),
        workspace=types.WorkspaceClientCapabilities(
            apply_edit=True,
            configuration=False,
            diagnostics=types.DiagnosticWorkspaceClientCapabilities(refresh_support=True) if pull_diagnostics else None,
        ),
        text_document=types.TextDocumentClientCapabilities(
            synchronization=types.TextDocumentSyncClientCapabilities(),
            completion=types.CompletionClientCapabilities(
                completion_item=types.ClientCompletionItemOptions(
                    snippet_support=snippets,
                    documentation_format=[types.MarkupKind.Markdown, types.MarkupKind.PlainText],
                    label_details_support=True,
                )
            ),
            hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
            inline_completion=types.InlineCompletionClientCapabilities() if inline else None,
            diagnostic=types.DiagnosticClientCapabilities() if pull_diagnostics else None,
            publish_diagnostics=types.PublishDiagnosticsClientCapabilities(version_support=True),
        ),
    )


def plain(value):
    """pygls's client turns JSON objects of custom requests into namedtuples: back to dicts."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def send_raw(client, message: dict):
    """Write a JSON-RPC message exactly as given (the typed client refuses malformed ones,
    and mis-types some answers) and return an awaitable for the answer to its id."""
    future: Future = Future()
    if "id" in message:
        client.protocol._request_futures[message["id"]] = future
    body = json.dumps(message).encode()
    client.protocol.writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    return asyncio.wrap_future(future)


async def status(client) -> dict:
    """The server's ``text2sql/status`` answer as a dict."""
    return plain(await client.protocol.send_request_async("text2sql/status", {}))


async def start(env: dict | None = None, options: dict | None = None, caps=None, log_file=None) -> LanguageClient:
    command = list(SERVER_COMMAND)
    if log_file is not None:
        command += ["--log-file", str(log_file)]
    config = ClientServerConfig(server_command=command, server_env={**os.environ, **(env or {})})
    client = await config.start()

    @client.feature(types.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: types.ApplyWorkspaceEditParams):
        client.applied_edits.append(params)
        return types.ApplyWorkspaceEditResult(applied=True)

    client.applied_edits = []
    await client.initialize_session(
        types.InitializeParams(capabilities=caps or capabilities(), initialization_options=options)
    )
    return client


async def stop(client: LanguageClient) -> None:
    """shutdown + exit, and check the server exits cleanly; never hang on a stuck server."""
    try:
        assert client.error is None, f"the client saw a protocol error from the server: {client.error}"
        await asyncio.wait_for(client.shutdown_session(), timeout=60)
        assert client._server.returncode == 0, f"server exited with {client._server.returncode}"
    finally:
        if client._server is not None and client._server.returncode is None:
            client._server.kill()
        await client.stop()


@contextlib.asynccontextmanager
async def running_server(**kwargs):
    """``async with running_server(env=..., options=..., caps=...) as client:`` — started,
    initialized, and shut down in the test's own event loop."""
    client = await start(**kwargs)
    try:
        yield client
    finally:
        await stop(client)
