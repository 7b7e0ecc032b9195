"""Screenshots of the built documentation at 1280 px, and a check that every table fits.

    python docs/_ext/screenshots.py docs/_build/html docs/_build/screenshots

Runs one headless Chromium (Debian's ``chromium`` package; ``CHROMIUM`` names
another binary) for the whole run and drives it over the DevTools protocol on
a pipe. For each of the pages a newcomer reads first (``PAGES`` names others)
it

1. loads the page in a viewport 1280 px wide and measures every table against
   the column that holds it: a table wider than its column must sit in a
   wrapper that scrolls sideways (``overflow-x: auto``), or the check fails;
2. saves a screenshot of the whole page, 1280 px wide, as ``PAGE.png``,
   to be looked at.

Prints one line per table and exits 1 if any table is cut off. A page that
does not load within ``--timeout`` seconds stops the run with an error naming
it; the browser is killed on any error. Nothing leaves the machine: the pages
are local files and the browser runs with its background networking off and a
fresh profile.
"""

# One browser, not two per page: each Chromium start costs 2-4 s of CPU,
# several times what rendering a page costs. The protocol runs over
# --remote-debugging-pipe: Chromium reads commands on its fd 3 and writes
# replies and events on its fd 4, each message JSON ended by a NUL byte.

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import ctypes
import fcntl
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

WIDTH = 1280
# The measuring viewport's height; the page's height is measured in it, and the
# screenshot is taken in a viewport as tall as the page (within these bounds).
HEIGHT = 900
# Seconds Chromium may take to start, on a loaded machine.
STARTUP = 60
SHOT_HEIGHTS = (800, 16000)
PAGES = tuple(
    os.environ.get("PAGES", "index getting-started migration comparison yieldables api").split()
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-breakpad",  # no crash handler, which would write outside the profile
    "--disable-crash-reporter",
    "--remote-debugging-pipe",
)
# Evaluated in the page once it has loaded and its fonts are in; its value is
# what main() reports.
MEASURE = """document.fonts.ready.then(() => {
  const tables = [...document.querySelectorAll("article table")].map((table, index) => {
    const box = table.parentElement;
    const overflow = getComputedStyle(box).overflowX;
    const heading = table.closest("section")?.querySelector("h1, h2, h3")?.textContent;
    return {
      index: index,
      section: (heading || "").replace(/[#\\u00b6]/g, "").trim(),
      columns: table.rows[0] ? table.rows[0].cells.length : 0,
      tableWidth: Math.ceil(table.scrollWidth),
      boxWidth: Math.floor(box.clientWidth),
      boxRight: Math.ceil(box.getBoundingClientRect().right),
      scrolls: overflow === "auto" || overflow === "scroll",
    };
  });
  return {
    height: document.documentElement.scrollHeight,
    viewport: document.documentElement.clientWidth,
    tables: tables,
  };
})"""


# prctl(2): the signal a child gets when the thread that started it ends.
PR_SET_PDEATHSIG = 1


class BrowserError(Exception):
    """Chromium exited, refused a command, or did not answer in time."""


class TooSlow(BrowserError):
    """Chromium did not answer in time."""


def _chromium() -> str:
    if named := os.environ.get("CHROMIUM"):
        if shutil.which(named):
            return named
        raise SystemExit(f"screenshots: CHROMIUM={named} is not an executable Chromium")
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return name
    raise SystemExit(
        "screenshots: no Chromium found; on Debian or Ubuntu: apt-get install chromium "
        "(or set CHROMIUM to the browser's path)"
    )


