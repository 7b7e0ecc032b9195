"""``python -m futurebridge``: a short self-check of the installed library."""

from __future__ import annotations

import sys

from ._tools.cli import main

if __name__ == "__main__":
    sys.exit(main())
