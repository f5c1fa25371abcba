"""Restricted output vocabulary (text2sql.output_vocab): the head scores only tokens SQL
for the prompt can use, the scores it keeps are the full head's, and answers written
with real names and keywords do not change."""

from __future__ import annotations

import pytest

from tests.fixtures.tiny_model import TINY_PAIRS
from text2sql import prompt
from text2sql.output_vocab import Restrictor, allowed_ids
from text2sql.schema import introspect


@pytest.fixture(scope="module")
def chinook():
    return introspect(None)


def _prompt(schema, question):
    return prompt.render(schema, question), prompt.schema_prefix(schema, question=question)


def _tokens(tokenizer, text):
    return set(tokenizer(text, add_special_tokens=False).input_ids)


def test_the_allowed_tokens_are_a_small_part_of_the_vocabulary_and_spell_sql_over_the_schema(tiny_backend, chinook):
    tok = tiny_backend.tokenizer
    text, prefix = _prompt(chinook, "Which customers from Brazil bought tracks by AC/DC?")  # noqa: E501
    shared, [extra], _ = allowed_ids(tok, [text], prefix)
    allowed = set(shared) | set(extra)
    assert len(allowed) < len(tok) // 10
    for sql in ["SELECT T1.FirstName, T1.LastName FROM Customer AS T1 JOIN Invoice AS T2 ON T1.CustomerId = "
                "T2.CustomerId WHERE T1.Country = 'Brazil' GROUP BY T1.CustomerId HAVING count(*) >= 2;",
                "SELECT avg(UnitPrice), max(Milliseconds) / 60000.0 FROM track WHERE name LIKE '%brazil%' ORDER BY 1 DESC LIMIT 10;",
                "SELECT DISTINCT billingcity FROM invoice WHERE strftime('%Y', InvoiceDate) = '2013';"]:
        assert _tokens(tok, sql) <= allowed, [tok.decode([t]) for t in _tokens(tok, sql) - allowed]
    words = "which whichs customers customerss customer from froms brazil brazils bought boughts tracks trackss track by bys ac acs dc dcs"
    # every further token is a piece of a question word (or of its plural / singular)
    assert extra and all(tok.decode([t]).strip(" .(\"'_%").lower() in words for t in extra)
    for pieces in ([" cyl", "inders"], [" Cust", "omer", "Id"]):  # a word in other pieces than the tokenizer's
        text2, prefix2 = _prompt(chinook, "How many cylinders?")
        shared2, [extra2], _ = allowed_ids(tok, [text2], prefix2)
        ids = [tok.convert_tokens_to_ids(p.replace(" ", "\u2581")) for p in pieces]
        assert tok.unk_token_id not in ids and set(ids) <= set(shared2) | set(extra2), pieces
    hangul = _tokens(tok, "앨범")
    assert not hangul <= set(shared)  # words of other scripts come only from the question
    shared, [extra], _ = allowed_ids(tok, [text + "앨범"], prefix)
    assert hangul <= set(shared) | set(extra)


def test_the_restricted_head_keeps_the_full_heads_scores_and_masks_the_rest(tiny_backend, chinook):
    import torch

    model, tok = tiny_backend.model, tiny_backend.tokenizer
    text, prefix = _prompt(chinook, TINY_PAIRS[0][0])
    ids = tok(text, return_tensors="pt").input_ids
    with torch.inference_mode():
        full = model(input_ids=ids).logits[0, -1]
        restrictor = Restrictor(model, tok)
        with restrictor.restricted([text], prefix) as size:
            part = model(input_ids=ids).logits[0, -1]
        after = model(input_ids=ids).logits[0, -1]
    allowed = torch.isfinite(part)
    assert int(allowed.sum()) == size and 1000 < size < full.numel() // 10
    assert torch.allclose(part[allowed], full[allowed], atol=1e-5)
    assert torch.equal(after, full)  # the model's own head is back


def test_in_a_batch_each_row_keeps_only_its_own_questions_tokens(tiny_backend, chinook):
    import torch

    model, tok = tiny_backend.model, tiny_backend.tokenizer
    prefix = prompt.schema_prefix(chinook)
    texts = [prefix + prompt.question_suffix(q) for q in ("Songs about zebras?", "Invoices from Reykjavik?")]
    hidden = torch.randn(2, 1, model.config.hidden_size)
    restrictor = Restrictor(model, tok)
    alone = []
    for text in texts:
        with torch.inference_mode(), restrictor.restricted([text], prefix):
            alone.append(torch.isfinite(model.get_output_embeddings()(hidden[:1]))[0, 0])
    with torch.inference_mode(), restrictor.restricted(texts, prefix):
        together = torch.isfinite(model.get_output_embeddings()(hidden))[:, 0]
    assert not torch.equal(alone[0], alone[1])
    assert torch.equal(together[0], alone[0]) and torch.equal(together[1], alone[1])


