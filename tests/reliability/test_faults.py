"""Faults: loops that close or stop under a pending bridge, executors shut
down under a pending conversion, KeyboardInterrupt and SystemExit inside
bridged code, GeneratorExit and garbage collection of half-run legacy
generators. Each fault must give the waiter a clear outcome (an error, a
cancellation), or be logged, and never hang: every test runs under a short
pytest-timeout, and waits are bounded by asyncio.timeout so that a hang is a
failure with a message rather than a timeout.

A limitation, tested and documented here: a *plain* asyncio loop gives no
notice when it closes, so a future of such a loop that is pending when its
loop closes stays pending for its waiter on another loop. The waiter can
still cancel it (or time out) cleanly. futurebridge's own loops
(:class:`AsyncIOLoop`, :class:`LoopThread`) fail such waiters with a
RuntimeError when they close.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import gc
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Coroutine, Generator, Iterator
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import resource_tracker
from typing import Any

import pytest
import tornado.gen
from tornado.ioloop import IOLoop

from futurebridge import (
    AsyncIOLoop,
    LoopThread,
    _outcome,
    as_asyncio,
    as_tornado,
    to_asyncio_future,
)

from ._support import Boom, PlainLoopThread, assert_no_leaks, baseline, capture_logs

pytestmark = pytest.mark.timeout(60)

Run = Callable[[Coroutine[Any, Any, Any]], Any]
LoopFactory = Callable[[], asyncio.AbstractEventLoop]

#: How long a waiter may wait for an outcome that must arrive promptly.
PROMPT = 10.0


def _pending_future_on(loop: asyncio.AbstractEventLoop) -> asyncio.Future[int]:
    """A future of *loop* (which runs on another thread) that nobody resolves."""
    made: concurrent.futures.Future[asyncio.Future[int]] = concurrent.futures.Future()
    loop.call_soon_threadsafe(lambda: made.set_result(loop.create_future()))
    return made.result(PROMPT)


class _IOLoopThread:
    """futurebridge's AsyncIOLoop started on a thread by hand (not LoopThread)."""

    def __init__(self, factory: LoopFactory) -> None:
        made: list[AsyncIOLoop] = []
        ready = threading.Event()

        def main() -> None:
            ioloop = AsyncIOLoop(asyncio_loop=factory())
            made.append(ioloop)
            ioloop.add_callback(ready.set)
            ioloop.start()
            ioloop.close(all_fds=True)

        self.thread = threading.Thread(target=main, name="fault-ioloop")
        self.thread.start()
        assert ready.wait(PROMPT)
        self.ioloop = made[0]
        self.loop: asyncio.AbstractEventLoop = self.ioloop.asyncio_loop

    def close(self) -> None:
        self.ioloop.add_callback(self.ioloop.stop)
        self.thread.join(PROMPT)
        assert not self.thread.is_alive()


# --- the source loop closes or stops while a bridged future is pending ------------


def test_source_asyncio_loop_closes_under_a_pending_bridge(
    run: Run, loop_factory: LoopFactory
) -> None:
    before = baseline()

    async def main() -> None:
        source = _IOLoopThread(loop_factory)
        pending = _pending_future_on(source.loop)
        waiter = to_asyncio_future(pending)
        await asyncio.sleep(0.01)  # the bridge attaches on the source thread
        await asyncio.get_running_loop().run_in_executor(None, source.close)
        async with asyncio.timeout(PROMPT):
            with pytest.raises(RuntimeError, match="was closed while the future was pending"):
                await waiter

    run(main())
    assert_no_leaks(before)


