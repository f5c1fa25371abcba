"""text2sql.kernel_magic: the ``%%text2sql`` IPython magic and the jupyter-server extension.

``%load_ext text2sql`` (or ``%load_ext text2sql.kernel_magic``) registers the magics;
``%unload_ext`` removes them. The server extension (``POST /text2sql/generate``,
``GET /text2sql/schema``) is enabled by the ``jupyter_server_config.d/text2sql.json``
file the package installs, which names this module. Heavy parts are imported lazily:
loading the extension loads no model and no torch.
"""

from __future__ import annotations

_MAGICS = {"line": ("text2sql_connect",), "cell": ("text2sql",)}


def load_ipython_extension(ipython) -> None:
    from text2sql.kernel_magic.magic import Text2SQLMagics

    if "Text2SQLMagics" in ipython.magics_manager.registry:  # loaded under its other name
        return
    ipython.register_magics(Text2SQLMagics(ipython))


def unload_ipython_extension(ipython) -> None:
    manager = ipython.magics_manager
    magics = manager.registry.pop("Text2SQLMagics", None)
    for kind, names in _MAGICS.items():
        for name in names:
            manager.magics[kind].pop(name, None)
    if magics is not None and magics.options in ipython.configurables:
        ipython.configurables.remove(magics.options)


def _jupyter_server_extension_points():
    return [{"module": "text2sql.kernel_magic"}]


def _load_jupyter_server_extension(serverapp) -> None:
    from text2sql.kernel_magic.server_extension import load

    load(serverapp)


# Older jupyter-server releases look for this name.
load_jupyter_server_extension = _load_jupyter_server_extension