def test_answers_with_real_names_do_not_change_greedy_batched_or_with_beams(tiny_backend, chinook):
    for question, sql in TINY_PAIRS:
        text, prefix = _prompt(chinook, question)
        assert tiny_backend.generate(text, prefix=prefix, restrict_output=True) == [sql]
    texts = [_prompt(chinook, q)[0] for q, _ in TINY_PAIRS[:3]]
    prefix = prompt.schema_prefix(chinook)
    assert tiny_backend.generate_batch(texts, prefix=prefix, restrict_output=True) == [s for _, s in TINY_PAIRS[:3]]
    text, prefix = _prompt(chinook, TINY_PAIRS[1][0])
    free = tiny_backend.generate(text, n=3, prefix=prefix)
    assert tiny_backend.generate(text, n=3, prefix=prefix, restrict_output=True)[0] == free[0]


def test_the_setting_reaches_the_backend_through_the_assistant(tiny_backend, chinook):
    from text2sql.config import Settings, load_settings
    from text2sql.pipeline import Assistant

    question, sql = TINY_PAIRS[2]
    calls = []
    original = tiny_backend._head

    def spy(prompts, prefix, restrict_output):
        calls.append(restrict_output)
        return original(prompts, prefix, restrict_output)

    tiny_backend._head = spy
    try:
        for flag in (True, False):
            assistant = Assistant(backend=tiny_backend, settings=Settings(restricted_vocabulary=flag))
            assert assistant.generate(question, execute_check=False).sql.rstrip(";") == sql.rstrip(";")
    finally:
        del tiny_backend._head
    assert calls == [True, False]
    assert load_settings(client={"restrictedVocabulary": True}).restricted_vocabulary is True


@pytest.fixture(scope="module", params=["w8a16", "int8"])
def tiny_quantized(request, tiny_model_dir):
    """The tiny model with a quantized head: weight-only int8 (w8a16), torch dynamic int8 (int8)."""
    from text2sql import int8_linear
    from text2sql.model import _int8_cpu_available, load_model

    if request.param == "w8a16" and not int8_linear.available():
        pytest.skip("this torch lacks _weight_int8pack_mm")
    if request.param == "int8" and not _int8_cpu_available():
        pytest.skip("this torch has no dynamic quantization engine")
    loaded = load_model(str(tiny_model_dir), adapter="none", precision=request.param, device="cpu", progress=False)
    assert loaded.info.precision == request.param
    return loaded


@pytest.mark.parametrize("rows", [1, 2, 40])  # decode steps (w8a16: the int8 kernel) and a prefill (w8a16: bf16 rows)
def test_with_a_quantized_head_the_restricted_logits_are_the_full_heads_bit_for_bit(tiny_quantized, chinook, rows):
    import torch

    model, tok = tiny_quantized.model, tiny_quantized.tokenizer
    head = model.get_output_embeddings()
    assert type(head) is not torch.nn.Linear  # a quantized head
    text, prefix = _prompt(chinook, TINY_PAIRS[0][0])
    torch.manual_seed(rows)
    hidden = torch.randn(1, rows, model.config.hidden_size, dtype=torch.bfloat16)
    with torch.inference_mode():
        full = head(hidden.to(torch.float32) if tiny_quantized.info.precision == "int8" else hidden)
        with Restrictor(model, tok).restricted([text], prefix) as size:
            part = model.get_output_embeddings()(hidden)
    allowed = torch.isfinite(part[0, 0])
    assert int(allowed.sum()) == size and size < full.shape[-1] // 10
    assert torch.equal(part[..., allowed], full[..., allowed])
    assert model.get_output_embeddings() is head


def test_with_a_quantized_head_restricted_greedy_answers_equal_the_full_heads(tiny_quantized, chinook):
    from text2sql.generate import TransformersBackend

    backend = TransformersBackend(tiny_quantized)
    for question, _ in TINY_PAIRS[:4]:
        text, prefix = _prompt(chinook, question)
        assert backend.generate(text, prefix=prefix, restrict_output=True) == backend.generate(text, prefix=prefix)


def test_an_int8_head_is_unpacked_once_per_model_not_per_generation(tiny_quantized, chinook):
    """Unpacking torch's packed int8 head takes seconds for Gemma's 262k rows: doing it for
    every question made each restricted int8 answer seconds slower."""
    if tiny_quantized.info.precision != "int8":
        pytest.skip("the w8a16 head keeps its int8 rows unpacked")
    head = tiny_quantized.model.get_output_embeddings()
    unpacked = head.weight
    calls = []

    def counting():
        calls.append(1)
        return unpacked()

    head.weight = counting
    try:
        restrictor = Restrictor(tiny_quantized.model, tiny_quantized.tokenizer)
        for question, _ in TINY_PAIRS[:3]:
            text, prefix = _prompt(chinook, question)
            with restrictor.restricted([text], prefix):
                pass
    finally:
        del head.weight
    assert len(calls) == 1
