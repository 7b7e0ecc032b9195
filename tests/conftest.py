"""Shared fixtures: the loops every loop-dependent test runs on, and a guard
that fails a test when asyncio logs an error (a "never retrieved" exception,
a "destroyed but it is pending" task) while it runs."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import Callable, Coroutine, Iterator
from typing import Any, TypeVar

import hypothesis
import pytest
import uvloop

_T = TypeVar("_T")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

LOOP_FACTORIES: dict[str, LoopFactory] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}


@pytest.fixture(params=sorted(LOOP_FACTORIES))
def loop_factory(request: pytest.FixtureRequest) -> LoopFactory:
    """A factory for each kind of asyncio loop the library supports."""
    return LOOP_FACTORIES[request.param]


@pytest.fixture
def run(loop_factory: LoopFactory) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    """Run a coroutine to completion on a fresh loop of each kind."""

    def runner(coro: Coroutine[Any, Any, _T]) -> _T:
        with asyncio.Runner(loop_factory=loop_factory) as r:
            return r.run(coro)

    return runner


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move everything alive after collection (modules, fixtures, test items)
    out of the collector's sight, once.

    Each test starts and ends with a full ``gc.collect()`` (below). Without
    this, those collections walk every object of Tornado, Dask, libcst and
    pytest itself, about 0.1 s a test, half the suite's time; frozen, they walk
    only what the tests made, which is where an unretrieved future or a
    pending task lives.
    """
    # Hypothesis registers its own random generator the first time it runs a
    # test, and checks that something refers to it with gc.get_referrers(),
    # which does not see frozen objects: run it once first, so the check
    # happens before the freeze (on 3.14 it warned otherwise).
    _run_hypothesis_once()
    gc.collect()
    gc.freeze()


def _run_hypothesis_once() -> None:
    @hypothesis.settings(max_examples=1, database=None)
    @hypothesis.given(hypothesis.strategies.none())
    def once(value: None) -> None:
        assert value is None

    once()


class _ErrorRecorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


# A full collection (everything unfrozen) every SWEEP_EVERY tests and after
# the last one: a future that outlived its test, was frozen, and was dropped
# later in a cycle fails the test where it is found, naming the tests since
# the last full collection.
SWEEP_EVERY = 25
# The tests since the last full collection, and which of them expected asyncio
# to log errors.
_window: list[tuple[str, bool]] = []


@contextlib.contextmanager
def _asyncio_errors() -> Iterator[list[logging.LogRecord]]:
    """The errors asyncio logs inside the block."""
    recorder = _ErrorRecorder()
    logger = logging.getLogger("asyncio")
    logger.addHandler(recorder)
    try:
        yield recorder.records
    finally:
        logger.removeHandler(recorder)


def _sweep_and_freeze(full: bool) -> list[logging.LogRecord]:
    """Collect (everything, if *full*), freeze what is left; what asyncio logged."""
    with _asyncio_errors() as records:
        if full:
            gc.unfreeze()
        gc.collect()
        gc.freeze()
    return records


def _fail_for(records: list[logging.LogRecord], window: list[tuple[str, bool]]) -> None:
    if not records or all(expected for _, expected in window):
        return
    messages = "\n".join(r.getMessage() for r in records)
    if len(window) == 1:
        where = f"after {window[0][0]} ended"
    else:
        where = f"after one of the {len(window)} tests from {window[0][0]} to {window[-1][0]}"
    pytest.fail(f"asyncio logged errors {where}:\n{messages}")


@pytest.fixture(autouse=True)
def no_asyncio_errors(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if asyncio logged an error, such as an exception that was
    never retrieved or a task destroyed while pending.

    A test that expects such a log marks itself ``@pytest.mark.asyncio_errors_expected``.

    Collection is split so that each walks mostly what is new. Before the
    test, what the previous test left is collected (the values of its
    fixtures are released only after its teardown: an error found here names
    that test), and everything still alive is frozen; every SWEEP_EVERY tests
    that collection covers everything. After the test, what it made is
    collected. Unfrozen, the collections grew from 4 ms to 50 ms a test over
    the suite, a third of its time.
    """
    expected = request.node.get_closest_marker("asyncio_errors_expected") is not None
    full = len(_window) >= SWEEP_EVERY
    left_behind = _sweep_and_freeze(full)
    window = _window[:] if full else _window[-1:]
    if full:
        _window.clear()
    _window.append((request.node.nodeid, expected))
    _fail_for(left_behind, window)
    with _asyncio_errors() as records:
        yield
        gc.collect()  # "never retrieved" is reported when the future is collected
    # A test may mark itself while it runs (when what it expects depends on
    # the environment).
    expected = request.node.get_closest_marker("asyncio_errors_expected") is not None
    _window[-1] = (request.node.nodeid, expected)
    if records and not expected:
        messages = "\n".join(r.getMessage() for r in records)
        pytest.fail(f"asyncio logged errors during the test:\n{messages}")
    if request.node is request.session.items[-1]:
        # The last test: nothing comes after to find what the window left.
        window, _window[:] = _window[:], []
        _fail_for(_sweep_and_freeze(full=True), window)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Unfreeze everything and collect it once more, after the fixtures of
    wider scope have been torn down: what asyncio logs then is printed (it
    belongs to no test, and a run that stopped early ends here too)."""
    records = _sweep_and_freeze(full=True)
    gc.unfreeze()
    if records:
        messages = "\n".join(r.getMessage() for r in records)
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_sep("=", "asyncio logged errors after the tests", red=True)
            reporter.write_line(messages)
        else:
            print(f"asyncio logged errors after the tests:\n{messages}", file=sys.stderr)