class Browser:
    """One headless Chromium in its own process group, driven over the protocol pipe.

    Use it as a context manager: leaving the block closes the browser, and
    kills its whole process group, whether the block raised or not.
    """

    def __init__(self, binary: str, profile: Path) -> None:
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()

        def at_fds_3_and_4() -> None:
            # Runs in the child before exec. Copies above 9 first, so neither
            # dup2 overwrites the other end; dup2 leaves 3 and 4 inheritable.
            read = fcntl.fcntl(commands_read, fcntl.F_DUPFD, 10)
            write = fcntl.fcntl(replies_write, fcntl.F_DUPFD, 10)
            os.dup2(read, 3)
            os.dup2(write, 4)
            os.close(read)
            os.close(write)
            # Killed with this script, even by SIGKILL (Linux; elsewhere the
            # process group is still killed on every way out but that one).
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

        self._log = profile.with_name(profile.name + ".log")
        try:
            with self._log.open("wb") as log:
                self._process = subprocess.Popen(
                    [binary, *FLAGS, f"--user-data-dir={profile}"],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    # Not pass_fds: it keeps descriptors at their numbers, and
                    # Chromium wants these two at 3 and 4. (preexec_fn is unsafe
                    # only with threads running, and this script starts none.)
                    preexec_fn=at_fds_3_and_4,
                    close_fds=False,
                    # Chromium's own temporary files go beside the profile, and
                    # are removed with it however the browser ends.
                    env={**os.environ, "TMPDIR": str(profile.parent)},
                    start_new_session=True,
                )
        finally:
            os.close(commands_read)
            os.close(replies_write)
        self._last_id = 0
        self._partial = bytearray()
        self._inbox: collections.deque[dict[str, Any]] = collections.deque()
        self._events: list[dict[str, Any]] = []

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close(graceful=kind is None)

    def close(self, *, graceful: bool = True) -> None:
        """Ask Chromium to quit (if *graceful*), then kill whatever is left of it."""
        try:
            if graceful:
                try:
                    self.call("Browser.close", deadline=time.monotonic() + 10)
                    while True:  # until Chromium closes its end: it has exited
                        self._next(time.monotonic() + 10)
                except BrowserError:
                    pass  # exited (the usual way out of the loop) or hung: killed below
        finally:
            # The leader is not reaped yet, so its group id cannot have been reused.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
            os.close(self._commands)
            os.close(self._replies)

    def _exited(self) -> BrowserError:
        lines = self._log.read_text(errors="replace").strip().splitlines()[-5:]
        said = "".join(f"\n    {line}" for line in lines)
        return BrowserError(f"Chromium exited{'; its last words:' if said else ''}{said}")

    def _next(self, deadline: float) -> dict[str, Any]:
        """The next message from Chromium, reply or event."""
        while not self._inbox:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._replies], [], [], left)[0]:
                raise TooSlow("no answer from Chromium in time")
            chunk = os.read(self._replies, 1 << 20)
            if not chunk:
                raise self._exited()
            *ends, rest = chunk.split(b"\0")
            for end in ends:
                self._partial += end
                self._inbox.append(json.loads(self._partial))
                self._partial.clear()
            self._partial += rest
        return self._inbox.popleft()

    def call(
        self,
        method: str,
        params: dict[str, Any] | None = None,
        session: str | None = None,
        *,
        deadline: float,
    ) -> dict[str, Any]:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        data = json.dumps(message).encode() + b"\0"
        try:
            while data:
                data = data[os.write(self._commands, data) :]
        except BrokenPipeError:
            raise self._exited() from None
        while True:
            reply = self._next(deadline)
            if reply.get("id") == self._last_id:
                if "error" in reply:
                    raise BrowserError(f"{method} failed: {reply['error'].get('message')}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            if "method" in reply:
                self._events.append(reply)

    def wait_for(self, wanted: Callable[[dict[str, Any]], bool], deadline: float) -> None:
        """Return once an event for which *wanted* is true has arrived; drop the others."""
        while True:
            while self._events:
                if wanted(self._events.pop(0)):
                    return
            message = self._next(deadline)
            if "method" in message:
                self._events.append(message)


def _tab(browser: Browser, deadline: float) -> str:
    """Open a blank tab and return the session that drives it."""
    target = browser.call("Target.createTarget", {"url": "about:blank"}, deadline=deadline)
    attached = browser.call(
        "Target.attachToTarget",
        {"targetId": target["targetId"], "flatten": True},
        deadline=deadline,
    )
    session: str = attached["sessionId"]
    browser.call("Page.enable", session=session, deadline=deadline)
    browser.call("Page.setLifecycleEventsEnabled", {"enabled": True}, session, deadline=deadline)
    return session


def _viewport(browser: Browser, session: str, height: int, deadline: float) -> None:
    metrics = {"width": WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": False}
    browser.call("Emulation.setDeviceMetricsOverride", metrics, session, deadline=deadline)


def measure(browser: Browser, session: str, page: Path, deadline: float) -> dict[str, Any]:
    """Load *page* at WIDTH px and return its height and the size of each table."""
    try:
        _viewport(browser, session, HEIGHT, deadline)
        navigated = browser.call(
            "Page.navigate", {"url": page.as_uri()}, session, deadline=deadline
        )
        if navigated.get("errorText"):
            raise BrowserError(navigated["errorText"])
        loader = navigated.get("loaderId")
        browser.wait_for(
            lambda event: (
                event.get("sessionId") == session
                and event["method"] == "Page.lifecycleEvent"
                and event["params"]["name"] == "load"
                and event["params"]["loaderId"] == loader
            ),
            deadline,
        )
    except BrowserError as error:
        raise type(error)(f"did not load: {error}") from None
    evaluated = browser.call(
        "Runtime.evaluate",
        {"expression": MEASURE, "awaitPromise": True, "returnByValue": True},
        session,
        deadline=deadline,
    )
    if "exceptionDetails" in evaluated:
        raise BrowserError(f"measuring failed: {evaluated['exceptionDetails'].get('text')}")
    measured: dict[str, Any] = evaluated["result"]["value"]
    return measured


def photograph(browser: Browser, session: str, height: int, deadline: float) -> bytes:
    """The loaded page as PNG, WIDTH px wide and *height* px tall (within SHOT_HEIGHTS)."""
    low, high = SHOT_HEIGHTS
    _viewport(browser, session, min(max(height, low), high), deadline)
    shot = browser.call("Page.captureScreenshot", {"format": "png"}, session, deadline=deadline)
    return base64.b64decode(shot["data"])


def main(argv: list[str] | None = None) -> int:
    """Measure and photograph every page of PAGES; return 1 if a table is cut off."""
    parser = argparse.ArgumentParser(
        description="Screenshots of the built docs at 1280 px, and a check that every table fits."
    )
    parser.add_argument("html", type=Path, help="the built HTML site")
    parser.add_argument("out", type=Path, help="the folder for the PNG files")
    parser.add_argument(
        "--timeout", type=float, default=120, help="seconds allowed per page (default 120)"
    )
    args = parser.parse_args(argv)
    html, out = args.html.resolve(), args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    binary = _chromium()
    # Terminated (a timeout, a CI runner stopping): leave through the with
    # blocks below, so that the browser is closed and its profile removed.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    cut_off = 0
    with tempfile.TemporaryDirectory() as tmp:
        page = "(starting Chromium)"
        try:
            with Browser(binary, Path(tmp) / "profile") as browser:
                session = _tab(browser, time.monotonic() + STARTUP)
                for page in PAGES:
                    deadline = time.monotonic() + args.timeout
                    measured = measure(browser, session, html / f"{page}.html", deadline)
                    viewport = int(measured["viewport"])
                    for table in measured["tables"]:
                        fits = table["tableWidth"] <= table["boxWidth"] + 1
                        verdict = "fits" if fits else ("scrolls" if table["scrolls"] else "CUT OFF")
                        if table["boxRight"] > viewport + 1:
                            verdict = "CUT OFF"  # its column runs past the window's edge
                        cut_off += verdict == "CUT OFF"
                        print(
                            f"{page}: table {table['index'] + 1} ({table['section']}, "
                            f"{table['columns']} columns): {table['tableWidth']} px in "
                            f"{table['boxWidth']} px: {verdict}"
                        )
                    height = int(measured["height"])
                    shot = out / f"{page}.png"
                    shot.write_bytes(photograph(browser, session, height, deadline))
                    print(f"{page}: {shot} ({WIDTH} x {height} px)")
        except BrowserError as error:
            where = page if page.startswith("(") else f"{page}.html"
            allowed = STARTUP if page.startswith("(") else args.timeout
            why = f" (allowed: {allowed:g} s)" if isinstance(error, TooSlow) else ""
            raise SystemExit(f"screenshots: {where}: {error}{why}") from None
    if cut_off:
        print(f"screenshots: {cut_off} table(s) cut off at {WIDTH} px")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
