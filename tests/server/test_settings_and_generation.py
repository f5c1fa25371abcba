"""Settings validation and the generation bookkeeping (pure units, no server)."""

import threading

from text2sql.server.generation import AdaptiveDebounce, AnswerCache, CachedAnswer, Counters, Pending
from text2sql.server.settings import ServerSettings, describe, documentation, parse_settings


def test_flat_and_sectioned_settings_are_read_the_same():
    flat = {"connection": "sqlite:///x.db", "precision": "FP32", "device": "cpu", "trigger": "manual", "maxTokens": 64}
    a, pa = parse_settings(flat)
    b, pb = parse_settings({"text2sql": flat, "python": {"other": 1}})
    assert a == b == ServerSettings(connection="sqlite:///x.db", precision="fp32", device="cpu", trigger="manual", max_tokens=64)
    assert pa == pb == []
    assert a.client_layer() == {"connection": "sqlite:///x.db", "precision": "fp32", "device": "cpu",
                                "trigger": "manual", "max_tokens": 64}


def test_bad_values_are_dropped_with_one_line_each():
    settings, problems = parse_settings(
        {"precision": "fp8", "device": "tpu", "trigger": "sometimes", "maxTokens": -5, "model": 42, "logLevel": "debug"}
    )
    assert settings == ServerSettings()  # nothing set: the config file and defaults apply
    assert len(problems) == 5
    assert any("precision" in p and "fp8" in p for p in problems)
    assert any("maxTokens" in p for p in problems)


def test_empty_values_mean_unset_and_unknown_keys_are_ignored():
    settings, problems = parse_settings({"connection": "  ", "maxTokens": 0, "python": "/usr/bin/python3", "adapter": None})
    assert settings == ServerSettings() and problems == []


def test_not_an_object_keeps_the_current_settings():
    current = ServerSettings(trigger="manual")
    settings, problems = parse_settings(["nope"], base=current)
    assert settings is current and len(problems) == 1


def test_describe_redacts_the_connection():
    settings = ServerSettings(connection="postgresql://me:s3cret@db/x")
    shown = describe(settings, lambda s: s.replace("s3cret", "***"))
    assert "s3cret" not in str(shown) and shown["connection"] == "postgresql://me:***@db/x"
    assert {key for key, _ in documentation()} == {
        "connection", "model", "adapter", "precision", "device", "trigger", "maxTokens"
    }


def test_a_new_generation_cancels_the_older_one_of_the_same_document():
    pending = Pending()
    first = pending.begin("file:///a.sql")
    other = pending.begin("file:///b.sql")
    second = pending.begin("file:///a.sql")
    assert first.is_set() and not second.is_set() and not other.is_set()
    pending.end("file:///a.sql", first)  # a stale end does not drop the newer one
    pending.cancel("file:///a.sql")
    assert second.is_set()
    pending.cancel_all()
    assert other.is_set()


def test_answer_cache_is_lru_and_counts_hits():
    cache = AnswerCache(capacity=2)
    cache.put("v1", "Top albums", CachedAnswer("SELECT 1"))
    cache.put("v1", "b", CachedAnswer("SELECT 2"))
    assert cache.get("v1", "  top   ALBUMS ").sql == "SELECT 1"  # same question, other spacing
    cache.put("v1", "c", CachedAnswer("SELECT 3"))  # evicts "b", the least recently used
    assert cache.get("v1", "b") is None
    assert cache.get("v2", "top albums") is None  # another schema version
    assert (cache.hits, cache.misses, len(cache)) == (1, 2, 2)


def test_debounce_adapts_to_typing_speed_and_generation_time():
    now = [0.0]
    debounce = AdaptiveDebounce(minimum=0.1, maximum=1.0, clock=lambda: now[0])
    assert debounce.delay("u") == 0.1
    for _ in range(10):  # fast typing: 50 ms between requests
        now[0] += 0.05
        fast = debounce.delay("u")
    assert 0.1 <= fast < 0.2
    for _ in range(10):  # slow typing: 400 ms between requests
        now[0] += 0.4
        slow = debounce.delay("u")
    assert slow > fast and slow <= 1.0
    debounce.observe_latency(8.0)  # very slow generations: wait the maximum
    now[0] += 0.05
    assert debounce.delay("u") == 1.0


def test_counters_are_thread_safe():
    counters = Counters()
    threads = [threading.Thread(target=lambda: [counters.add("finished") for _ in range(1000)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counters.snapshot()["finished"] == 4000
