"""The model commands of the ``text2sql`` CLI: ``ask`` and ``cache``.

``text2sql.cli`` calls :func:`add_parsers`; the handlers take the parsed arguments and
return an exit code, raising ``Text2SQLError`` for user errors (the CLI prints those as one
line). Importing this module is light: torch and transformers load only inside ``ask``.

``ask`` prints the SQL on stdout, then the validation result as SQL comments (so the
output can be saved as a .sql file), and with ``--run`` the first rows. The exit code is
0 when the SQL validated, 1 when it has problems.
"""

from __future__ import annotations

import argparse
import json
import sys

from text2sql.config import PRECISIONS as PRECISION_CHOICES


def add_parsers(subparsers) -> None:
    p = subparsers.add_parser(
        "ask",
        help="write SQL for a question with the local model, checked against the schema",
        description="Write SQL for a question with the local model (the embedded Gemma 3 270M unless "
        "configured otherwise), validated against the live schema; --run executes it read-only.",
    )
    p.add_argument("question", nargs="+", help="the question, e.g. \"top 10 albums by sales\"")
    p.add_argument("--db", metavar="URL|NAME", help="SQLAlchemy URL or a configured connection name "
                   "(default: the configured connection, else the bundled Chinook demo)")
    p.add_argument("--run", action="store_true", help="run the SQL read-only and print the first rows")
    p.add_argument("--n", type=int, metavar="N", help="candidates to generate (greedy, then beams); "
                   "the first that validates, runs and answers something wins")
    p.add_argument("--model", help="a Hugging Face model directory or a .gguf file (default: embedded)")
    p.add_argument("--adapter", help="a PEFT adapter directory, or 'none' (default: the shipped adapter)")
    p.add_argument("--precision", choices=PRECISION_CHOICES, help="weights precision (default: auto)")
    p.add_argument("--device", help="auto, cpu or cuda[:N] (default: auto)")
    p.add_argument("--limit", type=int, help="rows to fetch with --run (default: 20)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=cmd_ask)

    p = subparsers.add_parser("cache", help="show or clear the model cache (converted models)")
    actions = p.add_subparsers(dest="cache_action", metavar="ACTION")
    info = actions.add_parser("info", help="what is cached where, and how big (the default)")
    info.add_argument("--json", action="store_true", help="print as JSON")
    actions.add_parser("clear", help="delete the cache; the embedded model is rebuilt on next use")
    p.set_defaults(func=cmd_cache, json=False)


# ---------------------------------------------------------------- ask


def _progress(message: str, step: int, total: int) -> None:
    print(f"text2sql: {message} ({step}/{total})", file=sys.stderr, flush=True)


def cmd_ask(args) -> int:
    from text2sql.config import load_settings
    from text2sql.pipeline import Assistant
    from text2sql.prompt import clean_question

    question = clean_question(" ".join(args.question))  # fail before loading a model
    settings = load_settings()
    assistant = Assistant(
        model=args.model,
        adapter=args.adapter,
        precision=args.precision or "auto",
        device=args.device or "auto",
        settings=settings,
    )
    assistant.load(progress=_progress)
    stream = sys.stdout.isatty() and not args.json and (args.n or 1) == 1
    on_token = (lambda piece: print(piece, end="", flush=True)) if stream else None
    result = assistant.generate(question, args.db, n=args.n, on_token=on_token)
    rows = None
    if args.run and result.ok:
        rows = _run(assistant, args, result)
    if args.json:
        print(json.dumps(_as_json(result, rows), indent=2, default=str))
        return 0 if result.ok else 1
    if stream:
        print()
    else:
        print(result.sql or "-- (the model wrote no SQL)")
    for note in result.notes:
        print(f"-- {note}")
    if stream and result.notes:  # what streamed was the model's text; this is what ran
        print(result.sql)
    if result.ok:
        print("-- ok: valid against the schema" + (" and runs" if not result.problems else ""))
    for problem in result.problems:
        print(f"-- {problem.severity}: {problem}")
    if rows is not None:
        print(rows.format_table())
    elif args.run:
        print("-- not run: the SQL has problems", file=sys.stderr)
    return 0 if result.ok else 1


def _run(assistant, args, result):
    from text2sql.execute import run

    engine, conn = assistant.engine(args.db)
    settings = assistant.settings
    limit = args.limit or 20
    timeout = (conn.timeout_s if conn and conn.timeout_s else None) or settings.timeout_s
    return run(engine, result.sql, schema=assistant.schema(args.db), limit=limit, timeout_s=timeout)


def _as_json(result, rows) -> dict:
    data = {
        "sql": result.sql,
        "ok": result.ok,
        "problems": [p.__dict__ for p in result.problems],
        "notes": result.notes,
        "candidates": [{"sql": c.sql, "problems": [p.__dict__ for p in c.problems], "repairs": list(c.repairs)}
                       for c in result.candidates],
        "model": result.model,
        "dialect": result.dialect,
        "schema_version": result.schema_version,
        "elapsed_s": result.elapsed_s,
    }
    if rows is not None:
        data["rows"] = {"columns": rows.columns, "rows": [list(r) for r in rows.rows], "truncated": rows.truncated}
    return data


# ---------------------------------------------------------------- cache


def cmd_cache(args) -> int:
    from text2sql import cache

    if args.cache_action == "clear":
        count, freed = cache.clear()
        print(f"removed {count} item{'s' if count != 1 else ''} ({cache.human_size(freed)}) from {cache.cache_root()}")
        return 0
    items = cache.entries()
    if args.json:
        print(json.dumps({
            "root": str(cache.cache_root()),
            "entries": [{"path": str(e.path), "bytes": e.size_bytes, "description": e.description,
                         "complete": e.complete} for e in items],
        }, indent=2))
        return 0
    print(f"cache directory: {cache.cache_root()}")
    if not items:
        print("  (empty: the embedded model is converted on first use, about 1-2 minutes)")
    for e in items:
        print(f"  {cache.human_size(e.size_bytes):>9}  {e.path.name}  {e.description}")
    total = sum(e.size_bytes for e in items)
    print(f"total: {cache.human_size(total)}")
    return 0


if __name__ == "__main__":  # pragma: no cover - use `text2sql ask|cache`
    parser = argparse.ArgumentParser(prog="text2sql")
    add_parsers(parser.add_subparsers(dest="command"))
    ns = parser.parse_args()
    sys.exit(ns.func(ns) if getattr(ns, "func", None) else 2)
