"""LoopThread: an IOLoop on its own thread, called from other threads (run, submit)
and from other event loops (call), on asyncio and uvloop; real threads throughout."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import gc
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Coroutine, Generator, Iterator
from typing import Any

import pytest
import tornado.gen
import uvloop
from tornado.ioloop import IOLoop

import futurebridge._thread
from futurebridge import AsyncIOLoop, LoopThread, to_asyncio_future

LoopFactory = Callable[[], asyncio.AbstractEventLoop]
Run = Callable[[Coroutine[Any, Any, Any]], Any]

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

WAIT = 10.0  # seconds; a liveness bound for waits that must end, never a timing check


class Boom(Exception):
    pass


def _raise_boom() -> None:
    raise Boom("boom")


async def _double(x: int, *, plus: int = 0) -> int:
    await asyncio.sleep(0)
    return 2 * x + plus


async def _fail_async() -> int:
    await asyncio.sleep(0)
    _raise_boom()
    return 0


async def _cancel_self() -> int:
    await asyncio.sleep(0)
    raise asyncio.CancelledError


@tornado.gen.coroutine
def _legacy(x: int) -> Generator[Any, Any, Any]:
    yield tornado.gen.moment
    raise tornado.gen.Return(x + 1)


@pytest.fixture
def loop_thread(loop_factory: LoopFactory) -> Iterator[LoopThread]:
    """A running LoopThread on each kind of asyncio loop."""
    with LoopThread(loop_factory=loop_factory) as lt:
        yield lt


class _Parked:
    """A coroutine body that parks until cancelled, reporting both events across threads."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.cancelled = threading.Event()

    async def __call__(self) -> int:
        self.started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return 0


# --- results, from every kind of caller ---------------------------------------------


def test_run_returns_the_coroutine_result_keyword_arguments_kept(loop_thread: LoopThread) -> None:
    assert loop_thread.run(_double, 20, plus=2) == 42


def test_keyword_arguments_named_like_our_parameters_reach_fn(loop_thread: LoopThread) -> None:
    async def echo(*, fn: str, args: int, self: bool) -> tuple[str, int, bool]:
        return fn, args, self

    assert loop_thread.run(echo, fn="f", args=1, self=True) == ("f", 1, True)
    assert loop_thread.submit(echo, fn="g", args=2, self=False).result(WAIT) == ("g", 2, False)


def test_submit_returns_a_concurrent_future(loop_thread: LoopThread) -> None:
    future = loop_thread.submit(_double, 5, plus=1)
    assert isinstance(future, concurrent.futures.Future)
    assert future.result(WAIT) == 11


def test_call_from_another_loop(loop_thread: LoopThread, run: Run) -> None:
    async def main() -> tuple[int, bool]:
        caller = asyncio.get_running_loop()
        result = await loop_thread.call(_double, 3, plus=1)
        return result, asyncio.get_running_loop() is caller

    assert run(main()) == (7, True)


def test_call_across_loop_kinds() -> None:
    async def main() -> int:
        return await lt.call(_double, 5)

    with LoopThread(loop_factory=uvloop.new_event_loop) as lt:
        assert asyncio.run(main()) == 10
        assert uvloop.run(main()) == 10
    with LoopThread() as lt:
        assert uvloop.run(main()) == 10


def test_call_on_the_threads_own_loop_runs_inline(loop_thread: LoopThread) -> None:
    async def inner() -> int:
        return await loop_thread.call(_double, 4)

    assert loop_thread.run(inner) == 8


def test_fn_runs_on_the_loop_thread_with_our_ioloop_current(loop_thread: LoopThread) -> None:
    async def where() -> tuple[int, IOLoop, asyncio.AbstractEventLoop]:
        return threading.get_ident(), IOLoop.current(), asyncio.get_running_loop()

    ident, ioloop, loop = loop_thread.run(where)
    assert ident != threading.get_ident()
    assert ioloop is loop_thread.ioloop
    assert isinstance(ioloop, AsyncIOLoop)
    assert loop is loop_thread.asyncio_loop
    assert loop_thread.ioloop.asyncio_loop is loop_thread.asyncio_loop


