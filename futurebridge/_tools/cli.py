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
    demo = commands.add_parser(
        "demo", help="a Tornado web app mixing every kind of code, driven and checked end to end"
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
        "bench", help="benchmarks against Tornado's own machinery and raw asyncio"
    )
    from .bench import add_arguments

    add_arguments(bench)
    from .migrate import add_arguments as add_migrate_arguments

    add_migrate_arguments(
        commands.add_parser("migrate", help="a codemod from @gen.coroutine to typed async def")
    )
    args = parser.parse_args(argv)
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
