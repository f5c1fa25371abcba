"""Assistant: the pipeline's choices on real completions, through the Backend interface.

Two backends: the tiny model, and ``ScriptedBackend``, a real implementation of the
Backend protocol that answers with fixed completions. It stands for a model that writes
garbage (which the tiny model does only by chance) and shows that nothing above the
interface needs the model in-process."""

from __future__ import annotations

import threading

import pytest

from tests.fixtures.tiny_model import TINY_PAIRS
from text2sql.config import Settings
from text2sql.errors import GenerationCancelled, Text2SQLError
from text2sql.generate import Activity, Backend
from text2sql.pipeline import Assistant
from text2sql.prompt import extract_sql


class ScriptedBackend:
    """A Backend that returns the completions it was given, recording each request."""

    name = "scripted"

    def __init__(self, completions):
        self.completions = list(completions)
        self.activity = Activity()
        self.requests = []

    def count_tokens(self, text):
        return len(text.split())

    def generate(self, prompt, *, n=1, max_new_tokens=256, on_token=None, cancel=None, prefix=None):
        with self.activity.track():
            self.requests.append({"prompt": prompt, "n": n, "max_new_tokens": max_new_tokens, "prefix": prefix})
            if cancel is not None and cancel.is_set():
                raise GenerationCancelled("cancelled")
            if on_token:
                on_token(self.completions[0])
            return self.completions[:n]


def scripted(*completions):
    backend = ScriptedBackend(completions)
    assert isinstance(backend, Backend)
    return backend, Assistant(backend=backend, settings=Settings())


@pytest.mark.parametrize("garbage", ["", "lorem ipsum dolor", ")))(((", "SELECT FROM WHERE;", "\n\n\n"])
def test_garbage_gives_problems_not_an_exception(garbage, chinook_sqlite_url):
    _, assistant = scripted(garbage)
    result = assistant.generate("How many albums are there?", chinook_sqlite_url)
    assert not result.ok
    assert result.problems and all(p.severity == "error" for p in result.problems)
    assert result.sql == extract_sql(garbage)  # only what the model wrote, never a stand-in


def test_a_write_statement_is_never_chosen_and_never_run(chinook_sqlite_url):
    _, assistant = scripted("DROP TABLE Album;")
    result = assistant.generate("remove the albums", chinook_sqlite_url)
    assert not result.ok and result.sql == "DROP TABLE Album;"
    assert any(p.code == "not-read-only" for p in result.problems)
    assert assistant.generate("How many albums are there?", chinook_sqlite_url) is not None
    import sqlite3

    with sqlite3.connect(chinook_sqlite_url.removeprefix("sqlite:///")) as conn:
        assert conn.execute("SELECT COUNT(*) FROM Album").fetchone()[0] == 347


def test_the_first_candidate_that_validates_and_runs_wins(chinook_sqlite_url):
    _, assistant = scripted(
        "SELECT Popularity FROM Artist;",  # unknown column
        "SELECT Name FROM Artist WHERE ArtistId = 1 + ;",  # syntax
        "SELECT Name FROM Artist ORDER BY Name LIMIT 3;",
        "SELECT Title FROM Album;",
    )
    result = assistant.generate("three artists", chinook_sqlite_url, n=4)
    assert result.sql == "SELECT Name FROM Artist ORDER BY Name LIMIT 3;"
    assert result.ok and result.problems == []
    assert [c.ok for c in result.candidates] == [False, False, True, True]


def test_a_candidate_that_answers_something_wins_over_an_earlier_empty_one(chinook_sqlite_url):
    _, assistant = scripted(
        "SELECT Popularity FROM Artist;",  # unknown column
        "SELECT Name FROM Artist WHERE Name = 'acdc';",  # runs, no rows
        "SELECT COUNT(*) FROM Album WHERE Title = 'none';",  # runs, one row: 0
        "SELECT Name FROM Artist WHERE Name = 'AC/DC';",
        "SELECT Name FROM Artist WHERE Name LIKE 'AC%';",
    )
    result = assistant.generate("the artist AC/DC", chinook_sqlite_url, n=5)
    assert result.sql == "SELECT Name FROM Artist WHERE Name = 'AC/DC';" and result.ok
    assert [c.answered for c in result.candidates] == [None, False, False, True, True]
    # When none answers, the first that runs wins; without running, the first that validates.
    empty = scripted("SELECT Name FROM Artist WHERE Name = 'x';", "SELECT SUM(Total) FROM Invoice WHERE 0;")[1]
    assert empty.generate("x", chinook_sqlite_url, n=2).sql == "SELECT Name FROM Artist WHERE Name = 'x';"
    unrun = assistant.generate("the artist AC/DC", chinook_sqlite_url, n=5, execute_check=False)
    assert unrun.sql == "SELECT Name FROM Artist WHERE Name = 'acdc';"
    assert {c.answered for c in unrun.candidates} == {None}


