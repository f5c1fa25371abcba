"""THE prompt template, frozen by golden files (tests/engine/golden/prompt/*.txt).

A change here changes what the shipped adapter was trained on: regenerate the golden
files only deliberately (UPDATE_GOLDEN=1) and retrain."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from text2sql import prompt
from text2sql.schema import introspect
from text2sql.schema_model import Column, ForeignKey, Schema, Table

GOLDEN = Path(__file__).parent / "golden" / "prompt"
QUESTION = "Name the top 10 albums with the highest sales amount"


@pytest.fixture(scope="module")
def chinook():
    return introspect()


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"prompt changed: {path} (retraining needed if deliberate)"


@pytest.mark.parametrize("dialect", ["sqlite", "postgres", "mysql", "duckdb"])
def test_chinook_prompt_is_frozen(chinook, dialect):
    _golden(f"chinook_{dialect}.txt", prompt.render(dataclasses.replace(chinook, dialect=dialect), QUESTION))


def test_render_is_prefix_plus_question_and_the_prefix_is_shared(chinook):
    a, b = prompt.render(chinook, "how many albums?"), prompt.render(chinook, "list genres")
    prefix = prompt.schema_prefix(chinook)
    assert a == prefix + "-- how many albums?\n" and b.startswith(prefix)


def test_questions_are_one_line_and_never_empty(chinook):
    assert prompt.render(chinook, "  top\n albums\t by  sales ").endswith("-- top albums by sales\n")
    with pytest.raises(prompt.EmptyQuestion):
        prompt.render(chinook, " \n ")


def test_quoting_only_where_the_dialect_needs_it():
    assert prompt.quote("Album", "sqlite") == "Album"
    assert prompt.quote("Album", "postgres") == '"Album"'
    assert prompt.quote("album", "postgres") == "album"
    assert prompt.quote("order", "sqlite") == '"order"'
    assert prompt.quote("first name", "mysql") == "`first name`"


def test_composite_keys_and_views():
    t = Table("PlaylistTrack", (Column("PlaylistId", "INTEGER"), Column("TrackId", "INTEGER")),
              primary_key=("PlaylistId", "TrackId"),
              foreign_keys=(ForeignKey(("PlaylistId", "TrackId"), "Other", ("A", "B")),))
    v = Table("Sales", (Column("Total", "REAL"),), kind="view")
    text = prompt.schema_prefix(Schema("sqlite", (t, v)))
    assert "PRIMARY KEY (PlaylistId, TrackId), FOREIGN KEY (PlaylistId, TrackId) REFERENCES Other(A, B));" in text
    assert "CREATE VIEW Sales (Total REAL);" in text


def _wide_schema(n: int) -> Schema:
    """``n`` tables, mostly noise; orders (7) references customers (3); a few real names."""
    named = {3: "customers", 7: "orders", 11: "order_items", 40: "invoice", 90: "employee", 150: "address_book",
             260: "country"}
    tables = []
    for i in range(n):
        fks = (ForeignKey(("customer_id",), "customers", ("id",)),) if i == 7 else ()
        name = named.get(i, f"misc_table_{i}")
        cols = (Column("id", "INTEGER", primary_key=True), Column("customer_id", "INTEGER"), Column("note", "TEXT"))
        tables.append(Table(name, cols, primary_key=("id",), foreign_keys=fks))
    return Schema("sqlite", tuple(tables))


def test_large_schema_keeps_related_tables_and_fk_neighbours_within_budget():
    schema = _wide_schema(500)
    text = prompt.render(schema, "How many orders per month?", budget_tokens=400)
    assert prompt.estimate_tokens(prompt.schema_prefix(schema, question="How many orders per month?",
                                                      budget_tokens=400)) <= 400
    assert "CREATE TABLE orders (" in text and "CREATE TABLE customers (" in text  # FK neighbour
    assert text.index("CREATE TABLE customers") < text.index("CREATE TABLE orders")  # original order
    assert text.count("CREATE TABLE") < 30


def test_small_schemas_are_never_cut(chinook):
    assert prompt.link("albums", chinook) is chinook


@pytest.mark.parametrize(
    "completion, sql",
    [
        (" SELECT Name FROM Artist;\nSELECT 2;", "SELECT Name FROM Artist;"),
        ("SELECT 'a;b' FROM t; junk", "SELECT 'a;b' FROM t;"),
        ('SELECT "x;y" FROM t;', 'SELECT "x;y" FROM t;'),
        ("SELECT a\nFROM t\n\n-- next question", "SELECT a\nFROM t"),
        ("SELECT a FROM t\n-- another comment\nSELECT", "SELECT a FROM t"),
        ("", ""),
        ("SELECT a /* x; y */ FROM t; SELECT 2;", "SELECT a /* x; y */ FROM t;"),
        ("SELECT a -- the name; really\nFROM t;", "SELECT a -- the name; really\nFROM t;"),
        ("-- a comment the model echoed\nSELECT 1;", "SELECT 1;"),
        ("\n\n  SELECT 1\n  \nSELECT 2", "SELECT 1"),
        ("SELECT 'it''s; fine' FROM t; x", "SELECT 'it''s; fine' FROM t;"),
        ("SELECT `a;b` FROM t;", "SELECT `a;b` FROM t;"),
        ("SELECT a\nFROM t\nWHERE b = 1", "SELECT a\nFROM t\nWHERE b = 1"),
        ("SELECT 'unterminated; string", "SELECT 'unterminated; string"),
        ("```sql\nSELECT Name FROM Artist\n```\nThis returns every artist.", "SELECT Name FROM Artist"),
        (";\nSELECT 1;", "SELECT 1;"),
    ],
)
def test_extract_sql_cuts_the_first_statement(completion, sql):
    assert prompt.extract_sql(completion) == sql


def test_training_target_is_what_extract_sql_returns(chinook):
    p, target = prompt.render_training_example(chinook, QUESTION, "SELECT  COUNT(*)\nFROM Album ;")
    assert p == prompt.render(chinook, QUESTION)
    assert target == "SELECT COUNT(*) FROM Album;\n"
    assert prompt.extract_sql(target + "-- more") == target.strip()


@pytest.mark.parametrize(
    "sql, target",
    [
        ("SELECT Name -- the artist\nFROM Artist;;", "SELECT Name FROM Artist;\n"),
        ("SELECT Name /* why */FROM Artist", "SELECT Name FROM Artist;\n"),
        ("SELECT 'Rock  and   Roll' , \"Two  Words\"\n\nFROM t", "SELECT 'Rock  and   Roll' , \"Two  Words\" FROM t;\n"),
        ("SELECT 'a;b' FROM t", "SELECT 'a;b' FROM t;\n"),
    ],
)
def test_training_targets_are_one_line_with_literals_untouched(chinook, sql, target):
    _, got = prompt.render_training_example(chinook, QUESTION, sql)
    assert got == target
    assert prompt.extract_sql(got + "-- next question\nSELECT 1;") == target.strip()


# ------------------------------------------------------------------ identifier quoting

COMMON_NAMES = (
    "year date count rank time position type level value text key name title status id number month "
    "day location language comment role start end replace match first last format row rows range "
    "percent version age view index filter over partition array map struct interval div mod read "
    "release sql usage schema database user group order desc asc left right full outer all when case"
).split()
VOCABULARY = sorted(set(COMMON_NAMES) | set().union(*prompt._RESERVED.values()))


def _run_on(kind: str, request, statements: list[str], checks: list[str]) -> list[str]:
    """Run ``statements`` then each of ``checks`` on a scratch database of ``kind`` (nothing
    persists: in-memory engines, a rolled-back PostgreSQL transaction, MariaDB temporary
    tables); returns the checks that failed."""
    import sqlalchemy as sa

    if kind == "sqlite":
        engine = sa.create_engine("sqlite://")
    elif kind == "duckdb":
        pytest.importorskip("duckdb_engine")
        engine = sa.create_engine("duckdb:///:memory:")
    else:
        engine = sa.create_engine(request.getfixturevalue(f"chinook_{kind}_url"))
    failed = []
    try:
        with engine.connect() as conn:
            for sql in statements:
                conn.exec_driver_sql(sql)
            in_memory = kind in ("sqlite", "duckdb")
            if in_memory:
                conn.commit()  # the database lives only as long as this connection
            for sql in checks:
                if kind == "postgres":
                    conn.exec_driver_sql("SAVEPOINT probe")
                try:
                    conn.exec_driver_sql(sql).fetchall()
                except sa.exc.DBAPIError:
                    failed.append(sql)
                    if kind == "postgres":
                        conn.exec_driver_sql("ROLLBACK TO SAVEPOINT probe")
                    elif in_memory:
                        conn.rollback()
            conn.rollback()
    finally:
        engine.dispose()
    return failed


@pytest.mark.parametrize("kind, dialect", [("sqlite", "sqlite"), ("duckdb", "duckdb"), ("postgres", "postgres"),
                                           ("mariadb", "mysql")])
def test_prompt_ddl_runs_and_unquoted_names_work_on_the_real_database(kind, dialect, request):
    """Every CREATE line the prompt shows for tables and columns named by keywords and
    common words is valid DDL on the real engine, and each name the prompt leaves unquoted
    can be used unquoted as a table and a column name there."""
    tables = tuple(Table(f"{w}", (Column(w, "INTEGER"), Column(f"{w}_note", "INTEGER"))) for w in VOCABULARY)
    text = prompt.schema_prefix(Schema(dialect, tables), budget_tokens=10**9)
    creates = [line for line in text.splitlines() if line.startswith("CREATE TABLE")]
    assert len(creates) == len(VOCABULARY)
    if kind == "mariadb":
        creates = [c.replace("CREATE TABLE", "CREATE TEMPORARY TABLE", 1) for c in creates]
    plain = [w for w in VOCABULARY if prompt.quote(w, dialect) == w]
    assert {"year", "date", "name", "type", "text", "key"} - set(plain) <= {"key"}  # common words stay plain
    assert "order" not in plain and "select" not in plain
    failed = _run_on(kind, request, creates, [f"SELECT {w} FROM {w}" for w in plain])
    assert failed == []


def test_quoting_rules():
    assert prompt.quote("Album", "sqlite") == "Album"
    assert prompt.quote("Album", "postgres") == '"Album"'
    assert prompt.quote("album", "postgres") == "album"
    assert prompt.quote("ALBUM", "snowflake") == "ALBUM" and prompt.quote("album", "snowflake") == '"album"'
    assert prompt.quote("order", "sqlite") == '"order"'
    assert prompt.quote("date", "sqlite") == "date" and prompt.quote("name", "postgres") == "name"
    assert prompt.quote("rank", "mysql") == "`rank`" and prompt.quote("rank", "sqlite") == "rank"
    assert prompt.quote("first name", "mysql") == "`first name`"
    assert prompt.quote("1st", "duckdb") == '"1st"'
    assert prompt.quote('say "hi"', "sqlite") == '"say ""hi"""'


