"""``python -m futurebridge migrate``: find the files, run the codemod, show or write.

Exit status: 0 when every legacy function was converted (or there was none),
1 when some were flagged and left for a person (the report lists them), 2 on
bad input: a missing path, a file that is not Python libcst can parse.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

EXIT_OK = 0
EXIT_FLAGGED = 1
EXIT_BAD_INPUT = 2

DESCRIPTION = """\
Rewrite Tornado @gen.coroutine generator functions as typed async def.

By default nothing is written: the change is printed as a unified diff.
Each yield becomes an await that is correct for what it yields (to_asyncio_future
where the value is not provably awaitable; asyncio.sleep(0) for None and
gen.moment), raise gen.Return(x) becomes return x, and a function whose callers
rely on @gen.coroutine's eager start (a call nobody awaits, a result used as a
future, the function passed on as a value) keeps it with @futurebridge.as_tornado.
Constructs whose meaning a rewrite would change (gen.Task, callbacks, yield in
finally, gen.Return caught by a handler, gen.with_timeout with a number,
IOLoop.run_sync of the function, run_on_executor) are flagged and left unchanged.
A table of every decision goes to stderr.

Exit status: 0 nothing left for a person, 1 some functions flagged, 2 bad input.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the migrate command's arguments on *parser*."""
    parser.description = DESCRIPTION
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("paths", nargs="+", metavar="PATH", help="Python files or folders")
    parser.add_argument("--write", action="store_true", help="rewrite the files in place")
    parser.add_argument(
        "--diff", action="store_true", help="print the diff also with --write (the default without)"
    )
    parser.add_argument(
        "--report", metavar="FILE.json", type=Path, help="write every decision as JSON to FILE"
    )
    parser.add_argument(
        "--assume-external-callers",
        action="store_true",
        help="keep eager start (@as_tornado) on public functions: code outside PATH may call them",
    )
    parser.add_argument(
        "--infer-returns",
        action="store_true",
        help="annotate an unannotated function whose every return is one literal type",
    )


def run(args: argparse.Namespace) -> int:
    """Run the codemod as *args* say; return the exit status."""
    try:
        import libcst as cst
    except ImportError:
        print(
            "migrate: libcst is not installed; install it with "
            "`pip install 'futurebridge[migrate]'`",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    from . import _analysis, _decide, _report, _rewrite

    paths: list[Path] = args.paths
    try:
        files = sorted(set(_python_files([Path(p) for p in paths])))
    except FileNotFoundError as error:
        print(f"migrate: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    all_facts: list[_analysis.FileFacts] = []
    originals: dict[Path, str] = {}
    for path in files:
        try:
            source = path.read_bytes()
            module = cst.parse_module(source)
        except cst.ParserSyntaxError as error:
            print(
                f"migrate: cannot parse {path}:{error.raw_line}:{error.raw_column}: "
                f"{error.message}; only valid Python 3 files can be migrated",
                file=sys.stderr,
            )
            return EXIT_BAD_INPUT
        except (OSError, UnicodeDecodeError) as error:
            print(f"migrate: cannot read {path}: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        originals[path] = module.code
        all_facts.append(_analysis.analyse(path, cst.MetadataWrapper(module)))

    decisions = _decide.decide(all_facts, assume_external_callers=args.assume_external_callers)
    by_node = {id(d.node): d for d in decisions if d.node is not None}
    coroutine_keys = _analysis.known_keys(all_facts)
    changed = 0
    show_diff = args.diff or not args.write
    for facts in all_facts:
        new = _rewrite.rewrite(facts, by_node, coroutine_keys, infer_returns=args.infer_returns)
        old = originals[facts.path]
        if new.code == old:
            continue
        changed += 1
        if show_diff:
            sys.stdout.writelines(
                difflib.unified_diff(
                    old.splitlines(keepends=True),
                    new.code.splitlines(keepends=True),
                    fromfile=f"a/{facts.path}",
                    tofile=f"b/{facts.path}",
                )
            )
        if args.write:
            facts.path.write_bytes(new.bytes)

    report = _report.as_json(decisions, len(files), changed, Path.cwd())
    if args.report is not None:
        _report.write_json(report, args.report)
    _report.print_table(report, sys.stderr)
    return EXIT_FLAGGED if report["summary"]["flagged"] else EXIT_OK


def _python_files(paths: Sequence[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            for found in path.rglob("*.py"):
                parts = found.relative_to(path).parts
                if not any(p.startswith(".") or p == "__pycache__" for p in parts):
                    yield found
        elif path.is_file():
            yield path
        else:
            raise FileNotFoundError(f"no such file or folder: {path}")
