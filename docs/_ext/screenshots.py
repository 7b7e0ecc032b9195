"""Screenshots of the built documentation at 1280 px, and a check that every table fits.

    python docs/_ext/screenshots.py docs/_build/html docs/_build/screenshots

Runs headless Chromium (Debian's ``chromium`` package; ``CHROMIUM`` names
another binary) on the pages a newcomer reads first. For each page it

1. loads the page in a frame 1280 px wide and measures every table against
   the column that holds it: a table wider than its column must sit in a
   wrapper that scrolls sideways (``overflow-x: auto``), or the check fails;
2. saves a screenshot of the whole page, 1280 px wide, as ``PAGE.png``,
   to be looked at.

Prints one line per table and exits 1 if any table is cut off. Nothing leaves
the machine: the pages are local files and the browser runs with its
background networking off and a fresh profile.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

WIDTH = 1280
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
)
# Loaded next to the pages, it measures one page in a frame WIDTH px wide and
# writes what it found into its own DOM, which --dump-dom prints.
HARNESS = """<!doctype html>
<html><body style="margin:0">
<iframe id="page" src="{page}" style="border:0;width:{width}px;height:900px"></iframe>
<pre id="result">pending</pre>
<script>
document.getElementById("page").addEventListener("load", () => {{
  const doc = document.getElementById("page").contentDocument;
  const tables = [...doc.querySelectorAll("article table")].map((table, index) => {{
    const box = table.parentElement;
    const overflow = doc.defaultView.getComputedStyle(box).overflowX;
    const heading = table.closest("section")?.querySelector("h1, h2, h3")?.textContent;
    return {{
      index: index,
      section: (heading || "").replace(/[#\\u00b6]/g, "").trim(),
      columns: table.rows[0] ? table.rows[0].cells.length : 0,
      tableWidth: Math.ceil(table.scrollWidth),
      boxWidth: Math.floor(box.clientWidth),
      boxRight: Math.ceil(box.getBoundingClientRect().right),
      scrolls: overflow === "auto" || overflow === "scroll",
    }};
  }});
  document.getElementById("result").textContent = JSON.stringify({{
    height: doc.documentElement.scrollHeight,
    viewport: doc.documentElement.clientWidth,
    tables: tables,
  }});
}});
</script>
</body></html>
"""


def _chromium() -> str:
    for name in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return name
    raise SystemExit(
        "screenshots: no Chromium found; on Debian or Ubuntu: apt-get install chromium "
        "(or set CHROMIUM to the browser's path)"
    )


def _run(browser: str, profile: Path, *args: str) -> str:
    result = subprocess.run(
        [browser, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return result.stdout


def measure(browser: str, html: Path, page: str, profile: Path) -> dict[str, object]:
    """Load *page* at WIDTH px and return its height and the size of each table."""
    harness = html / f"_measure_{page}.html"
    harness.write_text(HARNESS.format(page=f"{page}.html", width=WIDTH))
    try:
        dom = _run(
            browser,
            profile,
            "--allow-file-access-from-files",
            "--virtual-time-budget=10000",
            f"--window-size={WIDTH + 40},1000",
            "--dump-dom",
            harness.as_uri(),
        )
    finally:
        harness.unlink()
    found = re.search(r'<pre id="result">(.*?)</pre>', dom, re.DOTALL)
    if found is None or found.group(1) == "pending":
        raise SystemExit(f"screenshots: {page}.html did not load in Chromium")
    measured: dict[str, object] = json.loads(found.group(1).replace("&amp;", "&"))
    return measured


def main() -> int:
    """Measure and photograph every page of PAGES; return 1 if a table is cut off."""
    html, out = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    out.mkdir(parents=True, exist_ok=True)
    browser = _chromium()
    cut_off = 0
    for page in PAGES:
        with tempfile.TemporaryDirectory() as tmp:
            measured = measure(browser, html, page, Path(tmp) / "measure")
            tables = measured["tables"]
            assert isinstance(tables, list)
            viewport = int(str(measured["viewport"]))
            for table in tables:
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
            height = int(str(measured["height"]))
            shot = out / f"{page}.png"
            _run(
                browser,
                Path(tmp) / "shot",
                f"--window-size={WIDTH},{min(max(height, 800), 16000)}",
                f"--screenshot={shot}",
                (html / f"{page}.html").as_uri(),
            )
            print(f"{page}: {shot} ({WIDTH} x {height} px)")
    if cut_off:
        print(f"screenshots: {cut_off} table(s) cut off at {WIDTH} px")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