# ------------------------------------------------------------------ sample values and edge cases

EDGE = Schema(
    "sqlite",
    (
        Table("Order", (Column("id", "INTEGER"), Column("first name", "TEXT", samples=("Ann", "O'Brien", "Zoë")),
                        Column("note", "TEXT", samples=("a\nb", "x" * 25, "ok", "fine", "also fine", "fourth")),
                        Column("CustomerId", "INTEGER")),
              primary_key=("id",), foreign_keys=(ForeignKey(("CustomerId",), "Customer", ("Id",)),)),
        Table("Customer", (Column("Id", "INTEGER"), Column("Region", "TEXT"), Column("Code", "TEXT", samples=("NW",))),
              primary_key=("Region", "Code"), foreign_keys=(ForeignKey(("Region", "Code"), "Region", ("Name", "Code")),)),
        Table("Region", (Column("Name", "TEXT"), Column("Code", "TEXT")), primary_key=("Name", "Code")),
        Table("big_orders", (Column("id", "INTEGER"), Column("total", "NUMERIC(10, 2)")), kind="view"),
    ),
)


@pytest.mark.parametrize("dialect", ["sqlite", "postgres", "mysql", "duckdb"])
def test_edge_case_prompt_is_frozen(dialect):
    """Reserved and mixed-case names, spaces, composite keys, a view, and sample values
    with quotes, non-ASCII, newlines and long text, in every dialect."""
    _golden(f"edge_{dialect}.txt", prompt.render(dataclasses.replace(EDGE, dialect=dialect), "how many orders\nper region?"))