@pytest.mark.parametrize(("rows", "answers"), [
    ([], False), ([(None,)], False), ([(None, None), (None, None)], False), ([(0,)], False), ([(0, None)], False),
    ([(0,), (3,)], True), ([(3,)], True), ([("",)], True), ([(None, "x")], True), ([(0.5,)], True),
])
def test_what_counts_as_answering_something(rows, answers):
    from text2sql.pipeline import answers_something

    assert answers_something(rows) is answers


def test_execution_failures_count_as_problems(chinook_sqlite_url):
    # Valid against the schema, refused by SQLite at run time (titles are not JSON).
    _, assistant = scripted("SELECT json_extract(Title, '$.a') FROM Album;")
    result = assistant.generate("something odd", chinook_sqlite_url)
    assert not result.ok
    assert [p.code for p in result.problems] == ["execution"]
    assert not assistant.generate("something odd", chinook_sqlite_url, execute_check=False).problems


def test_without_a_valid_candidate_the_one_with_fewest_errors_is_returned(chinook_sqlite_url):
    _, assistant = scripted("SELECT Popularity, Genre FROM Artist;", "SELECT Popularity FROM Artist;")
    result = assistant.generate("artists", chinook_sqlite_url, n=2)
    assert result.sql == "SELECT Popularity FROM Artist;"
    assert len(result.problems) == 1 and result.problems[0].code == "unknown-column"


def test_a_column_on_the_wrong_join_table_is_repaired_and_the_change_is_shown(chinook_sqlite_url):
    wrote = "SELECT T1.Name FROM Album AS T1 JOIN Artist AS T2 ON T1.ArtistId = T2.ArtistId WHERE T1.Title = 'Facelift';"
    _, assistant = scripted(wrote)
    result = assistant.generate("who made Facelift?", chinook_sqlite_url)
    assert result.ok, result.problems
    assert result.sql.startswith("SELECT T2.Name FROM Album AS T1")
    assert result.candidates[0].completion == wrote and result.candidates[0].repairs == ("T1.Name -> T2.Name",)
    assert result.notes == ["corrected column references: T1.Name -> T2.Name"]
    from text2sql.execute import run

    assert run(chinook_sqlite_url, result.sql).rows == [("Alice In Chains",)]


def test_a_partial_repair_keeps_the_remaining_problem_visible(chinook_sqlite_url):
    _, assistant = scripted("SELECT T1.Name, T1.Popularity FROM Album AS T1 JOIN Artist AS T2 ON T1.ArtistId = T2.ArtistId;")
    result = assistant.generate("artists and popularity", chinook_sqlite_url)
    assert result.sql.startswith("SELECT T2.Name, T1.Popularity")
    assert not result.ok and [p.code for p in result.problems] == ["unknown-column"]
    assert "Popularity" in result.problems[0].message


def test_duplicate_candidates_are_merged(chinook_sqlite_url):
    _, assistant = scripted("SELECT Name FROM Artist;\n-- more", "SELECT Name FROM Artist;", "SELECT Title FROM Album;")
    result = assistant.generate("names", chinook_sqlite_url, n=3)
    assert [c.sql for c in result.candidates] == ["SELECT Name FROM Artist;", "SELECT Title FROM Album;"]


def test_the_backend_gets_the_rendered_prompt_its_schema_prefix_and_a_token_cap(chinook_sqlite_url):
    from text2sql import prompt

    backend, assistant = scripted("SELECT 1;")
    assistant.generate("  how   many albums? ", chinook_sqlite_url)
    request = backend.requests[-1]
    schema = assistant.schema(chinook_sqlite_url)
    assert request["prompt"] == prompt.render(schema, "how many albums?")
    assert request["prompt"].startswith(request["prefix"]) and request["prefix"] == prompt.schema_prefix(schema)
    assert 96 < request["max_new_tokens"] <= Settings().max_tokens


