"""The suite's guard against asyncio errors still sees them after the freeze.

tests/conftest.py freezes what collection left alive, so that each test's
``gc.collect()`` walks only what the test made. A future whose exception was
never retrieved, held only by a reference cycle the test made, must still be
collected at the end of the test and fail it; one that a fixture held is
collected before the next test, which fails naming it. What is alive then is
frozen too; a future dropped later, in a cycle, is found by the full
collection every 25 tests and after the last one, which fails.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

LEAKING_TEST = """
import asyncio


def test_drops_a_failed_future_in_a_cycle():
    loop = asyncio.new_event_loop()
    future = loop.create_future()
    future.set_exception(ValueError("nobody looked"))
    holder = [future]
    holder.append(holder)  # only the cycle collector can free it now
    del future, holder
    loop.close()


def test_clean():
    assert True
"""


OUTLIVING_TEST = """
import asyncio

KEPT = []


def test_keeps_a_failed_future_alive_past_its_end():
    loop = asyncio.new_event_loop()
    future = loop.create_future()
    future.set_exception(ValueError("nobody looked"))
    holder = [future]
    holder.append(holder)
    KEPT.append(holder)
    loop.close()


def test_drops_it_in_a_cycle():
    KEPT.clear()  # the cycle is garbage now, but frozen at the last test's end


def test_clean():
    assert True
"""


FIXTURE_TEST = """
import asyncio

import pytest


@pytest.fixture
def failed_future_in_a_cycle():
    loop = asyncio.new_event_loop()
    future = loop.create_future()
    future.set_exception(ValueError("nobody looked"))
    loop.close()
    holder = [future]
    holder.append(holder)
    return holder  # pytest lets go of it only after the test's teardown


def test_uses_it(failed_future_in_a_cycle):
    assert failed_future_in_a_cycle


def test_next():
    assert True
"""


def _failed_run(tmp_path: Path, test_source: str) -> str:
    """Run *test_source* under a copy of the suite's conftest; check that the
    run failed and return what pytest printed."""
    shutil.copy(HERE / "conftest.py", tmp_path / "conftest.py")
    (tmp_path / "test_leak.py").write_text(test_source)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", "/dev/null", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    return output


def test_a_never_retrieved_exception_in_a_cycle_still_fails_its_test(tmp_path: Path) -> None:
    output = _failed_run(tmp_path, LEAKING_TEST)
    # The guard fails the leaking test at its teardown; the clean one passes.
    assert "2 passed, 1 error" in output, output
    assert "ERROR at teardown of test_drops_a_failed_future_in_a_cycle" in output, output
    assert "asyncio logged errors during the test" in output, output
    assert "Future exception was never retrieved" in output, output


def test_a_failed_future_dropped_after_its_test_fails_a_later_one(tmp_path: Path) -> None:
    output = _failed_run(tmp_path, OUTLIVING_TEST)
    # Alive at each test's end, so frozen; dropped in a cycle by the second
    # test; found by the full collection after the last one, which fails.
    assert "3 passed, 1 error" in output, output
    assert "ERROR at teardown of test_clean" in output, output
    assert (
        "asyncio logged errors after one of the 3 tests from "
        "test_leak.py::test_keeps_a_failed_future_alive_past_its_end to "
        "test_leak.py::test_clean" in output
    ), output
    assert "Future exception was never retrieved" in output, output


def test_a_failed_future_a_fixture_held_fails_the_next_test_naming_it(tmp_path: Path) -> None:
    output = _failed_run(tmp_path, FIXTURE_TEST)
    assert "1 passed, 1 error" in output, output
    assert "ERROR at setup of test_next" in output, output
    assert "asyncio logged errors after test_leak.py::test_uses_it ended" in output, output
    assert "Future exception was never retrieved" in output, output
