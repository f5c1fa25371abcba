"""The ``%%text2sql`` cell magic and the ``%text2sql_connect`` line magic.

Arguments are parsed with IPython's ``magic_arguments`` (jupysql style). Every user error
(no connection, a bad URL, a database that is down, an empty cell, SQL the validator
refuses) is a ``UsageError`` with one clear, password-free line: IPython prints it without
a traceback and the kernel carries on. The model's SQL is shown first, highlighted in
Jupyter and plain in a terminal, so a refusal can always be read next to what was refused.
"""

from __future__ import annotations

import argparse
import contextlib
import re

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from text2sql.kernel_magic.settings import Text2SQL

# {name} is filled from the notebook; {{ and }} are literal braces.
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


@contextlib.contextmanager
def user_errors():
    """Turn text2sql's user errors (and stray driver errors) into one-line UsageErrors."""
    import sqlalchemy

    from text2sql.db import describe_error, redact
    from text2sql.errors import Text2SQLError

    try:
        yield
    except UsageError:
        raise
    except Text2SQLError as err:
        raise UsageError(redact(str(err))) from None
    except sqlalchemy.exc.SQLAlchemyError as err:
        raise UsageError(f"database error: {describe_error(err)}") from None


def fill_placeholders(cell: str, namespace: dict) -> str:
    """The question with each ``{name}`` replaced by ``str(namespace[name])``."""

    def sub(match):
        if match.group(0) in ("{{", "}}"):
            return match.group(0)[0]
        name = match.group(1)
        if name not in namespace:
            raise UsageError(f"{{{name}}} in the question is not a variable in this notebook "
                             "(write {{ and }} for literal braces)")
        return str(namespace[name])

    return _PLACEHOLDER.sub(sub, cell)


def refusal(result) -> str:
    """Why the model's SQL is not run, in one line."""
    errors = [p for p in result.problems if p.severity == "error"]
    first = errors[0]
    if first.code == "not-read-only":
        return f"refused, nothing was run: the model wrote a statement that is not read-only ({first.message})"
    if first.code == "excluded":
        return f"refused, nothing was run: the model's SQL touches an excluded object ({first.message})"
    if first.code == "empty":
        return "the model wrote no SQL for this question; try rephrasing it"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"the model's SQL is not valid, nothing was run: {first}{more}"


def _options_from(shell) -> Text2SQL:
    """The Text2SQL configurable with the kernel's ``%config`` values; one that traitlets
    refuses (IPython keeps it in the config even so) is skipped with a warning."""
    from traitlets import TraitError

    try:
        return Text2SQL(parent=shell)
    except TraitError:
        options = Text2SQL()
        for key, value in shell.config.get("Text2SQL", {}).items():
            try:
                setattr(options, key, value)
            except TraitError as err:
                print(f"text2sql: ignoring %config Text2SQL.{key}: {err}")
        return options


