"""Running a documentation example as a program: shared by the README and
docstring checks (tests/test_readme.py, tests/test_docs.py)."""

from __future__ import annotations

import subprocess
import sys


def check_example_program(source: str) -> None:
    """Run *source* with warnings as errors; it must succeed, write nothing to
    stderr, and print exactly what the comments of its ``print(...)`` lines
    say (``print(x)  # 42 (why)`` expects the line ``42``)."""
    expected = [
        line.split("# ", 1)[1].split(" (")[0].strip()
        for line in source.splitlines()
        if line.lstrip().startswith("print(") and "# " in line
    ]
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", source],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines() == expected
