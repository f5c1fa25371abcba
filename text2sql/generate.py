"""Turning a prompt into completions, behind a small backend interface.

Everything above this module (pipeline, server, notebook) talks to a ``Backend``: give it
the prompt text, get back completion texts. Nothing above it may assume the model runs
in-process, so an OpenAI-compatible HTTP backend (vLLM, llama.cpp's server) can be added
beside ``TransformersBackend`` without touching the callers.

``TransformersBackend`` decodes in-process:

* candidate 0 is always the greedy completion: deterministic, streamed to ``on_token``,
  and it reuses the KV cache of a recurring prompt prefix (``prefix=``, the schema part of
  the prompt) so a new question on a known schema prefills only the question;
* with ``n > 1`` the other candidates come from beam search (``num_beams=n``,
  ``num_return_sequences=n``) minus duplicates of the greedy one: deterministic, ranked
  by likelihood, and without the temperature knob sampling would need;
* ``generate_batch`` decodes the greedy completions of several prompts at once (for
  evaluation), sharing the cached prefix KV when the prompts share it;
* every candidate stops at the end of its statement (``statement_end``), and is cut there;
* ``cancel`` (a ``threading.Event``) is checked at every decoding step and raises
  ``GenerationCancelled``; ``restrict_output=True`` scores only the tokens SQL for the
  prompt can use (``text2sql.output_vocab``); ``Activity`` counts running / cancelled / finished / failed
  generations for the front ends' status displays.
"""

from __future__ import annotations

import contextlib
import copy
import threading
import time
from collections import OrderedDict
from typing import Protocol, runtime_checkable

from text2sql.errors import GenerationCancelled
from text2sql.streaming import OnToken, PieceStreamer, StopAtStatementEnd, TimingStreamer, check_cancel, statement_end


def kv_cache_kwargs(cache) -> dict:
    """The keyword that hands a KV cache to ``generate``/``forward``: ``cache`` from
    transformers 5.24 on (``past_key_values`` is deprecated there and goes in 5.40)."""
    if cache is None:
        return {}
    import transformers

    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return {"cache": cache} if (major, minor) >= (5, 24) else {"past_key_values": cache}


