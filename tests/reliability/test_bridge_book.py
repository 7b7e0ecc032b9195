"""Outcomes crossing loops when a loop stops and closes (issue 17, items 4-7).

A bridged future's outcome reaches its waiter if it exists before its loop
closes; an exception that can reach no one is logged exactly once; a future
handed to ``IOLoop.add_future`` reaches the callback done; and a bridge that
no one can observe any more holds no memory. Loops are stopped and closed at
chosen points, on real threads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import threading
import weakref
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest
import uvloop

from futurebridge import AsyncIOLoop, LoopThread, _outcome, to_asyncio_future

from ._support import SOAK, Boom, PlainLoopThread, capture_logs, soak_rounds

pytestmark = pytest.mark.timeout(3600 if SOAK else 120)

PROMPT = 10.0

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


class SteppedLoop:
    """A loop on its own thread that the test stops, then closes, when it says.

    ``kind`` is "asyncio", "uvloop" (plain loops) or "futurebridge" (an
    AsyncIOLoop, whose close() settles the bridges from it).
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.stopped = threading.Event()
        self.close_now = threading.Event()
        self.closed = threading.Event()
        made: concurrent.futures.Future[asyncio.AbstractEventLoop] = concurrent.futures.Future()
        self.thread = threading.Thread(target=self._main, args=(made,), name=f"stepped-{kind}")
        self.thread.start()
        self.loop = made.result(PROMPT)

    def _main(self, made: concurrent.futures.Future[asyncio.AbstractEventLoop]) -> None:
        ioloop: AsyncIOLoop | None = None
        if self.kind == "futurebridge":
            ioloop = AsyncIOLoop()
            loop = ioloop.asyncio_loop
        else:
            loop = uvloop.new_event_loop() if self.kind == "uvloop" else asyncio.new_event_loop()
        loop.call_soon(made.set_result, loop)
        loop.run_forever()
        self.stopped.set()
        self.close_now.wait(PROMPT)
        if ioloop is not None:
            ioloop.close()
        else:
            loop.close()
        self.closed.set()

    def run(self, fn: Callable[[], Any]) -> Any:
        """fn() on the loop thread, while the loop runs."""
        done: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def call() -> None:
            done.set_result(fn())

        self.loop.call_soon_threadsafe(call)
        return done.result(PROMPT)

    def stop_after(self, fn: Callable[[], Any]) -> None:
        """fn() then stop(), in one callback: the loop's last iteration."""

        def last() -> None:
            fn()
            self.loop.stop()

        self.loop.call_soon_threadsafe(last)
        assert self.stopped.wait(PROMPT)

    def close(self) -> None:
        self.close_now.set()
        self.thread.join(PROMPT)
        assert not self.thread.is_alive()


@pytest.fixture
def waiter_loop() -> Iterator[PlainLoopThread]:
    other = PlainLoopThread(asyncio.new_event_loop, "waiter-loop")
    try:
        yield other
    finally:
        other.stop()


def _bridge_from(
    source_loop: SteppedLoop, waiter: PlainLoopThread
) -> tuple[asyncio.Future[Any], concurrent.futures.Future[Any]]:
    """A pending future of *source_loop* and its outcome as seen on *waiter*."""
    source: asyncio.Future[Any] = source_loop.run(source_loop.loop.create_future)

    async def convert() -> list[asyncio.Future[Any]]:
        return [to_asyncio_future(source)]  # in a list, so that it is not awaited here

    (destination,) = asyncio.run_coroutine_threadsafe(convert(), waiter.loop).result(PROMPT)
    # The bridge attaches to the source on the source's loop: let it.
    source_loop.run(lambda: None)

    async def wait() -> Any:
        return await destination

    return source, asyncio.run_coroutine_threadsafe(wait(), waiter.loop)


# --- item 4: an outcome that exists is delivered, not "closed while pending" ----


@pytest.mark.parametrize("outcome", ["value", "exception"])
def test_an_outcome_set_in_the_last_iteration_reaches_the_waiter(
    outcome: str, waiter_loop: PlainLoopThread
) -> None:
    rounds = soak_rounds(5)
    for _ in range(rounds):
        _last_iteration_round(outcome, waiter_loop)
    print(f"soak: last-iteration-outcome-{outcome} rounds={rounds} delivered={rounds}")


