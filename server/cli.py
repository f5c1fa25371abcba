"""``text2sql serve`` / ``python -m text2sql.server``: run the language server.

stdio by default (what editors expect); ``--tcp HOST:PORT`` for debugging with a client
that connects over a socket. The log goes to stderr (stdout carries LSP) or
``--log-file``; every log line is passed through ``text2sql.db.redact`` so a password in
a connection URL never reaches it, and pygls's own per-message logging (which prints
whole messages, settings included) is kept at WARNING unless ``--log-level debug``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

LOG_LEVELS = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO, "debug": logging.DEBUG}


class RedactingFormatter(logging.Formatter):
    """A formatter that redacts passwords in the final text (arguments and tracebacks too)."""

    def format(self, record: logging.LogRecord) -> str:
        from text2sql.db import redact

        return redact(super().format(record))


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT (e.g. 127.0.0.1:2087), got {value!r}")
    return host or "127.0.0.1", int(port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="text2sql serve",
        description="Run the text2sql language server (SQL from -- comments, schema completion, hover, diagnostics).",
    )
    parser.add_argument("--tcp", metavar="HOST:PORT", type=_host_port, help="listen on a TCP socket instead of stdio")
    parser.add_argument("--log-file", metavar="PATH", help="write the log here instead of stderr")
    parser.add_argument(
        "--log-level",
        choices=sorted(LOG_LEVELS),
        default=os.environ.get("TEXT2SQL_LOG_LEVEL", "info").lower() if os.environ.get("TEXT2SQL_LOG_LEVEL", "info").lower() in LOG_LEVELS else "info",
        help="log verbosity (default: $TEXT2SQL_LOG_LEVEL or info)",
    )
    return parser


def setup_logging(level: str, log_file: str | None) -> None:
    handler: logging.Handler = logging.FileHandler(log_file, encoding="utf-8") if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(LOG_LEVELS[level])
    if level != "debug":
        logging.getLogger("pygls").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        setup_logging(args.log_level, args.log_file)
    except OSError as error:
        print(f"error: cannot write the log file: {error}", file=sys.stderr)
        return 1
    from text2sql.server.server import create_server

    server = create_server()
    logging.getLogger("text2sql.server").info("text2sql language server starting (%s)", "tcp" if args.tcp else "stdio")
    if args.tcp:
        server.start_tcp(*args.tcp)
    else:
        server.start_io()
    code = 0 if server.protocol._shutdown else 1  # LSP: exit without shutdown is an error
    logging.getLogger("text2sql.server").info("text2sql language server stopped")
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # pygls closes stdout on exit
            pass
    # A model load or generation may still be running in a worker thread; the client has
    # gone, so do not wait for it.
    os._exit(code)
