"""The command line behind ``python -m futurebridge``.

``python -m futurebridge`` (or ``... check``) runs a short self-check: which
loop, which Tornado, one conversion of each kind and its result. It exits 0
only if every conversion gave the expected result.

Each command's module is imported only when that command runs (the bench's
options too: ``check`` never imports the bench).
"""

from __future__ import annotations

import argparse
import platform
import sys
from collections.abc import Sequence

import tornado

from .. import __version__


def version_line() -> str:
    """``futurebridge X.Y.Z (Python A.B.C, Tornado D.E.F)``."""
    return (
        f"futurebridge {__version__} (Python {platform.python_version()}, "
        f"Tornado {tornado.version})"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command named in *argv* and return the process exit status."""
    args_in = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="python -m futurebridge",
        description="futurebridge: asyncio and Tornado futures, both ways.",
    )
    parser.add_argument("--version", action="version", version=version_line())
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "check",
        help="a short self-check of every conversion (the default)",
        description="Convert one object of each kind this library accepts and print the "
        "result of each. Exits 0 only if every conversion gave the expected result.",
    )
    demo = commands.add_parser(
        "demo",
        help="a Tornado web app mixing every kind of code, driven and checked end to end",
        description="Serve a real Tornado web application on 127.0.0.1 from futurebridge's "
        "AsyncIOMainLoop (legacy @gen.coroutine handlers, async def handlers, a thread pool, "
        "a second loop in a LoopThread, a websocket), drive every endpoint concurrently from "
        "a client in the same process, check every answer and print a table. Exits 0 only "
        "if every check passed and everything shut down cleanly.",
    )
    demo.add_argument(
        "--loop", choices=("asyncio", "uvloop"), default="asyncio", help="the loop to run on"
    )
    demo.add_argument(
        "--dask",
        action="store_true",
        help="also fan work out to a local Dask cluster (needs futurebridge[dask])",
    )
    bench = commands.add_parser(
        "bench",
        help="benchmarks against Tornado's own machinery and raw asyncio",
        description="Measure futurebridge side by side with Tornado's own machinery and raw "
        "asyncio in one process run, and print the medians and their ratios. Progress goes "
        "to stderr. Exits 0 when every row ran or was reported as not measured.",
    )
    if args_in[:1] == ["bench"]:
        # Only when the bench runs (or its --help is asked for): it is the heaviest import.
        from .bench import add_arguments

        add_arguments(bench)
    migrate = commands.add_parser(
        "migrate",
        help="a codemod from @gen.coroutine to typed async def",
        description="Rewrite @gen.coroutine generators as typed async def functions (a libcst "
        "codemod), with a report of every decision.",
    )
    if args_in[:1] == ["migrate"]:
        from .migrate import add_arguments as add_migrate_arguments

        add_migrate_arguments(migrate)
    args = parser.parse_args(args_in)
    if args.command in (None, "check"):
        from .selfcheck import run

        return run()
    if args.command == "demo":
        from .demo import run as run_demo

        return run_demo(args.loop, dask=args.dask)
    if args.command == "bench":
        from .bench import main as run_bench

        return run_bench(args)
    if args.command == "migrate":
        from .migrate import run as run_migrate

        return run_migrate(args)
    parser.error(f"unknown command {args.command!r}")  # parser.error exits
