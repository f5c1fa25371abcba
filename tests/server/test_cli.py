"""The server's command line: ``text2sql serve`` forwarding, --tcp, --log-file, usage errors."""

import json
import os
import socket
import subprocess
import sys
import time

import pytest


def run(*args, **kw):
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=120, **kw)


def test_serve_help_through_the_main_cli():
    done = run("text2sql", "serve", "--help")
    assert done.returncode == 0
    assert "--tcp HOST:PORT" in done.stdout and "--log-level" in done.stdout


@pytest.mark.parametrize("bad", ["nohost", "127.0.0.1:notaport", "127.0.0.1:70000"])
def test_bad_tcp_address_is_a_usage_error(bad):
    done = run("text2sql.server", "--tcp", bad)
    assert done.returncode == 2 and "HOST:PORT" in done.stderr


def test_unwritable_log_file_is_one_clear_error(tmp_path):
    done = run("text2sql.server", "--log-file", str(tmp_path / "missing-dir" / "server.log"))
    assert done.returncode == 1 and done.stderr.startswith("error: cannot write the log file")


def frame(message: dict) -> bytes:
    body = json.dumps(message).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_frame(stream) -> dict:
    length = None
    while True:
        line = stream.readline()
        assert line, "connection closed"
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
        elif line == b"\r\n":
            return json.loads(stream.read(length))


def test_tcp_server_answers_initialize_and_status(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "TEXT2SQL_CONFIG": str(tmp_path / "none.toml")}
    server = subprocess.Popen(
        [sys.executable, "-m", "text2sql.server", "--tcp", f"127.0.0.1:{port}", "--log-file", str(tmp_path / "log")],
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:  # wait for the port to open (the server process is starting)
            try:
                conn = socket.create_connection(("127.0.0.1", port), timeout=60)
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline and server.poll() is None, "the TCP server did not start"
                time.sleep(0.1)
        with conn, conn.makefile("rwb") as stream:
            stream.write(frame({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "processId": None, "rootUri": None, "capabilities": {},
                "initializationOptions": {"model": str(tmp_path / "no-model")}}}))
            stream.flush()
            reply = read_frame(stream)
            assert reply["id"] == 1 and reply["result"]["serverInfo"]["name"] == "text2sql"
            assert "inlineCompletionProvider" in reply["result"]["capabilities"]
            stream.write(frame({"jsonrpc": "2.0", "id": 2, "method": "text2sql/status"}))  # no params at all
            stream.flush()
            while (reply := read_frame(stream)).get("id") != 2:
                pass
            assert reply["result"]["schema"]["connection"] == "Chinook demo"
    finally:
        server.kill()
        server.wait(timeout=30)
