"""Where a completion's statement ends, and the hooks that watch a transformers
``generate`` call token by token: stop at the statement's end (and on cancellation), hand
the new text to a front end, time the first and later tokens.

Kept apart from ``text2sql.generate`` (the backends) because the stopping rule is shared
beyond them: the schema constraint and the llama.cpp bench cut completions by it too.
"""

from __future__ import annotations

import threading
import time
from typing import Callable

from text2sql.errors import GenerationCancelled

OnToken = Callable[[str], None]


def statement_end(text: str) -> int | None:
    """Offset where the first statement of a (growing) completion ends, or None while the
    text so far cannot tell.

    Mirrors ``text2sql.prompt.extract_sql``: the statement ends after the first ``;``
    outside quotes and comments, or, once some SQL was written, before a blank line or a
    line that starts with ``--``; comments inside the statement are part of it. Where ``extract_sql`` would end at the end of the text (a trailing
    newline), this waits for more, since a generation may continue the statement. The
    tests check that cutting here never changes what ``extract_sql`` returns.
    """
    quote_char = None
    written = False  # some SQL (not blanks, comments or stray semicolons) before here
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quote_char:
            if ch == quote_char:
                quote_char = None
            i += 1
            continue
        if text.startswith("--", i) or text.startswith("/*", i):
            close = "\n" if ch == "-" else "*/"
            j = text.find(close, i + 2)
            if j < 0:
                return None  # the comment is still being written
            i = j if close == "\n" else j + 2  # a line comment's newline is handled below
            continue
        if ch in "'\"`":
            quote_char = ch  # like extract_sql, quoted text before any SQL is not SQL yet
            i += 1
            continue
        if ch == ";" and written:
            return i + 1
        elif ch == "\n" and written:
            rest = text[i + 1:].lstrip(" \t")
            if text[i + 1:i + 2] == "\n" or rest.startswith("--"):
                return i
            if rest in ("", "-"):
                return None  # the next line has not shown what it is yet
        if not ch.isspace() and ch != ";":
            written = True
        i += 1
    return None


def check_cancel(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise GenerationCancelled("generation cancelled")


class StopAtStatementEnd:
    """StoppingCriteria: done when the decoded completion holds a whole statement; also the
    per-step cancellation point."""

    def __init__(self, tokenizer, prompt_len: int, cancel):
        self.tokenizer, self.prompt_len, self.cancel = tokenizer, prompt_len, cancel

    def __call__(self, input_ids, scores, **kwargs):
        import torch

        check_cancel(self.cancel)
        done = [
            statement_end(self.tokenizer.decode(row[self.prompt_len:], skip_special_tokens=True)) is not None
            for row in input_ids
        ]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class PieceStreamer:
    """transformers streamer that hands ``on_token`` the new text of the completion,
    never past the statement end and never half a UTF-8 character."""

    def __init__(self, tokenizer, on_token: OnToken):
        self.tokenizer, self.on_token = tokenizer, on_token
        self.ids: list[int] = []
        self.sent = ""
        self.prompt_seen = False

    def put(self, value) -> None:
        if not self.prompt_seen:  # the first call carries the prompt
            self.prompt_seen = True
            return
        self.ids.extend(int(t) for t in value.reshape(-1).tolist())
        text = self.tokenizer.decode(self.ids, skip_special_tokens=True)
        end = statement_end(text)
        visible = text[:end] if end is not None else text.rstrip("\ufffd")
        if len(visible) > len(self.sent) and visible.startswith(self.sent):
            piece, self.sent = visible[len(self.sent):], visible
            self.on_token(piece)

    def end(self) -> None:
        pass


class TimingStreamer:
    """Wraps the optional piece streamer; notes when the first new token came and how many
    followed, for ``TransformersBackend.last_stats``."""

    def __init__(self, inner):
        self.inner = inner
        self.started = time.perf_counter()
        self.first: float | None = None
        self.count = 0
        self.prompt_seen = False

    def put(self, value) -> None:
        if self.prompt_seen:
            if self.first is None:
                self.first = time.perf_counter()
            self.count += int(value.numel())
        self.prompt_seen = True
        if self.inner is not None:
            self.inner.put(value)

    def end(self) -> None:
        if self.inner is not None:
            self.inner.end()

    def stats(self, prompt_tokens: int, prefilled: int) -> dict:
        done = time.perf_counter()
        decode_s = done - self.first if self.first is not None else 0.0
        return {"prompt_tokens": prompt_tokens, "prefilled_tokens": prefilled, "new_tokens": self.count,
                "time_to_first_token_s": round((self.first or done) - self.started, 4),
                "total_s": round(done - self.started, 4),
                "decode_tokens_per_s": round((self.count - 1) / decode_s, 2) if self.count > 1 and decode_s > 0 else None}
