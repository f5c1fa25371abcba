"""Latency of SQL generation on this machine: Chinook, 20 fixed questions (10 single-table,
10 joins), per precision: cold start (load to ready), then per request time to first
token, time to the full SQL, decode tokens/s and peak RSS, as p50/p90. Prints a Markdown
table and writes JSON. Decode tokens/s is (tokens - 1) over the time from the first streamed
token to the last, the same for every engine: what a request spends before decoding is time
to first token, and after it (extracting and checking the SQL) is in the time to full SQL.

    python bench/latency.py [--precision fp32 int8 bf16] [--restricted-vocabulary int8 bf16]
                            [--model DIR] [--adapter none] [--llama-gguf FILE ...]
                            [--out bench/results/latency.json]

When llama-cpp-python is installed, the same run measures llama.cpp on the same prompts
and thread count (``bench/llamacpp.py``; the embedded Q4_K_M file unless --llama-gguf
names others). Each row also shows how close decoding comes to this machine's memory
bandwidth limit: a decode step reads every weight once, so the limit is the measured read
bandwidth over the bytes of weights one step reads (with the restricted output vocabulary,
``text2sql.output_vocab``, only the allowed rows of the head).

It records the load average and refuses to measure when the machine is busy (> 0.5)
unless --force: numbers taken beside other work are not numbers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import time
from pathlib import Path

from idle import add_force_flag, busy, publish  # bench/idle.py (the script's own folder is on sys.path)

from text2sql.model import cpu_info, describe_cpu

SINGLE = [
    "How many albums are there?", "List all genres", "Which artists have a name starting with A?",
    "How many customers live in Canada?", "What is the longest track?", "List the names of all media types",
    "How many employees are there?", "What is the most expensive track?", "List all playlists",
    "How many invoices were issued in 2010?",
]
JOINS = [
    "Name the top 10 albums with the highest sales amount", "How many tracks does each genre have?",
    "Which artist has the most albums?", "Total sales per customer country",
    "List the tracks in the playlist 'Music'", "Which employee supports the most customers?",
    "Average track length per album", "Which customers bought jazz tracks?",
    "Top 5 artists by number of tracks", "Total invoice amount per billing country",
]


def pct(values, q):
    values = sorted(values)
    return round(values[min(len(values) - 1, int(round(q * (len(values) - 1))))], 3) if values else None


def measure(precision: str, model, adapter, threads: int, prefix_cache: bool = True, restricted: bool = False) -> dict:
    import torch

    torch.set_num_threads(threads)
    from text2sql.config import Settings
    from text2sql.pipeline import Assistant

    t0 = time.perf_counter()
    assistant = Assistant(model=model, adapter=adapter, precision=precision, device="cpu",
                          settings=Settings(restricted_vocabulary=restricted))
    assistant.load(progress=False)
    cold = time.perf_counter() - t0
    if not prefix_cache:  # every request prefills the whole prompt (the "before" row)
        assistant.backend._prefix_cache_size = 0
    assistant.generate(SINGLE[0], None, execute_check=False)  # warm the schema cache and prefix
    rows = []
    for kind, questions in (("single", SINGLE), ("join", JOINS)):
        for q in questions:
            arrivals = []  # when each streamed piece arrived
            start = time.perf_counter()
            result = assistant.generate(q, None, execute_check=False,
                                        on_token=lambda p: arrivals.append(time.perf_counter()))
            total = time.perf_counter() - start
            ntok = max(1, len(assistant.backend.tokenizer(result.candidates[0].completion,
                                                          add_special_tokens=False).input_ids))
            rows.append(request_row(kind, q, start, total, arrivals, ntok, result.ok, result.sql))
    used = assistant.backend.loaded.info.precision + ("" if prefix_cache else ", no schema prefix cache") \
        + (", restricted vocabulary" if restricted else "")
    rows_read = None
    if restricted:
        from text2sql import prompt
        from text2sql.output_vocab import allowed_ids

        job_prefix = prompt.schema_prefix(assistant.schema(None), question=SINGLE[0])
        rows_read = len(allowed_ids(assistant.backend.tokenizer, [job_prefix])[0])
    out = {"precision": precision, "used": used, "cold_start_s": round(cold, 2), "model": assistant.model_name,
           "weight_bytes": decode_bytes(assistant.backend.loaded.model, rows_read), "head_rows": rows_read}
    return summarize(out, rows)


def request_row(kind: str, question: str, start: float, total: float, arrivals: list[float], tokens: int,
                valid: bool, sql: str | None) -> dict:
    """One request's measurements; ``arrivals``: when each streamed piece arrived."""
    ttft = (arrivals[0] - start) if arrivals else total
    span = arrivals[-1] - arrivals[0] if arrivals else 0.0
    return {"kind": kind, "question": question, "ttft_s": ttft, "total_s": total, "tokens": tokens,
            "decode_tok_s": (tokens - 1) / span if span > 0 and tokens > 1 else None, "valid": valid, "sql": sql}