def test_ioloop_current_in_plain_callbacks_on_the_thread(loop_thread: LoopThread) -> None:
    seen: list[IOLoop] = []

    def plain() -> None:
        seen.append(IOLoop.current())

    loop_thread.run(plain)
    assert seen == [loop_thread.ioloop]


def test_runs_on_uvloop_when_asked() -> None:
    with LoopThread(loop_factory=uvloop.new_event_loop) as lt:
        assert isinstance(lt.asyncio_loop, uvloop.Loop)
        assert lt.run(_double, 1) == 2


@pytest.mark.parametrize(
    "kind",
    ["coroutine", "loop future", "gen.coroutine", "concurrent future", "none", "list", "dict"],
)
def test_fn_may_return_any_yieldable(loop_thread: LoopThread, kind: str) -> None:
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)

    def make() -> Any:
        if kind == "coroutine":
            return _double(1)
        if kind == "loop future":
            future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_soon(future.set_result, 2)
            return future
        if kind == "gen.coroutine":
            return _legacy(1)
        if kind == "concurrent future":
            return pool.submit(sum, [1, 1])
        if kind == "none":
            return None
        if kind == "list":
            return [_double(1), _double(0)]
        return {"a": _double(1)}

    expected = {"none": None, "list": [2, 0], "dict": {"a": 2}}.get(kind, 2)
    try:
        assert loop_thread.run(make) == expected
        assert loop_thread.submit(make).result(WAIT) == expected
    finally:
        pool.shutdown()


def test_many_threads_at_once(loop_thread: LoopThread) -> None:
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: loop_thread.run(_double, i), range(200)))
    assert results == [2 * i for i in range(200)]


def test_a_dropped_future_does_not_lose_its_task(loop_thread: LoopThread) -> None:
    # The loop holds tasks weakly; the LoopThread must hold them until they end.
    gate = threading.Event()
    finished = threading.Event()

    async def fire_and_forget() -> None:
        await asyncio.get_running_loop().run_in_executor(None, gate.wait, WAIT)
        finished.set()

    loop_thread.submit(fire_and_forget)
    gc.collect()
    gate.set()
    assert finished.wait(WAIT)


def test_submit_from_the_loop_thread_is_allowed(loop_thread: LoopThread) -> None:
    async def schedule_more() -> int:
        inner = loop_thread.submit(_double, 10)
        return await to_asyncio_future(inner)

    assert loop_thread.run(schedule_more) == 20


# --- outcomes: exceptions with their tracebacks -----------------------------------


def _frames(exc: BaseException) -> list[str]:
    return [frame.name for frame in traceback.extract_tb(exc.__traceback__)]


def test_run_raises_with_the_original_traceback(loop_thread: LoopThread) -> None:
    with pytest.raises(Boom) as info:
        loop_thread.run(_fail_async)
    assert {"_fail_async", "_raise_boom"} <= set(_frames(info.value))
    assert "Boom: boom" in "".join(traceback.format_exception(info.value))


def test_submit_and_call_carry_the_exception(loop_thread: LoopThread, run: Run) -> None:
    error = loop_thread.submit(_fail_async).exception(WAIT)
    assert isinstance(error, Boom)
    assert "_raise_boom" in _frames(error)

    async def main() -> list[str]:
        with pytest.raises(Boom) as info:
            await loop_thread.call(_fail_async)
        return _frames(info.value)

    assert "_raise_boom" in run(main())


def test_exception_raised_by_fn_itself(loop_thread: LoopThread) -> None:
    with pytest.raises(Boom):
        loop_thread.run(_raise_boom)


# --- cancellation, both ways -------------------------------------------------------