def test_loop_thread_closes_under_a_pending_bridge(run: Run, loop_factory: LoopFactory) -> None:
    """A future of a LoopThread's loop, awaited from the main loop, fails with
    a RuntimeError when the LoopThread closes; a pending call() is cancelled."""
    before = baseline()

    async def main() -> None:
        lt = LoopThread(loop_factory=loop_factory)
        lt.start()
        pending = _pending_future_on(lt.asyncio_loop)
        waiter = to_asyncio_future(pending)
        call = asyncio.ensure_future(lt.call(asyncio.sleep, 3600))
        await asyncio.sleep(0.01)
        await asyncio.get_running_loop().run_in_executor(None, lt.close)
        async with asyncio.timeout(PROMPT):
            with pytest.raises(RuntimeError, match="was closed while the future was pending"):
                await waiter
            with pytest.raises(asyncio.CancelledError):
                await call

    run(main())
    assert_no_leaks(before)


def test_code_on_a_loop_thread_stops_its_ioloop_under_a_pending_bridge(
    run: Run, loop_factory: LoopFactory
) -> None:
    """Code on the LoopThread's loop stops the IOLoop itself: the waiter of a
    bridged future still gets a clear error, and close() still works."""

    async def main() -> None:
        lt = LoopThread(loop_factory=loop_factory)
        lt.start()
        pending = _pending_future_on(lt.asyncio_loop)
        waiter = to_asyncio_future(pending)
        await asyncio.sleep(0.01)
        lt.asyncio_loop.call_soon_threadsafe(lambda: IOLoop.current().stop())
        async with asyncio.timeout(PROMPT):
            with pytest.raises(RuntimeError, match="was closed while the future was pending"):
                await waiter
        # Its thread has ended: close() from this (long-lived) thread joins at once.
        lt.close()

    run(main())


# As in plain asyncio, the interrupt ends the loop's thread with an exception.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
def test_loop_thread_dies_of_an_interrupt_under_a_pending_bridge(
    run: Run, exc_type: type[BaseException]
) -> None:
    """An interrupt escapes the LoopThread's loop while a future of that loop
    is bridged to the main loop: the waiter gets an error, not a hang."""

    def interrupt() -> None:
        raise exc_type

    async def main() -> None:
        lt = LoopThread()
        lt.start()
        pending = _pending_future_on(lt.asyncio_loop)
        waiter = to_asyncio_future(pending)
        await asyncio.sleep(0.01)
        lt.asyncio_loop.call_soon_threadsafe(interrupt)
        async with asyncio.timeout(PROMPT):
            with pytest.raises(RuntimeError):
                await waiter
        # The thread has ended and closed its loop; close() then just joins.
        async with asyncio.timeout(PROMPT):
            while not lt.asyncio_loop.is_closed():  # noqa: ASYNC110  # no event to wait on
                await asyncio.sleep(0.005)
        lt.close()
        with pytest.raises(RuntimeError, match="after the LoopThread was closed"):
            lt.run(asyncio.sleep, 0)

    run(main())


def test_plain_loop_closing_is_not_detected_but_the_waiter_can_cancel(
    run: Run, loop_factory: LoopFactory
) -> None:
    """The documented limitation: a plain loop gives no notice when it closes."""

    async def main() -> None:
        source = PlainLoopThread(loop_factory, "plain-source")
        pending = _pending_future_on(source.loop)
        waiter = to_asyncio_future(pending)
        await asyncio.sleep(0.01)
        source.stop()  # stops and closes the plain loop
        await asyncio.sleep(0.05)
        assert not waiter.done()
        waiter.cancel()  # reaches for the closed source loop: must not raise
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await asyncio.sleep(0)  # the waiter's done callbacks run
        # Regression: the bridge used to stay registered for ever, keeping the
        # closed loop and both futures alive.
        assert source.loop not in _outcome.live_bridges()
        # A new conversion of that future is refused outright.
        with pytest.raises(RuntimeError, match="event loop is closed"):
            to_asyncio_future(pending)

    run(main())


