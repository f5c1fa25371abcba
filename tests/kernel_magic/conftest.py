"""A real IPython InteractiveShell with text2sql loaded and the tiny overfit model."""

from __future__ import annotations

import os

import pytest

from tests.fixtures.tiny_model import tiny_config



@pytest.fixture(scope="module")
def tiny_env(tiny_model_dir, tmp_path_factory):
    """os.environ pointing text2sql's config at the tiny model for the whole module."""
    env = tiny_config(tmp_path_factory.mktemp("cfg"), model=tiny_model_dir)
    saved = dict(os.environ)
    for key in ("TEXT2SQL_CONFIG", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        os.environ[key] = env[key]
    yield env
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def shell(tiny_env):
    from IPython.core.interactiveshell import InteractiveShell

    sh = InteractiveShell.instance()
    sh.run_cell("%load_ext text2sql", store_history=False)
    yield sh
    InteractiveShell.clear_instance()
