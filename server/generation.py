"""Bookkeeping around generation requests: supersession, an answer cache, debounce.

Engine-agnostic and thread-safe; the inline-completion handler and the generate
command share one instance per server:

- ``Pending``: one generation per document. Starting a new one sets the cancel event of
  the previous one, which the engine checks between tokens (cooperative cancellation).
- ``AnswerCache``: a small LRU keyed by (schema version, question); a repeated question
  on an unchanged schema is answered without the model.
- ``Counters``: running / cancelled / finished generation requests, for status.
- ``AdaptiveDebounce``: how long an *automatic* request waits before generating. While
  the user types, automatic requests arrive in bursts; waiting a bit longer than the
  user's typical gap between keystrokes (and longer when generations are slow) means
  one generation per pause instead of one per key.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass


class Pending:
    """The running generation (its cancel event) of each document."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: dict[str, threading.Event] = {}

    def begin(self, uri: str) -> threading.Event:
        """A cancel event for a new generation in ``uri``; cancels the older one."""
        event = threading.Event()
        with self._lock:
            previous = self._events.get(uri)
            self._events[uri] = event
        if previous is not None:
            previous.set()
        return event

    def end(self, uri: str, event: threading.Event) -> None:
        with self._lock:
            if self._events.get(uri) is event:
                del self._events[uri]

    def cancel(self, uri: str) -> None:
        """Cancel the generation of ``uri`` (its document closed)."""
        with self._lock:
            event = self._events.pop(uri, None)
        if event is not None:
            event.set()

    def cancel_all(self) -> None:
        with self._lock:
            events = list(self._events.values())
            self._events.clear()
        for event in events:
            event.set()


@dataclass(frozen=True)
class CachedAnswer:
    sql: str
    problems: tuple = ()


class AnswerCache:
    """LRU of answers keyed by (schema version, question)."""

    def __init__(self, capacity: int = 128) -> None:
        self.capacity = capacity
        self._items: OrderedDict[tuple[str, str], CachedAnswer] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(schema_version: str, question: str) -> tuple[str, str]:
        return (schema_version, " ".join(question.split()).lower())

    def get(self, schema_version: str, question: str) -> CachedAnswer | None:
        key = self.key(schema_version, question)
        with self._lock:
            answer = self._items.get(key)
            if answer is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return answer

    def put(self, schema_version: str, question: str, answer: CachedAnswer) -> None:
        key = self.key(schema_version, question)
        with self._lock:
            self._items[key] = answer
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


class AdaptiveDebounce:
    """Delay for automatic requests: ~1.5x the typing gap, at least a quarter of the
    recent generation time, within [minimum, maximum] seconds."""

    def __init__(self, minimum: float = 0.15, maximum: float = 0.9, clock=time.monotonic) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self._clock = clock
        self._last: dict[str, float] = {}
        self._gap: float | None = None
        self._latency: float | None = None
        self._lock = threading.Lock()

    def delay(self, uri: str) -> float:
        """Record an automatic request for ``uri`` and return how long to wait."""
        now = self._clock()
        with self._lock:
            last = self._last.get(uri)
            self._last[uri] = now
            if last is not None and now - last < 2.0:  # part of a typing burst
                gap = now - last
                self._gap = gap if self._gap is None else 0.7 * self._gap + 0.3 * gap
            wanted = 1.5 * self._gap if self._gap is not None else self.minimum
            if self._latency is not None:
                wanted = max(wanted, 0.25 * self._latency)
        return min(max(wanted, self.minimum), self.maximum)

    def observe_latency(self, seconds: float) -> None:
        """Record how long a finished generation took."""
        with self._lock:
            self._latency = seconds if self._latency is None else 0.7 * self._latency + 0.3 * seconds

    def forget(self, uri: str) -> None:
        with self._lock:
            self._last.pop(uri, None)


class Counters:
    """running / cancelled / finished, thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0
        self.cancelled = 0
        self.finished = 0
        self.failed = 0

    def add(self, name: str, delta: int = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + delta)

    def finish(self, outcome: str) -> None:
        """One generation stopped running and ended as ``outcome`` (one step, so a
        reader never sees it in neither state)."""
        with self._lock:
            self.running -= 1
            setattr(self, outcome, getattr(self, outcome) + 1)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return {"running": self.running, "cancelled": self.cancelled, "finished": self.finished, "failed": self.failed}
