"""Shared plumbing for the reliability suites: loops on threads, a seeded random
source whose seed is reported on failure, resource snapshots (threads, file
descriptors) and a ledger that proves every outcome ended exactly once."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import logging
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import uvloop

#: Set FUTUREBRIDGE_SOAK=1 for long manual runs (much larger sizes, same checks);
#: FUTUREBRIDGE_SOAK=N (N > 1) also sets how many rounds each race test runs.
_SOAK_ENV = os.environ.get("FUTUREBRIDGE_SOAK", "")
SOAK = _SOAK_ENV not in ("", "0")
_SOAK_ROUNDS = int(_SOAK_ENV) if _SOAK_ENV.isdigit() and int(_SOAK_ENV) > 1 else 5000


def soak(default: int, soak_value: int) -> int:
    """The bounded size for the default run, or the soak size."""
    return soak_value if SOAK else default


def soak_rounds(default: int) -> int:
    """How many rounds a race test runs: *default*, or N under FUTUREBRIDGE_SOAK=N.

    Each race test prints its counts (``soak: <name> rounds=... <counts>``),
    so a soak run's report is ``pytest -s ... | grep soak:``.
    """
    return _SOAK_ROUNDS if SOAK else default


def thread_exists(native_id: int | None) -> bool:
    """Whether the OS still has the thread, whatever ``threading`` believes.

    On 3.11 and 3.12 an interrupted ``Thread.join()`` marks a running thread
    stopped, so ``is_alive()`` cannot be trusted to prove a thread ended.
    """
    return native_id is not None and os.path.exists(f"/proc/self/task/{native_id}")


def wait_thread_gone(native_id: int | None, timeout: float = 10.0) -> bool:
    """Poll until the OS thread *native_id* is gone; False if it is still there."""
    deadline = time.monotonic() + timeout
    while thread_exists(native_id):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def seeded_random(name: str) -> tuple[random.Random, int]:
    """A random source seeded from FUTUREBRIDGE_SEED if set, else at random.

    Tests put the seed in every assertion message, so a failure can be
    replayed with ``FUTUREBRIDGE_SEED=<seed>``.
    """
    env = os.environ.get("FUTUREBRIDGE_SEED")
    seed = int(env) if env else random.SystemRandom().randrange(2**32)
    print(f"{name}: FUTUREBRIDGE_SEED={seed}")
    return random.Random(seed), seed


class PlainLoopThread:
    """A plain asyncio (or uvloop) loop running forever on its own thread.

    This is the "other loop" built from asyncio alone, so the suites do not
    depend on futurebridge's own LoopThread to test the converters.
    """

    def __init__(self, factory: Callable[[], asyncio.AbstractEventLoop], name: str) -> None:
        self.loop = factory()
        self._started = threading.Event()
        self.thread = threading.Thread(target=self._main, name=name, daemon=True)
        self.thread.start()
        self._started.wait()

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._started.set)
        try:
            self.loop.run_forever()
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.run_until_complete(self.loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            self.loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop, join its thread (which closes the loop)."""
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout)
        if self.thread.is_alive():
            raise AssertionError(f"{self.thread.name} did not stop")