def summarize(info: dict, rows: list[dict]) -> dict:
    """p50/p90 per kind of question, peak RSS of this process, and the rows themselves."""
    out = dict(info, peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    for kind in ("single", "join"):
        sub = [r for r in rows if r["kind"] == kind]
        out[kind] = {"ttft_p50": pct([r["ttft_s"] for r in sub], .5), "ttft_p90": pct([r["ttft_s"] for r in sub], .9),
                     "total_p50": pct([r["total_s"] for r in sub], .5), "total_p90": pct([r["total_s"] for r in sub], .9),
                     "decode_tok_s_p50": round(statistics.median([r["decode_tok_s"] for r in sub if r["decode_tok_s"]] or [0]), 1),
                     "valid": sum(r["valid"] for r in sub)}
    out["requests"] = rows
    return out


def weight_bytes(model) -> int:
    """Bytes of weights a decode step reads: parameters, buffers and the packed weights of
    dynamically quantized layers (the tied embedding/head counted once)."""
    import torch

    seen, total = set(), 0

    def add(t):
        nonlocal total
        if isinstance(t, torch.Tensor) and t.data_ptr() not in seen:
            seen.add(t.data_ptr())
            total += t.numel() * t.element_size()
        elif isinstance(t, (tuple, list)):
            for x in t:
                add(x)

    for value in model.state_dict(keep_vars=True).values():
        add(value)
    return total


def decode_bytes(model, head_rows: int | None = None) -> int:
    """Bytes of weights one decode step reads: every weight once, except that the input
    embedding is only looked up (one row) when the output head is not tied to it (an int8
    head), and a restricted head reads ``head_rows`` rows instead of the whole head."""
    emb = model.get_input_embeddings().weight
    head = model.get_output_embeddings()
    emb_bytes = emb.numel() * emb.element_size()
    tied = getattr(head, "weight", None) is emb
    total = weight_bytes(model) - (0 if tied else emb_bytes)
    if head_rows is not None:
        total -= emb_bytes if tied else weight_bytes(head)
        total += head_rows * emb.shape[1] * emb.element_size()
    return total


def read_bandwidth(threads: int, gib: float = 1.0) -> float:
    """Memory read bandwidth in bytes/s: the best of five sums over a ``gib`` GiB tensor."""
    import torch

    torch.set_num_threads(threads)
    x = torch.ones(int(gib * 2**30) // 4)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        x.sum()
        best = min(best, time.perf_counter() - t0)
    return x.numel() * 4 / best


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", nargs="+", default=["fp32", "int8", "bf16"])
    parser.add_argument("--model")
    parser.add_argument("--adapter")
    parser.add_argument("--restricted-vocabulary", nargs="*", default=["int8", "bf16"], metavar="PRECISION",
                        help="precisions measured again with the setting restricted_vocabulary on")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    add_force_flag(parser)
    parser.add_argument("--llama-gguf", nargs="*", default=None,
                        help="GGUF files for llama.cpp (default: the embedded Q4_K_M; none given: skip llama.cpp)")
    parser.add_argument("--out", default="bench/results/latency.json")
    args = parser.parse_args(argv)
    load = busy(args.force)
    if load is None:
        return 2
    import subprocess

    from llamacpp import available

    common = ["--threads", str(args.threads)] + (["--model", args.model] if args.model else []) \
        + (["--adapter", args.adapter] if args.adapter else [])
    # One process per configuration: cold start and peak RSS are its own.
    runs = [(precision, ["--_one", precision]) for precision in args.precision]
    runs.append((f"{args.precision[0]} without the prefix cache", ["--_one", args.precision[0], "--no-prefix-cache"]))
    runs += [(f"{p} with the restricted vocabulary", ["--_one", p, "--restricted-vocabulary"])
             for p in args.restricted_vocabulary]
    notes = []
    if available():
        runs += [(f"llama.cpp {g or 'embedded'}", ["--_llama", g or ""]) for g in (args.llama_gguf if args.llama_gguf is not None else [None])]
    else:
        notes.append("llama.cpp: not measured (llama-cpp-python is not installed)")
    results = []
    for label, flags in runs:
        proc = subprocess.run([sys.executable, __file__, *flags, *common], capture_output=True, text=True)
        if proc.returncode != 0:
            print(f"{label}: failed: {proc.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            continue
        results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    bandwidth = read_bandwidth(args.threads)
    for r in results:
        limit = bandwidth / r["weight_bytes"]
        decode = max(r["single"]["decode_tok_s_p50"], r["join"]["decode_tok_s_p50"])
        r["bandwidth_limit_tok_s"], r["of_bandwidth_limit"] = round(limit, 1), round(decode / limit, 2)
    report = {"machine": {"cpus": os.cpu_count(), "threads": args.threads, "platform": platform.platform(),
                          "load_average_at_start": round(load, 2), "forced": args.force,
                          "read_bandwidth_gb_s": round(bandwidth / 1e9, 1), **cpu_info()}, "notes": notes, "results": results}
    return publish(report, args.out, table)


def table(report: dict) -> str:
    lines = ["| engine (weights) | cold start s | single: TTFT p50 / full SQL p50 / p90 s | joins: TTFT p50 / full SQL p50 / p90 s "
             "| decode tok/s p50 (single / joins) | of bandwidth limit | peak RSS MB | valid SQL |",
             "|---|---|---|---|---|---|---|---|"]
    for r in report["results"]:
        s, j = r["single"], r["join"]
        engine = r["used"] if r["precision"] == "llama.cpp" else f"transformers {r['precision']} ({r['used']})"
        lines.append(f"| {engine} | {r['cold_start_s']} | {s['ttft_p50']} / {s['total_p50']} / {s['total_p90']} | "
                     f"{j['ttft_p50']} / {j['total_p50']} / {j['total_p90']} | {s['decode_tok_s_p50']} / {j['decode_tok_s_p50']} | "
                     f"{r.get('of_bandwidth_limit', 0):.0%} of {r.get('bandwidth_limit_tok_s')} | "
                     f"{r['peak_rss_mb']} | {s['valid'] + j['valid']}/20 |")
    m = report["machine"]
    lines.append(f"\n{m['cpus']} CPUs, {m['threads']} threads, load average {m['load_average_at_start']} at start"
                 + (" (forced)" if m["forced"] else "") + f", read bandwidth {m.get('read_bandwidth_gb_s')} GB/s; {m['platform']}"
                 + (f"; {describe_cpu(m)}" if "cpu" in m else ""))
    lines += report.get("notes", [])
    return "\n".join(lines)


def child(argv) -> dict:
    """One configuration, in its own process (``--_one PRECISION`` or ``--_llama GGUF``)."""
    p = argparse.ArgumentParser()
    p.add_argument("--_one")
    p.add_argument("--_llama")
    p.add_argument("--threads", type=int)
    p.add_argument("--model")
    p.add_argument("--adapter")
    p.add_argument("--no-prefix-cache", action="store_true")
    p.add_argument("--restricted-vocabulary", action="store_true")
    a = p.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    if a._one:
        return measure(a._one, a.model, a.adapter, a.threads, not a.no_prefix_cache, a.restricted_vocabulary)
    from llamacpp import measure as measure_llama

    info, rows = measure_llama(a._llama or None, a.threads, {"single": SINGLE, "join": JOINS})
    return summarize(info, rows)


if __name__ == "__main__":
    if "--_one" in sys.argv or "--_llama" in sys.argv:
        print(json.dumps(child(sys.argv[1:])))
        sys.exit(0)
    sys.exit(main())