def test_source_thread_stops_without_closing(run: Run, loop_factory: LoopFactory) -> None:
    """A stopped (not closed) source loop: the outcome arrives once it runs again,
    on another thread even."""

    async def main() -> None:
        source_loop = loop_factory()
        first = threading.Thread(target=source_loop.run_forever)
        first.start()
        pending = _pending_future_on(source_loop)
        waiter = to_asyncio_future(pending)
        await asyncio.sleep(0.01)
        source_loop.call_soon_threadsafe(source_loop.stop)
        first.join(PROMPT)
        await asyncio.sleep(0.01)
        assert not waiter.done()
        # Resolve it while its loop is stopped, then run the loop again.
        pending.set_result(5)
        source_loop.call_later(0.05, source_loop.stop)
        second = threading.Thread(target=source_loop.run_forever)
        second.start()
        async with asyncio.timeout(PROMPT):
            assert await waiter == 5
        second.join(PROMPT)
        source_loop.close()

    run(main())


# --- the target (waiter's) loop closes first ---------------------------------------


def test_target_loop_closes_before_the_source_completes(loop_factory: LoopFactory) -> None:
    """The waiter's loop is gone: the result is dropped, an exception is logged
    by futurebridge (never lost), and the source loop is not disturbed."""
    before = baseline()
    with LoopThread(loop_factory=loop_factory) as source:
        with capture_logs("futurebridge", "asyncio", "concurrent.futures") as logs:
            for outcome in ("result", "exception"):
                pending = _pending_future_on(source.asyncio_loop)
                target = loop_factory()

                async def convert(pending: asyncio.Future[int]) -> asyncio.Future[int]:
                    waiter = to_asyncio_future(pending)
                    await asyncio.sleep(0.01)
                    return waiter

                waiter = target.run_until_complete(convert(pending))
                target.close()
                boom = Boom(1)
                if outcome == "result":
                    source.asyncio_loop.call_soon_threadsafe(pending.set_result, 1)
                else:
                    source.asyncio_loop.call_soon_threadsafe(pending.set_exception, boom)
                assert source.run(asyncio.sleep, 0.01) is None  # the source loop still works
                assert not waiter.done()
                del waiter
            gc.collect()
        logged = logs.exceptions()
        assert [e for e in logged if e is boom] == [boom], logs.records
        assert all(isinstance(e, Boom) for e in logged), logs.records
    assert_no_leaks(before)


def test_target_loop_closes_before_a_concurrent_future_completes(
    loop_factory: LoopFactory,
) -> None:
    with (
        concurrent.futures.ThreadPoolExecutor(1) as executor,
        capture_logs("futurebridge", "asyncio", "concurrent.futures") as logs,
    ):
        release = threading.Event()

        def work() -> int:
            release.wait(PROMPT)
            raise Boom(2)

        submitted = executor.submit(work)
        target = loop_factory()

        async def convert() -> asyncio.Future[int]:
            return to_asyncio_future(submitted)

        target.run_until_complete(convert())
        target.close()
        release.set()
        with pytest.raises(Boom):
            submitted.result(PROMPT)
    # The executor thread's callback did not fail; the exception was logged.
    assert [type(e) for e in logs.exceptions()] == [Boom], logs.records


# --- executors shut down under a pending conversion ---------------------------------


def test_executor_shutdown_cancels_queued_conversions(run: Run) -> None:
    async def main() -> None:
        executor = concurrent.futures.ThreadPoolExecutor(1)
        gate = threading.Event()
        running = to_asyncio_future(executor.submit(gate.wait, PROMPT))
        queued = [to_asyncio_future(executor.submit(time.sleep, 0)) for _ in range(5)]
        executor.shutdown(wait=False, cancel_futures=True)
        async with asyncio.timeout(PROMPT):
            for waiter in queued:
                with pytest.raises(asyncio.CancelledError):
                    await waiter
            gate.set()
            assert await running is True
        executor.shutdown(wait=True)

    run(main())


