"""The jupyter-server extension: text2sql over Jupyter's authenticated HTTP API.

``POST /text2sql/generate`` {"question", "connection"} -> {"sql", "problems", "model"}
``GET  /text2sql/schema?connection=NAME`` -> the introspected schema as JSON

Only connection NAMES configured for the server (``c.Text2SQL.connections`` or the user
config file) are accepted; a raw URL in a request is refused, so a browser tab cannot
point the server at arbitrary databases. Handlers are ``APIHandler`` subclasses with
``@web.authenticated`` (403 without a token, never a redirect); generation and
introspection run in a worker thread, off Tornado's event loop.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict

from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join
from tornado import web

from text2sql.kernel_magic.settings import Text2SQL

# Generation is serialized by the model itself; schema reads may run beside it.
_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="text2sql")


class _Base(APIHandler):
    @property
    def options(self) -> Text2SQL:
        return self.settings["text2sql_options"]

    def _connection(self, name):
        if not isinstance(name, str) or not name.strip():
            raise web.HTTPError(400, "'connection' must be the name of a configured connection")
        if "://" in name or name.startswith("sqlite:"):
            raise web.HTTPError(400, "raw database URLs are refused; use a connection name configured for the server")
        from text2sql.config import resolve_connection
        from text2sql.db import redact
        from text2sql.errors import Text2SQLError

        try:
            settings = self.options.settings()
            if name not in settings.connections:
                known = ", ".join(sorted(settings.connections)) or "none configured"
                raise web.HTTPError(400, f"unknown connection {name!r} (known: {known})")
            return settings, resolve_connection(name, settings)
        except Text2SQLError as err:  # the server's own configuration is wrong
            raise web.HTTPError(500, f"text2sql is misconfigured on this server: {redact(err)}") from None

    def write_error(self, status_code, **kwargs):
        self.set_header("Content-Type", "application/json")
        reason = self._reason
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, web.HTTPError) and exc.log_message:
            reason = exc.log_message
        self.finish(json.dumps({"error": reason, "status": status_code}))

    async def _in_thread(self, fn, *args):
        from text2sql.db import redact
        from text2sql.errors import ConnectionFailed, ModelError, Text2SQLError

        try:
            return await asyncio.get_running_loop().run_in_executor(_executor, fn, *args)
        except ConnectionFailed as err:  # the database is down: not the request's fault
            raise web.HTTPError(503, redact(str(err))) from None
        except ModelError as err:  # the server's model is missing or broken
            raise web.HTTPError(500, redact(str(err))) from None
        except Text2SQLError as err:
            raise web.HTTPError(400, redact(str(err))) from None


class GenerateHandler(_Base):
    @web.authenticated
    async def post(self):
        try:
            body = json.loads(self.request.body or b"")
        except ValueError:
            raise web.HTTPError(400, "the body must be JSON: {\"question\": ..., \"connection\": ...}") from None
        if not isinstance(body, dict) or not isinstance(body.get("question"), str) or not body["question"].strip():
            raise web.HTTPError(400, "'question' must be a non-empty string")
        settings, conn = self._connection(body.get("connection"))

        def generate():
            from text2sql.kernel_magic.connections import ensure_reachable
            from text2sql.kernel_magic.generation import assistant_for

            assistant = assistant_for(settings)
            engine, _ = assistant.engine(conn.name)
            ensure_reachable(engine)  # a database that is down is a 503, one that is back works at once
            assistant.load(progress=False)
            return assistant.generate(body["question"], conn.name, n=settings.n_candidates)

        result = await self._in_thread(generate)
        self.finish(json.dumps({
            "sql": result.sql,
            "problems": [asdict(p) for p in result.problems],
            "model": str(getattr(result, "model", "")),
        }))


class SchemaHandler(_Base):
    @web.authenticated
    async def get(self):
        settings, conn = self._connection(self.get_argument("connection", None))

        def schema():
            from text2sql.schema import introspect

            return introspect(conn.url, samples=conn.samples, exclude=conn.exclude)

        result = await self._in_thread(schema)
        self.finish(json.dumps(result.to_dict(), default=str))


def load(serverapp) -> None:
    """Register the handlers on a running jupyter-server."""
    web_app = serverapp.web_app
    web_app.settings["text2sql_options"] = Text2SQL(parent=serverapp)
    base = web_app.settings["base_url"]
    web_app.add_handlers(".*$", [
        (url_path_join(base, "text2sql", "generate"), GenerateHandler),
        (url_path_join(base, "text2sql", "schema"), SchemaHandler),
    ])
    serverapp.log.info("text2sql: /text2sql/generate and /text2sql/schema registered")
