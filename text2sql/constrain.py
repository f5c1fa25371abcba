"""Schema-constrained greedy decoding: the model may only write names that exist.

More than half of the shipped model's wrong answers on Spider dev did not even run, nearly
all for an invented table or column (``no such column: T1.concert_id``). Repairing after
the fact (``text2sql.repair``) fixes only the unambiguous cases; this fixes them at the
source. At every step the decoder looks at the model's best tokens in order and takes
the first one that keeps every word of the SQL possible:

* after ``FROM``/``JOIN`` a word must be (the start of) a table of the schema;
* after ``X.`` it must be a column of a table the query names after FROM/JOIN so far,
  when ``X`` is such a table or an alias; else a column of any table (a column put on the
  wrong one of those tables is left for ``text2sql.repair``, which moves it to the only
  table that has it: forcing one of ``X``'s own columns there would lose that);
* after ``AS``, or right after a table name, anything goes (a new alias); elsewhere a word must be a SQL keyword, a
  function, a table, a column, an alias, or ``T1``-style or at most two letters (these
  last two only while a FROM is still to come, or when defined before);
* a qualifier ``X.`` once every SELECT around it has reached FROM must be a table, an
  alias or a word written before other than as a qualifier (a CTE, a derived table): the
  model wrote ``WHERE cylinder .`` when the column ``Cylinders`` did not come, which does
  not even parse, and ``SELECT T1.title FROM album ORDER BY sum(T1.`` with no ``T1``
  defined (a ``T1``-style qualifier is free only while its FROM is still to come);
* per SELECT (scoped by parentheses, so subqueries have their own): once its FROM has
  named a table, a bare column name must belong to a table of that SELECT or of one
  around it (``SELECT Name FROM country WHERE countrycode = ...`` is refused when only
  ``city`` has ``countrycode``); and when its select list named bare columns, the first
  table after FROM must have at least one of them (``SELECT Language FROM country`` steers
  to ``countrylanguage``). Every gold query of Spider dev passes these rules; of the
  shipped adapter's dev answers that failed to run, 143 of 234 break one;
* string literals, quoted identifiers and comments are never constrained.

Only the top ``TOP_K`` tokens are examined, so a step costs a few string checks next to a
forward pass over a 262k-row head; when none of them fits, the step is left alone (the
validator then reports the problem as before). Greedy decoding with the constraint is
still deterministic.
"""

from __future__ import annotations

import bisect
import functools
import re

TOP_K = 16
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ALIAS = re.compile(r"^t\d*$")
_QUALIFIER = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*\.$")
_DOT_NEXT = re.compile(r"\s*\.")  # after a word: it qualifies what follows
_NUMBER = re.compile(r"[0-9A-Za-z_.]*")
_TABLE_KEYWORDS = {"from", "join", "into", "update"}


@functools.cache
def _sql_words(dialect: str | None) -> frozenset[str]:
    """Keywords and function names sqlglot knows (in any dialect), lower-cased, word by word."""
    from sqlglot import exp
    from sqlglot.dialects.dialect import Dialect
    from sqlglot.tokens import Tokenizer

    words = set()
    tokenizers = [Tokenizer]
    try:
        tokenizers.append(Dialect.get_or_raise(dialect).tokenizer_class)
    except Exception:
        pass
    for tokenizer in tokenizers:
        for key in tokenizer.KEYWORDS:
            words.update(w.lower() for w in _WORD.findall(key))
    for func in exp.ALL_FUNCTIONS:
        for name in func.sql_names():
            words.add(name.lower())
    from sqlglot.dialects.dialect import Dialects

    for name in Dialects:  # every dialect's own function names (SQLite's strftime, ...)
        try:
            words.update(f.lower() for f in Dialect.get_or_raise(name.value).parser_class.FUNCTIONS)
        except Exception:
            continue
    return frozenset(words)


