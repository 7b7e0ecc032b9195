"""tests/real_code/compare_migrated.py, which the migrate_real_code session runs:
the node ids it reruns select exactly the tests whose outcomes it read."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).parent / "real_code" / "compare_migrated.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("compare_migrated", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_outcome_reruns_from_its_node_id(tmp_path: Path) -> None:
    """A module skipped as a whole included: its junit entry has no classname
    (streamz's Kafka tests), and its node id once stopped the whole rerun."""
    compare = _script()
    root = tmp_path / "project"
    tests = root / "pkg" / "tests"
    tests.mkdir(parents=True)
    for folder in (root / "pkg", tests):
        (folder / "__init__.py").write_text("")
    (tests / "test_skipped_module.py").write_text(
        "import pytest\n\npytest.skip('no broker', allow_module_level=True)\n"
    )
    (tests / "test_plain.py").write_text(
        "def test_fails():\n    assert False\n\n\n"
        "class TestKind:\n    def test_passes(self):\n        pass\n"
    )
    first = compare.run_both({"copy": root}, "pkg", tmp_path, ["pkg"], "all")["copy"]
    assert sorted(first.values()) == ["failed", "passed", "skipped"]
    ids = [compare.node_id(name, root) for name in first]
    assert "pkg/tests/test_skipped_module.py" in ids
    again = compare.run_both({"copy": root}, "pkg", tmp_path, ids, "rerun")["copy"]
    assert again == first


def test_the_kept_stock_outcomes_depend_on_dasks_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The suites run with DASK_* settings from the session (its start method):
    outcomes kept under one setting are not reused under another."""
    compare = _script()
    sdist = tmp_path / "pkg-1.0.tar.gz"
    sdist.write_bytes(b"not really an sdist")
    monkeypatch.delenv("DASK_DISTRIBUTED__WORKER__MULTIPROCESSING_METHOD", raising=False)
    plain = compare._stock_key(sdist, "pkg", ["-q"])
    assert compare._stock_key(sdist, "pkg", ["-q"]) == plain
    monkeypatch.setenv("DASK_DISTRIBUTED__WORKER__MULTIPROCESSING_METHOD", "forkserver")
    forked = compare._stock_key(sdist, "pkg", ["-q"])
    assert forked != plain
    monkeypatch.setenv("UNRELATED_SETTING", "1")
    assert compare._stock_key(sdist, "pkg", ["-q"]) == forked