class Activity:
    """Thread-safe counters of generations: running now, and how the others ended."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = {"running": 0, "finished": 0, "cancelled": 0, "failed": 0}

    @contextlib.contextmanager
    def track(self):
        with self._lock:
            self._counts["running"] += 1
        outcome = "failed"
        try:
            yield
            outcome = "finished"
        except GenerationCancelled:
            outcome = "cancelled"
            raise
        finally:
            with self._lock:  # one step, so a reader never sees it in neither state
                self._counts["running"] -= 1
                self._counts[outcome] += 1

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    @property
    def running(self) -> int:
        return self.snapshot()["running"]

    @property
    def cancelled(self) -> int:
        return self.snapshot()["cancelled"]

    @property
    def finished(self) -> int:
        return self.snapshot()["finished"]


@runtime_checkable
class Backend(Protocol):
    """What the pipeline needs from a model, wherever it runs."""

    name: str  # shown to users, e.g. "gemma-3-270m (embedded) + adapter ..."
    activity: Activity

    def generate(
        self,
        prompt: str,
        *,
        n: int = 1,
        max_new_tokens: int = 256,
        on_token: OnToken | None = None,
        cancel: threading.Event | None = None,
        prefix: str | None = None,
        vocabulary=None,
    ) -> list[str]:
        """Up to ``n`` distinct completions of ``prompt``, each cut at the end of its
        statement; the first is the greedy one. ``on_token`` receives the greedy
        completion's text as it grows (pieces, concatenating to it); ``prefix`` is a hint
        that ``prompt`` starts with text that recurs (a backend may cache its state);
        ``vocabulary`` (a ``constrain.SchemaVocabulary``), when given, keeps the names the
        model writes to those of the schema (a backend that cannot may ignore it)."""
        ...

    def count_tokens(self, text: str) -> int:
        """Prompt length in the model's tokens (for the prompt's budget)."""
        ...


class TransformersBackend:
    """In-process generation with a transformers model (see the module docstring)."""

    def __init__(self, loaded, *, prefix_cache_size: int = 4):
        self.loaded = loaded
        self.model, self.tokenizer = loaded.model, loaded.tokenizer
        self.name = loaded.info.name
        self.activity = Activity()
        self.prefix_stats = {"hits": 0, "misses": 0}
        self.last_stats: dict | None = None  # timings of the last greedy completion (TimingStreamer.stats)
        self._prefix_cache: OrderedDict[tuple[int, ...], object] = OrderedDict()
        self._prefix_cache_size = prefix_cache_size
        self._lock = threading.Lock()  # one generation at a time per model
        self._restrictor = None  # text2sql.output_vocab.Restrictor, made on first use

    # -- Backend interface

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False).input_ids)

    def generate(self, prompt, *, n=1, max_new_tokens=256, on_token=None, cancel=None, prefix=None,
                 vocabulary=None, restrict_output=False):
        if n < 1:
            raise ValueError("n must be at least 1")
        with self._lock, self.activity.track(), self._head([prompt], prefix, restrict_output):
            check_cancel(cancel)
            greedy = self._greedy(prompt, max_new_tokens, on_token, cancel, prefix, vocabulary)
            candidates = [greedy]
            if n > 1:
                for text in self._beams(prompt, n, max_new_tokens, cancel, prefix, vocabulary):
                    if text not in candidates:
                        candidates.append(text)
            return candidates[:n]

    def generate_batch(self, prompts, *, max_new_tokens=256, prefix=None, vocabulary=None,
                       restrict_output=False) -> list[str]:
        """The greedy completion of each prompt, decoded together (for evaluation throughput:
        one pass over the weights serves the whole batch). When every prompt starts with
        ``prefix``, its cached KV is shared and only the rest is prefilled, padded between
        the prefix and each question so positions match a single generation."""
        prompts = list(prompts)
        with self._lock, self.activity.track(), self._head(prompts, prefix, restrict_output):
            if len(prompts) <= 1:
                return [self._greedy(p, max_new_tokens, None, None, prefix, vocabulary) for p in prompts]
            return self._greedy_batch(prompts, max_new_tokens, prefix, vocabulary)

    # -- decoding

    def _head(self, prompts, prefix, restrict_output: bool):
        """The output head for this generation: restricted to the tokens SQL for these
        prompts can use (``text2sql.output_vocab``) when asked, else the model's own."""
        if not restrict_output:
            return contextlib.nullcontext()
        return self._restricted_vocabulary().restricted(prompts, prefix)

    def _restricted_vocabulary(self):
        if self._restrictor is None:
            from text2sql.output_vocab import Restrictor

            self._restrictor = Restrictor(self.model, self.tokenizer)
        return self._restrictor

    def warm_restricted_vocabulary(self) -> None:
        """Do now the one-off work of the first restricted generation (seconds), so that
        the first question after loading is not the slow one."""
        with self._lock:
            self._restricted_vocabulary().warm()

    def _encode(self, text: str):
        return self.tokenizer(text, return_tensors="pt").input_ids.to(self._device())

    def _device(self) -> str:
        try:
            return str(next(self.model.parameters()).device)
        except StopIteration:  # pragma: no cover - a model always has parameters
            return "cpu"

    def _generate_kwargs(self, max_new_tokens: int, vocabulary=None, prompt_len: int = 0) -> dict:
        tok = self.tokenizer
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        extra = {}
        if vocabulary is not None:  # schema-constrained decoding (text2sql.constrain)
            from transformers import LogitsProcessorList

            from text2sql.constrain import SchemaConstraint

            extra["logits_processor"] = LogitsProcessorList([SchemaConstraint(tok, vocabulary, prompt_len)])
        return extra | {
            "max_new_tokens": max_new_tokens,
            "pad_token_id": pad,
            "eos_token_id": tok.eos_token_id,
            "do_sample": False,
            "temperature": None,
            "top_p": None,
            "top_k": None,
        }

    def _finish(self, row, prompt_len: int) -> str:
        text = self.tokenizer.decode(row[prompt_len:], skip_special_tokens=True)
        end = statement_end(text)
        return text[:end] if end is not None else text

    def _greedy(self, prompt, max_new_tokens, on_token, cancel, prefix, vocabulary=None) -> str:
        import torch
        from transformers import StoppingCriteriaList

        timing = TimingStreamer(None)
        ids = self._encode(prompt)
        hits = self.prefix_stats["hits"]
        past = self._cached_prefix(ids, prefix, cancel) if prefix else None
        # tokens reused from an earlier request (generate() grows this copy, so count now)
        cached = past.get_seq_length() if past is not None and self.prefix_stats["hits"] > hits else 0
        timing.inner = PieceStreamer(self.tokenizer, on_token) if on_token else None
        streamer = timing
        stop = StoppingCriteriaList([StopAtStatementEnd(self.tokenizer, ids.shape[1], cancel)])
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                **kv_cache_kwargs(past),
                num_beams=1,
                stopping_criteria=stop,
                streamer=streamer,
                **self._generate_kwargs(max_new_tokens, vocabulary, ids.shape[1]),
            )
        check_cancel(cancel)
        self.last_stats = timing.stats(ids.shape[1], ids.shape[1] - cached)
        return self._finish(out[0], ids.shape[1])

    def _greedy_batch(self, prompts, max_new_tokens, prefix, vocabulary=None) -> list[str]:
        import torch
        from transformers import StoppingCriteriaList

        started = time.perf_counter()
        rows = [self.tokenizer(p).input_ids for p in prompts]  # BOS + text, as _encode
        pad = self._generate_kwargs(0)["pad_token_id"]
        shared, past = 0, None
        if prefix:
            p_ids = self.tokenizer(prefix).input_ids
            if all(len(r) > len(p_ids) and r[: len(p_ids)] == p_ids for r in rows):
                past = self._cached_prefix(torch.tensor([rows[0]], device=self._device()), prefix, None)
                shared = len(p_ids) if past is not None else 0
        tails = [r[shared:] for r in rows]
        width = max(len(t) for t in tails)
        ids = [r[:shared] + [pad] * (width - len(t)) + t for r, t in zip(rows, tails)]
        mask = [[1] * shared + [0] * (width - len(t)) + [1] * len(t) for t in tails]
        if past is not None:
            past.batch_repeat_interleave(len(rows))
        total = shared + width
        stop = StoppingCriteriaList([StopAtStatementEnd(self.tokenizer, total, None)])
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=torch.tensor(ids, device=self._device()),
                attention_mask=torch.tensor(mask, device=self._device()),
                **kv_cache_kwargs(past),
                num_beams=1,
                stopping_criteria=stop,
                **self._generate_kwargs(max_new_tokens, vocabulary, total),
            )
        new = int((out[:, total:] != pad).sum())
        self.last_stats = {"batch": len(rows), "prompt_tokens": sum(map(len, rows)), "new_tokens": new,
                           "total_s": round(time.perf_counter() - started, 4), "decode_tokens_per_s": None}
        return [self._finish(row, total) for row in out]

    def _beams(self, prompt, n, max_new_tokens, cancel, prefix=None, vocabulary=None) -> list[str]:
        """``n`` beams, ranked by likelihood. The schema prefix's cached KV, copied for each
        beam, spares the n-fold prefill of the whole prompt (the same output, tested)."""
        import torch
        from transformers import StoppingCriteriaList

        ids = self._encode(prompt)
        past = self._cached_prefix(ids, prefix, cancel) if prefix else None
        if past is not None:
            past.batch_repeat_interleave(n)
        stop = StoppingCriteriaList([StopAtStatementEnd(self.tokenizer, ids.shape[1], cancel)])
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                **kv_cache_kwargs(past),
                num_beams=n,
                num_return_sequences=n,
                early_stopping=True,
                stopping_criteria=stop,
                **self._generate_kwargs(max_new_tokens, vocabulary, ids.shape[1]),
            )
        check_cancel(cancel)
        return [self._finish(row, ids.shape[1]) for row in out]

    # -- schema prefix KV cache

    def _cached_prefix(self, ids, prefix: str, cancel):
        """A private copy of the KV cache of ``prefix`` when ``ids`` starts with exactly its
        tokens (else None: the prompt is prefilled whole, so outputs never differ)."""
        import torch
        from transformers import DynamicCache

        prefix_ids = tuple(self._encode(prefix)[0].tolist())
        full = ids[0].tolist()
        if len(prefix_ids) >= len(full) or tuple(full[: len(prefix_ids)]) != prefix_ids:
            self.prefix_stats["misses"] += 1
            return None
        cached = self._prefix_cache.get(prefix_ids)
        if cached is None:
            self.prefix_stats["misses"] += 1
            check_cancel(cancel)
            cached = DynamicCache(config=self.model.config)
            with torch.inference_mode():
                self.model(
                    input_ids=ids[:, : len(prefix_ids)],
                    **kv_cache_kwargs(cached),
                    use_cache=True,
                    logits_to_keep=1,
                )
            self._prefix_cache[prefix_ids] = cached
            while len(self._prefix_cache) > self._prefix_cache_size:
                self._prefix_cache.popitem(last=False)
        else:
            self.prefix_stats["hits"] += 1
            self._prefix_cache.move_to_end(prefix_ids)
        return copy.deepcopy(cached)

    def clear_prefix_cache(self) -> None:
        with self._lock:
            self._prefix_cache.clear()