class SchemaVocabulary:
    """The names a query over one schema may use, with prefix lookups."""

    def __init__(self, schema):
        self.tables = {t.name.lower(): sorted({c.name.lower() for c in t.columns}) for t in schema.tables}
        self.table_names = sorted(self.tables)
        self.columns = sorted(set().union(*map(set, self.tables.values()))) if self.tables else []
        self._keywords = _sql_words(schema.dialect)
        self.words = sorted(set(self._keywords) | set(self.tables) | set(self.columns))

    def allows(self, text: str, start: int) -> bool:
        """True when every word of ``text`` that is still open at offset ``start`` or begins
        after it is possible: a complete word must exist, the last one may still grow."""
        aliases: dict[str, str | None] = {}
        used: set[str] = set()  # tables named after FROM/JOIN so far
        scopes: dict[int, _Scope] = {}  # parenthesis depth -> the SELECT begun there
        seen: set[str] = set()  # every word so far (CTE names, derived-table aliases)
        for word, _, end, (kind, owner), depth in _words(text):
            low = word.lower()
            for d in [d for d in scopes if d > depth]:
                del scopes[d]  # its parenthesis is closed
            scope = scopes[max(scopes)] if scopes else None  # the innermost open SELECT
            qualifier = _DOT_NEXT.match(text, end) is not None
            if end >= start and not self._fits(text, low, end, qualifier, kind, owner, aliases, used, scope,
                                               scopes, seen):
                return False
            if not qualifier:
                seen.add(low)  # a qualifier is not a definition: `SELECT T1.x FROM t` defines no T1
            if kind == "as":
                aliases[low] = owner
            elif kind == "table" and low in self.tables:
                used.add(low)
                if scope is not None:
                    scope.tables.add(low)
            elif kind == "word" and low == "select":
                scopes[depth] = _Scope()
            elif kind == "word" and low == "from" and scope is not None:
                scope.after_from = True
            elif kind == "word" and scope is not None and not scope.after_from and low in self._column_set \
                    and low not in _NOT_COLUMNS:
                scope.select_columns.add(low)
        return True

    def _fits(self, text, low, end, qualifier, kind, owner, aliases, used, scope, scopes, seen) -> bool:
        complete = end < len(text)
        if qualifier:
            return self._qualifies(low, kind, aliases, scopes, seen)
        if kind == "as":
            return True
        if kind == "table":
            names = self.table_names
            if scope is not None and not scope.tables and scope.select_columns:
                # the first table of a SELECT whose list named bare columns: one that has some
                names = self._tables_with_any(frozenset(scope.select_columns)) or names
        elif kind == "column":
            # X.col with X a known table or alias: a column of a table the query uses
            # (not only X's: text2sql.repair moves a column to its one right table).
            known = owner in self.tables or aliases.get(owner) in self.tables
            names = self._columns_of(frozenset(used)) if known and used else self.columns
        elif low in aliases or ((len(low) <= 2 or _ALIAS.match(low)) and not self._undefined_after_from(
                text, end - len(low), low, scopes, seen)):
            return True
        elif not complete and any(a.startswith(low) for a in aliases):
            return True  # an alias still being written
        elif scope is not None and scope.after_from and scope.tables:
            # a bare name after FROM: a column of a table this SELECT (or one around it) uses
            tables = frozenset().union(*(sc.tables for sc in scopes.values()))  # all still open
            names = self._words_with(tables)
        else:
            names = self.words
        return _has(names, low, prefix=not complete)

    @staticmethod
    def _undefined_after_from(text, begin, low, scopes, seen) -> bool:
        """Once every SELECT around it has reached FROM, a short or ``T1``-style word is no
        longer a free alias-to-come: it must have been written before (not as a qualifier)
        or name a derived table (``(SELECT ...) T1``); else it is judged as a name."""
        return _past_every_from(scopes) and low not in seen and not text[:begin].rstrip().endswith(")")

    def _qualifies(self, low, kind, aliases, scopes, seen) -> bool:
        """``low.`` may qualify a name: a table, an alias, a word the query wrote before (a
        CTE, a derived table's alias), a schema after FROM (``public.album``), or anything
        while a SELECT around it has not reached FROM (its aliases are still to come).
        ``WHERE cylinder.`` after every FROM is refused (the model meant ``Cylinders``)."""
        if kind == "table" or low in self.tables or low in aliases or low in seen:
            return True
        return not _past_every_from(scopes)

    @functools.cached_property
    def _column_set(self) -> frozenset[str]:
        return frozenset(self.columns)

    @functools.lru_cache(maxsize=256)
    def _columns_of(self, tables: frozenset[str]) -> list[str]:
        return sorted(set().union(*(self.tables[t] for t in tables)))

    @functools.lru_cache(maxsize=256)
    def _words_with(self, tables: frozenset[str]) -> list[str]:
        """Keywords, functions, every table, and the columns of ``tables`` only."""
        return sorted(set(self._keywords) | set(self.tables) | set(self._columns_of(tables)))

    @functools.lru_cache(maxsize=256)
    def _tables_with_any(self, columns: frozenset[str]) -> list[str]:
        return sorted(t for t, cols in self.tables.items() if columns & set(cols))


class _Scope:
    """One SELECT: the tables after its FROM/JOIN, whether FROM was written, and the bare
    column names of its select list."""

    def __init__(self):
        self.tables: set[str] = set()
        self.after_from = False
        self.select_columns: set[str] = set()


