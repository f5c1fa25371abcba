"""The ``%%text2sql`` cell magic and ``%text2sql_connect``.

Arguments are parsed with IPython's ``magic_arguments`` (jupysql style); every user error
is a ``UsageError`` with one clear line, so the kernel never dies. Generation runs in a
worker thread: a kernel interrupt (Ctrl-C / "Interrupt") sets the cancel event, waits for
the worker to stop, and leaves the kernel ready for the next cell.
"""

from __future__ import annotations

import argparse
import re
import sys
import threading

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from text2sql.kernel_magic.settings import Text2SQL

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_assistants: dict[tuple, object] = {}  # one model per kernel and model configuration
_assistants_lock = threading.Lock()


def _user_error(err: Exception) -> UsageError:
    from text2sql.db import redact

    return UsageError(redact(str(err)))


def jupysql_url() -> str | None:
    """The URL of JupySQL's active ``%sql`` connection, only if JupySQL is already loaded
    (it is never imported here: it sends telemetry)."""
    if "sql.connection" not in sys.modules:
        return None
    try:
        manager = sys.modules["sql.connection"].ConnectionManager
        current = getattr(manager, "current", None)
        url = getattr(current, "url", None) or getattr(getattr(current, "_engine", None), "url", None)
        if url is None:
            return None
        return url.render_as_string(hide_password=False) if hasattr(url, "render_as_string") else str(url)
    except Exception:
        return None


def assistant_for(settings):
    """The kernel's Assistant for these model settings (loaded once, with a progress bar)."""
    from text2sql.pipeline import Assistant

    key = (settings.model, settings.adapter, settings.precision, settings.device)
    with _assistants_lock:
        if key not in _assistants:
            _assistants[key] = Assistant(model=settings.model, adapter=settings.adapter,
                                         precision=settings.precision, device=settings.device, settings=settings)
        assistant = _assistants[key]
        assistant.settings = settings  # connections named since the model was loaded
        return assistant


@magics_class
class Text2SQLMagics(Magics):
    def __init__(self, shell):
        super().__init__(shell)
        self.options = Text2SQL(parent=shell)
        if self.options not in shell.configurables:
            shell.configurables.append(self.options)  # %config Text2SQL.model = ...
        self.connection: str | None = None  # a connection name or URL

    # -- connections ---------------------------------------------------------------
    @line_magic
    @magic_arguments()
    @argument("--name", help="remember the URL under this name for --db NAME")
    @argument("target", help="a SQLAlchemy URL, or a connection name from the config")
    def text2sql_connect(self, line):
        """Set the database that ``%%text2sql`` cells use by default."""
        args = parse_argstring(self.text2sql_connect, line)
        target = args.target.strip()
        if args.name:
            connections = dict(self.options.connections)
            connections[args.name] = target
            self.options.connections = connections
            target = args.name
        try:
            from text2sql.config import resolve_connection
            from text2sql.db import check_connection, create_engine, display_url

            conn = resolve_connection(target, self.options.settings())
            engine = create_engine(conn.url)
            try:
                check_connection(engine)
            finally:
                engine.dispose()
        except Exception as err:
            raise _user_error(err) from None
        self.connection = target
        print(f"text2sql: connected to {display_url(conn.url)}")

    # -- the cell magic ------------------------------------------------------------------
    @cell_magic
    @magic_arguments()
    @argument("--db", help="a SQLAlchemy URL or connection name (default: %%text2sql_connect, "
              "JupySQL's %%sql connection, the configured default, else the Chinook demo)")
    @argument("--run", action=argparse.BooleanOptionalAction, default=True, help="execute the SQL (default) or not")
    @argument("--limit", type=int, help="maximum rows to fetch")
    @argument("-o", "--out", metavar="VAR", help="store the DataFrame in this variable")
    @argument("--insert", action="store_true", help="put the SQL into the next cell")
    @argument("--explain", action="store_true", help="show the database's plan instead of running")
    def text2sql(self, line, cell):
        """Write SQL for the question in the cell; check it, and run it read-only."""
        args = parse_argstring(self.text2sql, line)
        question = self._fill_placeholders(cell)
        if not question.strip():
            raise UsageError("the cell is empty: write a question, e.g. 'top 5 customers by total spent'")
        try:
            settings = self.options.settings(explicit={"row_limit": args.limit})
            target = args.db or self.connection or jupysql_url() or settings.connection
            from text2sql.config import resolve_connection

            conn = resolve_connection(target, settings)
            result = self._generate(settings, question, target)
        except UsageError:
            raise
        except Exception as err:
            from text2sql.errors import Text2SQLError

            if isinstance(err, Text2SQLError):
                raise _user_error(err) from None
            raise
        if result is None:
            return None  # interrupted
        from text2sql.kernel_magic.display import show_result

        show_result(self.shell, result)
        if result.problems:
            raise UsageError(f"the model's SQL is not valid: {result.problems[0]}")
        if args.insert:
            self.shell.set_next_input(result.sql, replace=False)
        if args.explain:
            return self._explain(conn, result.sql, settings)
        if not args.run:
            return None
        frame = self._run(conn, result.sql, settings)
        if args.out:
            self.shell.user_ns[args.out] = frame
        return frame

    def _fill_placeholders(self, cell: str) -> str:
        def sub(match):
            name = match.group(1)
            if name not in self.shell.user_ns:
                raise UsageError(f"{{{name}}} in the question is not a variable in this notebook")
            return str(self.shell.user_ns[name])

        return _PLACEHOLDER.sub(sub, cell)

    def _generate(self, settings, question: str, target):
        """Generate in a worker thread so that an interrupt cancels cleanly."""
        assistant = assistant_for(settings)
        assistant.load()
        cancel = threading.Event()
        outcome: dict = {}

        def work():
            try:
                outcome["result"] = assistant.generate(question, target, n=settings.n_candidates, cancel=cancel)
            except BaseException as err:  # handed to the kernel thread below
                outcome["error"] = err

        worker = threading.Thread(target=work, name="text2sql-generate", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.05)
        except KeyboardInterrupt:
            cancel.set()
            worker.join()
            print("text2sql: generation cancelled")
            return None
        if "error" in outcome:
            from text2sql.errors import GenerationCancelled

            if isinstance(outcome["error"], GenerationCancelled):
                print("text2sql: generation cancelled")
                return None
            raise outcome["error"]
        return outcome["result"]

    def _run(self, conn, sql: str, settings):
        from text2sql.execute import run
        from text2sql.schema import introspect

        try:
            schema = introspect(conn.url, samples=0, exclude=conn.exclude)
            result = run(conn.url, sql, schema=schema, limit=conn.row_limit or settings.row_limit,
                         timeout_s=conn.timeout_s or settings.timeout_s)
        except Exception as err:
            from text2sql.errors import Text2SQLError

            if isinstance(err, Text2SQLError):
                raise _user_error(err) from None
            raise
        if result.truncated:
            print(f"text2sql: showing the first {len(result.rows)} rows (--limit to change)")
        return result.to_pandas()

    def _explain(self, conn, sql: str, settings):
        from text2sql.execute import explain

        try:
            plan = explain(conn.url, sql, timeout_s=conn.timeout_s or settings.timeout_s)
        except Exception as err:
            raise _user_error(err) from None
        print("\n".join(" | ".join(str(v) for v in row) for row in plan.rows))
        return None
