"""Settings: the config file, ${ENV} references, precedence, bad values."""

from __future__ import annotations

import pytest

from text2sql.config import (Settings, coerce_settings, config_path, load_settings, parse_file_header,
                             resolve_connection)
from text2sql.errors import ConfigError

TOML = """
connection = "shop"
[model]
path = "/models/gemma"
precision = "int8"
[connections.shop]
url = "postgresql+psycopg://me:${SHOP_PW}@localhost/shop"
exclude = ["users.password_hash", "*.ssn"]
[connections.local]
url = "sqlite:///data.db"
"""


@pytest.fixture
def config_file(tmp_path, monkeypatch):
    path = tmp_path / "xdg" / "text2sql" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(TOML)
    monkeypatch.delenv("TEXT2SQL_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    return path


def test_the_config_file_is_found_through_xdg_and_read(config_file):
    assert config_path() == config_file
    s = load_settings()
    assert (s.connection, s.model, s.precision) == ("shop", "/models/gemma", "int8")
    assert s.connections["shop"].exclude == ("users.password_hash", "*.ssn")


def test_text2sql_config_points_elsewhere(tmp_path, monkeypatch, config_file):
    other = tmp_path / "other.toml"
    other.write_text('[model]\nprecision = "bf16"\n')
    monkeypatch.setenv("TEXT2SQL_CONFIG", str(other))
    assert load_settings().precision == "bf16"


def test_precedence_explicit_over_header_over_client_over_file(config_file):
    s = load_settings(client={"precision": "fp32", "connection": "local"})
    assert (s.precision, s.connection) == ("fp32", "local")
    s = load_settings(client={"connection": "local"}, header={"connection": "shop"})
    assert s.connection == "shop"
    s = load_settings(client={"connection": "local"}, header={"connection": "shop"}, explicit={"connection": "x://y"})
    assert s.connection == "x://y"
    assert load_settings(explicit={"precision": None}).precision == "int8"  # None = not given


def test_env_references_are_expanded_when_the_connection_is_used(config_file, monkeypatch):
    s = load_settings()
    monkeypatch.delenv("SHOP_PW", raising=False)
    with pytest.raises(ConfigError, match="SHOP_PW"):
        resolve_connection("shop", s)
    monkeypatch.setenv("SHOP_PW", "pa55")
    assert resolve_connection(None, s).url == "postgresql+psycopg://me:pa55@localhost/shop"


def test_names_urls_and_the_demo_default():
    s = Settings()
    assert resolve_connection(None, s).url.endswith("chinook.sqlite")
    assert resolve_connection("sqlite:///x.db", s).url == "sqlite:///x.db"
    with pytest.raises(ConfigError, match="no connection named 'nope'"):
        resolve_connection("nope", s)


def test_bad_toml_names_the_file_and_line(tmp_path, monkeypatch):
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nprecision = "fp32\n')
    monkeypatch.setenv("TEXT2SQL_CONFIG", str(bad))
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(bad) in str(info.value) and "line 2" in str(info.value)


def test_bad_values_fall_back_with_one_warning_each():
    s, warnings = coerce_settings({"precision": "fp64", "maxTokens": -3, "trigger": "manual", "bogus": 1})
    assert (s.precision, s.max_tokens, s.trigger) == ("auto", 256, "manual")
    assert len(warnings) == 3 and any("fp64" in w for w in warnings)
    with pytest.raises(ConfigError):
        load_settings(client={"precision": "fp64"})


def test_file_header_lines():
    text = "-- text2sql: connection=shop\n-- text2sql: precision=fp32\n\nSELECT 1;\n-- text2sql: connection=late\n"
    assert parse_file_header(text) == {"connection": "shop", "precision": "fp32"}
