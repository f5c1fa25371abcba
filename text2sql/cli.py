"""The ``text2sql`` command.

Engine commands (``schema``, ``check``, ``run``) live here; ``ask`` and ``cache`` come from
``cli_model`` (light to import); ``serve``, ``finetune`` and ``eval`` are forwarded
verbatim to their front ends, which are imported only when one of them is invoked, so
``text2sql --help`` never loads torch, pygls or a training stack.

Every user error is a ``Text2SQLError``: it is printed as one ``error: ...`` line (with
passwords redacted) and the exit code is 1; usage errors exit 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from text2sql import __version__
from text2sql.errors import Text2SQLError

# Sub-commands handled by a front end that parses its own arguments.
FORWARDED = {
    "serve": ("text2sql.server.cli", "main", "run the language server (stdio, or --tcp HOST:PORT)"),
    "finetune": ("text2sql.finetune.cli", "main", "prepare data, train, merge, sweep (LoRA/QLoRA)"),
    "eval": ("text2sql.finetune.cli", "eval_main", "execution-accuracy evaluation (e.g. Spider dev)"),
}


def _add_db_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL|NAME",
        help="SQLAlchemy URL or a connection name from the config file "
        "(default: the configured connection, else the bundled Chinook demo)",
    )


def _read_sql(arg: str) -> str:
    return sys.stdin.read() if arg == "-" else arg


def _connection(args):
    from text2sql.config import load_settings, resolve_connection

    settings = load_settings()
    return settings, resolve_connection(args.db, settings)


def _introspect(conn):
    from text2sql.db import create_engine
    from text2sql.schema import introspect

    engine = create_engine(conn.url)
    return engine, introspect(engine, samples=conn.samples, exclude=conn.exclude)


def cmd_schema(args) -> int:
    from text2sql import prompt

    _, conn = _connection(args)
    _, schema = _introspect(conn)
    if args.json:
        print(json.dumps(schema.to_dict(), indent=2, default=str))
    elif args.question:
        print(prompt.render(schema, args.question), end="")
    else:
        print(prompt.schema_prefix(schema), end="")
    return 0


def cmd_check(args) -> int:
    from text2sql.validate import check

    sql = _read_sql(args.sql)
    _, conn = _connection(args)
    _, schema = _introspect(conn)
    problems = check(sql, schema)
    if args.json:
        print(json.dumps([p.__dict__ for p in problems], indent=2))
    elif problems:
        for p in problems:
            print(f"{args.label}:{p}")
    else:
        print("ok: no problems found")
    return 1 if any(p.severity == "error" for p in problems) else 0


def cmd_run(args) -> int:
    from text2sql.execute import run

    sql = _read_sql(args.sql)
    settings, conn = _connection(args)
    engine, schema = _introspect(conn)
    result = run(
        engine,
        sql,
        schema=schema,
        limit=args.limit or conn.row_limit or settings.row_limit,
        timeout_s=args.timeout or conn.timeout_s or settings.timeout_s,
    )
    if args.format == "json":
        print(json.dumps({"columns": result.columns, "rows": [list(r) for r in result.rows],
                          "truncated": result.truncated}, default=str))
    elif args.format == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
    else:
        print(result.format_table())
    if result.truncated:
        print(f"(showing the first {len(result.rows)} rows; raise --limit for more)", file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="text2sql",
        description="Offline SQL assistant: questions to SQL with a local model, checked "
        "against your live schema, run read-only.",
    )
    parser.add_argument("--version", action="version", version=f"text2sql {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("schema", help="print the schema exactly as the model sees it")
    _add_db_option(p)
    p.add_argument("--question", "-q", help="print the whole prompt for this question")
    p.add_argument("--json", action="store_true", help="print the introspected schema as JSON")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("check", help="validate SQL against the schema; problems as line:col")
    _add_db_option(p)
    p.add_argument("sql", help="the SQL text, or - to read standard input")
    p.add_argument("--json", action="store_true", help="problems as JSON")
    p.add_argument("--label", default="<sql>", help="name printed before line:col (e.g. a file name)")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("run", help="validate, then execute read-only and print the rows")
    _add_db_option(p)
    p.add_argument("sql", help="the SQL text, or - to read standard input")
    p.add_argument("--limit", type=int, help="maximum rows to fetch")
    p.add_argument("--timeout", type=float, help="statement timeout in seconds")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table")
    p.set_defaults(func=cmd_run)

    from text2sql import cli_model

    cli_model.add_parsers(sub)

    for name, (_, _, help_text) in FORWARDED.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] in FORWARDED:
            module_name, func_name, _ = FORWARDED[argv[0]]
            import importlib

            return int(getattr(importlib.import_module(module_name), func_name)(argv[1:]) or 0)
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "func", None):
            parser.print_help()
            return 2
        return int(args.func(args) or 0)
    except Text2SQLError as err:
        from text2sql.db import redact

        print(f"error: {redact(str(err))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `text2sql run ... | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
