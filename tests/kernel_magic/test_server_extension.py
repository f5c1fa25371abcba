"""The jupyter-server extension in a real jupyter-server (pytest-jupyter)."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

from tests.fixtures.tiny_model import TINY_PAIRS


@pytest.fixture
def jp_server_config(tiny_env, chinook_sqlite_url):
    return {
        "ServerApp": {"jpserver_extensions": {"text2sql.kernel_magic": True}},
        "Text2SQL": {"connections": {"chinook": chinook_sqlite_url}},
    }


async def test_generate_returns_the_models_sql(jp_fetch):
    question, sql = TINY_PAIRS[0]
    response = await jp_fetch("text2sql", "generate", method="POST",
                              body=json.dumps({"question": question, "connection": "chinook"}))
    data = json.loads(response.body)
    assert data["sql"] == sql and data["problems"] == []
    assert data["model"]


async def test_schema_lists_chinook_tables(jp_fetch):
    response = await jp_fetch("text2sql", "schema", params={"connection": "chinook"})
    data = json.loads(response.body)
    assert {t["name"] for t in data["tables"]} >= {"Album", "Artist", "Track"}


async def test_unauthenticated_requests_get_403(jp_fetch):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("text2sql", "schema", params={"connection": "chinook"}, headers={"Authorization": ""})
    assert info.value.code == 403


@pytest.mark.parametrize(
    "body, needle",
    [
        ("not json", "must be JSON"),
        (json.dumps({"question": "", "connection": "chinook"}), "question"),
        (json.dumps({"question": "How many albums are there?", "connection": "sqlite:////etc/passwd"}), "raw database URLs"),
        (json.dumps({"question": "How many albums are there?", "connection": "nope"}), "unknown connection"),
    ],
)
async def test_bad_requests_get_400_with_a_json_error(jp_fetch, body, needle):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("text2sql", "generate", method="POST", body=body)
    assert info.value.code == 400
    assert needle in json.loads(info.value.response.body)["error"]
