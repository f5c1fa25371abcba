"""Session-wide test setup: no hub downloads, ever; shared fixtures live in tests/fixtures."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

pytest_plugins = [
    "tests.fixtures.databases",
    "tests.fixtures.tiny_model",
    "pytest_jupyter.jupyter_server",  # jp_fetch & co. for the server-extension tests
]
