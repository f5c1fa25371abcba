"""Restricted output vocabulary: score only the tokens SQL for this prompt can use.

Gemma 3's output head is its tied 262k x 640 embedding matrix, 168M of the model's 268M
parameters: every decoded token reads all of it from memory, although a query over one
database is written with a few thousand tokens at most. While decoding, the head is
swapped for one that multiplies only the rows of the **allowed** tokens and gives every
other token ``-inf``:

* every ASCII token of at most two characters beside whitespace (short aliases, and the
  pieces any other ASCII word is spelled with), every ASCII token without a letter
  (operators, digits, punctuation runs such as ``(*)`` or ``'));``, whitespace), the 256 byte tokens (any other character, in a string literal) and
  the special tokens;
* SQL keywords and function names of every sqlglot dialect, and words column aliases are
  commonly made of (``total``, ``num``, ``sales``...), in lower, upper and title case,
  after a space, a parenthesis, an underscore or nothing;
* every token of the prompt, and each word of the prompt (table and column names, sample
  values, the question's words) and its plural or singular, re-spelt as SQL writes it: after a space, a dot, a
  parenthesis, a quote, an underscore or a percent sign, in its own, lower, upper and
  title case.

The kept logits are the full head's, computed the same way in every precision
(``text2sql.head_rows``), so greedy decoding over the allowed tokens picks the same token
as over all of them whenever the model's best token is allowed; ``bench/precision.py`` measures how often that holds (setting
``restricted_vocabulary``, see the README), and ``bench/latency.py`` what it saves.
The allowed ids of a schema prefix are cached, so a new question adds only its own words.
"""

from __future__ import annotations

import contextlib
import functools
import re

from text2sql.constrain import _sql_words

_WORD = re.compile(r"\w+")
_LONGEST_PIECE = 16  # the longest token text looked for inside a word's spellings
_KEYWORD_SPELLINGS = ("", " ", "(")
_WORD_SPELLINGS = ("", " ", ".", "(", "'", '"', "_", "%")
# Words column aliases are commonly made of (AS total_sales, AS num_tracks, ...).
_ALIAS_WORDS = frozenset("""
    total count number num cnt sum amount average avg mean max maximum min minimum most least highest lowest
    top first last full name names value values result results price cost revenue sales spent paid income
    quantity qty percent percentage pct ratio rate share rank ranking position year years month months day days
    date time duration length size age per each distinct unique other different diff difference latest earliest
    new old best worst big small large long short id ids code type kind category group level score points
    """.split())


@functools.lru_cache(maxsize=4)
def _base_ids(tokenizer) -> frozenset[int]:
    """The ids every query may use, whatever the schema (see the module docstring)."""
    pieces, byte_ids = _vocabulary(tokenizer)
    ids = set(tokenizer.all_special_ids) | set(byte_ids)
    for text, token_ids in pieces.items():
        if text.isascii() and (text.isprintable() or text.isspace()) and (
                len(text.strip()) <= 2 or not any(c.isalpha() for c in text)):
            ids.update(token_ids)
    words = sorted(_sql_words(None) | _ALIAS_WORDS)
    spellings = [s + v for w in words for v in {w, w.upper(), w.capitalize()} for s in _KEYWORD_SPELLINGS + ("_",)]
    ids.update(_encode_all(tokenizer, spellings))
    return frozenset(ids)


@functools.lru_cache(maxsize=4)
def _vocabulary(tokenizer) -> tuple[dict[str, tuple[int, ...]], list[int]]:
    """({token text: its ids} for the ordinary tokens, the byte-fallback ids)."""
    found: dict[str, list[int]] = {}
    byte_ids = []
    special = set(tokenizer.all_special_ids)
    for token, i in tokenizer.get_vocab().items():
        if token.startswith("<0x") and token.endswith(">") and len(token) == 6:
            byte_ids.append(i)
        elif i not in special:
            found.setdefault(token.replace("\u2581", " "), []).append(i)
    return {k: tuple(v) for k, v in found.items()}, byte_ids


def _encode_all(tokenizer, texts: list[str]) -> set[int]:
    """The tokens of each text as the tokenizer splits it, and every other token whose text
    lies inside one of them: the model may spell a word in other pieces than the tokenizer
    does (Gemma wrote ``cylinders`` as `` cyl`` + ``inders``, not as the one token
    `` cylinders``), and a restriction to the canonical pieces changed such answers."""
    out: set[int] = set()
    for start in range(0, len(texts), 4096):
        for row in tokenizer(texts[start:start + 4096], add_special_tokens=False).input_ids:
            out.update(row)
    pieces = _vocabulary(tokenizer)[0]
    for text in set(texts):
        for i in range(len(text)):
            for j in range(i + 3, min(len(text), i + _LONGEST_PIECE) + 1):  # shorter pieces are in the base set
                ids = pieces.get(text[i:j])
                if ids:
                    out.update(ids)
    return out


