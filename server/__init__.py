"""text2sql.server: the pygls language server (inline SQL from comments, schema completion, hover, diagnostics)."""
