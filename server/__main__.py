"""``python -m text2sql.server``: the language server over stdio (see ``cli.py``)."""

import sys

from text2sql.server.cli import main

sys.exit(main())