def test_sample_values_are_short_printable_quoted_and_at_most_three():
    line = prompt.table_block(EDGE.tables[0], "sqlite").splitlines()[1]
    assert line == "-- \"Order\".\"first name\": 'Ann', 'O''Brien', 'Zoë'; \"Order\".note: 'ok', 'fine', 'also fine'"


# ------------------------------------------------------------------ large schemas

def test_budget_counts_with_the_given_tokenizer_length():
    schema = _wide_schema(500)
    words = lambda text: len(text.split())  # noqa: E731 - a stand-in tokenizer length
    for budget in (60, 300, 1000):
        prefix = prompt.schema_prefix(schema, question="orders by customer", budget_tokens=budget, count_tokens=words)
        assert words(prefix) <= budget
        assert "CREATE TABLE orders (" in prefix
    assert prompt.estimate_tokens("x" * 30) == 10 and prompt.estimate_tokens("x" * 31) == 11


def test_large_schema_keeps_tables_that_reference_the_matched_ones():
    schema = _wide_schema(500)
    text = prompt.schema_prefix(schema, question="list every customer", budget_tokens=400)
    assert "CREATE TABLE customers (" in text and "CREATE TABLE orders (" in text  # orders references customers
    assert prompt.estimate_tokens(text) <= 400


def test_plural_and_singular_names_match():
    schema = _wide_schema(500)
    for question, table in [("total of all invoices", "invoice"), ("which employees were hired", "employee"),
                            ("addresses in Paris", "address_book"), ("countries by sales", "country")]:
        text = prompt.schema_prefix(schema, question=question, budget_tokens=300)
        assert f"CREATE TABLE {table} (" in text, question


