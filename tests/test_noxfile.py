"""The noxfile's lists of test files name files that exist, and leave none out by accident."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The tools' tests: what they check is what a command prints or writes, which
# the private-path switch does not reach (see tests_public_paths). They run on
# the noxfile's TOOL_PYTHONS, the library's tests on every supported Python.
TOOL_TESTS = {
    "tests/test_bench.py",
    "tests/test_bootstrap.py",
    "tests/test_cli.py",
    "tests/test_compare_migrated.py",
    "tests/test_conftest_guard.py",
    "tests/test_dropin_allowlist.py",
    "tests/test_migrate.py",
    "tests/test_migrate_sample.py",
    "tests/test_noxfile.py",
    "tests/test_packaging.py",
    "tests/test_readme.py",
    "tests/test_real_code_allowlist.py",
    "tests/test_screenshots.py",
    "tests/test_sid_python.py",
    "tests/test_tornado_suite.py",
    "tests/migrate_sample",
}


def _list_in_noxfile(name: str) -> list[str]:
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == name for target in node.targets
        ):
            value = ast.literal_eval(node.value)
            assert isinstance(value, list)
            return [str(item) for item in value]
    raise AssertionError(f"{name} is not in noxfile.py")


def test_every_test_file_is_a_library_test_or_a_tool_test() -> None:
    library = set(_list_in_noxfile("LIBRARY_TESTS"))
    for entry in library:
        assert (ROOT / entry).exists(), entry
    files = {p.relative_to(ROOT).as_posix() for p in ROOT.glob("tests/**/test_*.py")}

    def listed(file: str, entries: set[str]) -> bool:
        return any(file == entry or file.startswith(entry + "/") for entry in entries)

    covered = {f for f in files if listed(f, library) or listed(f, TOOL_TESTS)}
    assert files - covered == set(), "new test files: add them to LIBRARY_TESTS or TOOL_TESTS"
    assert library & TOOL_TESTS == set()
    assert "tests/reliability" in library


def test_the_tools_run_on_the_oldest_and_the_newest_stable_python() -> None:
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    values = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    tool_pythons = ast.literal_eval(values["TOOL_PYTHONS"])
    supported = ast.literal_eval(values["PYTHONS"])
    assert tool_pythons == (supported[0], "3.14")


def test_the_full_runs_order_names_every_session_once() -> None:
    """nox.options.sessions orders the full run: a session left out of it would not run."""
    tree = ast.parse((ROOT / "noxfile.py").read_text())
    order: list[str] = []
    defined: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and ast.unparse(node.targets[0]) == "nox.options.sessions":
            order = ast.literal_eval(node.value)
        if not isinstance(node, ast.FunctionDef):
            continue
        for decorator in node.decorator_list:
            if not (
                isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == "nox.session"
            ):
                continue
            keywords = {k.arg: k.value for k in decorator.keywords}
            if "default" in keywords and ast.literal_eval(keywords["default"]) is False:
                continue
            name = keywords.get("name")
            if name is None:
                defined.add(node.name)
            elif isinstance(name, ast.Constant):
                defined.add(str(name.value))
    assert len(order) == len(set(order))
    versions = [*_list_in_noxfile("PYTHONS"), "3.14", "3.15"]
    # Sessions named with an f-string are the tests-<version> ones.
    assert set(order) == defined | {f"tests-{version}" for version in versions}