def test_process_pool_worker_killed_under_pending_conversions(run: Run) -> None:
    """The pool's worker process dies (SIGKILL): every waiter gets the pool's
    BrokenProcessPool (or a cancellation), none hangs."""

    async def main() -> None:
        context = multiprocessing.get_context("spawn")  # fork() with threads warns
        pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=context)
        try:
            pid = await to_asyncio_future(pool.submit(os.getpid))
            running = to_asyncio_future(pool.submit(time.sleep, 60))
            queued = [to_asyncio_future(pool.submit(pow, 2, i)) for i in range(5)]
            await asyncio.sleep(0.1)
            os.kill(pid, signal.SIGKILL)
            async with asyncio.timeout(PROMPT):
                with pytest.raises(BrokenProcessPool):
                    await running
                for waiter in queued:
                    with pytest.raises((BrokenProcessPool, asyncio.CancelledError)):
                        await waiter
        finally:
            pool.shutdown(wait=True)

    run(main())


def test_process_pool_shutdown_cancels_queued_conversions(run: Run) -> None:
    async def main() -> None:
        context = multiprocessing.get_context("spawn")
        pool = concurrent.futures.ProcessPoolExecutor(1, mp_context=context)
        first = to_asyncio_future(pool.submit(time.sleep, 0.3))
        queued = [to_asyncio_future(pool.submit(pow, 2, i)) for i in range(10)]
        await asyncio.sleep(0.1)
        pool.shutdown(wait=False, cancel_futures=True)
        async with asyncio.timeout(PROMPT):
            (first_outcome,) = await asyncio.gather(first, return_exceptions=True)
            outcomes = await asyncio.gather(*queued, return_exceptions=True)
        # The one or two calls already handed to the worker complete; the
        # others are cancelled. Every waiter has its outcome.
        assert first_outcome is None or isinstance(first_outcome, asyncio.CancelledError)
        cancelled = [o for o in outcomes if isinstance(o, asyncio.CancelledError)]
        assert len(cancelled) >= 8, outcomes
        assert all(o == 2**i for i, o in enumerate(outcomes) if not isinstance(o, BaseException))
        pool.shutdown(wait=True)

    run(main())


def test_loop_thread_default_executor_shutdown_under_pending_call(
    loop_factory: LoopFactory,
) -> None:
    """LoopThread.close() shuts its default executor down while a call waits
    on it: the caller gets a cancellation or the result, never a hang."""
    gate = threading.Event()

    async def in_executor() -> bool:
        return await asyncio.get_running_loop().run_in_executor(None, gate.wait, PROMPT)

    lt = LoopThread(loop_factory=loop_factory)
    lt.start()
    submitted = lt.submit(in_executor)
    time.sleep(0.05)
    closer = threading.Thread(target=lt.close)
    closer.start()
    time.sleep(0.05)
    gate.set()
    closer.join(PROMPT)
    assert not closer.is_alive()
    with contextlib.suppress(concurrent.futures.CancelledError):
        assert submitted.result(PROMPT) is True


# --- KeyboardInterrupt and SystemExit: propagate as in plain asyncio ----------------


def _raiser(exc_type: type[BaseException]) -> Callable[[], Coroutine[Any, Any, int]]:
    async def body() -> int:
        await asyncio.sleep(0)
        raise exc_type

    return body


def _sync_raiser(exc_type: type[BaseException]) -> Callable[[], int]:
    def body() -> int:
        raise exc_type

    return body


