"""Hypothesis against the running server: random and malformed LSP traffic — wrong
types, missing fields, huge or negative positions, unknown methods, random documents
and edits — never stops it from answering. Every request gets a response (a result or
a JSON-RPC error), and ``text2sql/status`` answers after each batch.

A deliberately small synchronous stdio client is used so hypothesis can drive it
example by example and write bytes no typed client would."""

import json
import os
import queue
import subprocess
import threading

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.server.conftest import SERVER_COMMAND

TIMEOUT_S = 60


class StdioPeer:
    def __init__(self, env, log_path):
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(SERVER_COMMAND, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env)
        self.incoming: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self._ids = iter(range(1, 10**9))

    def _read(self):
        stream = self.proc.stdout
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    self.incoming.put(None)
                    return
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
                elif line in (b"\r\n", b"\n"):
                    break
            self.incoming.put(json.loads(stream.read(length)))

    def write(self, payload):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def request(self, method, params, *, raw_params=False):
        msg_id = f"fuzz-{next(self._ids)}"
        message = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if params is not ...:
            message["params"] = params
        self.write(message)
        while True:
            reply = self.incoming.get(timeout=TIMEOUT_S)
            assert reply is not None, "the server exited"
            if reply.get("id") == msg_id and "method" not in reply:
                return reply
            if "method" in reply and "id" in reply:  # a request from the server: answer it
                result = {"applied": False} if reply["method"] == "workspace/applyEdit" else None
                self.write({"jsonrpc": "2.0", "id": reply["id"], "result": result})

    def notify(self, method, params):
        self.write({"jsonrpc": "2.0", "method": method, "params": params})

    def close(self):
        try:
            self.request("shutdown", None)
            self.notify("exit", None)
            self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self._log.close()


@pytest.fixture(scope="module")
def peer(chinook_sqlite_url, tmp_path_factory):
    work = tmp_path_factory.mktemp("fuzz")
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "config"), "TEXT2SQL_CONFIG": str(work / "none.toml")}
    peer = StdioPeer(env, work / "server.log")
    init = peer.request("initialize", {
        "processId": os.getpid(), "rootUri": None,
        "capabilities": {"textDocument": {"inlineCompletion": {}, "completion": {"completionItem": {"snippetSupport": True}}}},
        # No model to load (the path does not exist): this is about the protocol, not SQL.
        "initializationOptions": {"connection": chinook_sqlite_url, "model": str(work / "no-model"), "trigger": "auto"},
    })
    assert "result" in init
    peer.notify("initialized", {})
    peer.notify("textDocument/didOpen", {"textDocument": {
        "uri": "file:///fuzz/a.sql", "languageId": "sql", "version": 1,
        "text": "-- top albums\n\nSELECT a.Name FROM Artist a WHERE a.\n/* q */\n"}})
    yield peer
    peer.close()
    assert peer.proc.returncode == 0


METHODS = [
    "textDocument/completion", "textDocument/hover", "textDocument/inlineCompletion", "textDocument/diagnostic",
    "textDocument/codeAction", "workspace/executeCommand", "text2sql/status", "textDocument/definition",
    "text2sql/unknown", "initialize",
]
NOTIFICATIONS = ["textDocument/didOpen", "textDocument/didChange", "textDocument/didClose", "$/cancelRequest",
                 "workspace/didChangeConfiguration", "$/setTrace", "text2sql/whatever"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**40, 2**40) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)
sqlish = st.lists(st.sampled_from(["SELECT", " ", "FROM", "Artist", "a.", "\n", "--", "/*", "*/", "'", '"', ";",
                                   "WHERE", "JOIN", "😋", "\r\n", "(", ")", ","]), max_size=30).map("".join)
uris = st.sampled_from(["file:///fuzz/a.sql", "file:///fuzz/b.sql", "file:///nowhere/never-opened.sql", "untitled:1", ""])
numbers = st.integers(-3, 2**31) | st.sampled_from([2**31 - 1, 2**32, -1])
positions = st.fixed_dictionaries({"line": numbers, "character": numbers})
shaped = st.fixed_dictionaries(
    {"textDocument": st.fixed_dictionaries({"uri": uris}), "position": positions},
    optional={
        "context": st.fixed_dictionaries({"triggerKind": st.integers(-1, 5)}),
        "range": st.fixed_dictionaries({"start": positions, "end": positions}),
        "command": st.sampled_from(["text2sql.generate", "text2sql.refreshSchema", "nope"]),
        "arguments": st.lists(json_values | uris | positions, max_size=3),
        "workDoneToken": st.text(max_size=5) | st.integers(),
    },
)
requests = st.tuples(st.sampled_from(METHODS), st.one_of(shaped, json_values, st.just(...)))
notifications = st.tuples(
    st.sampled_from(NOTIFICATIONS),
    st.one_of(
        json_values,
        st.fixed_dictionaries({"textDocument": st.fixed_dictionaries(
            {"uri": uris, "languageId": st.just("sql"), "version": st.integers(0, 10), "text": sqlish})}),
        st.fixed_dictionaries({
            "textDocument": st.fixed_dictionaries({"uri": uris, "version": st.integers(0, 100)}),
            "contentChanges": st.lists(st.fixed_dictionaries(
                {"text": sqlish}, optional={"range": st.fixed_dictionaries({"start": positions, "end": positions})}), max_size=2),
        }),
        st.fixed_dictionaries({"settings": json_values}),
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(requests.map(lambda r: ("request", r)), notifications.map(lambda n: ("notify", n))), max_size=6),
       st.booleans())
def test_random_traffic_never_stops_the_server(peer, traffic, garbage):
    for kind, (method, params) in traffic:
        if kind == "request":
            reply = peer.request(method, params)
            assert ("result" in reply) != ("error" in reply), reply
            # Bad input is the client's error (invalid params, unknown method), never a crash.
            assert reply.get("error", {}).get("code") != -32603, reply
        else:
            peer.notify(method, params)
    if garbage:  # bytes that are not JSON at all
        peer.write(b"{not json")
    reply = peer.request("text2sql/status", {})
    assert reply["result"]["model"]["state"] in ("loading", "error", "not_loaded", "ready")
    assert peer.proc.poll() is None
