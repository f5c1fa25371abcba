"""``text2sql ask`` and ``text2sql cache`` in a subprocess (the tiny model selected by a
user config file), and the cache's atomic publishing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.fixtures.tiny_model import TINY_PAIRS, tiny_config
from text2sql import cache


def text2sql(env, *args, timeout=300):
    return subprocess.run([sys.executable, "-m", "text2sql", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture
def env(tiny_model_dir, tmp_path):
    return tiny_config(tmp_path, tiny_model_dir)


def test_ask_prints_the_sql_the_check_and_with_run_the_rows(env):
    question, sql = TINY_PAIRS[3]
    proc = text2sql(env, "ask", question, "--run", "--limit", "3")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == sql
    assert lines[1].startswith("-- ok: valid against the schema")
    assert lines[2].split("|")[0].strip() == "Title" and "sales" in lines[2]
    assert "Battlestar Galactica (Classic), Season 1" in lines[4]
    assert lines[-1] == "(3 rows, truncated)"
    assert "Traceback" not in proc.stderr


def test_ask_json_on_duckdb(env, chinook_duckdb_url):
    question, sql = TINY_PAIRS[0]
    proc = text2sql(env, "ask", question, "--db", chinook_duckdb_url, "--run", "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["sql"] == sql and data["ok"] and data["dialect"] == "duckdb"
    assert data["rows"]["rows"] == [[347]]


def test_ask_with_an_empty_question_fails_before_loading_a_model(env):
    proc = text2sql(env, "ask", "   ")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "error: the question is empty"


def test_ask_with_a_missing_model_is_one_line_naming_it(env, tmp_path):
    missing = tmp_path / "models" / "gone"
    proc = text2sql(env, "ask", "How many albums are there?", "--model", str(missing))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and str(missing) in proc.stderr and "Traceback" not in proc.stderr


def _fake_entry(name: str, size: int, complete: bool = True):
    entry = cache.models_dir() / name
    entry.mkdir(parents=True)
    (entry / "model.safetensors").write_bytes(b"\0" * size)
    if complete:
        cache.write_manifest(entry, description=f"test entry {name}")
    return entry


def test_cache_info_and_clear(env, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", env["XDG_CACHE_HOME"])
    empty = text2sql(env, "cache", "info")
    assert empty.returncode == 0 and "empty" in empty.stdout and env["XDG_CACHE_HOME"] in empty.stdout
    _fake_entry("gemma-3-270m-q4_k_m-test", 3 * 1024 * 1024)
    _fake_entry(".tmp-half-built", 1024, complete=False)
    info = text2sql(env, "cache", "info")
    assert "3.0 MB  gemma-3-270m-q4_k_m-test  test entry gemma-3-270m-q4_k_m-test" in info.stdout
    assert "unfinished build" in info.stdout
    as_json = json.loads(text2sql(env, "cache", "info", "--json").stdout)
    assert {e["complete"] for e in as_json["entries"]} == {True, False}
    cleared = text2sql(env, "cache", "clear")
    assert cleared.returncode == 0 and "removed 2 items (3.0 MB)" in cleared.stdout
    assert cache.entries() == []


def test_staging_publishes_atomically_and_cleans_up_after_errors(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    entry = cache.models_dir() / "model-x"
    with pytest.raises(RuntimeError):
        with cache.staging_dir(entry) as tmp:
            (tmp / "model.safetensors").write_bytes(b"partial")
            raise RuntimeError("disk full")
    assert not entry.exists() and list(cache.models_dir().iterdir()) == []
    with cache.staging_dir(entry) as tmp:
        (tmp / "model.safetensors").write_bytes(b"weights")
        cache.write_manifest(tmp, description="x")
        assert not entry.exists()  # nothing visible until the block succeeds
    assert cache.is_complete(entry) and (entry / "model.safetensors").read_bytes() == b"weights"
    assert [p.name for p in cache.models_dir().iterdir()] == ["model-x"]


def test_model_loading_hides_the_bitsandbytes_optional_kernel_notice():
    """peft imports bitsandbytes while applying an adapter; on AVX512-BF16 CPUs that import
    logs a warning about a hub kernel, which `text2sql ask` users cannot act on."""
    script = ("import logging, sys\nfrom text2sql import cache\n"
              "if sys.argv[1] == 'quiet':\n    ctx = cache.quiet_transformers(show_bars=False)\n"
              "else:\n    import contextlib; ctx = contextlib.nullcontext()\n"
              "with ctx:\n    import bitsandbytes\n"
              "logging.getLogger('bitsandbytes.backends.cpu.ops').warning('later warnings still show')\n")

    def stderr(mode):
        proc = subprocess.run([sys.executable, "-c", script, mode], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return proc.stderr

    if "kernels-community" not in stderr("plain"):
        pytest.skip("this CPU's bitsandbytes import logs no optional-kernel notice")
    quiet = stderr("quiet")
    assert "kernels-community" not in quiet
    assert "later warnings still show" in quiet