def _scenarios(exc_type: type[BaseException]) -> dict[str, tuple[Any, Any]]:
    """(plain asyncio program, the same program through futurebridge)."""
    coro = _raiser(exc_type)

    @tornado.gen.coroutine
    def legacy() -> Generator[Any, Any, int]:
        yield tornado.gen.moment
        raise exc_type

    @as_asyncio
    def as_asyncio_legacy() -> Generator[Any, Any, int]:
        yield tornado.gen.moment
        raise exc_type

    async def plain_coro() -> int:
        return await asyncio.ensure_future(coro())

    async def bridged_coro() -> int:
        return await to_asyncio_future(coro())

    async def bridged_legacy() -> int:
        return await to_asyncio_future(legacy())

    async def plain_executor() -> int:
        with concurrent.futures.ThreadPoolExecutor(1) as executor:
            return await asyncio.wrap_future(executor.submit(_sync_raiser(exc_type)))

    async def bridged_executor() -> int:
        with concurrent.futures.ThreadPoolExecutor(1) as executor:
            return await to_asyncio_future(executor.submit(_sync_raiser(exc_type)))

    async def decorated_asyncio() -> int:
        return await as_asyncio_legacy()

    async def decorated_tornado() -> int:
        return await as_tornado(coro)()

    return {
        "coroutine": (plain_coro, bridged_coro),
        "gen.coroutine": (plain_coro, bridged_legacy),
        "executor": (plain_executor, bridged_executor),
        "@as_asyncio": (plain_coro, decorated_asyncio),
        "@as_tornado": (plain_coro, decorated_tornado),
    }


def _escaping(program: Callable[[], Coroutine[Any, Any, int]], factory: LoopFactory) -> type:
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            runner.run(program())
    except BaseException as exc:
        return type(exc)
    return type(None)


@pytest.mark.asyncio_errors_expected  # plain asyncio too logs the unretrieved interrupt
@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize(
    "scenario", ["coroutine", "gen.coroutine", "executor", "@as_asyncio", "@as_tornado"]
)
def test_interrupts_propagate_like_plain_asyncio(
    loop_factory: LoopFactory, exc_type: type[BaseException], scenario: str
) -> None:
    plain, bridged = _scenarios(exc_type)[scenario]
    with capture_logs("futurebridge"):
        assert _escaping(plain, loop_factory) is exc_type
        assert _escaping(bridged, loop_factory) is exc_type


@pytest.mark.parametrize("exc_type", [KeyboardInterrupt, SystemExit])
def test_interrupt_inside_a_loop_thread_call_reaches_the_caller(
    exc_type: type[BaseException],
) -> None:
    """Plain asyncio (run_coroutine_threadsafe) leaves the caller waiting
    forever when the loop thread dies of an interrupt; LoopThread must not
    hang its caller: it raises the interrupt (or a clear error) and closes."""
    lt = LoopThread()
    lt.start()
    outcome: list[BaseException | None] = []

    def caller() -> None:
        try:
            lt.run(_raiser(exc_type))
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=caller)
    thread.start()
    thread.join(PROMPT)
    hung = thread.is_alive()
    if not hung:
        closer = threading.Thread(target=lt.close)
        closer.start()
        closer.join(PROMPT)
        hung = closer.is_alive()
    assert not hung, "LoopThread.run() or close() hung after an interrupt on the loop thread"
    assert len(outcome) == 1
    assert isinstance(outcome[0], exc_type | RuntimeError), outcome


# --- GeneratorExit and garbage collection of half-run legacy generators -------------


def _legacy_with_finally(log: list[str], gate: asyncio.Future[None]) -> Any:
    @as_asyncio
    def legacy() -> Generator[Any, Any, int]:
        log.append("started")
        try:
            yield gate
            log.append("resumed")
            return 1
        except GeneratorExit:
            log.append("GeneratorExit")
            raise
        except asyncio.CancelledError:
            log.append("CancelledError")
            raise
        finally:
            log.append("finally")

    return legacy


def test_cancelled_legacy_generator_runs_its_finally(run: Run) -> None:
    log: list[str] = []

    async def main() -> None:
        gate = asyncio.get_running_loop().create_future()
        task = asyncio.ensure_future(_legacy_with_finally(log, gate)())
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    assert log == ["started", "CancelledError", "finally"]


