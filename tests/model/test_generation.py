"""The transformers backend: streaming, cancellation, activity counters, several
candidates, the statement-end stop, and the schema-prefix KV cache (same output)."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fixtures.tiny_model import TINY_PAIRS
from text2sql import prompt
from text2sql.errors import GenerationCancelled
from text2sql.generate import Activity, Backend, TransformersBackend
from text2sql.streaming import statement_end
from text2sql.schema import introspect


@pytest.fixture(scope="module")
def chinook():
    return introspect(None)


def _prompt(schema, question):
    return prompt.render(schema, question), prompt.schema_prefix(schema, question=question)


def test_backend_satisfies_the_protocol(tiny_backend):
    assert isinstance(tiny_backend, Backend)
    assert tiny_backend.count_tokens("SELECT 1;") > 0


def test_greedy_completion_stops_at_the_end_of_the_statement(tiny_backend, chinook):
    question, sql = TINY_PAIRS[3]
    text, _ = _prompt(chinook, question)
    [completion] = tiny_backend.generate(text, max_new_tokens=200)
    assert completion == sql  # cut right after the ";" although the model goes on (";\n", eos)


def test_streaming_delivers_pieces_that_add_up_to_the_completion(tiny_backend, chinook):
    question, sql = TINY_PAIRS[3]
    pieces: list[str] = []
    [completion] = tiny_backend.generate(_prompt(chinook, question)[0], on_token=pieces.append)
    assert len(pieces) > 5  # token by token, not one final chunk
    assert "".join(pieces) == completion == sql
    assert all(pieces)


def test_cancellation_mid_generation_raises_and_is_counted(tiny_backend, chinook):
    question, _ = TINY_PAIRS[3]
    cancel = threading.Event()
    before = tiny_backend.activity.snapshot()
    seen_running = []
    pieces: list[str] = []

    def on_token(piece):
        pieces.append(piece)
        seen_running.append(tiny_backend.activity.running)
        if len(pieces) == 3:
            cancel.set()  # e.g. the user typed on: a newer request supersedes this one

    with pytest.raises(GenerationCancelled):
        tiny_backend.generate(_prompt(chinook, question)[0], on_token=on_token, cancel=cancel)
    after = tiny_backend.activity.snapshot()
    assert seen_running and all(r == before["running"] + 1 for r in seen_running)
    assert len(pieces) == 3  # it stopped at the next step, not at the end
    assert after["cancelled"] == before["cancelled"] + 1
    assert after["finished"] == before["finished"]
    assert after["running"] == 0


def test_an_already_cancelled_request_does_no_work(tiny_backend, chinook):
    cancel = threading.Event()
    cancel.set()
    pieces: list[str] = []
    with pytest.raises(GenerationCancelled):
        tiny_backend.generate(_prompt(chinook, TINY_PAIRS[0][0])[0], on_token=pieces.append, cancel=cancel)
    assert pieces == []


def test_several_candidates_are_distinct_and_the_first_is_greedy(tiny_backend, chinook):
    question, sql = TINY_PAIRS[1]
    text, _ = _prompt(chinook, question)
    candidates = tiny_backend.generate(text, n=3, max_new_tokens=60)
    assert candidates[0] == sql
    assert len(candidates) == 3
    assert len(set(candidates)) == 3


def test_max_new_tokens_bounds_the_completion(tiny_backend, chinook):
    question, sql = TINY_PAIRS[3]
    [completion] = tiny_backend.generate(_prompt(chinook, question)[0], max_new_tokens=4)
    assert sql.startswith(completion) and len(completion) < len(sql)
    assert tiny_backend.count_tokens(completion) <= 4


@pytest.mark.parametrize("question,sql", TINY_PAIRS[:3:2], ids=[q for q, _ in TINY_PAIRS[:3:2]])
def test_schema_prefix_cache_gives_identical_output(tiny_loaded, chinook, question, sql):
    # The prompt (~1,300 tokens) is far longer than the tiny model's 64-token sliding
    # window, so the cached prefix crosses the window on the sliding layers.
    cached, plain = TransformersBackend(tiny_loaded), TransformersBackend(tiny_loaded)
    text, prefix = _prompt(chinook, question)
    assert tiny_loaded.tokenizer(text, return_tensors="pt").input_ids.shape[1] > 10 * 64
    first = cached.generate(text, prefix=prefix)
    again = cached.generate(text, prefix=prefix)  # from the cache; the cache is not consumed
    other_question = cached.generate(_prompt(chinook, TINY_PAIRS[-1][0])[0], prefix=prefix)
    assert cached.prefix_stats == {"hits": 2, "misses": 1}
    assert first == again == plain.generate(text) == [sql]
    assert other_question == plain.generate(_prompt(chinook, TINY_PAIRS[-1][0])[0]) == [TINY_PAIRS[-1][1]]


def test_beam_candidates_from_the_cached_prefix_equal_those_from_the_whole_prompt(tiny_loaded, chinook):
    """--n 4 copies the schema prefix's KV for each beam instead of prefilling the whole
    prompt n times; the candidates must not change (sliding layers included)."""
    cached, plain = TransformersBackend(tiny_loaded), TransformersBackend(tiny_loaded)
    for k, (question, sql) in enumerate(TINY_PAIRS[:2]):
        text, prefix = _prompt(chinook, question)
        candidates = cached.generate(text, n=3, prefix=prefix)
        if k == 0:  # the greedy candidate built the prefix's KV, the beams reused it
            assert cached.prefix_stats == {"hits": 1, "misses": 1}
        assert candidates == plain.generate(text, n=3) and candidates[0] == sql and len(candidates) > 1


def test_a_prefix_that_does_not_match_the_prompt_is_not_used(tiny_backend, chinook):
    text, _ = _prompt(chinook, TINY_PAIRS[0][0])
    stats = dict(tiny_backend.prefix_stats)
    assert tiny_backend.generate(text, prefix="-- dialect: postgres\n") == [TINY_PAIRS[0][1]]
    assert tiny_backend.prefix_stats["misses"] == stats["misses"] + 1
    assert tiny_backend.prefix_stats["hits"] == stats["hits"]


def test_last_stats_count_the_new_tokens_and_the_prefilled_part(tiny_loaded, chinook):
    backend = TransformersBackend(tiny_loaded)
    question, sql = TINY_PAIRS[0]
    text, prefix = _prompt(chinook, question)
    [completion] = backend.generate(text, prefix=prefix)
    first = backend.last_stats
    assert first["prompt_tokens"] == first["prefilled_tokens"] == backend.count_tokens(text) + 1  # + BOS
    assert first["new_tokens"] >= backend.count_tokens(completion)
    assert 0 < first["time_to_first_token_s"] <= first["total_s"]
    assert first["decode_tokens_per_s"] > 0
    backend.generate(text, prefix=prefix)  # the schema prefix now comes from the cache
    second = backend.last_stats
    assert second["prompt_tokens"] == first["prompt_tokens"]
    assert second["prefilled_tokens"] == first["prompt_tokens"] - (backend.count_tokens(prefix) + 1)
    assert second["new_tokens"] == first["new_tokens"]


@pytest.mark.parametrize("shared_prefix", [True, False])
def test_a_batch_gives_each_prompt_its_single_greedy_completion(tiny_loaded, chinook, shared_prefix):
    """Questions of different lengths, padded together (after the shared schema prefix, or
    on the left without one), decode to what each gives alone."""
    backend = TransformersBackend(tiny_loaded)
    questions = [q for q, _ in TINY_PAIRS[:4]] + ["List the names of all media types and how many tracks each has"]
    prompts = [_prompt(chinook, q) for q in questions]
    alone = [backend.generate(text)[0] for text, _ in prompts]
    prefix = prompts[0][1] if shared_prefix else None
    assert all(p == prefix for _, p in prompts) or not shared_prefix
    hits = backend.prefix_stats["hits"]
    together = backend.generate_batch([text for text, _ in prompts], prefix=prefix)
    assert together == alone
    assert [TINY_PAIRS[i][1] for i in range(4)] == together[:4]
    assert backend.last_stats["batch"] == 5 and backend.last_stats["new_tokens"] > 0
    if shared_prefix:  # the prefix KV was built once for the batch, then reused
        again = backend.generate_batch([text for text, _ in prompts[:2]], prefix=prefix)
        assert again == alone[:2] and backend.prefix_stats["hits"] > hits
    assert backend.generate_batch([]) == []
    assert backend.generate_batch([prompts[1][0]], prefix=prefix) == [alone[1]]


def test_activity_counts_are_consistent_under_threads():
    activity = Activity()
    barrier = threading.Barrier(8)

    def work(i):
        barrier.wait()
        try:
            with activity.track():
                if i % 2:
                    raise GenerationCancelled("x")
        except GenerationCancelled:
            pass

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert activity.snapshot() == {"running": 0, "finished": 4, "cancelled": 4, "failed": 0}


# -- statement_end must agree with prompt.extract_sql, the definition of a statement

_pieces = st.sampled_from(["SELECT", " ", "a", "'", '"', "`", ";", "\n", "--", "-", "\t", "FROM t", "x", "''"])


@settings(max_examples=400, deadline=None)
@given(st.lists(_pieces, max_size=14).map("".join))
def test_cutting_at_statement_end_never_changes_the_extracted_sql(text):
    end = statement_end(text)
    if end is not None:
        assert prompt.extract_sql(text[:end]) == prompt.extract_sql(text)
        for more in (";", "\n", "x", "--", "'"):  # more text never moves an end already found
            assert statement_end(text + more) == end


@pytest.mark.parametrize(
    "text,expected",
    [
        ("SELECT 1;\n-- next", "SELECT 1;"),
        ("SELECT 'a;b' FROM t;", "SELECT 'a;b' FROM t;"),
        ("SELECT a FROM t\n\nSELECT b", "SELECT a FROM t"),
        ("SELECT a FROM t\n-- another question", "SELECT a FROM t"),
        ("SELECT a FROM t -- trailing note\n\nSELECT b", "SELECT a FROM t -- trailing note"),
        ("SELECT a /* ; */ FROM t;", "SELECT a /* ; */ FROM t;"),
        ("-- leading comment\nSELECT 1;", "-- leading comment\nSELECT 1;"),
    ],
)
def test_statement_end_examples(text, expected):
    assert text[: statement_end(text)] == expected


@pytest.mark.parametrize("text", ["SELECT a FROM t", "SELECT 'unterminated; still", "SELECT a\n", "SELECT a\n  -"])
def test_an_unfinished_statement_has_no_end_yet(text):
    assert statement_end(text) is None


def test_schema_constrained_decoding_keeps_answers_that_use_real_names(tiny_backend, chinook):
    from text2sql.constrain import vocabulary_for

    vocabulary = vocabulary_for(chinook)
    for question, sql in TINY_PAIRS:
        text, prefix = _prompt(chinook, question)
        assert tiny_backend.generate(text, prefix=prefix, vocabulary=vocabulary) == [sql]
    texts = [_prompt(chinook, q)[0] for q, _ in TINY_PAIRS[:3]]
    assert tiny_backend.generate_batch(texts, vocabulary=vocabulary) == [sql for _, sql in TINY_PAIRS[:3]]


def test_schema_constrained_decoding_steers_away_from_a_table_that_does_not_exist(tiny_backend, chinook):
    import dataclasses

    from text2sql.constrain import SchemaVocabulary

    question, sql = TINY_PAIRS[0]  # SELECT COUNT(*) FROM Album;
    without_album = dataclasses.replace(chinook, tables=tuple(t for t in chinook.tables if t.name != "Album"))
    vocabulary = SchemaVocabulary(without_album)
    text, prefix = _prompt(chinook, question)
    [free] = tiny_backend.generate(text, prefix=prefix)
    [steered] = tiny_backend.generate(text, prefix=prefix, vocabulary=vocabulary)
    assert free == sql
    assert steered.startswith("SELECT COUNT(*) FROM ") and "FROM Album" not in steered
    table = steered.removeprefix("SELECT COUNT(*) FROM ").split()[0].rstrip(";")
    assert without_album.table(table) is not None, steered
