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


TEXT = README.read_text(encoding="utf-8")


def test_every_link_is_absolute() -> None:
    # A relative link breaks wherever the README is shown outside the
    # repository (a package index's page, say).
    targets = re.findall(r"\]\(([^)\s]+)", TEXT)
    relative = [t for t in targets if not t.startswith(("https://", "http://"))]
    assert relative == []


def test_no_words_addressed_to_the_team() -> None:
    for phrase in (r"\bissue \d", r"owner of", r"a proposal", r"\bhelper\b", r"\bthe lead\b"):
        found = re.search(phrase, TEXT.replace("the lead fills in", ""), re.IGNORECASE)
        assert found is None, found


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    commands = re.findall(r"```sh\n# 2\.[^\n]*\n([^\n]+)\n```", TEXT)
    assert len(commands) == 1
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.rstrip().splitlines()[-1] == commands[0]