def _text_ids(tokenizer, text: str) -> set[int]:
    """The tokens of ``text`` itself and of each of its words (and their plural or
    singular) spelt as SQL may write it."""
    ids = set(tokenizer(text, add_special_tokens=False).input_ids)
    words = set(_WORD.findall(text))
    words |= {w + "s" for w in words if w.isalpha()} | {w[:-1] for w in words if len(w) > 3 and w.endswith("s")}
    words = sorted(words)
    spellings = [s + v for w in words for v in {w, w.lower(), w.upper(), w.capitalize()} for s in _WORD_SPELLINGS]
    return ids | _encode_all(tokenizer, spellings)


@functools.lru_cache(maxsize=16)
def _prefix_ids(tokenizer, prefix: str) -> frozenset[int]:
    return frozenset(_base_ids(tokenizer) | _text_ids(tokenizer, prefix))


def allowed_ids(tokenizer, texts, prefix: str | None = None) -> tuple[list[int], list[list[int]], str]:
    """The ids the completions of ``texts`` (whole prompts) may use: (the ids every text
    may use, sorted; each text's further ids, sorted; the cache key of the first part).
    When every text starts with ``prefix`` (the schema part) the first part is its ids,
    cached; otherwise the base set."""
    texts = list(texts)
    if prefix and all(t.startswith(prefix) for t in texts):
        shared, rest, key = _prefix_ids(tokenizer, prefix), [t[len(prefix):] for t in texts], prefix
    else:
        shared, rest, key = _base_ids(tokenizer), texts, ""
    return sorted(shared), [sorted(_text_ids(tokenizer, t) - shared) for t in rest], key


class Restrictor:
    """Makes restricted heads for one model, keeping the gathered rows of recent prefixes."""

    def __init__(self, model, tokenizer, cache_size: int = 4):
        from collections import OrderedDict

        self.model, self.tokenizer, self.cache_size = model, tokenizer, cache_size
        self._vocab_size, self._gather = None, None
        self._parts: OrderedDict = OrderedDict()

    def warm(self) -> None:
        """Build now what every first restricted generation would: the token set every
        query may use (seconds: it scans the 262k-token vocabulary) and the row gatherer."""
        if self._gather is None:
            from text2sql.head_rows import gatherer

            self._vocab_size, self._gather = gatherer(self.model)
        _base_ids(self.tokenizer)

    @contextlib.contextmanager
    def restricted(self, texts, prefix: str | None = None):
        """Within the block the model's output head scores only the allowed tokens (one
        generation at a time: the caller holds the model's lock). Decoding several texts
        together (a batch), each row keeps only its own text's tokens, so batching changes
        no answer. Yields the number of rows the head reads."""
        import torch

        self.warm()
        shared, extras, key = allowed_ids(self.tokenizer, texts, prefix)
        part = self._parts.get(key)  # the allowed ids of a prefix never change
        if part is None:
            part = self._parts[key] = self._gather(shared)
            while len(self._parts) > self.cache_size:
                self._parts.popitem(last=False)
        self._parts.move_to_end(key)
        parts, row_mask = [part], None
        union = sorted(set().union(*map(set, extras)))
        if union:
            extra = self._gather(union)
            parts.append(extra)
            if len(extras) > 1:
                mine = [set(e) for e in extras]
                row_mask = torch.tensor([[i in m for i in extra.index.tolist()] for m in mine], device=extra.index.device)
        original = self.model.get_output_embeddings()
        _set_head(self.model, _head_module(parts, self._vocab_size, row_mask))
        try:
            yield sum(len(p.index) for p in parts)
        finally:
            _set_head(self.model, original)


def _head_module(parts: list, vocab_size: int, row_mask=None):
    """An output head computing logits for the rows in ``parts`` only, ``-inf`` elsewhere;
    ``row_mask`` (batch x ids of the last part) keeps each batch row to its own ids."""
    import torch

    class RestrictedHead(torch.nn.Module):
        def forward(self, hidden):
            out = None
            for k, part in enumerate(parts):
                logits = part(hidden)
                if k and row_mask is not None and hidden.shape[0] == row_mask.shape[0]:
                    mask = row_mask.view(row_mask.shape[0], *([1] * (logits.dim() - 2)), row_mask.shape[1])
                    logits = logits.masked_fill(~mask, float("-inf"))
                if out is None:
                    out = logits.new_full((*hidden.shape[:-1], vocab_size), float("-inf"))
                out[..., part.index] = logits
            return out

    return RestrictedHead()


def _set_head(model, module) -> None:
    from text2sql.model import _output_head_name

    name = _output_head_name(model)
    if name is None:
        raise TypeError(f"cannot find the output head of {type(model).__name__}")
    parent_name, _, attr = name.rpartition(".")
    setattr(model.get_submodule(parent_name) if parent_name else model, attr, module)
