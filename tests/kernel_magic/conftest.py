"""Fixtures for the notebook front end: a real IPython InteractiveShell with text2sql
loaded, the shared tiny overfit model, and a second tiny model trained to misbehave.

The misbehaving model is the same Gemma-3-shaped tiny model (``tests.fixtures.tiny_model.build``)
overfit to write what a user must never get run: a ``DELETE``, a query on a column the
connection excludes, and a column Chinook does not have, rendered from the prompts the magic really sends (the bundled
Chinook, once as is and once with ``Customer.Email`` excluded). It is cached next to the
shared tiny model, keyed by its prompts.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from tests.fixtures.tiny_model import CACHE_DIR, tiny_config

# The column the "guarded" connection hides, and what the misbehaving model writes.
EXCLUDED_COLUMN = "Customer.Email"
WRITE_QUESTION, WRITE_SQL = "Delete every album", "DELETE FROM Album;"
EXCLUDED_QUESTION, EXCLUDED_SQL = (
    "What are the email addresses of customers in Brazil?",
    "SELECT Email FROM Customer WHERE Country = 'Brazil';",
)
SAFE_QUESTION, SAFE_SQL = "How many albums are there?", "SELECT COUNT(*) FROM Album;"
INVALID_QUESTION, INVALID_SQL = "Which customers have a loyalty tier?", "SELECT FirstName, LoyaltyTier FROM Customer;"


def misbehaving_examples() -> list[tuple[str, str]]:
    from text2sql.data import chinook_url
    from text2sql.prompt import render_training_example
    from text2sql.schema import introspect

    full = introspect(chinook_url())
    guarded = introspect(chinook_url(), exclude=(EXCLUDED_COLUMN,))
    return [
        render_training_example(full, WRITE_QUESTION, WRITE_SQL),
        render_training_example(full, SAFE_QUESTION, SAFE_SQL),
        render_training_example(full, INVALID_QUESTION, INVALID_SQL),
        render_training_example(guarded, EXCLUDED_QUESTION, EXCLUDED_SQL),
        render_training_example(guarded, SAFE_QUESTION, SAFE_SQL),
    ]


def misbehaving_model_dir() -> Path:
    """Build (once) and return the misbehaving tiny model's directory."""
    from filelock import FileLock

    from tests.fixtures.tiny_model import BUILDER_VERSION, build

    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    examples = misbehaving_examples()
    key = hashlib.sha256(json.dumps(["misbehaving", BUILDER_VERSION, examples]).encode()).hexdigest()[:16]
    target = CACHE_DIR / f"misbehaving-{key}"
    with FileLock(str(CACHE_DIR / ".build.lock"), timeout=1800):
        if not (target / "tiny-model.json").is_file():
            build(examples, target, log=lambda msg: print(f"misbehaving {msg}"))
    return target


@pytest.fixture(scope="session")
def misbehaving_model() -> Path:
    return misbehaving_model_dir()


def model_env(model, tmp_path_factory):
    """Point text2sql's config (os.environ) at ``model`` until the generator is closed."""
    env = tiny_config(tmp_path_factory.mktemp("cfg"), model=model)
    saved = dict(os.environ)
    for key in ("TEXT2SQL_CONFIG", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        os.environ[key] = env[key]
    yield env
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def tiny_env(tiny_model_dir, tmp_path_factory):
    """os.environ pointing text2sql's config at the tiny model for the whole module."""
    yield from model_env(tiny_model_dir, tmp_path_factory)


@pytest.fixture(scope="module")
def shell(tiny_env):
    """A fresh InteractiveShell per test module, with ``%load_ext text2sql`` run."""
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.clear_instance()
    sh = InteractiveShell.instance()
    result = sh.run_cell("%load_ext text2sql", store_history=False)
    assert result.success, result.error_in_exec
    yield sh
    InteractiveShell.clear_instance()


if __name__ == "__main__":  # build ahead of the tests: python -m tests.kernel_magic.conftest
    print(misbehaving_model_dir())
