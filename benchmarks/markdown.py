"""Render a ``python -m futurebridge bench --json PATH`` file as a Markdown table.

    python benchmarks/markdown.py bench-full.json

One line per variant: its median, and for every variant that is not
futurebridge's, the ratio futurebridge / it; then one line per target. This is
how the README's Benchmarks section is made, so its figures are the run's own.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def _value(unit: str, seconds: float) -> str:
    if unit == "rate":
        return f"{1 / seconds:,.0f} req/s"
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e3:.2f} ms"


def render(figures: dict[str, Any]) -> str:
    """The Markdown table of a bench JSON document."""
    lines = [
        "| row | variant | median | futurebridge / it |",
        "|---|---|---:|---:|",
    ]
    for row in figures["rows"]:
        if row["skipped"]:
            lines.append(f"| {row['title']} | skipped: {row['skipped']} | | |")
            continue
        unit = row["unit"]
        ours = row["variants"][0]["median_seconds"]
        for index, variant in enumerate(row["variants"]):
            median = variant["median_seconds"]
            ratio = ""
            if variant["side"] != "futurebridge":
                r = ours / median if unit == "time" else median / ours
                ratio = f"{r:.2f}"
            title = f"**{row['title']}**" if index == 0 else ""
            name = f"{variant['side']}: `{variant['name']}`"
            lines.append(f"| {title} | {name} | {_value(unit, median)} | {ratio} |")
        for target in row["targets"]:
            if target["ratio"] is None:
                verdict = f"not measured ({target['ours']} did not run)"
            else:
                verdict = f"{target['ratio']:.3f}: {'**met**' if target['met'] else '**missed**'}"
            who = "" if target["ours"] == row["variants"][0]["name"] else f"`{target['ours']}` "
            lines.append(f"| | target: {who}{target['text']} | | {verdict} |")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    """Print the table of the JSON file named by ``argv[1]``."""
    print(render(json.loads(Path(argv[1]).read_text())))


if __name__ == "__main__":
    main(sys.argv)
