"""``python -m durabletask``: the same as the ``durabletask`` command."""

from __future__ import annotations

import sys

from durabletask.cli import main

if __name__ == "__main__":
    sys.exit(main())
