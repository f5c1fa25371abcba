"""The jupyter-server extension in a real jupyter-server (pytest-jupyter's jp_fetch),
enabled by the very config file the package installs."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from tests.fixtures.tiny_model import TINY_PAIRS

REPO = Path(__file__).resolve().parents[2]
SHIPPED_CONFIG = REPO / "jupyter-config" / "jupyter_server_config.d" / "text2sql.json"
SECRET = "Pw-" + uuid.uuid4().hex[:10]
DOWN_URL = f"postgresql+psycopg://reader:{SECRET}@127.0.0.1:1/shop"
SLOW = 300  # seconds: a request that loads the model on a busy CI machine


@pytest.fixture
def jp_server_config(tiny_env, chinook_sqlite_url):
    config = json.loads(SHIPPED_CONFIG.read_text())  # {"ServerApp": {"jpserver_extensions": ...}}
    config["Text2SQL"] = {"connections": {
        "chinook": chinook_sqlite_url,
        "guarded": {"url": chinook_sqlite_url, "exclude": ["Customer.Email", "Invoice*"]},
        "down": DOWN_URL,
    }}
    return config


async def error_of(request) -> tuple[int, dict]:
    with pytest.raises(HTTPClientError) as info:
        await request
    return info.value.code, json.loads(info.value.response.body)


def test_the_shipped_config_file_names_the_extension_module():
    import text2sql.kernel_magic as extension

    enabled = json.loads(SHIPPED_CONFIG.read_text())["ServerApp"]["jpserver_extensions"]
    assert enabled == {"text2sql.kernel_magic": True}
    assert extension._jupyter_server_extension_points() == [{"module": "text2sql.kernel_magic"}]


async def test_generate_returns_the_models_sql(jp_fetch):
    for question, sql in TINY_PAIRS[:3]:
        response = await jp_fetch("text2sql", "generate", method="POST", request_timeout=SLOW,
                                  body=json.dumps({"question": question, "connection": "chinook"}))
        data = json.loads(response.body)
        assert data["sql"] == sql and data["problems"] == []
        assert data["model"]


async def test_schema_lists_chinook_tables(jp_fetch):
    response = await jp_fetch("text2sql", "schema", params={"connection": "chinook"})
    data = json.loads(response.body)
    assert {t["name"] for t in data["tables"]} == {
        "Album", "Artist", "Customer", "Employee", "Genre", "Invoice", "InvoiceLine", "MediaType",
        "Playlist", "PlaylistTrack", "Track"}
    assert data["dialect"] == "sqlite"


async def test_excluded_tables_and_columns_never_leave_the_server(jp_fetch, chinook_sqlite_url):
    import sqlite3

    response = await jp_fetch("text2sql", "schema", params={"connection": "guarded"})
    data = json.loads(response.body)
    tables = {t["name"]: t for t in data["tables"]}
    assert "Invoice" not in tables and "InvoiceLine" not in tables
    assert "Email" not in {c["name"] for c in tables["Customer"]["columns"]}
    assert "FirstName" in {c["name"] for c in tables["Customer"]["columns"]}
    with sqlite3.connect(chinook_sqlite_url.removeprefix("sqlite:///")) as conn:
        emails = [e for (e,) in conn.execute("SELECT Email FROM Customer")]
    assert not any(e in response.body.decode() for e in emails)  # nor as sample values


async def test_unauthenticated_requests_get_403_json_not_a_redirect(jp_fetch):
    for request in (
        jp_fetch("text2sql", "schema", params={"connection": "chinook"}, headers={"Authorization": ""},
                 follow_redirects=False),
        jp_fetch("text2sql", "generate", method="POST", headers={"Authorization": ""}, follow_redirects=False,
                 body=json.dumps({"question": TINY_PAIRS[0][0], "connection": "chinook"})),
    ):
        code, body = await error_of(request)
        assert code == 403 and body


@pytest.mark.parametrize(
    "body, needle",
    [
        ("not json", "must be JSON"),
        (json.dumps(["a", "list"]), "'question' must be a non-empty string"),
        (json.dumps({"question": "", "connection": "chinook"}), "'question' must be a non-empty string"),
        (json.dumps({"question": "How many albums are there?"}), "'connection' must be the name"),
        (json.dumps({"question": "How many albums are there?", "connection": "sqlite:////etc/passwd"}),
         "raw database URLs are refused"),
        (json.dumps({"question": "How many albums are there?", "connection": "nope"}),
         "unknown connection 'nope' (known: chinook, down, guarded)"),
    ],
)
async def test_bad_requests_get_400_with_a_json_error(jp_fetch, body, needle):
    code, error = await error_of(jp_fetch("text2sql", "generate", method="POST", body=body))
    assert code == 400 and needle in error["error"]


async def test_schema_refuses_raw_urls_and_missing_names(jp_fetch, chinook_sqlite_url):
    code, error = await error_of(jp_fetch("text2sql", "schema", params={"connection": chinook_sqlite_url}))
    assert code == 400 and "raw database URLs are refused" in error["error"]
    code, error = await error_of(jp_fetch("text2sql", "schema"))
    assert code == 400 and "'connection'" in error["error"]


async def test_a_database_that_is_down_is_503_without_its_password(jp_fetch):
    for request in (
        jp_fetch("text2sql", "schema", params={"connection": "down"}),
        jp_fetch("text2sql", "generate", method="POST", request_timeout=SLOW,
                 body=json.dumps({"question": "How many albums are there?", "connection": "down"})),
    ):
        code, error = await error_of(request)
        assert code == 503
        assert "postgresql+psycopg://reader:***@127.0.0.1:1/shop" in error["error"]
        assert SECRET not in json.dumps(error)


@pytest.fixture
def fresh_model_config(jp_server_config, misbehaving_model):
    """A model configuration no other test loads in this process (the kernel tests use
    device "cpu"), so the first generation starts with loading the model."""
    jp_server_config["Text2SQL"].update(model=str(misbehaving_model), device="auto")
    return jp_server_config


async def test_generation_runs_off_the_event_loop(fresh_model_config, jp_fetch):
    generating = asyncio.ensure_future(jp_fetch(
        "text2sql", "generate", method="POST", request_timeout=SLOW,
        body=json.dumps({"question": "How many albums are there?", "connection": "chinook"})))
    await asyncio.sleep(0.05)  # the request is in: the model is loading in a worker thread
    schema = await jp_fetch("text2sql", "schema", params={"connection": "chinook"})
    assert schema.code == 200
    assert not generating.done()  # the server answered while the model was still busy
    response = await generating
    assert json.loads(response.body)["sql"] == "SELECT COUNT(*) FROM Album;"


@pytest.fixture
def moving_database(jp_server_config, chinook_sqlite_url, tmp_path):
    """A connection 'moving' whose SQLite file the test moves away and back."""
    import shutil

    path = tmp_path / "moving.sqlite"
    shutil.copy(chinook_sqlite_url.removeprefix("sqlite:///"), path)
    jp_server_config["Text2SQL"]["connections"]["moving"] = f"sqlite:///{path}"
    return path


async def test_a_database_that_goes_away_is_503_and_works_again_when_back(moving_database, jp_fetch):
    question = json.dumps({"question": TINY_PAIRS[0][0], "connection": "moving"})
    first = await jp_fetch("text2sql", "generate", method="POST", body=question, request_timeout=SLOW)
    assert json.loads(first.body)["sql"] == TINY_PAIRS[0][1]

    moving_database.rename(moving_database.with_suffix(".away"))
    for request in (jp_fetch("text2sql", "schema", params={"connection": "moving"}),
                    jp_fetch("text2sql", "generate", method="POST", body=question, request_timeout=SLOW)):
        code, error = await error_of(request)
        assert code == 503 and str(moving_database) in error["error"]

    moving_database.with_suffix(".away").rename(moving_database)
    schema = await jp_fetch("text2sql", "schema", params={"connection": "moving"})
    assert len(json.loads(schema.body)["tables"]) == 11
    again = await jp_fetch("text2sql", "generate", method="POST", body=question, request_timeout=SLOW)
    assert json.loads(again.body)["sql"] == TINY_PAIRS[0][1]
