"""The allowlist of the compatibility runner (tests/dropin_suites.py) and the
migration page agree: the page gives the count, and every entry has a reason
and names a test of Tornado's suite."""

from __future__ import annotations

import re
import sys
import unittest
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from dropin_tornado_runner import ALLOWLIST  # noqa: E402


def test_the_migration_page_gives_the_allowlist_count() -> None:
    page = (HERE.parent / "docs" / "migration.rst").read_text()
    counts = [int(n) for n in re.findall(r"\*\*(\d+) allowlisted tests?\*\*", page)]
    assert counts == [len(ALLOWLIST)]


def test_every_entry_names_a_test_of_tornados_suite_and_a_reason() -> None:
    loader = unittest.defaultTestLoader
    for test_id, reason in ALLOWLIST.items():
        assert len(reason) > 40, test_id
        suite = loader.loadTestsFromName(test_id)
        assert suite.countTestCases() == 1, test_id
