"""The documentation site (docs/) against the code: nothing public goes undocumented.

The site itself is built, and its examples run, by ``nox -s docs``
(``sphinx-build -W -n`` for html, then for doctest); these checks need no
Sphinx, so they run with the rest of the suite.
"""

from __future__ import annotations

import importlib.util
import inspect
import re
import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest
from example_programs import check_example_program

import futurebridge

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
API_PAGE = DOCS / "api.rst"

_AUTODOC = re.compile(r"^\.\. auto(?:function|class|data|exception)::\s+futurebridge\.(\w+)\s*$")


def _documented_names() -> list[str]:
    return [
        match.group(1)
        for line in API_PAGE.read_text().splitlines()
        if (match := _AUTODOC.match(line.strip()))
    ]


def _pages() -> list[Path]:
    return sorted(DOCS.glob("*.rst"))


def test_all_is_exactly_the_public_names() -> None:
    assert isinstance(futurebridge.__all__, tuple)
    assert list(futurebridge.__all__) == sorted(set(futurebridge.__all__))
    public = {
        name
        for name, value in vars(futurebridge).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(futurebridge.__all__)


def test_api_reference_documents_all_and_only_all() -> None:
    documented = _documented_names()
    assert len(documented) == len(set(documented)), f"documented twice: {documented}"
    assert set(documented) == set(futurebridge.__all__)


def test_every_public_name_has_a_docstring() -> None:
    for name in futurebridge.__all__:
        obj = getattr(futurebridge, name)
        # A class's own docstring, never one inherited from Tornado's IOLoop.
        doc = obj.__dict__.get("__doc__") if isinstance(obj, type) else obj.__doc__
        assert doc, f"futurebridge.{name} has no docstring"
        assert doc.strip(), f"futurebridge.{name} has an empty docstring"
        assert ".. versionadded::" in doc, f"futurebridge.{name} does not say when it was added"


def test_every_public_method_of_our_classes_has_a_docstring() -> None:
    # The API page documents our classes' members, inherited from our private
    # bases too (:inherited-members: IOLoop): each needs a docstring of its own.
    for name in futurebridge.__all__:
        cls = getattr(futurebridge, name)
        if not isinstance(cls, type):
            continue
        for base in cls.__mro__:
            if not base.__module__.startswith("futurebridge"):
                continue
            for attr, value in vars(base).items():
                if attr.startswith("_"):
                    continue
                function = value.fget if isinstance(value, property) else value
                if not callable(function):
                    continue
                assert inspect.getdoc(function), f"{base.__qualname__}.{attr} has no docstring"


def _docstring_examples(doc: str) -> list[str]:
    """The literal blocks (after a line ending in ``::``) of a docstring."""
    examples: list[str] = []
    lines = doc.splitlines()
    for number, line in enumerate(lines):
        if not line.rstrip().endswith("::") or line.strip().startswith(".."):
            continue
        indent = len(line) - len(line.lstrip())
        block: list[str] = []
        for following in lines[number + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= indent:
                break
            block.append(following)
        examples.append(textwrap.dedent("\n".join(block)))
    return examples


def _docstring_example_sources() -> list[tuple[str, str]]:
    examples: list[tuple[str, str]] = []
    for name in futurebridge.__all__:
        obj = getattr(futurebridge, name)
        members = [obj, *vars(obj).values()] if isinstance(obj, type) else [obj]
        for member in members:
            doc = inspect.getdoc(member) if callable(member) else None
            examples.extend((name, example) for example in _docstring_examples(doc or ""))
    return examples


DOCSTRING_EXAMPLES = _docstring_example_sources()


def test_the_docstrings_have_examples() -> None:
    assert len(DOCSTRING_EXAMPLES) >= 5


@pytest.mark.parametrize(
    "source", [source for _, source in DOCSTRING_EXAMPLES], ids=[n for n, _ in DOCSTRING_EXAMPLES]
)
def test_docstring_example_runs_and_prints_what_it_says(source: str) -> None:
    # The API reference shows the docstrings' examples: each is a complete
    # program, run with warnings as errors, printing what its comments say.
    check_example_program(source)


def test_every_page_is_in_the_table_of_contents() -> None:
    index = (DOCS / "index.rst").read_text()
    for page in _pages():
        if page.stem != "index":
            assert re.search(rf"^\s+{re.escape(page.stem)}\s*$", index, re.MULTILINE), page.name


def test_every_python_example_is_a_doctest() -> None:
    # Python examples go in testcode/doctest blocks, which the doctest builder
    # runs; any other code block must be in a language that is not Python.
    not_python = {"console", "sh", "shell", "toml", "ini", "text", "none", "diff", "json"}
    for page in _pages():
        for number, line in enumerate(page.read_text().splitlines(), start=1):
            where = f"{page.name}:{number}"
            directive = re.match(r"\s*\.\. (code-block|code|sourcecode)::\s*(\S*)", line)
            if directive:
                assert directive.group(2) in not_python, f"{where}: use testcode for Python"
            elif line.rstrip().endswith("::") and not re.match(r"\s*\.\. [\w:-]+::", line):
                raise AssertionError(f"{where}: a literal block (::) is not tested; use testcode")


def test_every_example_file_is_shown_and_run() -> None:
    # docs/examples/*.py are test modules shown with literalinclude; the
    # cookbook's hidden doctest runs pytest over the whole folder.
    pages = "\n".join(page.read_text() for page in _pages())
    for example in sorted((DOCS / "examples").glob("*.py")):
        assert f".. literalinclude:: examples/{example.name}" in pages, example.name
        assert example.name.startswith("test_"), f"{example.name}: pytest would not collect it"
    assert 'os.path.join(DOCS_DIR, "examples")' in (DOCS / "cookbook.rst").read_text()


def test_linked_python_and_tornado_names_exist() -> None:
    # docs/_ext/offline_inventory.py lists what the docs link to upstream.
    spec = importlib.util.spec_from_file_location(
        "offline_inventory", DOCS / "_ext" / "offline_inventory.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.check() == []


def test_readme_says_where_the_docs_are_and_how_to_build_them() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "docs/_build/html/index.html" in readme
    assert "nox -s docs" in readme


def _testcode_with_output(page: Path, marker: str) -> list[tuple[str, str]]:
    """(program, printed lines) of each shown testcode block of ``page`` that
    contains ``marker``, with the testoutput block that follows it."""

    def directive_body(lines: list[str], start: int) -> tuple[list[str], int]:
        body: list[str] = []
        end = start + 1
        while end < len(lines) and (not lines[end].strip() or lines[end].startswith(" ")):
            body.append(lines[end])
            end += 1
        return body, end

    lines = page.read_text().splitlines()
    found: list[tuple[str, str]] = []
    for number, line in enumerate(lines):
        if line.strip() != ".. testcode::":
            continue
        body, end = directive_body(lines, number)
        source = textwrap.dedent("\n".join(body)).strip()
        if source.startswith(":hide:") or marker not in source:
            continue
        following = [n for n in range(end, len(lines)) if lines[n].strip()][:1]
        assert following, f"{page.name}:{number + 1}: no testoutput after this example"
        assert lines[following[0]].strip() == ".. testoutput::", f"{page.name}:{number + 1}"
        output, _ = directive_body(lines, following[0])
        found.append((source + "\n", textwrap.dedent("\n".join(output)).strip()))
    return found


MAIN_LOOP_EXAMPLES = [
    (page.name, program, output)
    for page in _pages()
    for program, output in _testcode_with_output(page, "AsyncIOMainLoop().install()")
]


def test_the_main_loop_pattern_is_documented() -> None:
    assert {page for page, _, _ in MAIN_LOOP_EXAMPLES} >= {"getting-started.rst", "migration.rst"}


@pytest.mark.parametrize(
    ("program", "output"),
    [(program, output) for _, program, output in MAIN_LOOP_EXAMPLES],
    ids=[page for page, _, _ in MAIN_LOOP_EXAMPLES],
)
def test_documented_main_loop_pattern_runs_verbatim(program: str, output: str) -> None:
    # ``AsyncIOMainLoop().install()`` then ``asyncio.get_event_loop().run_forever()``,
    # exactly as the docs show it, as a program with -W error on every Python
    # of the matrix: Tornado's own class raises here from 3.14 (tornado#3467).
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", program],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.strip() == output