def test_cancelling_the_concurrent_future_cancels_the_coroutine(loop_thread: LoopThread) -> None:
    parked = _Parked()
    future = loop_thread.submit(parked)
    assert parked.started.wait(WAIT)
    assert future.cancel()
    assert parked.cancelled.wait(WAIT)
    assert future.cancelled()


def test_cancelling_before_start_never_calls_fn(loop_thread: LoopThread) -> None:
    gate = threading.Event()
    calls: list[str] = []

    def block_the_loop() -> None:
        gate.wait(WAIT)

    def record() -> None:
        calls.append("called")

    blocker = loop_thread.submit(block_the_loop)
    future = loop_thread.submit(record)
    assert future.cancel()
    gate.set()
    blocker.result(WAIT)
    assert loop_thread.run(lambda: None) is None  # everything queued before it has run
    assert calls == []


def test_cancelling_the_awaiting_task_cancels_the_coroutine(
    loop_thread: LoopThread, run: Run
) -> None:
    parked = _Parked()

    async def main() -> None:
        task = asyncio.ensure_future(loop_thread.call(parked))
        await asyncio.get_running_loop().run_in_executor(None, parked.started.wait, WAIT)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main())
    assert parked.cancelled.wait(WAIT)


def test_cancelled_coroutine_is_a_cancellation_for_each_caller(
    loop_thread: LoopThread, run: Run
) -> None:
    with pytest.raises(concurrent.futures.CancelledError):
        loop_thread.run(_cancel_self)
    future = loop_thread.submit(_cancel_self)
    with pytest.raises(concurrent.futures.CancelledError):
        future.result(WAIT)
    assert future.cancelled()

    async def main() -> int:
        with pytest.raises(asyncio.CancelledError):
            await loop_thread.call(_cancel_self)
        task = asyncio.current_task()
        assert task is not None
        return task.cancelling()  # the caller itself was not cancelled

    assert run(main()) == 0


def test_fn_raising_cancelled_error_is_a_cancellation(loop_thread: LoopThread) -> None:
    def refuse() -> None:
        raise asyncio.CancelledError

    with pytest.raises(concurrent.futures.CancelledError):
        loop_thread.run(refuse)
    future = loop_thread.submit(refuse)
    concurrent.futures.wait([future], WAIT)
    assert future.cancelled()


def test_interrupted_run_cancels_the_coroutine(loop_thread: LoopThread) -> None:
    assert threading.current_thread() is threading.main_thread()
    parked = _Parked()
    main_thread = threading.get_ident()

    def interrupt() -> None:
        if parked.started.wait(WAIT):
            signal.pthread_kill(main_thread, signal.SIGINT)

    # As in a terminal, whatever the test run inherited (a run started with
    # `cmd &` has SIGINT ignored, and then no KeyboardInterrupt is raised).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    interrupter = threading.Thread(target=interrupt)
    interrupter.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            loop_thread.run(parked)
    finally:
        interrupter.join()
        signal.signal(signal.SIGINT, previous)
    assert parked.cancelled.wait(WAIT)


# --- misuse ------------------------------------------------------------------------


def test_blocking_on_the_loop_thread_raises_instead_of_deadlocking(
    loop_thread: LoopThread,
) -> None:
    def block_from_inside() -> None:
        with pytest.raises(RuntimeError, match=r"deadlock.*await loop_thread\.call"):
            loop_thread.run(_double, 1)
        pending = loop_thread.submit(_double, 1)
        with pytest.raises(RuntimeError, match="deadlock"):
            pending.result()
        with pytest.raises(RuntimeError, match="deadlock"):
            pending.exception()
        with pytest.raises(RuntimeError, match="deadlock"):
            loop_thread.close()

    loop_thread.run(block_from_inside)


