"""The report of a run: JSON for tools, a table on stderr for people.

The JSON has this shape (``version`` changes if the shape does)::

    {
      "version": 1,
      "summary": {"files": 3, "files_changed": 2, "functions": 12,
                  "converted": 10, "kept_eager": 4, "flagged": 2},
      "functions": [
        {"file": "pkg/core.py", "line": 40, "name": "Stream.update",
         "decision": "as_tornado",
         "reasons": ["core.py:310: its result is used as a future"]},
        ...
      ]
    }

``decision`` is ``async`` (converted, the decorator removed), ``as_tornado``
(converted, eager start kept) or ``flagged`` (left unchanged for a person).
``converted`` counts both kinds of conversion, ``kept_eager`` the second.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ._decide import Decision

VERSION = 1


def summary(decisions: Sequence[Decision], files: int, files_changed: int) -> dict[str, int]:
    """The counts a reader looks at first."""
    functions = list(decisions)
    return {
        "files": files,
        "files_changed": files_changed,
        "functions": len(functions),
        "converted": sum(d.verdict != "flagged" for d in functions),
        "kept_eager": sum(d.verdict == "as_tornado" for d in functions),
        "flagged": sum(d.verdict == "flagged" for d in decisions),
    }


def as_json(
    decisions: Sequence[Decision], files: int, files_changed: int, root: Path
) -> dict[str, Any]:
    """The whole report as JSON-ready data; paths are relative to *root* where they can be."""
    return {
        "version": VERSION,
        "summary": summary(decisions, files, files_changed),
        "functions": [
            {
                "file": _shown(d.path, root),
                "line": d.line,
                "name": d.name,
                "decision": d.verdict,
                "reasons": d.reasons,
            }
            for d in decisions
        ],
    }


def write_json(report: dict[str, Any], path: Path) -> None:
    """Write *report* to *path*, indented for diffs."""
    path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def print_table(report: dict[str, Any], out: TextIO) -> None:
    """One line per function (decision, place, name), its reasons indented below, then totals."""
    entries = report["functions"]
    width = max([len("as_tornado"), *(len(e["decision"]) for e in entries)])
    where_width = max([0, *(len(f"{e['file']}:{e['line']}") for e in entries)])
    for entry in entries:
        where = f"{entry['file']}:{entry['line']}"
        print(f"{entry['decision']:<{width}}  {where:<{where_width}}  {entry['name']}", file=out)
        for reason in entry["reasons"]:
            print(f"{'':<{width}}    {reason}", file=out)
    counts = report["summary"]
    print(
        f"{counts['functions']} functions: {counts['converted']} converted "
        f"({counts['kept_eager']} keep eager start with @as_tornado), "
        f"{counts['flagged']} flagged for a person; "
        f"{counts['files_changed']} of {counts['files']} files changed",
        file=out,
    )


def _shown(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
