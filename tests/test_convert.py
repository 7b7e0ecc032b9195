"""to_asyncio_future / to_tornado_future / register_adapter: every yieldable kind,
every outcome, both loops (asyncio and uvloop)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import gc
import logging
import threading
import traceback
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterator
from typing import Any

import pytest
import tornado.gen
from tornado.concurrent import Future as TornadoFuture

from futurebridge import register_adapter, to_asyncio_future, to_tornado_future

Run = Callable[[Coroutine[Any, Any, Any]], Any]

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class Boom(Exception):
    pass


def _raise_boom() -> None:
    raise Boom("boom")


async def _double(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


async def _fail_async() -> int:
    await asyncio.sleep(0)
    _raise_boom()
    return 0


@tornado.gen.coroutine
def _legacy(x: int) -> Generator[Any, Any, Any]:
    yield tornado.gen.moment
    nested = yield [_double(x), None, {"k": _double(1)}]
    raise tornado.gen.Return((x, nested))


@tornado.gen.coroutine
def _legacy_fail() -> Generator[Any, Any, Any]:
    yield tornado.gen.moment
    _raise_boom()


class _AwaitableThing:
    def __init__(self, value: int) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, None, int]:
        return _double(self.value).__await__()


@pytest.fixture
def other_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A second asyncio loop running on its own thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="other-loop")
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def _on(loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run_coroutine_threadsafe(coro, loop).result(10)


# --- 1. asyncio futures and tasks on the target loop ---------------------------


def test_future_on_target_loop_is_returned_as_is(run: Run) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        task = loop.create_task(_double(1))
        assert to_asyncio_future(future) is future
        assert to_asyncio_future(task) is task
        assert to_asyncio_future(future, loop=loop) is future
        assert to_tornado_future(task) is task
        future.set_result(1)
        assert await task == 2

    run(main())


# --- 2. coroutines and other awaitables ----------------------------------------


def test_coroutine_becomes_task_on_target_loop(run: Run) -> None:
    async def main() -> None:
        future = to_asyncio_future(_double(21))
        assert isinstance(future, asyncio.Task)
        assert future.get_loop() is asyncio.get_running_loop()
        assert await future == 42

    run(main())


def test_coroutine_runs_in_copy_of_callers_context(run: Run) -> None:
    async def body() -> str:
        seen = request_id.get()
        request_id.set("changed inside")
        return seen

    async def main() -> None:
        request_id.set("caller")
        assert await to_asyncio_future(body()) == "caller"
        assert request_id.get() == "caller"

    run(main())


def test_object_with_await(run: Run) -> None:
    async def main() -> None:
        assert await to_asyncio_future(_AwaitableThing(4)) == 8

    run(main())


def test_exception_keeps_original_traceback(run: Run) -> None:
    async def main() -> None:
        with pytest.raises(Boom) as info:
            await to_asyncio_future(_fail_async())
        frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
        assert "_fail_async" in frames
        assert "_raise_boom" in frames

    run(main())


# --- 3. Tornado futures from @gen.coroutine -------------------------------------


def test_gen_coroutine_future(run: Run) -> None:
    async def main() -> None:
        legacy = _legacy(3)
        converted = to_asyncio_future(legacy)
        assert converted is legacy  # a Tornado future is an asyncio future
        assert await converted == (3, [6, None, {"k": 2}])

    run(main())


def test_gen_coroutine_exception_traceback(run: Run) -> None:
    async def main() -> None:
        with pytest.raises(Boom) as info:
            await to_asyncio_future(_legacy_fail())
        frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
        assert "_raise_boom" in frames

    run(main())


# --- 4. concurrent.futures.Future ------------------------------------------------


def test_concurrent_future_result_and_exception(run: Run) -> None:
    async def main() -> None:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            assert await to_asyncio_future(pool.submit(sum, [1, 2, 3])) == 6
            with pytest.raises(Boom) as info:
                await to_asyncio_future(pool.submit(_raise_boom))
            frames = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
            assert "_raise_boom" in frames

    run(main())


def test_done_concurrent_future_needs_no_thread_hop(run: Run) -> None:
    async def main() -> None:
        done: concurrent.futures.Future[str] = concurrent.futures.Future()
        done.set_result("ready")
        converted = to_asyncio_future(done)
        assert converted.done()
        assert converted.result() == "ready"

    run(main())


def test_concurrent_future_outcome_arrives_on_target_loop(run: Run) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        seen: list[bool] = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            converted = to_asyncio_future(pool.submit(lambda: 5))
            converted.add_done_callback(lambda _: seen.append(loop.is_running()))
            assert await converted == 5
        await asyncio.sleep(0)
        assert seen == [True]

    run(main())


def test_process_pool_future(run: Run) -> None:
    async def main() -> None:
        with concurrent.futures.ProcessPoolExecutor(max_workers=1) as pool:
            assert await to_asyncio_future(pool.submit(pow, 2, 10)) == 1024

    run(main())


def test_cancelling_asyncio_side_cancels_unstarted_concurrent_future(run: Run) -> None:
    async def main() -> None:
        gate = threading.Event()
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            blocker = pool.submit(gate.wait, 10)
            queued = pool.submit(lambda: "should never run")
            converted = to_asyncio_future(queued)
            converted.cancel()
            await asyncio.sleep(0)
            assert queued.cancelled()
            gate.set()
            assert await to_asyncio_future(blocker) is True

    run(main())


def test_cancelled_concurrent_future_cancels_asyncio_side(run: Run) -> None:
    async def main() -> None:
        source: concurrent.futures.Future[int] = concurrent.futures.Future()
        converted = to_asyncio_future(source)
        source.cancel()
        with pytest.raises(asyncio.CancelledError):
            await converted
        assert converted.cancelled()

    run(main())


# --- 5. None and gen.moment ---------------------------------------------------------


def test_none_is_awaitable(run: Run) -> None:
    async def main() -> None:
        # One loop iteration, as gen.moment (test_decorators checks the order).
        converted = to_asyncio_future(None)
        assert await converted is None
        assert await to_tornado_future(None) is None

    run(main())


def test_moment_lets_the_loop_run_once(run: Run) -> None:
    async def main() -> None:
        order: list[str] = []
        asyncio.get_running_loop().call_soon(order.append, "callback")
        converted = to_asyncio_future(tornado.gen.moment)
        assert not converted.done()
        assert await converted is None
        order.append("after moment")
        assert order == ["callback", "after moment"]

    run(main())


# --- 6. lists, tuples and dicts ----------------------------------------------------


def test_aggregates_keep_order_keys_and_nesting(run: Run) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        slow: asyncio.Future[str] = loop.create_future()
        loop.call_later(0.01, slow.set_result, "slow")
        assert await to_asyncio_future([slow, _double(1), None]) == ["slow", 2, None]
        assert await to_asyncio_future((_double(2), _double(3))) == [4, 6]
        assert await to_asyncio_future({"b": _double(1), "a": [_double(2)]}) == {
            "b": 2,
            "a": [4],
        }
        assert list(await to_asyncio_future({"z": None, "y": None, "x": None})) == ["z", "y", "x"]
        assert await to_asyncio_future([]) == []
        assert await to_asyncio_future({}) == {}

    run(main())


def test_cancelling_aggregate_cancels_every_child(run: Run) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        first: asyncio.Future[None] = loop.create_future()
        task = loop.create_task(asyncio.sleep(10))
        aggregate = to_asyncio_future({"a": [first], "b": task})
        await asyncio.sleep(0)
        aggregate.cancel()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert first.cancelled()
        assert task.cancelled()

    run(main())


def test_first_exception_wins_and_later_ones_are_logged(
    run: Run, caplog: pytest.LogCaptureFixture
) -> None:
    class Late(Exception):
        pass

    async def fail_late() -> None:
        await asyncio.sleep(0.01)
        raise Late("late")

    async def main() -> None:
        aggregate = to_asyncio_future([_fail_async(), fail_late()])
        with pytest.raises(Boom):
            await aggregate
        await asyncio.sleep(0.05)

    with caplog.at_level(logging.ERROR, logger="tornado.application"):
        run(main())
    logged = [r for r in caplog.records if r.name == "tornado.application"]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert isinstance(logged[0].exc_info[1], Late)


def test_cancelled_child_fails_the_aggregate(run: Run) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        child: asyncio.Future[int] = loop.create_future()
        aggregate = to_asyncio_future([child])
        child.cancel()
        with pytest.raises(asyncio.CancelledError):
            await aggregate

    run(main())


def test_bad_element_starts_nothing(run: Run) -> None:
    async def main() -> None:
        coro = _double(1)
        tasks_before = len(asyncio.all_tasks())
        with pytest.raises(TypeError, match=r"cannot convert an int"):
            to_asyncio_future([coro, {"deep": [42]}])
        assert len(asyncio.all_tasks()) == tasks_before
        coro.close()  # still the caller's: nothing consumed it

    run(main())


# --- 7. futures of another loop on another thread ---------------------------------


def test_future_of_another_loop_result(run: Run, other_loop: asyncio.AbstractEventLoop) -> None:
    async def produce() -> str:
        await asyncio.sleep(0.01)
        return threading.current_thread().name

    async def main() -> None:
        source = _on(other_loop, _start(produce()))
        assert await to_asyncio_future(source) == "other-loop"

    run(main())


async def _start(coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
    return asyncio.get_running_loop().create_task(coro)


async def _make_future() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


def test_future_of_another_loop_exception(run: Run, other_loop: asyncio.AbstractEventLoop) -> None:
    async def main() -> None:
        source = _on(other_loop, _start(_fail_async()))
        with pytest.raises(Boom):
            await to_asyncio_future(source)

    run(main())


def test_cancel_crosses_back_to_source_thread(
    run: Run, other_loop: asyncio.AbstractEventLoop
) -> None:
    cancelled_on: list[str] = []

    async def wait_forever() -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            cancelled_on.append(threading.current_thread().name)
            raise

    async def main() -> None:
        source = _on(other_loop, _start(wait_forever()))
        converted = to_asyncio_future(source)
        await asyncio.sleep(0.01)
        converted.cancel()
        for _ in range(100):
            if source.done():
                break
            await asyncio.sleep(0.01)
        assert source.cancelled()

    run(main())
    assert cancelled_on == ["other-loop"]


def test_cancelled_source_cancels_converted(
    run: Run, other_loop: asyncio.AbstractEventLoop
) -> None:
    async def main() -> None:
        source = _on(other_loop, _make_future())
        converted = to_asyncio_future(source)
        other_loop.call_soon_threadsafe(source.cancel)
        with pytest.raises(asyncio.CancelledError):
            await converted
        assert converted.cancelled()

    run(main())


def test_done_future_of_another_loop_is_copied(
    run: Run, other_loop: asyncio.AbstractEventLoop
) -> None:
    async def done() -> int:
        return 7

    async def main() -> None:
        source = _on(other_loop, _start(done()))
        _on(other_loop, asyncio.wait([source]))
        converted = to_asyncio_future(source)
        assert converted.done()
        assert converted.result() == 7

    run(main())


def test_pending_future_of_closed_loop_is_refused(run: Run) -> None:
    closed = asyncio.new_event_loop()
    orphan = closed.create_future()
    closed.close()

    async def main() -> None:
        with pytest.raises(RuntimeError, match="closed"):
            to_asyncio_future(orphan)

    run(main())


def test_target_loop_on_another_thread(run: Run, other_loop: asyncio.AbstractEventLoop) -> None:
    async def where() -> str:
        return f"{request_id.get()} on {threading.current_thread().name}"

    async def main() -> None:
        request_id.set("caller")
        there = to_asyncio_future(where(), loop=other_loop)
        assert there.get_loop() is other_loop
        assert await to_asyncio_future(there) == "caller on other-loop"

    run(main())


# --- 8. register_adapter and Twisted ------------------------------------------------


class _Promise:
    def __init__(self, value: int) -> None:
        self.value = value


class _SubPromise(_Promise):
    pass


async def _promise_value(promise: _Promise) -> int:
    await asyncio.sleep(0)
    return promise.value


def test_register_adapter(run: Run) -> None:
    register_adapter(_Promise, _promise_value)

    async def main() -> None:
        assert await to_asyncio_future(_Promise(3)) == 3
        assert await to_asyncio_future(_SubPromise(4)) == 4  # most specific class in MRO
        assert await to_asyncio_future([_Promise(1), {"x": _Promise(2)}]) == [1, {"x": 2}]

    run(main())


def test_adapter_must_return_something_else(run: Run) -> None:
    class Loopy:
        pass

    register_adapter(Loopy, lambda obj: obj)  # type: ignore[arg-type, return-value]  # pyright: ignore[reportArgumentType]

    async def main() -> None:
        with pytest.raises(TypeError, match="must return a different awaitable"):
            to_asyncio_future(Loopy())  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]

    run(main())


def test_register_adapter_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match="needs a class"):
        register_adapter(42, _promise_value)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    with pytest.raises(TypeError, match="needs a callable"):
        register_adapter(_Promise, 42)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def test_twisted_deferred(run: Run) -> None:
    from twisted.internet.defer import CancelledError as DeferredCancelled
    from twisted.internet.defer import Deferred

    async def main() -> None:
        loop = asyncio.get_running_loop()
        ok: Deferred[str] = Deferred()
        loop.call_soon(ok.callback, "from twisted")
        assert await to_asyncio_future(ok) == "from twisted"

        failing: Deferred[str] = Deferred()
        loop.call_soon(failing.errback, Boom("twisted boom"))
        with pytest.raises(Boom):
            await to_asyncio_future(failing)

        pending: Deferred[str] = Deferred()
        errors: list[BaseException] = []
        pending.addErrback(lambda failure: errors.append(failure.value))
        converted = to_asyncio_future(pending)
        await asyncio.sleep(0)
        converted.cancel()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert len(errors) == 1
        assert isinstance(errors[0], DeferredCancelled)

        # Cancelled before the loop ran the adapter at all: still cancelled.
        early: Deferred[str] = Deferred()
        early_errors: list[BaseException] = []
        early.addErrback(lambda failure: early_errors.append(failure.value))
        to_asyncio_future(early).cancel()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert len(early_errors) == 1
        assert isinstance(early_errors[0], DeferredCancelled)

    run(main())


def test_kind_registered_with_tornado_convert_yielded(run: Run) -> None:
    class TornadoKnows:
        pass

    async def answer() -> str:
        return "via tornado's registry"

    def convert(obj: TornadoKnows) -> Awaitable[str]:
        return asyncio.ensure_future(answer())

    tornado.gen.convert_yielded.register(TornadoKnows)(convert)  # type: ignore[attr-defined]  # pyright: ignore[reportFunctionMemberAccess, reportUnknownMemberType]

    async def main() -> None:
        assert await to_asyncio_future(TornadoKnows()) == "via tornado's registry"  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]

    run(main())


# --- errors ------------------------------------------------------------------------------


def test_no_running_loop_says_pass_loop() -> None:
    with pytest.raises(RuntimeError, match="pass loop="):
        to_asyncio_future(None)


def test_closed_target_loop() -> None:
    loop = asyncio.new_event_loop()
    loop.close()
    with pytest.raises(RuntimeError, match="closed event loop"):
        to_asyncio_future(None, loop=loop)


def test_unsupported_object_names_its_type_and_the_remedy(run: Run) -> None:
    def make_gen() -> Generator[None, None, None]:
        yield

    async def main() -> None:
        with pytest.raises(TypeError, match=r"cannot convert an int .*register_adapter"):
            to_asyncio_future(42)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
        with pytest.raises(TypeError, match="bare generator"):
            to_asyncio_future(make_gen())  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]
        with pytest.raises(TypeError, match="call it first"):
            to_asyncio_future(_double)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]

    run(main())


def test_loop_argument_must_be_a_loop(run: Run) -> None:
    async def main() -> None:
        with pytest.raises(TypeError, match="loop= must be an asyncio event loop"):
            to_asyncio_future(None, loop="nope")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]

    run(main())


def test_to_tornado_future_outside_a_loop() -> None:
    loop = asyncio.new_event_loop()
    try:
        future: TornadoFuture[int] = loop.create_future()
        assert to_tornado_future(future) is future
        coro = _double(1)
        with pytest.raises(RuntimeError, match="no running event loop"):
            to_tornado_future(coro)
        coro.close()
    finally:
        loop.close()


def test_to_tornado_future_for_legacy_code(run: Run) -> None:
    @tornado.gen.coroutine
    def legacy() -> Generator[Any, Any, Any]:
        value = yield to_tornado_future(_double(5))
        return value

    async def main() -> None:
        assert await legacy() == 10

    run(main())


# --- no reference cycles ------------------------------------------------------------


def test_no_reference_cycle_per_conversion(run: Run) -> None:
    async def conversions() -> None:
        loop = asyncio.get_running_loop()
        done: asyncio.Future[int] = loop.create_future()
        done.set_result(1)
        cf: concurrent.futures.Future[int] = concurrent.futures.Future()
        cf.set_result(2)
        await to_asyncio_future(done)
        await to_asyncio_future(_double(1))
        await to_asyncio_future(cf)
        await to_asyncio_future(None)
        await to_asyncio_future(tornado.gen.moment)
        await to_asyncio_future([_double(1), {"a": None}])
        await to_asyncio_future(_AwaitableThing(1))

    async def main() -> int:
        await conversions()  # warm up caches
        gc.collect()
        gc.disable()
        try:
            for _ in range(20):
                await conversions()
            return gc.collect()
        finally:
            gc.enable()

    assert run(main()) == 0


# --- finding the running loop ----------------------------------------------------


def test_running_loop_is_found_afresh_after_a_loop_switch(
    loop_factory: Callable[[], asyncio.AbstractEventLoop],
    other_loop: asyncio.AbstractEventLoop,
) -> None:
    async def convert_here() -> asyncio.AbstractEventLoop:
        return to_asyncio_future(_double(1)).get_loop()

    async def convert_future_here() -> bool:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        return to_asyncio_future(future) is future

    # Seen last on another thread's loop, then on two loops in turn here.
    assert _on(other_loop, convert_here()) is other_loop
    for _ in range(2):
        loop = loop_factory()
        try:
            assert loop.run_until_complete(convert_here()) is loop
            assert loop.run_until_complete(convert_future_here())
        finally:
            loop.close()
    with pytest.raises(RuntimeError, match="no running event loop"):
        to_asyncio_future(None)


def test_closing_a_never_started_source_loop_fails_the_waiter(run: Run) -> None:
    # Regression: the bridge used to register itself from a callback queued on
    # the source loop, which never ran, so closing that loop left the waiter
    # waiting forever.
    from futurebridge import AsyncIOLoop

    source_ioloop = AsyncIOLoop()
    orphan: asyncio.Future[int] = source_ioloop.asyncio_loop.create_future()

    async def main() -> None:
        converted = to_asyncio_future(orphan)
        source_ioloop.close()
        with pytest.raises(RuntimeError, match="was closed while the future was pending"):
            await asyncio.wait_for(converted, 10)

    run(main())