def test_calls_before_start_and_after_exit_raise(run: Run) -> None:
    lt = LoopThread()
    with pytest.raises(RuntimeError, match="before the LoopThread was started"):
        lt.run(_double, 1)
    with pytest.raises(RuntimeError, match="before the LoopThread was started"):
        lt.ioloop  # noqa: B018
    with lt:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        lt.run(_double, 1)
    with pytest.raises(RuntimeError, match="closed"):
        lt.submit(_double, 1)

    async def main() -> None:
        with pytest.raises(RuntimeError, match="closed"):
            await lt.call(_double, 1)

    run(main())
    with pytest.raises(RuntimeError, match="runs only once"):
        lt.start()
    lt.close()  # closing again is a no-op


def test_close_without_start() -> None:
    lt = LoopThread()
    lt.close()
    with pytest.raises(RuntimeError, match="closed"):
        lt.submit(_double, 1)


def test_not_a_callable_is_a_type_error(loop_thread: LoopThread) -> None:
    with pytest.raises(TypeError, match=r"needs a callable.*got an int"):
        loop_thread.run(42)  # type: ignore[call-overload]
    coro = _double(1)
    with pytest.raises(TypeError, match=r"not lt\.submit\(fetch\(url\)\)"):
        loop_thread.submit(coro)  # type: ignore[call-overload]
    coro.close()


def test_fn_returning_a_non_yieldable_is_a_type_error(loop_thread: LoopThread) -> None:
    def forty_two() -> int:
        return 42

    with pytest.raises(TypeError, match=r"forty_two\(\) returned .*cannot convert an int"):
        loop_thread.run(forty_two)  # type: ignore[call-overload]


def test_loop_factory_failure_is_raised_by_start() -> None:
    def broken() -> asyncio.AbstractEventLoop:
        raise Boom("no loop for you")

    threads = threading.active_count()
    lt = LoopThread(loop_factory=broken)
    with pytest.raises(Boom):
        lt.start()
    assert threading.active_count() == threads
    with pytest.raises(RuntimeError, match="closed"):
        lt.run(_double, 1)


def test_loop_factory_must_return_an_open_loop() -> None:
    def closed_loop() -> asyncio.AbstractEventLoop:
        loop = asyncio.new_event_loop()
        loop.close()
        return loop

    threads = threading.active_count()
    with pytest.raises(TypeError, match="must return an asyncio event loop, got a str"):
        LoopThread(loop_factory=lambda: "loop").start()  # type: ignore[arg-type, return-value]
    with pytest.raises(RuntimeError, match="closed"):
        LoopThread(loop_factory=closed_loop).start()
    assert threading.active_count() == threads
    with LoopThread() as good:  # nothing was left registered or running
        assert good.run(_double, 2) == 4


# --- context ----------------------------------------------------------------------


def test_fn_runs_in_a_copy_of_the_callers_context(loop_thread: LoopThread, run: Run) -> None:
    async def body() -> str:
        seen = request_id.get()
        request_id.set("changed on the loop")
        return seen

    request_id.set("thread caller")
    assert loop_thread.run(body) == "thread caller"
    assert loop_thread.submit(body).result(WAIT) == "thread caller"
    assert request_id.get() == "thread caller"

    async def main() -> str:
        request_id.set("loop caller")
        seen = await loop_thread.call(body)
        assert request_id.get() == "loop caller"
        return seen

    assert contextvars.copy_context().run(run, main()) == "loop caller"


# --- exit ---------------------------------------------------------------------------


def test_exit_cancels_and_waits_for_what_is_pending(loop_factory: LoopFactory) -> None:
    parked = _Parked()
    cleanup_started = threading.Event()
    cleaned_up = threading.Event()

    async def slow_cleanup() -> None:
        cleanup_started.set()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(0)
            cleaned_up.set()

    def never_resolved() -> asyncio.Future[int]:
        return asyncio.get_running_loop().create_future()

    with LoopThread(loop_factory=loop_factory) as lt:
        submitted = lt.submit(parked)
        cleanup = lt.submit(slow_cleanup)
        plain = lt.submit(never_resolved)
        blocked: list[BaseException] = []

        def blocking_caller() -> None:
            try:
                lt.run(_Parked())
            except BaseException as exc:
                blocked.append(exc)

        caller = threading.Thread(target=blocking_caller)
        caller.start()
        assert parked.started.wait(WAIT)
        assert cleanup_started.wait(WAIT)
    caller.join(WAIT)
    assert parked.cancelled.is_set()
    assert cleaned_up.is_set()
    assert submitted.cancelled()
    assert cleanup.cancelled()
    assert plain.cancelled()
    assert len(blocked) == 1
    assert isinstance(blocked[0], concurrent.futures.CancelledError)
    assert lt.asyncio_loop.is_closed()


