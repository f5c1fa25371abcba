"""text2sql.kernel_magic: the ``%%text2sql`` IPython magic and the jupyter-server extension.

``%load_ext text2sql`` (or ``%load_ext text2sql.kernel_magic``) registers the magics; the
server extension (``POST /text2sql/generate``, ``GET /text2sql/schema``) is enabled by the
``jupyter_server_config.d/text2sql.json`` file the package installs. Both import their
heavy parts lazily.
"""

from __future__ import annotations


def load_ipython_extension(ipython) -> None:
    from text2sql.kernel_magic.magic import Text2SQLMagics

    ipython.register_magics(Text2SQLMagics(ipython))


def unload_ipython_extension(ipython) -> None:  # magics stay until the kernel restarts
    pass


def _jupyter_server_extension_points():
    return [{"module": "text2sql.kernel_magic"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from text2sql.kernel_magic.server_extension import load

    load(serverapp)


# Older jupyter-server releases look for this name.
load_jupyter_server_extension = _load_jupyter_server_extension
