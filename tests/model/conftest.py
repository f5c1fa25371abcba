"""Shared model-runtime fixtures: the tiny model loaded once per session (fp32, no
adapter), its backend, and an Assistant on it with default settings."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_loaded(tiny_model_dir):
    from text2sql.model import load_model

    return load_model(str(tiny_model_dir), adapter="none", precision="fp32", device="cpu", progress=False)


@pytest.fixture(scope="session")
def tiny_backend(tiny_loaded):
    from text2sql.generate import TransformersBackend

    return TransformersBackend(tiny_loaded)


@pytest.fixture(scope="session")
def assistant(tiny_backend):
    from text2sql.config import Settings
    from text2sql.pipeline import Assistant

    return Assistant(backend=tiny_backend, settings=Settings())
