"""The command line behind ``python -m futurebridge``.

``python -m futurebridge`` (or ``... check``) runs a short self-check: which
loop, which Tornado, one conversion of each kind and its result. It exits 0
only if every conversion gave the expected result.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command named in *argv* and return the process exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m futurebridge",
        description="futurebridge: asyncio and Tornado futures, both ways.",
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("check", help="a short self-check of every conversion (the default)")
    args = parser.parse_args(argv)
    if args.command in (None, "check"):
        from ._selfcheck import run

        return run()
    parser.error(f"unknown command {args.command!r}")  # parser.error exits
