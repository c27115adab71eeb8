"""``python -m strategies.pine check FILE... [--json]``."""

import sys

from .cli import main

sys.exit(main())
