"""``python -m text2sql`` is the ``text2sql`` command."""

import sys

from text2sql.cli import main

sys.exit(main())
