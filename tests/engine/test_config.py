"""Settings: where the config file is, its format, ${ENV} references, the precedence of
the five layers, bad values (warnings and fallbacks) and bad files (one clear error)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from text2sql.config import (ConnectionConfig, Settings, coerce_settings, config_path, load_settings,
                             parse_file_header, resolve_connection)
from text2sql.data import CHINOOK_PATH
from text2sql.errors import ConfigError

TOML = """
connection = "shop"
row_limit = 500
[model]
path = "/models/gemma"
precision = "int8"
[connections.shop]
url = "postgresql+psycopg://me:${SHOP_PW}@localhost/shop"
exclude = ["users.password_hash", "*.ssn"]
timeout_s = 3
[connections.local]
url = "sqlite:///data.db"
"""


@pytest.fixture(autouse=True)
def no_user_config(tmp_path, monkeypatch):
    """Never read the real user's config: an empty XDG dir unless a test writes one."""
    monkeypatch.delenv("TEXT2SQL_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "xdg" / "text2sql" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(TOML)
    return path


def test_the_config_file_is_found_through_xdg_and_read(config_file):
    assert config_path() == config_file
    s = load_settings()
    assert (s.connection, s.model, s.precision, s.row_limit) == ("shop", "/models/gemma", "int8", 500)
    shop = s.connections["shop"]
    assert shop.exclude == ("users.password_hash", "*.ssn") and shop.timeout_s == 3.0 and shop.samples == 3
    assert s.connections["local"].url == "sqlite:///data.db"


def test_without_xdg_the_platform_config_dir_is_used(tmp_path, monkeypatch):
    import platformdirs

    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    expected = Path(platformdirs.user_config_dir("text2sql")) / "config.toml"
    assert config_path() == expected and str(expected).startswith(str(tmp_path / "home"))
    expected.parent.mkdir(parents=True)
    expected.write_text('[model]\ndevice = "cpu"\n')
    assert load_settings().device == "cpu"


def test_text2sql_config_points_elsewhere(tmp_path, monkeypatch, config_file):
    other = tmp_path / "other.toml"
    other.write_text('[model]\nprecision = "bf16"\n')
    monkeypatch.setenv("TEXT2SQL_CONFIG", str(other))
    assert config_path() == other
    assert load_settings().precision == "bf16" and load_settings().connection is None  # XDG file not read
    monkeypatch.setenv("TEXT2SQL_CONFIG", str(tmp_path / "missing.toml"))
    assert load_settings() == Settings()  # no file there: the defaults


def test_no_file_means_the_defaults():
    assert load_settings() == Settings()
    assert resolve_connection(None, load_settings()).url.endswith("chinook.sqlite")


def test_precedence_explicit_over_header_over_client_over_file_over_defaults(config_file):
    assert load_settings().precision == "int8"  # file over defaults
    s = load_settings(client={"precision": "fp32", "connection": "local"})
    assert (s.precision, s.connection, s.model) == ("fp32", "local", "/models/gemma")  # client over file
    s = load_settings(client={"connection": "local"}, header={"connection": "shop"})
    assert s.connection == "shop"  # header over client
    s = load_settings(client={"connection": "local"}, header={"connection": "shop"}, explicit={"connection": "x://y"})
    assert s.connection == "x://y"  # explicit over everything
    assert load_settings().device == "auto"  # no layer sets it: the default


def test_an_unset_value_lets_the_layer_below_show_through(config_file):
    s = load_settings(client={"model": "", "precision": None}, explicit={"precision": None, "row_limit": None})
    assert (s.model, s.precision, s.row_limit) == ("/models/gemma", "int8", 500)


def test_connections_merge_by_name_across_layers(config_file):
    s = load_settings(client={"connections": {"extra": "duckdb:///x.duckdb", "local": {"url": "sqlite:///other.db"}}})
    assert sorted(s.connections) == ["extra", "local", "shop"]
    assert s.connections["local"].url == "sqlite:///other.db"  # the client's entry replaces the file's
    assert s.connections["shop"].exclude == ("users.password_hash", "*.ssn")


def test_env_references_are_expanded_only_when_the_connection_is_used(config_file, monkeypatch):
    monkeypatch.delenv("SHOP_PW", raising=False)
    s = load_settings()  # loading never needs the secret
    assert "${SHOP_PW}" in s.connections["shop"].url
    with pytest.raises(ConfigError, match=r"SHOP_PW is not set .*connection 'shop'"):
        resolve_connection("shop", s)
    monkeypatch.setenv("SHOP_PW", "pa55-w0rd")
    conn = resolve_connection(None, s)  # the file's default connection
    assert conn.url == "postgresql+psycopg://me:pa55-w0rd@localhost/shop" and conn.timeout_s == 3.0
    assert "pa55-w0rd" not in repr(conn) and "pa55-w0rd" not in repr(dataclasses.replace(s, connections={"shop": conn}))
    assert "pa55-w0rd" not in repr(dataclasses.replace(s, connection=conn.url)) and "me:***@" in repr(conn)


def test_names_urls_and_the_demo_default():
    s = Settings(connections={"mine": ConnectionConfig("mine", "sqlite:///mine.db")})
    assert resolve_connection(None, s).url.endswith("chinook.sqlite")
    assert resolve_connection(None, s).name == "chinook-demo"
    assert resolve_connection("mine", s).url == "sqlite:///mine.db"
    assert resolve_connection("sqlite:///x.db", s) == ConnectionConfig(None, "sqlite:///x.db")
    assert resolve_connection("postgresql+psycopg://u@h/db", s).url == "postgresql+psycopg://u@h/db"
    with pytest.raises(ConfigError, match=r"no connection named 'nope' \(known: mine; config file: "):
        resolve_connection("nope", s)


def test_bad_toml_names_the_file_and_line(tmp_path, monkeypatch):
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nprecision = "fp32\n')
    monkeypatch.setenv("TEXT2SQL_CONFIG", str(bad))
    with pytest.raises(ConfigError) as info:
        load_settings()
    assert str(bad) in str(info.value) and "line 2" in str(info.value) and "\n" not in str(info.value)


def test_a_file_that_is_not_text_is_a_config_error(tmp_path, monkeypatch):
    bad = tmp_path / "binary.toml"
    bad.write_bytes(b"\xff\xfe\x00garbage")
    monkeypatch.setenv("TEXT2SQL_CONFIG", str(bad))
    with pytest.raises(ConfigError, match="binary.toml"):
        load_settings()


def test_bad_values_fall_back_with_one_warning_each():
    s, warnings = coerce_settings({"precision": "fp64", "maxTokens": -3, "trigger": "manual", "bogus": 1})
    assert (s.precision, s.max_tokens, s.trigger) == ("auto", 256, "manual")
    assert len(warnings) == 3 and any("fp64" in w for w in warnings) and any("bogus" in w for w in warnings)


@pytest.mark.parametrize("key, value", [
    ("max_tokens", 2.5), ("max_tokens", True), ("n_candidates", "many"), ("row_limit", 0),
    ("timeout_s", "nan"), ("timeout_s", float("inf")), ("device", "tpu"), ("log_level", "loud"),
    ("model", 42), ("precision", ["nf4"]),
])
def test_each_kind_of_bad_value_is_refused(key, value):
    s, warnings = coerce_settings({key: value})
    assert getattr(s, key) == getattr(Settings(), key)
    assert len(warnings) == 1 and key in warnings[0]


def test_good_values_are_normalised():
    s, warnings = coerce_settings({"rowLimit": "100", "timeout": "2.5", "precision": "NF4", "logLevel": "debug",
                                   "max_tokens": 64.0, "model": "  /m  "})
    assert warnings == []
    assert (s.row_limit, s.timeout_s, s.precision, s.log_level, s.max_tokens, s.model) == \
        (100, 2.5, "nf4", "debug", 64, "/m")


def test_a_bad_connection_is_dropped_and_the_good_ones_kept():
    raw = {"connections": {
        "good": {"url": "sqlite:///a.db", "exclude": "audit_*", "samples": 0},
        "nourl": {"exclude": ["x"]},
        "badexclude": {"url": "sqlite:///b.db", "exclude": [1, 2]},
        "badsamples": {"url": "sqlite:///c.db", "samples": -1},
        "typo": {"url": "sqlite:///d.db", "exlcude": ["x"]},
        "badlimit": {"url": "sqlite:///e.db", "row_limit": "lots"},
    }}
    s, warnings = coerce_settings(raw)
    assert list(s.connections) == ["good"]
    assert s.connections["good"].exclude == ("audit_*",) and s.connections["good"].samples == 0
    assert len(warnings) == 5
    for name in ("nourl", "badexclude", "badsamples", "typo", "badlimit"):
        assert any(f"'{name}'" in w for w in warnings), name
    assert any("exlcude" in w for w in warnings)


def test_the_cli_layer_is_strict_and_says_where_the_bad_value_is(config_file):
    config_file.write_text('[model]\nprecison = "nf4"\nprecision = "fp64"\n')
    with pytest.raises(ConfigError) as info:
        load_settings()
    message = str(info.value)
    assert str(config_file) in message and "model.precison" in message and "fp64" in message
    s = load_settings(strict=False)  # the server and the magic keep going on the defaults
    assert s.precision == "auto"
    with pytest.raises(ConfigError, match="arguments: setting row_limit"):
        load_settings(explicit={"row_limit": -1})


def test_file_header_lines():
    text = ("\ufeff-- a comment first\n-- text2sql: connection=shop\n-- text2sql: precision=fp32, device=cpu\n"
            "\nSELECT 1;\n-- text2sql: connection=late\n")
    assert parse_file_header(text) == {"connection": "shop", "precision": "fp32", "device": "cpu"}
    assert parse_file_header('-- text2sql: connection="my shop" trigger=manual') == \
        {"connection": "my shop", "trigger": "manual"}
    assert parse_file_header("SELECT 1 -- text2sql: connection=shop") == {}
    assert parse_file_header("") == {}


def test_the_header_is_a_settings_layer(config_file):
    header = parse_file_header("-- text2sql: connection=local\nSELECT 1")
    assert load_settings(client={"connection": "shop"}, header=header).connection == "local"


def test_every_setting_is_documented_in_the_readme_section():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    doc = readme[readme.index("## Configuration"):readme.index("## Models and")]
    for f in dataclasses.fields(Settings):
        assert f"`{f.name}`" in doc, f.name
    for f in dataclasses.fields(ConnectionConfig):
        if f.name != "name":
            assert f"`{f.name}`" in doc, f.name


def test_the_cli_uses_named_connections_env_secrets_and_per_connection_limits(tmp_path):
    """End to end: a config file's named connection, its ${ENV} path and row_limit, and a
    CLI flag above it, in the real ``text2sql run`` command."""
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(CHINOOK_PATH, data / "music.sqlite")
    config = tmp_path / "config.toml"
    config.write_text('connection = "music"\n[connections.music]\nurl = "sqlite:///${MUSIC_DIR}/music.sqlite"\n'
                      "row_limit = 3\n")
    env = {**os.environ, "TEXT2SQL_CONFIG": str(config), "MUSIC_DIR": str(data)}

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "text2sql", "run", "--format", "json", *args],
                              capture_output=True, text=True, env=env, timeout=120)

    proc = cli("SELECT ArtistId FROM Artist ORDER BY ArtistId")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["rows"] == [[1], [2], [3]] and out["truncated"] is True  # the connection's row_limit
    out = json.loads(cli("--limit", "5", "SELECT ArtistId FROM Artist ORDER BY ArtistId").stdout)
    assert len(out["rows"]) == 5  # the flag wins
    del env["MUSIC_DIR"]
    proc = cli("SELECT 1")
    assert proc.returncode == 1 and "MUSIC_DIR is not set" in proc.stderr and "Traceback" not in proc.stderr
