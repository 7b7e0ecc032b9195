"""``python -m futurebridge demo``: runs clean, with warnings as errors, on asyncio and uvloop."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from futurebridge._tools.demo import ENDPOINTS, Check, _report  # pyright: ignore[reportPrivateUsage]

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_demo_passes_every_check_and_shuts_down_clean(loop: str) -> None:
    process = subprocess.run(
        [sys.executable, "-W", "error", "-m", "futurebridge", "demo", "--loop", loop],
        capture_output=True,
        text=True,
        timeout=50,
        cwd=ROOT,
        check=False,
    )
    out = process.stdout
    assert process.returncode == 0, out + process.stderr
    # Warnings are errors: one in a destructor would only show up on stderr.
    assert process.stderr == ""
    expected_loop = "uvloop.Loop" if loop == "uvloop" else "asyncio."
    assert "IOLoop:  futurebridge._ioloop.AsyncIOMainLoop\n" in out
    assert f"asyncio: {expected_loop}" in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  /")}
    assert sorted(rows) == sorted([e.path for e in ENDPOINTS] + ["/ws"])
    for path, line in rows.items():
        assert " ok " in line, (path, line)
        assert re.search(r" \d+\.\d ms  ", line), line
    # Readable in a terminal of 80 columns, and no address of a server that is gone.
    assert max(len(line) for line in out.splitlines()) <= 80, out
    assert "http://" not in out
    assert f"{len(rows)}/{len(rows)} endpoints passed their checks" in out
    assert "shutdown: clean" in out


def test_a_failed_check_or_a_leaked_thread_fails_the_demo(
    capsys: pytest.CaptureFixture[str],
) -> None:
    good = Check("/good", "x", results=["1"], latencies=[0.001])
    bad = Check("/bad", "y", failures=["x=1: got 2, expected 3"], latencies=[0.001])
    assert _report("loops", [good], [], []) == 0
    assert _report("loops", [good, bad], [], []) == 1
    assert "x=1: got 2, expected 3" in capsys.readouterr().out
    assert _report("loops", [good], ["stray-thread"], []) == 1
    assert _report("loops", [good], [], ["asyncio: Task was destroyed"]) == 1
    out = capsys.readouterr().out
    assert "stray-thread" in out
    assert "Task was destroyed" in out


def test_an_endpoint_with_no_answer_is_not_a_pass() -> None:
    assert not Check("/silent", "z").ok
