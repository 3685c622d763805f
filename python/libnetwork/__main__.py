"""``python -m libnetwork``: the command line (see docs/cli.md)."""

import sys

from .cli import main

sys.exit(main())