def test_garbage_collected_half_run_legacy_generator_runs_its_finally(run: Run) -> None:
    log: list[str] = []

    async def main() -> None:
        gate = asyncio.get_running_loop().create_future()
        coro = _legacy_with_finally(log, gate)()
        # Step it by hand to its first yield, then drop it: CPython closes the
        # coroutine, GeneratorExit must reach the legacy generator.
        coro.send(None)
        assert log == ["started"]
        del coro
        gc.collect()
        gate.cancel()

    run(main())
    assert log == ["started", "GeneratorExit", "finally"]


@pytest.mark.asyncio_errors_expected  # "Task was destroyed but it is pending", as in asyncio
def test_abandoned_task_of_a_legacy_generator_runs_its_finally_when_collected(
    loop_factory: LoopFactory,
) -> None:
    """A loop is closed with the task still pending, and the task dropped: as
    with a plain coroutine, collection closes it and the finally block runs."""

    async def plain(log: list[str], gate: asyncio.Future[None]) -> int:
        log.append("started")
        try:
            await gate
            return 1
        except GeneratorExit:
            log.append("GeneratorExit")
            raise
        finally:
            log.append("finally")

    def abandon(make: Callable[[list[str], asyncio.Future[None]], Any]) -> list[str]:
        log: list[str] = []
        loop = loop_factory()
        gate = loop.create_future()
        task = loop.create_task(make(log, gate))
        loop.run_until_complete(asyncio.sleep(0.01))
        loop.close()
        del task, gate
        gc.collect()
        return log

    def legacy(log: list[str], gate: asyncio.Future[None]) -> Any:
        return _legacy_with_finally(log, gate)()

    assert abandon(plain) == ["started", "GeneratorExit", "finally"]
    assert abandon(legacy) == ["started", "GeneratorExit", "finally"]


def test_closing_a_half_run_legacy_coroutine_runs_its_finally(run: Run) -> None:
    log: list[str] = []

    async def main() -> None:
        gate = asyncio.get_running_loop().create_future()
        coro = _legacy_with_finally(log, gate)()
        coro.send(None)
        coro.close()
        gate.cancel()

    run(main())
    assert log == ["started", "GeneratorExit", "finally"]


def test_legacy_generator_that_ignores_generator_exit(run: Run) -> None:
    """Like any generator that yields in response to GeneratorExit: RuntimeError."""

    def stubborn() -> Generator[Any, Any, int]:
        ignored = False
        while True:
            try:
                yield tornado.gen.moment
            except GeneratorExit:
                if ignored:
                    raise
                ignored = True  # once, so that it can be collected afterwards

    plain = stubborn()
    next(plain)
    with pytest.raises(RuntimeError, match="ignored GeneratorExit") as plain_error:
        plain.close()
    plain.close()

    async def main() -> None:
        coro = as_asyncio(stubborn)()
        coro.send(None)
        with pytest.raises(RuntimeError, match="ignored GeneratorExit") as bridged_error:
            coro.close()
        assert str(bridged_error.value) == str(plain_error.value)
        coro.close()

    run(main())


def test_loop_thread_close_runs_finally_of_suspended_legacy_generators(
    loop_factory: LoopFactory,
) -> None:
    log: list[str] = []
    lt = LoopThread(loop_factory=loop_factory)
    lt.start()

    async def start() -> None:
        gate = asyncio.get_running_loop().create_future()
        started.append(asyncio.ensure_future(_legacy_with_finally(log, gate)()))

    started: list[asyncio.Future[int]] = []
    lt.run(start)
    lt.close()
    assert log[0] == "started"
    assert log[-1] == "finally"


@pytest.fixture(autouse=True)
def _no_stray_threads_or_fds() -> Iterator[None]:
    """Whatever a fault did, no thread or file descriptor outlives its test."""
    # multiprocessing's resource tracker keeps a pipe for the process's
    # lifetime once a process pool starts it: start it before counting.
    resource_tracker.ensure_running()
    before = baseline()
    yield
    gc.collect()
    assert_no_leaks(before)