def _last_iteration_round(outcome: str, waiter_loop: PlainLoopThread) -> None:
    stepped = SteppedLoop("futurebridge")
    source, seen = _bridge_from(stepped, waiter_loop)
    error = Boom(1)
    if outcome == "value":
        stepped.stop_after(lambda: source.set_result(42))
    else:
        stepped.stop_after(lambda: source.set_exception(error))
    stepped.close()
    if outcome == "value":
        assert seen.result(PROMPT) == 42
    else:
        assert seen.exception(PROMPT) is error


# --- item 5: an outcome whose waiter's loop stops, then closes, is logged once ------


@pytest.mark.parametrize("kind", ["asyncio", "uvloop", "futurebridge"])
def test_a_concurrent_future_failing_into_a_stopped_then_closed_loop_is_logged_once(
    kind: str,
) -> None:
    rounds = soak_rounds(5)
    for n in range(rounds):
        _stopped_then_closed_round(kind, n)
    print(f"soak: stopped-then-closed-{kind} rounds={rounds} logged_once={rounds}")


def _stopped_then_closed_round(kind: str, n: int) -> None:
    target = SteppedLoop(kind)
    source: concurrent.futures.Future[int] = concurrent.futures.Future()
    # The destination is made on the target loop's own thread.
    target.run(lambda: to_asyncio_future(source, loop=target.loop))
    target.stop_after(lambda: None)
    with capture_logs("futurebridge") as logs:
        error = Boom(n)
        source.set_exception(error)  # its delivery is queued on the stopped loop
        target.close()
        gc.collect()
    assert logs.exceptions() == [error], logs.records


def test_a_loop_thread_call_failing_into_a_stopped_then_closed_loop_is_logged_once() -> None:
    rounds = soak_rounds(5)
    with LoopThread(name="fails-later") as lt:
        for n in range(rounds):
            _call_into_stopped_round(lt, n)
    print(f"soak: call-into-stopped-then-closed rounds={rounds} logged_once={rounds}")


def _call_into_stopped_round(lt: LoopThread, n: int) -> None:
    target = SteppedLoop("asyncio")
    gate: list[asyncio.Future[None]] = []

    async def fail_when_told() -> None:
        gate.append(asyncio.get_running_loop().create_future())
        await gate[0]

    # The awaiting coroutine is stepped by hand rather than by a task:
    # a task left pending on a closed loop would itself be reported
    # ("destroyed but it is pending"), which is asyncio's business.
    suspended: list[Coroutine[Any, Any, None]] = []

    def start() -> None:
        coro = lt.call(fail_when_told)
        coro.send(None)  # runs up to its await of the waiter
        suspended.append(coro)

    target.run(start)
    lt.run(asyncio.sleep, 0)  # fail_when_told has started
    target.stop_after(lambda: None)
    error = Boom(n)
    with capture_logs("futurebridge") as logs:
        lt.run(lambda: gate[0].set_exception(error))
        # The failed call resumes in a callback queued by set_exception(),
        # ahead of this call's start: once it returns, the call has handed
        # its outcome to the stopped loop (found by the soak run: without it
        # the close below could come first, and the log after the capture).
        lt.run(asyncio.sleep, 0)
        target.close()
        gc.collect()
    suspended[0].close()
    assert [e for e in logs.exceptions() if e is error] == [error], logs.records