@magics_class
class Text2SQLMagics(Magics):
    """``%text2sql_connect`` and ``%%text2sql``; settings live in ``self.options``."""

    def __init__(self, shell):
        super().__init__(shell)
        self.options = _options_from(shell)
        shell.configurables.append(self.options)  # %config Text2SQL.model = ...
        self.connection: str | None = None  # set by %text2sql_connect: a name or URL
        self.named: dict = {}  # %text2sql_connect --name NAME: {NAME: URL or connection config}
        #: Callables given each piece of SQL as the model writes it, in the kernel's main
        #: thread (the live display in Jupyter is one of them).
        self.token_listeners: list = []

    @staticmethod
    def _parse(func, line: str):
        try:
            args = parse_argstring(func, line)
        except UsageError:
            raise
        except (SystemExit, ValueError) as err:  # argparse's own exits, quoting errors
            raise UsageError(f"bad arguments {line.strip()!r}: {err}") from None
        for key, value in vars(args).items():  # IPython keeps the quotes of 'quoted words'
            if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                setattr(args, key, value[1:-1])
        return args

    # -- %text2sql_connect ---------------------------------------------------------------

    @line_magic
    @magic_arguments()
    @argument("--name", help="also remember the database under this name, for --db NAME")
    @argument("target", help="a SQLAlchemy URL, or the name of a connection from the config")
    def text2sql_connect(self, line):
        """Choose the database that ``%%text2sql`` cells use (and re-read its schema)."""
        from text2sql.kernel_magic.connections import ensure_reachable
        from text2sql.kernel_magic.generation import assistant_for

        args = self._parse(self.text2sql_connect, line)
        target = args.target.strip()
        name = (args.name or "").strip()
        if args.name is not None and (not name or "://" in name or name.startswith("sqlite:")):
            raise UsageError(f"--name {args.name!r} is not a usable connection name (try e.g. --name shop)")
        with user_errors():
            from text2sql.db import display_url

            settings = self.options.settings(connections=self.named)
            assistant = assistant_for(settings)
            engine, conn = assistant.engine(target)
            try:
                ensure_reachable(engine)
                schema = assistant.schema(target, refresh=True)
            finally:
                engine.dispose()
        if name:  # remembered as typed (a URL, or the named connection's config): never expanded
            self.named[name] = settings.connections.get(target, target)
            target = name
        self.connection = target
        print(f"text2sql: connected to {display_url(conn.url)} ({len(schema.tables)} tables)"
              + (f" as {name!r}" if name else ""))

    # -- %%text2sql -----------------------------------------------------------------------

    @cell_magic
    @magic_arguments()
    @argument("--db", metavar="URL|NAME", help="the database for this cell (default: %%text2sql_connect, "
              "then JupySQL's %%sql connection, then the configured connection, then the Chinook demo)")
    @argument("--run", action=argparse.BooleanOptionalAction, default=True,
              help="run the SQL read-only and return a DataFrame (default), or only show it")
    @argument("--limit", type=int, metavar="N", help="fetch at most N rows")
    @argument("-o", "--out", metavar="VAR", help="store the DataFrame (with --no-run: the SQL) in VAR")
    @argument("--insert", action="store_true", help="put the SQL into a new cell below")
    @argument("--explain", action="store_true", help="show the database's plan instead of running")
    def text2sql(self, line, cell):
        """Write SQL for the question in the cell, check it, and run it read-only."""
        args = self._parse(self.text2sql, line)
        if args.limit is not None and args.limit < 1:
            raise UsageError(f"--limit must be a positive number of rows, not {args.limit}")
        if args.out is not None and not args.out.isidentifier():
            raise UsageError(f"-o {args.out!r} is not a Python variable name")
        question = fill_placeholders(cell or "", self.shell.user_ns)
        if not question.strip():
            raise UsageError("the cell is empty: write a question below %%text2sql, "
                             "e.g. 'top 5 customers by total spent'")
        with user_errors():
            from text2sql.kernel_magic.connections import choose_target, ensure_reachable
            from text2sql.kernel_magic.generation import assistant_for

            settings = self.options.settings(explicit={"row_limit": args.limit}, connections=self.named)
            target = choose_target(args.db, self.connection, settings)
            assistant = assistant_for(settings)
            engine, conn = assistant.engine(target)
            try:
                ensure_reachable(engine)
                return self._answer(args, assistant, engine, conn, target, question, settings)
            finally:
                engine.dispose()  # no idle connection (nor DuckDB file lock) between cells

    def _answer(self, args, assistant, engine, conn, target, question, settings):
        from IPython.display import display

        from text2sql.db import display_url
        from text2sql.kernel_magic.display import GeneratedSQL

        result, live = self._generate(assistant, question, target, settings)
        if result is None:
            return None
        shown = GeneratedSQL.of(result, display_url(conn.url))
        if live is not None:
            live.finish(shown)
        else:
            display(shown)
        if not result.ok:
            raise UsageError(refusal(result))
        if args.insert:
            self.shell.set_next_input(result.sql, replace=False)
        schema = assistant.schema(target)
        timeout = conn.timeout_s or settings.timeout_s
        if args.explain:
            from text2sql.execute import explain
            from text2sql.kernel_magic.display import Plan

            display(Plan(explain(engine, result.sql, schema=schema, timeout_s=timeout).plan))
            return None
        if not args.run:
            if args.out:
                self.shell.user_ns[args.out] = result.sql
            return None
        from text2sql.execute import run

        limit = args.limit or conn.row_limit or settings.row_limit
        rows = run(engine, result.sql, schema=schema, limit=limit, timeout_s=timeout)
        for note in rows.notes:
            print(f"text2sql: {note}")
        if rows.truncated:
            print(f"text2sql: showing the first {len(rows.rows)} rows (--limit N to change)")
        try:
            frame = rows.to_pandas()
        except ImportError:
            raise UsageError("pandas is needed to show results: pip install 'text2sql[notebook]'") from None
        if args.out:
            self.shell.user_ns[args.out] = frame
        return frame

    def _generate(self, assistant, question, target, settings):
        """(the model's Result, the live display in Jupyter or None); the Result is None
        when the user interrupted the loading or the writing."""
        from text2sql.kernel_magic.display import LiveSQL, in_kernel
        from text2sql.kernel_magic.generation import Cancelled, generate_interruptibly

        if not assistant.loaded:
            try:
                assistant.load(progress=True)  # once per kernel: a tqdm.auto bar
            except KeyboardInterrupt:
                print("text2sql: model loading cancelled")
                return None, None
        live = LiveSQL() if in_kernel(self.shell) else None
        listeners = list(self.token_listeners) + ([live] if live is not None else [])

        def on_piece(piece: str) -> None:
            for listener in listeners:
                listener(piece)

        try:
            return generate_interruptibly(assistant, question, target, n=settings.n_candidates,
                                          on_piece=on_piece if listeners else None), live
        except Cancelled:
            if live is not None:
                live.finish(None)
            print("text2sql: generation cancelled")
            return None, None
        except BaseException:
            if live is not None:
                live.finish(None, "stopped by an error")
            raise
