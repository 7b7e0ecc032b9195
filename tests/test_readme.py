"""Every Python example in README.md runs, with warnings as errors, and prints
what its comments say it prints."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from example_programs import check_example_program

README = Path(__file__).resolve().parent.parent / "README.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_the_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("source", EXAMPLES, ids=[f"example-{i}" for i in range(len(EXAMPLES))])
def test_readme_example_runs_and_prints_what_it_says(source: str) -> None:
    check_example_program(source)
