"""``python -m futurebridge``: version, help pages, and each command imported only when run."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest
import tornado

import futurebridge


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", "-m", "futurebridge", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_version_names_futurebridge_python_and_tornado() -> None:
    result = _cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        f"futurebridge {futurebridge.__version__} (Python {platform.python_version()}, "
        f"Tornado {tornado.version})"
    )


def test_self_check_prints_the_version() -> None:
    result = _cli()
    assert result.returncode == 0, result.stdout + result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"futurebridge {futurebridge.__version__} self-check:")


@pytest.mark.parametrize(
    ("command", "says"),
    [
        ("check", "Convert one object of each kind"),
        ("demo", "Serve a real Tornado web application"),
        ("bench", "Measure futurebridge side by side"),
    ],
)
def test_each_command_help_has_a_description(command: str, says: str) -> None:
    result = _cli(command, "--help")
    assert result.returncode == 0, result.stderr
    # The description comes between the usage lines and the options.
    before_options = result.stdout.split("options:")[0]
    assert says in " ".join(before_options.split()), result.stdout


def test_check_does_not_import_the_bench_or_the_demo() -> None:
    probe = (
        "import sys, contextlib, io\n"
        "from futurebridge._tools.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    status = main(['check'])\n"
        "print(status, sorted(m for m in sys.modules if m.startswith('futurebridge._tools.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "0 ['futurebridge._tools.cli', 'futurebridge._tools.selfcheck']"
    )