def test_close_racing_delivery_never_drops_an_exception_in_silence() -> None:
    """Many failures race the waiter loop's stop and close; each exception is
    either delivered to its waiter or logged, exactly once."""
    rounds = max(1, soak_rounds(30) // 10)  # 300 failures a round
    totals = {"delivered": 0, "logged": 0}
    for _ in range(rounds):
        delivered, logged = _close_racing_delivery_round()
        totals["delivered"] += delivered
        totals["logged"] += logged
    print(f"soak: close-racing-delivery rounds={rounds} {totals} dropped=0")


def _close_racing_delivery_round() -> tuple[int, int]:
    target = SteppedLoop("asyncio")
    sources = [concurrent.futures.Future[int]() for _ in range(300)]
    destinations = target.run(lambda: [to_asyncio_future(s, loop=target.loop) for s in sources])
    errors = [Boom(i) for i in range(300)]
    with capture_logs("futurebridge") as logs:
        half = threading.Event()

        def fail_all() -> None:
            for i, (source, error) in enumerate(zip(sources, errors, strict=True)):
                source.set_exception(error)
                if i == 150:
                    half.set()

        failing = threading.Thread(target=fail_all)
        failing.start()
        assert half.wait(PROMPT)
        target.loop.call_soon_threadsafe(target.loop.stop)
        assert target.stopped.wait(PROMPT)
        failing.join(PROMPT)
        target.close()
        gc.collect()
        delivered = {id(d.exception()) for d in destinations if d.done() and not d.cancelled()}
        logged = [id(e) for e in logs.exceptions()]
    for destination in destinations:
        if destination.done() and not destination.cancelled():
            destination.exception()  # retrieved: asyncio must not report them again
    assert not delivered & set(logged), "an exception was both delivered and logged"
    assert len(logged) == len(set(logged)), "an exception was logged twice"
    assert delivered | set(logged) == {id(e) for e in errors}, "exceptions were dropped"
    return len(delivered), len(logged)


# --- item 6: add_future's callback gets a done future ------------------------------


def test_add_future_of_a_closing_loop_thread_calls_back_with_a_done_future() -> None:
    got: list[asyncio.Future[Any]] = []
    lt = LoopThread(name="closes-under-add-future")
    lt.start()
    ioloop = AsyncIOLoop()
    try:
        source: asyncio.Future[Any] = lt.run(_make_future)

        async def main() -> None:
            called = asyncio.Event()

            def callback(future: asyncio.Future[Any]) -> None:
                got.append(future)
                called.set()

            ioloop.add_future(source, callback)
            await asyncio.to_thread(lt.close)
            await asyncio.wait_for(called.wait(), PROMPT)

        ioloop.run_sync(main)
    finally:
        lt.close()
        ioloop.close()
    (future,) = got
    assert future.done()
    error = future.exception()
    assert isinstance(error, RuntimeError)
    assert "closed while the future was pending" in str(error)


async def _make_future() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


# --- item 7: a bridge nobody can observe holds no memory --------------------------


def test_dropped_bridges_of_a_loop_thread_are_collected() -> None:
    rounds = max(1, soak_rounds(50) // 50)  # 4,000 futures a round
    count = 2000
    with LoopThread(name="bridged") as lt:
        for _ in range(rounds):
            refs = asyncio.run(_bridge_and_drop(lt, count))
            gc.collect()
            alive = sum(ref() is not None for ref in refs)
            assert alive == 0, f"{alive} of {2 * count} futures are still alive"
            assert lt.asyncio_loop not in _outcome.live_bridges()
    print(f"soak: dropped-bridges rounds={rounds} futures={2 * count * rounds} alive=0")


async def _bridge_and_drop(lt: LoopThread, count: int) -> list[weakref.ref[Any]]:
    async def make_many() -> list[asyncio.Future[int]]:
        loop = asyncio.get_running_loop()
        return [loop.create_future() for _ in range(count)]

    sources = await lt.call(make_many)
    destinations = [to_asyncio_future(source) for source in sources]
    await lt.call(asyncio.sleep, 0)  # every bridge attached on the source loop
    refs: list[weakref.ref[Any]] = [weakref.ref(f) for f in (*sources, *destinations)]
    assert len(_outcome.bridges[lt.asyncio_loop]) == count  # pyright: ignore[reportPrivateUsage]
    del sources, destinations
    return refs


def test_a_bridge_someone_waits_on_stays_alive() -> None:
    """The other half of item 7: weak only where nobody can observe it. Here
    the caller drops the source, but a timer on its loop will resolve it and
    the caller waits for the bridged future."""

    async def resolved_later() -> asyncio.Future[int]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        loop.call_later(0.05, future.set_result, 7)
        return future

    async def main() -> int:
        source = await lt.call(resolved_later)
        destination = to_asyncio_future(source)
        del source
        gc.collect()
        return await asyncio.wait_for(destination, PROMPT)

    with LoopThread(name="kept") as lt:
        assert asyncio.run(main()) == 7
        assert lt.asyncio_loop not in _outcome.live_bridges()