def test_the_prefix_depends_on_the_question_only_above_the_budget():
    schema = _wide_schema(500)
    small = Schema("sqlite", schema.tables[:5])
    assert prompt.schema_prefix(small, question="orders") == prompt.schema_prefix(small, question="customers")
    a = prompt.schema_prefix(schema, question="invoices", budget_tokens=300)
    b = prompt.schema_prefix(schema, question="employees", budget_tokens=300)
    assert a != b and "invoice (" in a and "employee (" in b
    assert prompt.link("invoices", schema, 300).tables == prompt.link("invoices", schema, 300).tables  # deterministic


def test_a_question_matching_nothing_keeps_the_first_tables_that_fit():
    schema = _wide_schema(500)
    shown = prompt.link("zzz qqq", schema, 300)
    assert 0 < len(shown.tables) < 500
    assert [t.name for t in shown.tables] == [t.name for t in schema.tables[: len(shown.tables)]]


# ------------------------------------------------------------------ instruction-tuned models

def _real_tokenizer(chat_template: str | None, name: str):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, "<start>": 1, "<end>": 2}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="[UNK]", name_or_path=name)
    tok.chat_template = chat_template
    return tok


TEMPLATE = "{% for m in messages %}<start>{{ m['role'] }}\n{{ m['content'] }}<end>\n{% endfor %}" \
           "{% if add_generation_prompt %}<start>model\n{% endif %}"


def test_chat_models_get_the_same_prompt_as_one_user_turn(chinook):
    tok = _real_tokenizer(TEMPLATE, "google/gemma-3-270m-it")
    assert prompt.uses_chat_template(tok)
    messages = prompt.chat_messages(chinook, QUESTION)
    assert [m["role"] for m in messages] == ["user"]
    text = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert prompt.render(chinook, QUESTION) in text and text.endswith("<start>model\n")


def test_base_models_get_the_plain_prompt():
    assert not prompt.uses_chat_template(_real_tokenizer(None, "google/gemma-3-270m-it"))  # no template
    assert not prompt.uses_chat_template(_real_tokenizer(TEMPLATE, "google/gemma-3-270m"))  # base weights
    assert prompt.uses_chat_template(_real_tokenizer(TEMPLATE, "/models/local"), model_name="Qwen2.5-0.5B-Instruct")
