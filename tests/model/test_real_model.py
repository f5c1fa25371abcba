"""The real embedded model (Gemma 3 270M from the PyPI GGUF), end to end. Slow: the first
run on a machine dequantizes the GGUF and caches safetensors (about 1-2 minutes, ~3.5 GB
peak RSS); later runs load the cache in seconds."""

from __future__ import annotations

import pytest
import sqlglot

from text2sql import cache, prompt
from text2sql.config import Settings
from text2sql.generate import TransformersBackend
from text2sql.model import load_model
from text2sql.pipeline import Assistant
from text2sql.schema import introspect


@pytest.mark.slow
def test_embedded_model_loads_from_its_cache_and_writes_sql_that_parses():
    loaded = load_model(progress=False)  # the embedded default, converted once into the user cache
    assert cache.is_complete(cache.embedded_entry())
    assert loaded.info.path == str(cache.embedded_entry())
    assert loaded.info.name.startswith("gemma-3-270m")
    assert loaded.model.config.vocab_size == 262144 and loaded.model.config.num_hidden_layers == 18
    backend = TransformersBackend(loaded)
    schema = introspect(None)
    question = "Which customers live in Brazil?"
    # Without the project's adapter the base model tends to continue the schema with
    # another CREATE TABLE; starting its answer with SELECT checks that the dequantized
    # weights write real SQL (broken weights give garbage that does not parse).
    [completion] = backend.generate(prompt.render(schema, question) + "SELECT", max_new_tokens=48,
                                    prefix=prompt.schema_prefix(schema, question=question))
    sql = prompt.extract_sql("SELECT" + completion)
    parsed = sqlglot.parse_one(sql, read="sqlite")
    assert isinstance(parsed, sqlglot.exp.Select), sql
    assert any(t.name.lower().startswith("customer") for t in parsed.find_all(sqlglot.exp.Table)), sql

    # The whole pipeline returns a Result (valid or with problems), never an exception.
    result = Assistant(backend=backend, settings=Settings()).generate(question, max_new_tokens=48)
    assert result.model == loaded.info.name
    assert result.ok or result.problems