def test_many_questions_are_answered_in_batches_and_a_bad_one_loses_nothing(assistant, chinook_sqlite_url):
    questions = [TINY_PAIRS[0][0], "   ", TINY_PAIRS[1][0], TINY_PAIRS[2][0]]
    results = assistant.generate_many(questions, chinook_sqlite_url, batch_size=2)
    assert isinstance(results[1], Text2SQLError)
    assert [r.sql for r in (results[0], results[2], results[3])] == [extract_sql(TINY_PAIRS[i][1]) for i in range(3)]
    assert all(r.ok for r in (results[0], results[2], results[3]))


def test_many_questions_fall_back_to_one_by_one_without_a_batch_backend(chinook_sqlite_url):
    backend, assistant = scripted("SELECT COUNT(*) FROM Album;")
    results = assistant.generate_many(["How many albums?", "And tracks?"], chinook_sqlite_url)
    assert [r.sql for r in results] == ["SELECT COUNT(*) FROM Album;"] * 2
    assert [r["n"] for r in backend.requests] == [1, 1] and all(r["prefix"] for r in backend.requests)


@pytest.mark.parametrize("question", ["", "   ", "\n\t"])
def test_an_empty_question_is_a_clear_error(question):
    backend, assistant = scripted("SELECT 1;")
    with pytest.raises(Text2SQLError, match="empty"):
        assistant.generate(question)
    assert backend.requests == []


def test_settings_supply_the_model_options_and_explicit_arguments_win():
    settings = Settings(model="/models/m", adapter="none", precision="fp32", device="cpu")
    assert Assistant(settings=settings).model_options == {
        "model": "/models/m", "adapter": "none", "precision": "fp32", "device": "cpu"}
    assert Assistant(model="/other", precision="bf16", settings=settings).model_options["model"] == "/other"
    assert Assistant(precision="bf16", settings=settings).model_options["precision"] == "bf16"


def test_lazy_and_thread_safe_loading(tiny_model_dir):
    assistant = Assistant(model=str(tiny_model_dir), adapter="none", precision="fp32", settings=Settings())
    assert not assistant.loaded and assistant.activity is None
    stages, backends = [], []
    threads = [threading.Thread(target=lambda: backends.append(assistant.load(progress=lambda *s: stages.append(s))))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(b) for b in backends}) == 1  # one model, loaded once
    assert len(stages) == 1 and assistant.loaded
    result = assistant.generate(*TINY_PAIRS[2][:1])
    assert result.sql == TINY_PAIRS[2][1]
    assert result.model == assistant.model_name and assistant.activity.finished == 1


@pytest.mark.parametrize("restricted", [True, False])
def test_loading_prepares_the_restricted_vocabulary_so_the_first_question_is_not_the_slow_one(
        tiny_model_dir, restricted):
    from text2sql import output_vocab

    assistant = Assistant(model=str(tiny_model_dir), adapter="none", precision="fp32",
                          settings=Settings(restricted_vocabulary=restricted))
    backend = assistant.load(progress=False)
    assert (backend._restrictor is not None) is restricted
    before = output_vocab._base_ids.cache_info()
    output_vocab._base_ids(backend.tokenizer)
    after = output_vocab._base_ids.cache_info()
    assert (after.hits - before.hits, after.misses - before.misses) == ((1, 0) if restricted else (0, 1))


def test_tiny_model_on_an_unseen_question_returns_a_result(assistant, chinook_sqlite_url):
    result = assistant.generate("What is the airspeed velocity of an unladen swallow?", chinook_sqlite_url)
    assert result.candidates
    assert result.sql in [c.sql for c in result.candidates]  # whatever it is, the model wrote it
    assert result.ok or result.problems


def test_streaming_through_the_assistant(assistant, chinook_sqlite_url):
    question, sql = TINY_PAIRS[5]
    pieces = []
    result = assistant.generate(question, chinook_sqlite_url, on_token=pieces.append)
    assert "".join(pieces) == result.sql == sql


def test_cancelled_generation_through_the_assistant(assistant, chinook_sqlite_url):
    cancel = threading.Event()
    before = assistant.activity.snapshot()

    def on_token(_piece):
        cancel.set()

    with pytest.raises(GenerationCancelled):
        assistant.generate(TINY_PAIRS[3][0], chinook_sqlite_url, on_token=on_token, cancel=cancel)
    after = assistant.activity.snapshot()
    assert after["cancelled"] == before["cancelled"] + 1 and after["running"] == 0
