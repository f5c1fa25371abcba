"""``Text2SQL``: the traitlets configurable shared by the magic (``%config Text2SQL.model``)
and the server extension (``c.Text2SQL.connections`` in jupyter_server_config.py).

These are the "client settings" layer of text2sql's precedence: magic options override
them; they override the user config file, which overrides the defaults."""

from __future__ import annotations

from traitlets import Bool, Dict, Enum, Float, Int, Unicode
from traitlets.config import Configurable

from text2sql.config import PRECISIONS


class Text2SQL(Configurable):
    """text2sql settings for IPython kernels and Jupyter servers."""

    model = Unicode(None, allow_none=True, help="Model dir or .gguf file (default: the embedded Gemma 3 270M).").tag(config=True)
    adapter = Unicode(None, allow_none=True, help='LoRA adapter dir; "none" disables the shipped one.').tag(config=True)
    precision = Enum(list(PRECISIONS), None, allow_none=True,
                     help="Weights precision.").tag(config=True)
    device = Enum(["auto", "cpu", "cuda"], None, allow_none=True, help="Where the model runs.").tag(config=True)
    row_limit = Int(None, allow_none=True, help="Maximum rows fetched by --run.").tag(config=True)
    timeout_s = Float(None, allow_none=True, help="Statement timeout in seconds.").tag(config=True)
    n_candidates = Int(None, allow_none=True, help="Candidates per question (the first that runs and answers something wins).").tag(config=True)
    max_tokens = Int(None, allow_none=True, help="Maximum new tokens per query.").tag(config=True)
    constrained_decoding = Bool(None, allow_none=True,
                                help="Keep the names the model writes to the schema's.").tag(config=True)
    restricted_vocabulary = Bool(None, allow_none=True,
                                 help="Score only the tokens SQL for the prompt can use (faster).").tag(config=True)
    connections = Dict({}, help="Named connections: {name: url or {url=..., exclude=[...]}}.").tag(config=True)

    def client_layer(self) -> dict:
        """The values set here, as a settings layer (unset traits are left out)."""
        names = ("model", "adapter", "precision", "device", "row_limit", "timeout_s", "n_candidates", "max_tokens",
                 "constrained_decoding", "restricted_vocabulary")
        layer = {n: getattr(self, n) for n in names if getattr(self, n) is not None}
        if self.connections:
            layer["connections"] = dict(self.connections)
        return layer

    def settings(self, explicit: dict | None = None, connections: dict | None = None):
        """Merged text2sql Settings: explicit > these traits > config file > defaults.

        ``connections`` (names given with ``%text2sql_connect --name``) join the traits'
        ones; they are kept out of the traits so ``%config Text2SQL`` never prints a URL
        with its password. Connections merge by name across layers."""
        from text2sql.config import load_settings

        client = self.client_layer()
        if connections:
            client["connections"] = {**client.get("connections", {}), **connections}
        return load_settings(client=client, explicit=explicit)