class Worker(Protocol):
    """A loop on its own thread, as the suites use it."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    def launch(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> Awaitable[Any]:
        """From another loop: run ``fn(*args)`` on this loop, await its outcome."""
        ...

    def submit(
        self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any
    ) -> concurrent.futures.Future[Any]:
        """From any thread: run ``fn(*args)`` on this loop, as a concurrent future."""
        ...

    def stop(self) -> None: ...


#: Where the harness logs an outcome it had to drop (captured by the suites).
harness_logger = logging.getLogger("reliability.harness")


def submit_plain(
    loop: asyncio.AbstractEventLoop, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any
) -> concurrent.futures.Future[Any]:
    """``asyncio.run_coroutine_threadsafe(fn(*args), loop)``, minus one loss.

    asyncio's version, when its concurrent future is cancelled just as the
    task fails, never retrieves the task's exception (it surfaces only as a
    "never retrieved" log whenever the task is collected). The suites account
    for every exception, so this one logs such an exception at once.
    """
    result: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def start() -> None:
        if result.cancelled():
            return
        task = loop.create_task(fn(*args))

        def on_task_done(task: asyncio.Task[Any]) -> None:
            if task.cancelled():
                result.cancel()
                return
            exc = task.exception()
            try:
                if exc is None:
                    result.set_result(task.result())
                else:
                    result.set_exception(exc)
            except concurrent.futures.InvalidStateError:  # cancelled meanwhile
                if exc is not None:
                    harness_logger.debug("dropped: its waiter had cancelled", exc_info=exc)

        def on_cancelled(future: concurrent.futures.Future[Any]) -> None:
            if future.cancelled():
                with contextlib.suppress(RuntimeError):  # the loop is closed
                    loop.call_soon_threadsafe(task.cancel)

        task.add_done_callback(on_task_done)
        result.add_done_callback(on_cancelled)

    loop.call_soon_threadsafe(start)
    return result


class PlainWorker(PlainLoopThread):
    def launch(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> Awaitable[Any]:
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(fn(*args), self.loop))

    def submit(
        self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any
    ) -> concurrent.futures.Future[Any]:
        return submit_plain(self.loop, fn, *args)


class LoopThreadWorker:
    """futurebridge's LoopThread; calls go through its own ``call()``."""

    def __init__(self, factory: Callable[[], asyncio.AbstractEventLoop], name: str) -> None:
        from futurebridge import LoopThread

        self.loop_thread = LoopThread(loop_factory=factory, name=name)
        self.loop_thread.start()
        self.loop = self.loop_thread.asyncio_loop

    def launch(self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> Awaitable[Any]:
        return self.loop_thread.call(fn, *args)

    def submit(
        self, fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any
    ) -> concurrent.futures.Future[Any]:
        return self.loop_thread.submit(fn, *args)

    def stop(self) -> None:
        self.loop_thread.close()


WORKER_KINDS: dict[str, Callable[[Callable[[], asyncio.AbstractEventLoop], str], Worker]] = {
    "plain": PlainWorker,
    "LoopThread": LoopThreadWorker,
}


def open_fds() -> set[str]:
    """The process's open file descriptors, by number (Linux /proc)."""
    return set(os.listdir("/proc/self/fd"))


@dataclasses.dataclass(frozen=True)
class Resources:
    threads: frozenset[str]
    fds: frozenset[str]

    @staticmethod
    def now() -> Resources:
        return Resources(
            threads=frozenset(f"{t.name}#{t.ident}" for t in threading.enumerate() if t.is_alive()),
            fds=frozenset(open_fds()),
        )

    def leaked_since(self, before: Resources) -> str:
        """A description of threads and fds alive now and not before ("" if none)."""
        problems = []
        if extra := self.threads - before.threads:
            problems.append(f"threads left over: {sorted(extra)}")
        if extra := self.fds - before.fds:
            targets = []
            for fd in sorted(extra):
                try:
                    targets.append(f"{fd}->{os.readlink(f'/proc/self/fd/{fd}')}")
                except OSError:
                    targets.append(fd)
            problems.append(f"file descriptors left over: {targets}")
        return "; ".join(problems)


def baseline() -> Resources:
    """Resources before a test, after the process-wide one-time allocations
    (uvloop opens a pair of descriptors on its first loop and keeps them)."""
    for factory in (asyncio.new_event_loop, uvloop.new_event_loop):
        factory().close()
    return Resources.now()


def assert_no_leaks(before: Resources, settle: float = 5.0) -> None:
    """Threads may take a moment to finish after join() returns elsewhere: poll."""
    deadline = time.monotonic() + settle
    while True:
        leaked = Resources.now().leaked_since(before)
        if not leaked:
            return
        if time.monotonic() > deadline:
            raise AssertionError(leaked)
        time.sleep(0.01)


class Boom(Exception):
    """The exception user code raises; ``tag`` identifies the operation."""

    def __init__(self, tag: int) -> None:
        super().__init__(tag)
        self.tag = tag


class LogCapture(logging.Handler):
    """Records every log record carrying an exception, on the given loggers,
    down to DEBUG, so a dropped outcome can be told from a lost one."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._lock_records = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock_records:
            self.records.append(record)

    def exceptions(self) -> list[BaseException]:
        with self._lock_records:
            return [r.exc_info[1] for r in self.records if r.exc_info and r.exc_info[1]]


@contextmanager
def capture_logs(*names: str) -> Iterator[LogCapture]:
    """Capture the records of *names* here only: they do not propagate to
    pytest's own capture, which would keep every traceback (and the frames
    and futures it holds) alive until the end of the test."""
    capture = LogCapture()
    saved: list[tuple[logging.Logger, int, bool]] = []
    for name in names:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.addHandler(capture)
    try:
        yield capture
    finally:
        for logger, level, propagate in saved:
            logger.removeHandler(capture)
            logger.setLevel(level)
            logger.propagate = propagate


class Ledger:
    """Thread-safe accounting of user code: each piece starts at most once and
    ends exactly once; each waiter records exactly one outcome."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.started: Counter[int] = Counter()
        self.ended: Counter[int] = Counter()
        self.raised: dict[int, Boom] = {}
        self.outcomes: dict[int, list[Any]] = {}

    def start(self, tag: int) -> None:
        with self._lock:
            self.started[tag] += 1

    def end(self, tag: int) -> None:
        with self._lock:
            self.ended[tag] += 1

    def boom(self, tag: int) -> Boom:
        exc = Boom(tag)
        with self._lock:
            self.raised[tag] = exc
        return exc

    def record(self, op: int, outcome: Any) -> None:
        with self._lock:
            self.outcomes.setdefault(op, []).append(outcome)

    def unfinished(self) -> list[int]:
        with self._lock:
            return [t for t, n in self.started.items() if self.ended[t] != n]

    def check_started_and_ended_once(self) -> list[str]:
        with self._lock:
            problems = [f"#{t} started {n} times" for t, n in self.started.items() if n > 1]
            problems += [
                f"#{t} ended {self.ended[t]} times after {n} starts"
                for t, n in self.started.items()
                if self.ended[t] != n
            ]
            problems += [
                f"#{t} ended without starting" for t in self.ended if t not in self.started
            ]
        return problems
