"""A call's life on a LoopThread under adversarial timing (issue 17, items 1-3, 14).

Every caller of ``run()``, ``submit()`` and ``call()`` gets exactly one
outcome, whatever ends the call or the loop: ``GeneratorExit`` raised by the
function, ``KeyboardInterrupt`` or ``SystemExit`` raised on the loop thread, a
cancellation racing the call's start, Ctrl-C during ``start()`` or
``close()``. Every interleaving is forced with events, never left to luck;
the race tests repeat under ``FUTUREBRIDGE_SOAK=N``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import inspect
import signal
import sys
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from typing import Any

import pytest

from futurebridge import LoopThread

from ._support import (
    SOAK,
    Boom,
    PlainLoopThread,
    assert_no_leaks,
    baseline,
    capture_logs,
    soak_rounds,
    wait_thread_gone,
)

pytestmark = pytest.mark.timeout(3600 if SOAK else 120)

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

#: A liveness bound for an outcome that must arrive, never a timing check.
PROMPT = 10.0


def _with_task_factory() -> asyncio.AbstractEventLoop:
    """An asyncio loop with a task factory: tasks never start eagerly on it."""
    loop = asyncio.new_event_loop()

    def factory(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> asyncio.Task[Any]:
        return asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(factory)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    return loop


KINDS: dict[str, LoopFactory] = {
    "default": asyncio.new_event_loop,
    "task-factory": _with_task_factory,
}


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> LoopFactory:
    return KINDS[request.param]


@pytest.fixture
def other_loop() -> Iterator[PlainLoopThread]:
    """A plain asyncio loop on a thread of its own, to await LoopThread.call() from."""
    other = PlainLoopThread(asyncio.new_event_loop, "other-loop")
    try:
        yield other
    finally:
        other.stop()


def _run_in_thread(fn: Callable[[], Any]) -> concurrent.futures.Future[Any]:
    """fn() on a new thread; its outcome as a concurrent future (for bounded waits)."""
    outcome: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def main() -> None:
        try:
            outcome.set_result(fn())
        except BaseException as exc:  # the outcome under test, whatever it is
            outcome.set_exception(exc)

    threading.Thread(target=main, name="caller", daemon=True).start()
    return outcome


def _call_from(other: PlainLoopThread, lt: LoopThread, fn: Callable[[], Any]) -> Any:
    async def await_call() -> Any:
        return await lt.call(fn)

    return asyncio.run_coroutine_threadsafe(await_call(), other.loop)


# --- item 1: GeneratorExit raised by the function --------------------------------


async def _generator_exit_at_once() -> None:
    raise GeneratorExit


async def _generator_exit_after_await() -> None:
    await asyncio.sleep(0)
    raise GeneratorExit


@pytest.mark.parametrize("when", ["at-once", "after-await"])
def test_generator_exit_reaches_every_kind_of_caller(
    when: str, kind: LoopFactory, other_loop: PlainLoopThread
) -> None:
    fn = _generator_exit_at_once if when == "at-once" else _generator_exit_after_await
    before = baseline()
    with LoopThread(loop_factory=kind, name="gen-exit") as lt:
        ran = _run_in_thread(lambda: lt.run(fn))
        submitted = lt.submit(fn)
        called = _call_from(other_loop, lt, fn)
        for waiter in (ran, submitted, called):
            assert isinstance(waiter.exception(PROMPT), GeneratorExit)
        # The loop is unharmed and takes further calls.
        assert lt.run(asyncio.sleep, 0, "still here") == "still here"
    assert_no_leaks(before)


# --- item 2: KeyboardInterrupt or SystemExit raised on the loop thread ------------


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
def test_an_interrupt_on_the_loop_thread_fails_every_waiting_caller(
    interrupt: type[BaseException], kind: LoopFactory, other_loop: PlainLoopThread
) -> None:
    before = baseline()
    started = threading.Semaphore(0)

    async def wait_long() -> None:
        started.release()
        await asyncio.sleep(3600)

    def raise_it() -> None:
        raise interrupt("raised by code on the loop")

    lt = LoopThread(loop_factory=kind, name="dies")
    lt.start()
    try:
        with capture_logs("futurebridge") as logs:
            ran = _run_in_thread(lambda: lt.run(wait_long))
            submitted = lt.submit(wait_long)
            called = _call_from(other_loop, lt, wait_long)
            for _ in range(3):  # all three callers' coroutines run before the interrupt
                assert started.acquire(timeout=PROMPT)
            lt.asyncio_loop.call_soon_threadsafe(raise_it)
            for waiter in (ran, submitted, called):
                error = waiter.exception(PROMPT)
                assert isinstance(error, RuntimeError), error
                assert interrupt.__name__ in str(error)
                assert isinstance(error.__cause__, interrupt)
            # Nothing more gets in, and close() returns.
            with pytest.raises(RuntimeError, match="closing"):
                lt.submit(wait_long)
            lt.close()
        deaths = [r for r in logs.records if r.exc_info and isinstance(r.exc_info[1], interrupt)]
        assert len(deaths) == 1, logs.records
    finally:
        lt.close()
    assert_no_leaks(before)


# --- item 3: a submit() future cancelled while its call is starting ---------------


def _cancel_while_starting(lt: LoopThread) -> tuple[concurrent.futures.Future[Any], Any]:
    """submit() a call, and cancel its future while fn runs on the loop thread.

    fn blocks until the caller has cancelled, so the cancel request reaches
    the loop before the call's task takes its first step.
    """
    entered = threading.Event()
    cancelled = threading.Event()
    made: list[Coroutine[Any, Any, int]] = []

    async def body() -> int:
        return 1

    def fn() -> Coroutine[Any, Any, int]:
        entered.set()
        cancelled.wait(PROMPT)
        made.append(body())
        return made[0]

    future = lt.submit(fn)
    assert entered.wait(PROMPT)
    assert future.cancel()
    cancelled.set()
    return future, made


def test_a_cancel_racing_the_start_notifies_wait_and_as_completed(kind: LoopFactory) -> None:
    rounds = soak_rounds(20)
    before = baseline()
    with LoopThread(loop_factory=kind, name="cancel-start") as lt:
        for _ in range(rounds):
            future, made = _cancel_while_starting(lt)
            done, not_done = concurrent.futures.wait([future], timeout=PROMPT)
            assert done == {future}
            assert not not_done
            assert list(concurrent.futures.as_completed([future], timeout=PROMPT)) == [future]
            assert future.cancelled()
            # Nothing of the call is left on the loop, and fn's coroutine was
            # closed rather than left "never awaited".
            assert lt.run(_portal_calls, lt) == 0
            assert inspect.getcoroutinestate(made[0]) == inspect.CORO_CLOSED
    print(f"soak: cancel-racing-start rounds={rounds} notified={rounds}")
    assert_no_leaks(before)


async def _portal_calls(lt: LoopThread) -> int:
    # Runs on the loop: how many calls other than this one are still pending.
    return len(lt._portal.calls) - 1  # pyright: ignore[reportPrivateUsage]


# --- item 14: Ctrl-C during start() and close() -----------------------------------


def _interrupt_main_when(event: threading.Event) -> threading.Thread:
    """SIGINT the main thread (the test) once *event* is set."""
    main = threading.main_thread().ident
    assert main is not None

    def send() -> None:
        if event.wait(PROMPT):
            signal.pthread_kill(main, signal.SIGINT)

    thread = threading.Thread(target=send, name="ctrl-c", daemon=True)
    thread.start()
    return thread


@pytest.fixture
def in_main_thread() -> Iterator[None]:
    """The test on the main thread with SIGINT raising KeyboardInterrupt, as in
    a terminal, whatever the run inherited (`cmd &` starts it ignored)."""
    assert threading.current_thread() is threading.main_thread(), "signals reach only it"
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("in_main_thread")
def test_ctrl_c_during_a_slow_start_then_close_leaves_no_thread() -> None:
    rounds = max(1, soak_rounds(20) // 20)
    for _ in range(rounds):
        _ctrl_c_during_start_round()
    print(f"soak: ctrl-c-during-start rounds={rounds} threads_left=0")


def _ctrl_c_during_start_round() -> None:
    before = baseline()
    entered = threading.Event()
    release = threading.Event()

    def slow_factory() -> asyncio.AbstractEventLoop:
        entered.set()
        release.wait(PROMPT)
        return asyncio.new_event_loop()

    lt = LoopThread(loop_factory=slow_factory, name="slow-start")
    sender = _interrupt_main_when(entered)
    with pytest.raises(KeyboardInterrupt):
        lt.start()
    sender.join()
    thread = lt._thread  # pyright: ignore[reportPrivateUsage]
    assert thread is not None
    release.set()
    closing = _run_in_thread(lt.close)
    closing.result(PROMPT)  # a hang here is the bug
    assert wait_thread_gone(thread.native_id), "the loop thread is still running"
    with pytest.raises(RuntimeError, match="closed"):
        lt.run(asyncio.sleep, 0)
    assert_no_leaks(before)


@pytest.mark.usefixtures("in_main_thread")
def test_ctrl_c_during_close_then_close_again_ends_the_stubborn_call() -> None:
    rounds = max(1, soak_rounds(20) // 20)
    for _ in range(rounds):
        _ctrl_c_during_close_round()
    print(f"soak: ctrl-c-during-close rounds={rounds} threads_left=0")


def _ctrl_c_during_close_round() -> None:
    before = baseline()
    ignoring = threading.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            # Ignores the first cancellation: close() keeps waiting.
            ignoring.set()
            await asyncio.sleep(3600)

    lt = LoopThread(name="stubborn")
    lt.start()
    thread = lt._thread  # pyright: ignore[reportPrivateUsage]
    assert thread is not None
    submitted = lt.submit(stubborn)
    sender = _interrupt_main_when(ignoring)
    with pytest.raises(KeyboardInterrupt):
        lt.close()
    sender.join()
    closing = _run_in_thread(lt.close)
    closing.result(PROMPT)  # a hang here is the bug (3.13)
    assert wait_thread_gone(thread.native_id), "close() returned, the thread still runs (3.11/3.12)"
    assert submitted.cancelled()
    assert_no_leaks(before)


async def _forever() -> None:
    await asyncio.sleep(3600)


async def _chain(depth: int) -> None:
    if depth:
        await asyncio.ensure_future(_chain(depth - 1))
    else:
        await _forever()


# What the stubborn call awaits when the cancellation comes: a cancellation
# reaches it at once, through a gather, or down a chain of three tasks.
STUBBORN_WAITS: dict[str, Callable[[], Awaitable[Any]]] = {
    "sleep": _forever,
    "gather": lambda: asyncio.gather(_forever()),
    "task chain": lambda: _chain(2),
}


@pytest.mark.parametrize("waits", sorted(STUBBORN_WAITS))
@pytest.mark.parametrize("step", ["close", "begin_shutdown"])
def test_ctrl_c_right_after_a_step_of_close_then_close_again_ends_the_stubborn_call(
    monkeypatch: pytest.MonkeyPatch, step: str, waits: str
) -> None:
    """A Ctrl-C can land between any two lines of close(). Forced here right
    after the portal step named, before close() waits (the signal test above
    lands it in the wait): the next close() must still end a call that
    ignores its first cancellation, whether or not the shutdown had begun,
    however many loop iterations that cancellation takes to land."""
    before = baseline()
    started = threading.Event()
    wait = STUBBORN_WAITS[waits]

    async def stubborn() -> None:
        try:
            started.set()
            await wait()
        except asyncio.CancelledError:
            await asyncio.sleep(3600)

    lt = LoopThread(name="stubborn")
    lt.start()
    thread = lt._thread  # pyright: ignore[reportPrivateUsage]
    assert thread is not None
    submitted = lt.submit(stubborn)
    assert started.wait(PROMPT)
    portal_type = type(lt._portal)  # pyright: ignore[reportPrivateUsage]
    original = getattr(portal_type, step)
    interrupted: list[str] = []

    def step_then_ctrl_c(portal: object) -> None:
        original(portal)
        if not interrupted:
            interrupted.append(step)
            raise KeyboardInterrupt

    monkeypatch.setattr(portal_type, step, step_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        lt.close()
    assert interrupted == [step]
    closing = _run_in_thread(lt.close)
    closing.result(PROMPT)  # a hang here is the bug
    assert wait_thread_gone(thread.native_id), "close() returned, the thread still runs"
    assert submitted.cancelled()
    assert_no_leaks(before)


@pytest.mark.usefixtures("in_main_thread")
def test_ctrl_c_while_close_finalises_a_stuck_async_generator_then_close_again_ends_it() -> None:
    """close() finalises the loop's async generators after its tasks; one whose
    cleanup never ends keeps it waiting there. Ctrl-C, then close() again."""
    before = baseline()
    finalising = threading.Event()

    async def stuck() -> AsyncIterator[int]:
        try:
            yield 1
        finally:
            finalising.set()
            await asyncio.sleep(3600)  # a cleanup that never ends

    async def first_item() -> AsyncIterator[int]:
        generator = stuck()
        assert await anext(generator) == 1
        return generator

    lt = LoopThread(name="stuck-async-generator")
    lt.start()
    thread = lt._thread  # pyright: ignore[reportPrivateUsage]
    assert thread is not None
    suspended = lt.run(first_item)  # suspended at its yield, still the loop's to close
    sender = _interrupt_main_when(finalising)
    with pytest.raises(KeyboardInterrupt):
        lt.close()
    sender.join()
    closing = _run_in_thread(lt.close)
    closing.result(PROMPT)  # a hang here is the bug
    assert wait_thread_gone(thread.native_id), "close() returned, the thread still runs"
    del suspended
    assert_no_leaks(before)


# --- soak: run() and submit() racing close(), outcome accounting -----------------------


def test_calls_racing_close_each_get_exactly_one_outcome() -> None:
    """Callers on several threads keep calling while close() runs; each
    admitted call gets exactly one outcome: its value, its error, or a
    cancellation (and a refused call a RuntimeError at once)."""
    rounds = soak_rounds(10)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # many more thread switches, so more interleavings
    counts = {"value": 0, "error": 0, "cancelled": 0, "refused": 0}
    try:
        for _ in range(max(1, rounds // 10)):
            _race_close_once(counts)
    finally:
        sys.setswitchinterval(previous)
    print(f"soak: calls-racing-close rounds={max(1, rounds // 10)} {counts}")
    assert counts["value"] + counts["error"] > 0
    assert counts["refused"] > 0


def _race_close_once(counts: dict[str, int]) -> None:
    lt = LoopThread(name="race-close")
    lt.start()
    go = threading.Barrier(4)

    async def work(n: int) -> int:
        await asyncio.sleep(0)
        if n % 3 == 0:
            raise Boom(n)
        return n

    lock = threading.Lock()
    underway = threading.Event()
    before = sum(counts.values())

    def caller(offset: int) -> None:
        go.wait()
        for n in range(offset, offset + 300, 3):
            try:
                value = lt.run(work, n) if n % 2 else lt.submit(work, n).result(PROMPT)
                outcome = "value" if value == n else "wrong"
            except Boom as exc:
                outcome = "error" if exc.tag == n else "wrong"
            except concurrent.futures.CancelledError:
                outcome = "cancelled"
            except RuntimeError:
                outcome = "refused"
            with lock:
                counts[outcome] = counts.get(outcome, 0) + 1
                if sum(counts.values()) - before >= 30:
                    underway.set()

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(3)]
    for thread in threads:
        thread.start()
    go.wait()
    assert underway.wait(PROMPT)  # close while the calls flow
    lt.close()
    for thread in threads:
        thread.join(PROMPT)
        assert not thread.is_alive(), "a caller is still waiting for an outcome"
    assert counts.get("wrong", 0) == 0
    gc.collect()