def test_stopping_the_ioloop_directly_shuts_down_like_close(loop_thread: LoopThread) -> None:
    parked = _Parked()
    waiting = loop_thread.submit(parked)
    assert parked.started.wait(WAIT)
    loop_thread.run(loop_thread.ioloop.stop)
    assert parked.cancelled.wait(WAIT)
    with pytest.raises(concurrent.futures.CancelledError):
        waiting.result(WAIT)
    with pytest.raises(RuntimeError, match="after its loop was stopped"):
        loop_thread.run(_double, 1)
    loop_thread.close()
    assert loop_thread.asyncio_loop.is_closed()


def test_exit_fails_futures_bridged_to_other_loops(loop_thread: LoopThread, run: Run) -> None:
    async def make_future() -> asyncio.Future[int]:
        return asyncio.get_running_loop().create_future()

    orphan = loop_thread.run(make_future)

    async def main() -> None:
        waiting = asyncio.ensure_future(to_asyncio_future(orphan))
        await asyncio.sleep(0)
        await asyncio.get_running_loop().run_in_executor(None, loop_thread.close)
        with pytest.raises(RuntimeError, match="closed while the future was pending"):
            await waiting

    run(main())


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def test_no_threads_or_file_descriptors_leak(loop_factory: LoopFactory) -> None:
    def in_executor() -> asyncio.Future[int]:
        return asyncio.get_running_loop().run_in_executor(None, sum, [1, 2])

    gc.collect()
    threads_before = set(threading.enumerate())
    fds_before = _open_fds()
    for _ in range(3):
        with LoopThread(loop_factory=loop_factory) as lt:
            assert lt.run(in_executor) == 3
            assert lt.run(_double, 1) == 2
            assert len(threading.enumerate()) > len(threads_before)
    gc.collect()
    assert set(threading.enumerate()) == threads_before
    assert _open_fds() == fds_before


# --- memory -------------------------------------------------------------------------


def test_no_reference_cycle_per_call(loop_thread: LoopThread, loop_factory: LoopFactory) -> None:
    # Cycles through tracebacks (error -> frame -> call -> waiter -> error)
    # would keep every failed call's objects alive until the next collection.
    def sync_boom() -> None:
        _raise_boom()

    async def from_a_loop() -> None:
        await loop_thread.call(_double, 1)
        for fn in (_fail_async, sync_boom):
            with contextlib.suppress(Boom):
                await loop_thread.call(fn)
        with contextlib.suppress(asyncio.CancelledError):
            await loop_thread.call(_cancel_self)

    def calls(runner: asyncio.Runner) -> None:
        loop_thread.run(_double, 1)
        loop_thread.submit(_double, 1).result(WAIT)
        for fn in (_fail_async, sync_boom):
            with contextlib.suppress(Boom):
                loop_thread.run(fn)
            loop_thread.submit(fn).exception(WAIT)
        with contextlib.suppress(concurrent.futures.CancelledError):
            loop_thread.run(_cancel_self)
        concurrent.futures.wait([loop_thread.submit(_cancel_self)], WAIT)
        runner.run(from_a_loop())

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        calls(runner)  # warm up caches
        gc.collect()
        gc.disable()
        try:
            for _ in range(10):
                calls(runner)
            assert gc.collect() == 0
        finally:
            gc.enable()


# --- races --------------------------------------------------------------------------


