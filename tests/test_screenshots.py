"""docs/_ext/screenshots.py against a real headless Chromium, on pages made here.

The docs session runs the script on the built site; these tests give it pages
whose answers are known (tables that fit, scroll, or are cut off; a page that
never finishes loading) and check what it prints, the PNG files it writes, its
exit status, and that no Chromium process outlives it.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "docs" / "_ext" / "screenshots.py"
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium")

# The docs session runs these (-m browser) once it has made sure of Chromium.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="needs Chromium: apt-get install chromium, or set CHROMIUM"
    ),
]

TABLES = """<!doctype html>
<html><body style="margin:0">
<table style="width:3000px"><tr><td>outside the article: not checked</td></tr></table>
<article style="width:600px">
<section><h2>Narrow</h2>
<div><table style="width:300px"><tr><td>a</td><td>b</td></tr></table></div></section>
<section><h2>Scroller</h2>
<div style="overflow-x:auto"><table style="width:2000px"><tr><td>a</td><td>b</td></tr></table></div>
</section>
<section><h2>Cut</h2>
<div><table style="width:2000px"><tr><td>a</td><td>b</td><td>c</td></tr></table></div></section>
<section><h2>Past the edge</h2>
<div style="width:1500px"><table style="width:1400px"><tr><td>a</td></tr></table></div></section>
</article>
</body></html>
"""
TALL = (
    '<!doctype html><html><body style="margin:0"><div style="height:20000px"></div></body></html>'
)
# The parser never gets past the script, so the load event never comes.
NEVER = "<!doctype html><html><body><p>never</p><script>while (true) {}</script></body></html>"


def _run(html: Path, tmp: Path, pages: str, *args: str) -> subprocess.CompletedProcess[str]:
    # The browser's temporary profile goes under tmp, so its processes can be found.
    env = {**os.environ, "PAGES": pages, "TMPDIR": str(tmp)}
    if CHROMIUM is not None:
        env["CHROMIUM"] = CHROMIUM
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(html), str(html / "out"), *args],
        capture_output=True,
        text=True,
        env=env,
        # Beyond the script's own limits (60 s to start, 120 s a page): it
        # must end by itself. Killed anyway, it takes Chromium with it.
        timeout=400,
        check=False,
    )


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A folder for the script's TMPDIR with a short path: Chromium's socket must fit."""
    with tempfile.TemporaryDirectory(prefix="shots-") as folder:
        yield Path(folder)


def _running_under(folder: Path) -> list[str]:
    """Command lines of the live processes that name *folder* (zombies have none)."""
    found: list[str] = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue  # not a process, or gone meanwhile
        if str(folder) in command:
            found.append(command)
    return found


def _assert_nothing_left_running(folder: Path) -> None:
    # SIGKILL is delivered at once, but a process takes a moment to exit.
    deadline = time.monotonic() + 5
    while (left := _running_under(folder)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert left == []


def _png_size(png: Path) -> tuple[int, int]:
    header = png.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_each_table_is_judged_and_each_page_photographed(tmp_path: Path, short_tmp: Path) -> None:
    (tmp_path / "tables.html").write_text(TABLES)
    (tmp_path / "tall.html").write_text(TALL)

    result = _run(tmp_path, short_tmp, "tables tall")

    out = tmp_path / "out"
    lines = result.stdout.splitlines()
    assert lines[:4] == [
        "tables: table 1 (Narrow, 2 columns): 300 px in 600 px: fits",
        "tables: table 2 (Scroller, 2 columns): 2000 px in 600 px: scrolls",
        "tables: table 3 (Cut, 3 columns): 2000 px in 600 px: CUT OFF",
        "tables: table 4 (Past the edge, 1 columns): 1400 px in 1500 px: CUT OFF",
    ]
    # As tall as the 900 px viewport it is measured in, less the horizontal
    # scrollbar that the too-wide tables bring (15 px in Debian's Chromium).
    shot = re.fullmatch(
        rf"tables: {re.escape(str(out / 'tables.png'))} \(1280 x (\d+) px\)", lines[4]
    )
    assert shot is not None, lines[4]
    assert 850 <= int(shot.group(1)) <= 900
    assert _png_size(out / "tables.png") == (1280, int(shot.group(1)))
    # Taller than the 16000 px a screenshot may be: measured in full, shot clamped.
    assert lines[5] == f"tall: {out / 'tall.png'} (1280 x 20000 px)"
    assert _png_size(out / "tall.png") == (1280, 16000)
    assert lines[6:] == ["screenshots: 2 table(s) cut off at 1280 px"]
    assert result.returncode == 1
    _assert_nothing_left_running(short_tmp)


def test_a_page_that_never_loads_is_named_and_the_browser_killed(
    tmp_path: Path, short_tmp: Path
) -> None:
    (tmp_path / "never.html").write_text(NEVER)

    result = _run(tmp_path, short_tmp, "never", "--timeout", "2")

    assert result.stdout == ""
    assert result.stderr == (
        "screenshots: never.html: did not load: no answer from Chromium in time (allowed: 2 s)\n"
    )
    assert result.returncode == 1
    assert not (tmp_path / "out" / "never.png").exists()
    _assert_nothing_left_running(short_tmp)


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_a_stopped_run_takes_chromium_with_it(
    tmp_path: Path, short_tmp: Path, stop: signal.Signals
) -> None:
    """SIGTERM ends the run through its cleanup (the browser's group killed, its
    profile and temporary files removed). SIGKILL cannot be caught: the
    browser goes too (Debian's Chromium quits when its pipe closes, and it is
    started to be killed with the script besides: either alone passes here)."""
    (tmp_path / "never.html").write_text(NEVER)
    env = {**os.environ, "PAGES": "never", "TMPDIR": str(short_tmp)}
    if CHROMIUM is not None:
        env["CHROMIUM"] = CHROMIUM
    script = subprocess.Popen(
        [sys.executable, str(SCRIPT), str(tmp_path), str(tmp_path / "out"), "--timeout", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    try:
        # Stopped while the page hangs: once Chromium runs with its profile.
        deadline = time.monotonic() + 60
        while not _running_under(short_tmp) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _running_under(short_tmp), "Chromium did not start"
        script.send_signal(stop)
        script.wait(timeout=30)
    finally:
        script.kill()
        script.communicate()
    assert script.returncode == (128 + stop if stop == signal.SIGTERM else -stop)
    _assert_nothing_left_running(short_tmp)
    if stop == signal.SIGTERM:
        assert list(short_tmp.iterdir()) == []
