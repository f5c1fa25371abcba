"""A PEFT LoRA adapter round trip: train one on the tiny model in the test (teaching it a
different answer), save it, and load it through load_model(adapter=...) and Assistant."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.tiny_model import TINY_PAIRS
from text2sql import prompt
from text2sql.config import Settings
from text2sql.errors import ModelError
from text2sql.generate import TransformersBackend
from text2sql.model import load_model
from text2sql.pipeline import Assistant
from text2sql.schema import introspect

QUESTION, BASE_SQL = TINY_PAIRS[0]
# Words the tiny model has seen ("total" is in TINY_PAIRS): its sampled-softmax training
# pushed the logits of unseen tokens down, where a LoRA on the layers cannot lift them.
ADAPTED_SQL = "SELECT COUNT(*) AS total FROM Album;"


def _train_adapter(model_dir, target, max_steps: int = 150):
    """Overfit a rank-8 LoRA until it predicts every token of ADAPTED_SQL for QUESTION.
    As in the tiny model's own training, the schema prefix runs without gradient into a
    KV cache each step and only the question and SQL run with it; the loss covers the SQL
    tokens only. (The full-vocabulary loss stays near 0.6: the tiny model leaves much
    probability on the 262k-token tail; greedy decoding only needs the argmax.)"""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer, DynamicCache

    torch.manual_seed(0)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    base = AutoModelForCausalLM.from_pretrained(str(model_dir), local_files_only=True, dtype=torch.float32)
    config = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0, task_type="CAUSAL_LM",
                        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    peft_model = get_peft_model(base, config)
    schema = introspect(None)
    text, completion = prompt.render_training_example(schema, QUESTION, ADAPTED_SQL)
    prefix_len = len(tokenizer(prompt.schema_prefix(schema, question=QUESTION)).input_ids)
    start = len(tokenizer(text).input_ids)
    ids = torch.tensor([tokenizer(text + completion).input_ids + [tokenizer.eos_token_id]])
    assert ids[0, :start].tolist() == tokenizer(text).input_ids
    inner = peft_model.base_model.model  # Gemma3ForCausalLM with LoRA layers injected
    opt = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=2e-2)
    peft_model.train()
    learned = False
    for step in range(max_steps):
        cache = DynamicCache(config=inner.config)
        with torch.no_grad():
            inner.model(input_ids=ids[:, :prefix_len], past_key_values=cache, use_cache=True)
        hidden = inner.model(input_ids=ids[:, prefix_len:], past_key_values=cache, use_cache=True).last_hidden_state
        logits = inner.lm_head(hidden[0, start - 1 - prefix_len:-1])
        loss = torch.nn.functional.cross_entropy(logits, ids[0, start:])
        learned = bool((logits.argmax(-1) == ids[0, start:]).all())
        if learned and step >= 20:
            break
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert learned, f"the adapter did not learn its answer in {max_steps} steps (loss {float(loss):.3f})"
    peft_model.save_pretrained(str(target))
    return target


@pytest.fixture(scope="module")
def adapter_dir(tiny_model_dir, tmp_path_factory):
    return _train_adapter(tiny_model_dir, tmp_path_factory.mktemp("lora") / "adapter")


def test_saved_adapter_is_a_plain_peft_directory(adapter_dir):
    config = json.loads((adapter_dir / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA"
    assert (adapter_dir / "adapter_model.safetensors").is_file()


@pytest.mark.parametrize("precision", ["fp32", "auto"])
def test_adapter_changes_the_answer_through_load_model(tiny_model_dir, adapter_dir, precision):
    schema = introspect(None)
    text = prompt.render(schema, QUESTION)
    plain = TransformersBackend(load_model(str(tiny_model_dir), adapter="none", precision=precision, progress=False))
    loaded = load_model(str(tiny_model_dir), adapter=str(adapter_dir), precision=precision, progress=False)
    adapted = TransformersBackend(loaded)
    assert plain.generate(text) == [BASE_SQL]
    assert adapted.generate(text) == [ADAPTED_SQL]
    assert loaded.info.adapter == str(adapter_dir)
    assert "adapter" in loaded.info.name
    assert not hasattr(loaded.model, "peft_config")  # merged into plain weights on CPU


def test_adapter_unmerged_with_nf4(tiny_model_dir, adapter_dir):
    pytest.importorskip("bitsandbytes")
    loaded = load_model(str(tiny_model_dir), adapter=str(adapter_dir), precision="nf4", device="cpu", progress=False)
    assert hasattr(loaded.model, "peft_config")  # bitsandbytes layers keep the adapter beside them
    schema = introspect(None)
    text, prefix = prompt.render(schema, QUESTION), prompt.schema_prefix(schema)
    backend = TransformersBackend(loaded)
    assert backend.generate(text) == backend.generate(text, prefix=prefix) == [ADAPTED_SQL]


def test_assistant_with_an_adapter_answers_and_validates(tiny_model_dir, adapter_dir, chinook_sqlite_url):
    assistant = Assistant(model=str(tiny_model_dir), adapter=str(adapter_dir), precision="fp32", settings=Settings())
    result = assistant.generate(QUESTION, chinook_sqlite_url)
    assert result.sql == ADAPTED_SQL and result.ok


def test_adapter_for_other_modules_is_refused_with_the_fix(tiny_model_dir, adapter_dir, tmp_path):
    import shutil

    broken = tmp_path / "wrong-adapter"
    shutil.copytree(adapter_dir, broken)
    config = json.loads((broken / "adapter_config.json").read_text())
    config["target_modules"] = ["no_such_projection"]
    (broken / "adapter_config.json").write_text(json.dumps(config))
    with pytest.raises(ModelError, match="could not load the adapter") as err:
        load_model(str(tiny_model_dir), adapter=str(broken), precision="fp32", progress=False)
    assert str(broken) in str(err.value) and "adapter 'none'" in str(err.value)
