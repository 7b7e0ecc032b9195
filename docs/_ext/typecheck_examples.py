"""Type-check the examples of docs/typing.rst with mypy --strict and pyright strict.

The doctest builder proves that the examples run; this proves that what the
page says about types is what the checkers say. The ``testcode`` blocks of the
page are joined into one module (the order of the page, as the doctest builder
runs them) and checked:

* ``assert_type(expr, T)`` lines fail if a checker sees another type;
* a line a checker must reject carries ``# type: ignore[code]`` for mypy and
  ``# pyright: ignore[rule]`` for pyright, and both checkers are told to
  report an ignore comment that silences nothing, so the line fails the check
  if the error it shows goes away.

Run by ``nox -s docs`` (with the Tornado stubs from ``stubs/`` installed, as
the page assumes): ``python docs/_ext/typecheck_examples.py``.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

PAGE = Path(__file__).resolve().parent.parent / "typing.rst"


def extract(text: str) -> str:
    """The ``testcode`` blocks of an rst page, dedented, as one module."""
    blocks: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        if re.match(r"\.\. testcode::", lines[i]):
            i += 1
            while i < len(lines) and re.match(r"\s+:\w+:", lines[i]):
                i += 1  # options such as :hide:
            body: list[str] = []
            while i < len(lines) and (not lines[i] or lines[i].startswith("   ")):
                body.append(lines[i][3:])
                i += 1
            blocks.append("\n".join(body).strip("\n"))
        else:
            i += 1
    return "\n\n\n".join(blocks) + "\n"


def main() -> int:
    source = extract(PAGE.read_text())
    with tempfile.TemporaryDirectory() as tmp:
        module = Path(tmp) / "typing_examples.py"
        module.write_text(source)
        (Path(tmp) / "pyrightconfig.json").write_text(
            json.dumps(
                {
                    "typeCheckingMode": "strict",
                    "pythonVersion": "3.11",
                    "enableTypeIgnoreComments": False,
                    "reportUnnecessaryTypeIgnoreComment": "error",
                    # Examples are short scripts: names they import for show are fine.
                    "reportUnusedImport": "none",
                    "reportUnusedVariable": "none",
                    "reportUnusedFunction": "none",
                }
            )
        )
        checks = [
            [
                sys.executable,
                "-m",
                "mypy",
                "--strict",
                "--warn-unused-ignores",
                "--no-incremental",
                "--python-version",
                "3.11",
                str(module),
            ],
            [
                sys.executable,
                "-m",
                "pyright",
                "--pythonpath",
                sys.executable,
                "--project",
                tmp,
                str(module),
            ],
        ]
        failed = False
        for command in checks:
            result = subprocess.run(command, cwd=tmp, capture_output=True, text=True)
            print(result.stdout + result.stderr)
            failed |= result.returncode != 0
    if failed:
        print(f"The examples of {PAGE.name} do not type-check as the page says.")
        numbered = "\n".join(f"{n:4} {line}" for n, line in enumerate(source.splitlines(), 1))
        print(numbered)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
