"""The packages stand alone, and the tools stay out of the library."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pyproject(path: Path) -> dict[str, object]:
    with path.open("rb") as file:
        return tomllib.load(file)


def test_extras_are_named_for_users() -> None:
    project = _pyproject(ROOT / "pyproject.toml")["project"]
    assert isinstance(project, dict)
    extras = set(project["optional-dependencies"])
    # Developer tools come from the noxfile, never from a public extra.
    assert not extras & {"docs", "test", "tests", "dev", "lint", "typing"}
    assert {"uvloop", "twisted"} <= extras


def test_the_sdist_carries_what_the_tests_and_the_readme_use() -> None:
    build = _pyproject(ROOT / "pyproject.toml")["tool"]
    assert isinstance(build, dict)
    included = set(build["hatch"]["build"]["targets"]["sdist"]["include"])
    needed_by_the_noxfile = ("noxfile.py", "tools")
    for needed in (
        "futurebridge",
        "tests",
        "docs",
        "stubs",
        "benchmarks",
        "bootstrap.py",
        *needed_by_the_noxfile,
    ):
        assert needed in included, needed
        assert (ROOT / needed).exists(), needed


def test_the_stubs_distribution_has_its_license_and_readme() -> None:
    stubs = ROOT / "stubs"
    project = _pyproject(stubs / "pyproject.toml")["project"]
    assert isinstance(project, dict)
    assert project["license-files"] == ["LICENSE"]
    assert (stubs / "LICENSE").read_text() == (ROOT / "LICENSE").read_text()
    assert project["readme"] == "README.md"
    assert (stubs / "README.md").read_text().startswith("# futurebridge-tornado-stubs")


def test_benchmarks_import_no_private_name_of_the_package() -> None:
    scripts = sorted((ROOT / "benchmarks").glob("*.py"))
    assert scripts
    private: list[str] = []
    for script in scripts:
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("futurebridge"):
                names = [node.module or "", *(alias.name for alias in node.names)]
            elif isinstance(node, ast.Import):
                names = [
                    alias.name for alias in node.names if alias.name.startswith("futurebridge")
                ]
            else:
                continue
            if any(part.startswith("_") for name in names for part in name.split(".")):
                private.append(f"{script.name}:{node.lineno}")
    assert private == []


def test_importing_the_library_imports_none_of_the_commands() -> None:
    probe = (
        "import sys, futurebridge\n"
        "print(sorted(m for m in sys.modules if m.startswith('futurebridge._tools')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", probe],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]"