def _past_every_from(scopes: dict) -> bool:
    """Every open SELECT has written its FROM: no alias of theirs is still to come."""
    return bool(scopes) and all(sc.after_from for sc in scopes.values())


# Words of a select list that are never read as a column name there.
_NOT_COLUMNS = frozenset({"select", "distinct", "all", "as", "case", "when", "then", "else", "end", "and", "or",
                          "not", "null", "is", "in", "like", "between", "cast", "count", "sum", "avg", "min", "max",
                          "from", "top"})


def _has(names: list[str], word: str, *, prefix: bool) -> bool:
    """``word`` is in the sorted ``names`` (or, with ``prefix``, starts one of them)."""
    i = bisect.bisect_left(names, word)
    if i == len(names):
        return False
    return names[i].startswith(word) if prefix else names[i] == word


def _words(text: str):
    """(word, start, end, context, parenthesis depth) for each bare word outside strings,
    quoted names and comments. context: ("table", None) after FROM/JOIN, ("column", qualifier) after a dot,
    ("as", the word before AS) after AS, else ("word", None)."""
    i, n, depth = 0, len(text), 0
    prev_word, prev_prev, prev_kind, prev_end = "", "", "", 0
    while i < n:
        ch = text[i]
        if ch in "'\"`[":
            close = "]" if ch == "[" else ch
            j = text.find(close, i + 1)
            if j < 0:
                return
            i, prev_word, prev_kind = j + 1, "<quoted>", "quoted"
            continue
        if text.startswith("--", i) or text.startswith("/*", i):
            return
        if ch.isdigit():
            i = _NUMBER.match(text, i).end()
            continue
        m = _WORD.match(text, i)
        if m is None:
            depth += (ch == "(") - (ch == ")") if depth or ch != ")" else 0
            i += 1
            continue
        word, begin, end = m.group(), m.start(), m.end()
        before = text[:begin].rstrip()
        if before.endswith("."):
            q = _QUALIFIER.search(before)
            context = ("column", q.group(1).lower() if q else None)
        elif prev_word.lower() in _TABLE_KEYWORDS and before and before[-1].isalnum():
            context = ("table", None)
        elif prev_word.lower() == "as":
            context = ("as", prev_prev.lower() or None)
        elif prev_kind == "table" and text[prev_end:begin].isspace():
            context = ("as", prev_word.lower())  # FROM Album alb: an alias without AS (or a keyword)
        else:
            context = ("word", None)
        yield word, begin, end, context, depth
        prev_prev, prev_word, prev_kind, prev_end = prev_word, word, context[0], end
        i = end


class SchemaConstraint:
    """A transformers logits processor: for each row, the first of the ``TOP_K`` best tokens
    that ``vocabulary.allows`` wins (the better ones it skipped are masked); when none
    does, the row is left alone."""

    def __init__(self, tokenizer, vocabulary: SchemaVocabulary, prompt_len: int, top_k: int = TOP_K):
        self.tokenizer, self.vocabulary, self.prompt_len, self.top_k = tokenizer, vocabulary, prompt_len, top_k
        self.special = set(tokenizer.all_special_ids)

    def __call__(self, input_ids, scores):
        for row in range(scores.shape[0]):
            text = self.tokenizer.decode(input_ids[row, self.prompt_len:], skip_special_tokens=True)
            if _statement_written(text):
                continue
            best = scores[row].topk(self.top_k).indices.tolist()
            for rank, token in enumerate(best):
                if token in self.special or self.vocabulary.allows(text + _piece(self.tokenizer, token), len(text)):
                    if rank:
                        scores[row, best[:rank]] = float("-inf")
                    break
        return scores


def _statement_written(text: str) -> bool:
    from text2sql.streaming import statement_end

    return statement_end(text) is not None


def _piece(tokenizer, token_id: int) -> str:
    """The text a token adds (SentencePiece's ``▁`` is a space; byte tokens are their byte)."""
    return _token_text(tokenizer.convert_ids_to_tokens(token_id))


@functools.lru_cache(maxsize=65536)
def _token_text(token: str) -> str:
    if token.startswith("<0x") and token.endswith(">") and len(token) == 6:
        return chr(int(token[3:5], 16))
    return token.replace("\u2581", " ")


@functools.lru_cache(maxsize=16)
def vocabulary_for(schema) -> SchemaVocabulary:
    """One SchemaVocabulary per schema (schemas are frozen and hashable)."""
    return SchemaVocabulary(schema)