def test_closing_while_threads_keep_calling_never_hangs(loop_factory: LoopFactory) -> None:
    # Every call either completes, is cancelled by the exit, or is refused:
    # none may be queued onto a stopped loop and wait forever.
    lt = LoopThread(loop_factory=loop_factory)
    lt.start()
    outcomes: list[str] = []
    enough = threading.Barrier(5)

    def hammer() -> None:
        count = 0
        while True:
            try:
                lt.run(_double, count) if count % 2 else lt.submit(_double, count).result(WAIT)
            except RuntimeError:
                outcomes.append("refused")
                return
            except concurrent.futures.CancelledError:
                pass
            count += 1
            if count == 50:
                enough.wait(WAIT)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for thread in threads:
        thread.start()
    enough.wait(WAIT)
    lt.close()
    for thread in threads:
        thread.join(WAIT)
    assert not any(thread.is_alive() for thread in threads)
    assert outcomes == ["refused"] * 4


def test_cancel_races_leave_nothing_behind(loop_thread: LoopThread) -> None:
    futures = [
        loop_thread.submit(_fail_async) if i % 2 else loop_thread.submit(_double, i)
        for i in range(300)
    ]
    for future in futures[::3]:
        future.cancel()
    # Cancelled ones included: wait() sees a cancellation only once it is notified.
    _, not_done = concurrent.futures.wait(futures, WAIT)
    assert not not_done
    for i, future in enumerate(futures):
        assert future.done()
        if not future.cancelled():
            assert (future.exception() is not None) == bool(i % 2)
    assert loop_thread.run(lambda: None) is None


def test_a_reused_thread_id_is_not_mistaken_for_the_dead_loop_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Regression: the loop thread's id was kept after the thread ended, and
    # thread ids are reused, so close() from a new thread with the same id was
    # refused as "called on the loop thread itself". Whether the OS reuses an
    # id soon varies (it did on 3.11 and 3.12 here, not on 3.13), so the
    # reuse is simulated: this thread answers with the dead thread's id.
    lt = LoopThread()
    lt.start()

    async def thread_id() -> int:
        return threading.get_ident()

    dead = lt.run(thread_id)
    lt.ioloop.add_callback(lt.ioloop.stop)  # the loop stops itself; the thread ends
    for _ in range(1000):
        if all(thread.ident != dead for thread in threading.enumerate()):
            break
        time.sleep(0.005)
    monkeypatch.setattr(futurebridge._thread, "_get_ident", lambda: dead)
    with pytest.raises(RuntimeError, match="no longer takes calls"):
        lt.run(thread_id)
    lt.close()


def test_a_future_finishing_on_its_thread_while_converted_here_is_retrieved_once() -> None:
    """set_exception() marks a future done, schedules its callbacks, then flags
    its exception as unretrieved. Held in between on the loop's thread while
    this thread converts the future: the exception must reach the waiter and
    no "never retrieved" be logged (the autouse guard fails the test if it is)."""
    entered = threading.Event()
    release = threading.Event()

    def marker(future: asyncio.Future[Any]) -> None:
        del future

    class HoldingLoop(asyncio.SelectorEventLoop):
        def call_soon(  # type: ignore[override]
            self, callback: Callable[..., object], *args: Any, context: Any = None
        ) -> asyncio.Handle:
            if callback is marker:  # inside set_exception, between "done" and the flag
                entered.set()
                release.wait(10)
            return super().call_soon(callback, *args, context=context)

    async def convert(remote: asyncio.Future[int]) -> None:
        converted = to_asyncio_future(remote)
        release.set()
        with pytest.raises(ValueError, match="boom"):
            await converted

    with LoopThread(loop_factory=HoldingLoop, name="holding") as lt:
        remote: asyncio.Future[int] = lt.asyncio_loop.create_future()
        remote.add_done_callback(marker)
        lt.asyncio_loop.call_soon_threadsafe(remote.set_exception, ValueError("boom"))
        assert entered.wait(10)
        asyncio.run(convert(remote))
    del remote
    gc.collect()
