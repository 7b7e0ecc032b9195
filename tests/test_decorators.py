"""@as_asyncio and @as_tornado: every kind of function, every outcome,
cancellation, contextvars, metadata and misuse, on asyncio and uvloop."""

from __future__ import annotations

import abc
import asyncio
import concurrent.futures
import contextlib
import contextvars
import dataclasses
import functools
import gc
import inspect
import logging
import os
import threading
import traceback
import weakref
from collections.abc import Callable, Coroutine, Generator
from typing import Any, cast

import pytest
import tornado.gen
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from tornado.concurrent import Future as TornadoFuture
from tornado.ioloop import IOLoop

import futurebridge._decorators as _decorators_module
from futurebridge import as_asyncio, as_tornado
from futurebridge._asyncio_internals import PRIVATE_PATHS

Run = Callable[[Coroutine[Any, Any, Any]], Any]

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# Typed as Any: Tornado declares gen.moment as Future[Any], which it is not.
moment: Any = getattr(tornado.gen, "moment")


class Boom(Exception):
    pass


def _raise_boom() -> None:
    raise Boom("boom")


async def _double(x: int) -> int:
    await asyncio.sleep(0)
    return 2 * x


def _done(value: Any) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_result(value)
    return future


async def _ticks(n: int) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


# --- as_asyncio: what it accepts ------------------------------------------------


@as_asyncio
def legacy_add(x: int) -> Generator[Any, Any, int]:
    """Add one, the legacy way."""
    a = yield _done(x)
    b = yield tornado.gen.moment
    c = yield None
    assert b is None
    assert c is None
    return a + 1


@as_asyncio
def legacy_gen_return(x: int) -> Generator[Any, Any, int]:
    yield moment
    raise tornado.gen.Return(x * 10)


@as_asyncio
def legacy_aggregates() -> Generator[Any, Any, Any]:
    listed = yield [_double(1), _done(5), None]
    keyed = yield {"a": _double(2), "b": tornado.gen.sleep(0)}
    multi = yield tornado.gen.multi([_double(3), _double(4)])
    return listed, keyed, multi


def test_legacy_generator_sends_results_back(run: Run) -> None:
    async def main() -> None:
        assert await legacy_add(1) == 2
        assert await legacy_gen_return(2) == 20
        assert await legacy_aggregates() == ([2, 5, None], {"a": 4, "b": None}, [6, 8])

    run(main())


def test_every_yieldable_kind_a_function_may_return(run: Run) -> None:
    from twisted.internet.defer import Deferred

    @tornado.gen.coroutine
    def old(x: int) -> Generator[Any, Any, int]:
        yield moment
        return x + 100

    executor = concurrent.futures.ThreadPoolExecutor(1)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        deferred: Deferred[str] = Deferred()
        loop.call_soon(deferred.callback, "deferred")
        kinds: list[tuple[Callable[[], Any], Any]] = [
            (lambda: old(1), 101),
            (lambda: _done("tornado future"), "tornado future"),
            (lambda: executor.submit(lambda: "from a thread"), "from a thread"),
            (lambda: deferred, "deferred"),
            (lambda: [_double(1), _done(2)], [2, 2]),
            (lambda: {"k": _double(3)}, {"k": 6}),
            (lambda: None, None),
            (lambda: _double(5), 10),
            (lambda: tornado.gen.sleep(0), None),
        ]
        for make, expected in kinds:
            assert await as_asyncio(make)() == expected

    try:
        run(main())
    finally:
        executor.shutdown()


def test_result_is_a_coroutine_function_for_every_kind() -> None:
    async def native() -> int:
        return 1

    def generator() -> Generator[Any, Any, int]:
        yield None
        return 1

    def plain() -> asyncio.Future[int]:
        raise AssertionError("not called")

    kinds: list[Callable[..., Any]] = [
        native,
        generator,
        plain,
        tornado.gen.coroutine(generator),
        functools.partial(native),
        functools.partial(generator),
        as_asyncio(native),
    ]
    for fn in kinds:
        wrapped = as_asyncio(fn)
        assert inspect.iscoroutinefunction(wrapped), fn


@pytest.mark.asyncio
async def test_result_is_accepted_by_create_task_and_ensure_future() -> None:
    assert await asyncio.create_task(legacy_add(4)) == 5
    assert await asyncio.ensure_future(legacy_gen_return(1)) == 10


def test_ioloop_run_sync_accepts_the_result() -> None:
    io_loop = IOLoop(make_current=False)
    try:
        assert io_loop.run_sync(functools.partial(legacy_add, 9)) == 10
    finally:
        io_loop.close()


def test_async_def_is_called_exactly_as_before(run: Run) -> None:
    calls: list[tuple[Any, ...]] = []

    async def native(x: int, *args: int, y: int = 2, **kwargs: int) -> int:
        calls.append((x, args, y, kwargs))
        await asyncio.sleep(0)
        return x + y

    wrapped = as_asyncio(native)

    async def main() -> None:
        assert await wrapped(1) == 3
        assert await wrapped(1, 5, 6, y=3, z=4) == 4
        assert calls == [(1, (), 2, {}), (1, (5, 6), 3, {"z": 4})]

    run(main())
    assert wrapped is not native
    assert wrapped.__wrapped__ is native  # type: ignore[attr-defined]


# --- as_asyncio: outcomes -------------------------------------------------------


def test_exception_at_a_yield_is_thrown_back_in(run: Run) -> None:
    @as_asyncio
    def catches() -> Generator[Any, Any, str]:
        try:
            yield _double_then_fail()
        except Boom as exc:
            caught = str(exc)
        again = yield _done("after")
        return f"{caught} {again}"

    async def _double_then_fail() -> None:
        await asyncio.sleep(0)
        _raise_boom()

    async def main() -> None:
        assert await catches() == "boom after"

    run(main())


def test_exception_escapes_with_its_traceback(run: Run) -> None:
    @as_asyncio
    def fails() -> Generator[Any, Any, None]:
        yield moment
        _raise_boom()

    async def main() -> None:
        with pytest.raises(Boom) as info:
            await fails()
        names = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
        assert names[-2:] == ["fails", "_raise_boom"]

    run(main())


def test_bad_yield_is_thrown_in_as_type_error(run: Run) -> None:
    @as_asyncio
    def bad_then_recovers() -> Generator[Any, Any, str]:
        try:
            yield 42
        except TypeError as exc:
            return str(exc)
        return "not reached"

    async def main() -> None:
        message = await bad_then_recovers()
        assert "cannot convert an int" in message

    run(main())


def test_done_future_needs_no_loop_round_trip(run: Run) -> None:
    @as_asyncio
    def many_done() -> Generator[Any, Any, int]:
        total = 0
        for i in range(100):
            total += yield _done(i)
        return total

    async def main() -> None:
        ran: list[bool] = []
        asyncio.get_running_loop().call_soon(ran.append, True)
        assert await many_done() == sum(range(100))
        # The loop never got control: the callback scheduled first has not run.
        assert ran == []

    run(main())


# --- as_asyncio: cancellation ---------------------------------------------------


def test_cancel_throws_into_generator_and_cancels_its_future(run: Run) -> None:
    events: list[str] = []
    gate: list[asyncio.Future[None]] = []

    @as_asyncio
    def waits() -> Generator[Any, Any, None]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        gate.append(future)
        try:
            yield future
            events.append("resumed")
        except asyncio.CancelledError:
            events.append("cancelled at yield")
            raise
        finally:
            events.append("finally")

    async def main() -> None:
        task = asyncio.ensure_future(waits())
        await _ticks(2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert gate[0].cancelled()
        assert events == ["cancelled at yield", "finally"]

    run(main())


def test_generator_may_handle_cancellation_and_go_on(run: Run) -> None:
    @as_asyncio
    def stubborn() -> Generator[Any, Any, str]:
        try:
            yield tornado.gen.sleep(3600)
        except asyncio.CancelledError:
            value = yield _double(21)
            return f"cleaned up, {value}"
        return "not reached"

    async def main() -> None:
        task = asyncio.ensure_future(stubborn())
        await _ticks(2)
        task.cancel()
        assert await task == "cleaned up, 42"

    run(main())


def test_tornado_gen_coroutine_keeps_running_where_we_stop(run: Run) -> None:
    """Tornado issue 2990 (still open in 6.6.1): a cancelled gen.coroutine runs on."""

    def body(events: list[str], gate: asyncio.Future[None]) -> Generator[Any, Any, None]:
        try:
            yield gate
            events.append("resumed after cancel")
        finally:
            events.append("finally")

    async def cancel_then_release(
        decorator: Callable[..., Callable[..., Any]],
    ) -> list[str]:
        events: list[str] = []
        gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        decorated = decorator(body)

        async def waiter() -> None:
            await decorated(events, gate)

        task = asyncio.ensure_future(waiter())
        await _ticks(2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        if not gate.done():
            gate.set_result(None)
        await _ticks(3)
        return events

    async def main() -> None:
        tornado_events = await cancel_then_release(tornado.gen.coroutine)
        # Tornado: only the outer future was cancelled; the generator was never
        # told, and ran on past its yield once what it waited for was done.
        assert tornado_events == ["resumed after cancel", "finally"]
        ours = await cancel_then_release(as_asyncio)
        assert ours == ["finally"]

    run(main())


def test_cancel_cancels_returned_tornado_future(run: Run) -> None:
    futures: list[asyncio.Future[int]] = []

    def returns_future() -> asyncio.Future[int]:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        futures.append(future)
        return future

    async def main() -> None:
        task = asyncio.ensure_future(as_asyncio(returns_future)())
        await _ticks(2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert futures[0].cancelled()

    run(main())


def test_cancel_cancels_unstarted_concurrent_future(run: Run) -> None:
    release = threading.Event()
    executor = concurrent.futures.ThreadPoolExecutor(1)
    blocker = executor.submit(release.wait)
    queued: list[concurrent.futures.Future[str]] = []

    @as_asyncio
    def legacy() -> Generator[Any, Any, str]:
        future = executor.submit(lambda: "ran")
        queued.append(future)
        result = yield future
        return result

    async def main() -> None:
        task = asyncio.ensure_future(legacy())
        await _ticks(2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert queued[0].cancelled()

    try:
        run(main())
    finally:
        release.set()
        blocker.result()
        executor.shutdown()


def test_closing_the_coroutine_closes_the_generator(run: Run) -> None:
    events: list[str] = []

    @as_asyncio
    def waits() -> Generator[Any, Any, None]:
        try:
            yield tornado.gen.sleep(3600)
        finally:
            events.append("closed")

    async def main() -> None:
        coro = waits()
        # Start it by hand, then close it as the garbage collector would.
        future = coro.send(None)
        coro.close()
        assert events == ["closed"]
        future.cancel()

    run(main())


# --- as_asyncio: contextvars ----------------------------------------------------


def test_generator_runs_in_a_copy_of_the_callers_context(run: Run) -> None:
    seen: list[str] = []

    async def child() -> str:
        return request_id.get()

    @as_asyncio
    def legacy() -> Generator[Any, Any, str]:
        seen.append(request_id.get())
        request_id.set("inside")
        yield moment
        seen.append(request_id.get())
        from_child = yield child()
        return from_child

    async def main() -> None:
        request_id.set("caller")
        assert await legacy() == "inside"
        assert seen == ["caller", "inside"]
        assert request_id.get() == "caller"

    run(main())


def test_plain_function_runs_in_a_copy_of_the_callers_context(run: Run) -> None:
    def plain() -> asyncio.Future[str]:
        value = request_id.get()
        request_id.set("inside")
        return _done(value)

    async def main() -> None:
        request_id.set("caller")
        assert await as_asyncio(plain)() == "caller"
        assert request_id.get() == "caller"

    run(main())


def test_async_def_shares_the_awaiting_tasks_context_like_any_await(run: Run) -> None:
    async def sets() -> None:
        request_id.set("inside")

    async def main() -> None:
        request_id.set("caller")
        await sets()
        plain_result = request_id.get()
        request_id.set("caller")
        await as_asyncio(sets)()
        assert request_id.get() == plain_result == "inside"

    run(main())


# --- as_tornado ---------------------------------------------------------------------


def test_as_tornado_starts_at_once_up_to_the_first_suspension(run: Run) -> None:
    events: list[str] = []

    @as_tornado
    async def work(x: int) -> int:
        events.append("started")
        await asyncio.sleep(0)
        events.append("resumed")
        return x * 2

    async def main() -> None:
        future = work(21)
        assert isinstance(future, TornadoFuture)
        assert events == ["started"]
        assert not future.done()
        assert await future == 42
        assert events == ["started", "resumed"]

    run(main())


def test_as_tornado_is_done_at_once_without_a_suspension(run: Run) -> None:
    @as_tornado
    async def quick(x: int) -> int:
        return x + 1

    async def main() -> None:
        future = quick(1)
        assert future.done()
        assert future.result() == 2

    run(main())


def test_as_tornado_current_task_is_its_own_from_the_first_step(run: Run) -> None:
    tasks: list[asyncio.Task[Any] | None] = []

    @as_tornado
    async def work() -> str:
        tasks.append(asyncio.current_task())
        # asyncio.timeout() needs the current task, and must not cancel the caller's.
        async with asyncio.timeout(3600):
            await asyncio.sleep(0)
        tasks.append(asyncio.current_task())
        return "ok"

    async def main() -> None:
        caller = asyncio.current_task()
        future = work()
        assert asyncio.current_task() is caller
        assert tasks == [future]
        assert await future == "ok"
        assert tasks == [future, future]

    run(main())


def test_as_tornado_from_legacy_code(run: Run) -> None:
    @as_tornado
    async def work(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    @tornado.gen.coroutine
    def legacy() -> Generator[Any, Any, int]:
        value = yield work(5)
        return value

    async def main() -> None:
        assert await legacy() == 10
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        IOLoop.current().add_future(work(7), lambda f: done.set_result(f.result()))
        assert await done == 14
        assert await work(8) == 16

    run(main())


def test_as_tornado_every_kind(run: Run) -> None:
    def bare(x: int) -> Generator[Any, Any, int]:
        value = yield _double(x)
        return value + 1

    legacy = as_tornado(bare)

    def returns_future() -> asyncio.Future[str]:
        return _done("as is")

    async def main() -> None:
        assert await legacy(2) == 5
        assert await as_tornado(as_asyncio(bare))(3) == 7
        inner = _done("x")
        assert as_tornado(lambda: inner)() is inner
        assert await as_tornado(returns_future)() == "as is"
        assert await as_tornado(lambda: [_double(1), None])() == [2, None]
        assert await as_tornado(lambda: None)() is None

    run(main())


def test_as_tornado_cancel_cancels_the_coroutine(run: Run) -> None:
    events: list[str] = []

    @as_tornado
    async def waits() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    async def main() -> None:
        # Cancelled before the loop ever ran the task, and after.
        for ticks in (0, 2):
            future = waits()
            await _ticks(ticks)
            future.cancel()
            with pytest.raises(asyncio.CancelledError):
                await future
        assert events == ["cancelled", "cancelled"]

    run(main())


def test_as_tornado_cancel_throws_into_a_legacy_generator(run: Run) -> None:
    events: list[str] = []

    @as_tornado
    def legacy() -> Generator[Any, Any, None]:
        try:
            yield tornado.gen.sleep(3600)
        finally:
            events.append("finally")

    async def main() -> None:
        future = legacy()
        await _ticks(2)
        future.cancel()
        with pytest.raises(asyncio.CancelledError):
            await future
        assert events == ["finally"]

    run(main())


def test_as_tornado_cancel_before_first_step_cancels_awaited_future(run: Run) -> None:
    inner: list[asyncio.Future[None]] = []

    @as_tornado
    async def waits() -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        inner.append(future)
        await future

    async def main() -> None:
        future = waits()
        future.cancel()
        with pytest.raises(asyncio.CancelledError):
            await future
        assert inner[0].cancelled()

    run(main())


def test_as_tornado_exception_keeps_its_traceback(run: Run) -> None:
    @as_tornado
    async def fails_at_once() -> None:
        _raise_boom()

    @as_tornado
    async def fails_later() -> None:
        await asyncio.sleep(0)
        _raise_boom()

    @as_tornado
    def plain_fails() -> asyncio.Future[None]:
        _raise_boom()
        raise AssertionError("not reached")

    async def main() -> None:
        for fn, name in (
            (fails_at_once, "fails_at_once"),
            (fails_later, "fails_later"),
            (plain_fails, "plain_fails"),
        ):
            future = fn()
            with pytest.raises(Boom) as info:
                await future
            names = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
            assert names[-2:] == [name, "_raise_boom"]

    run(main())


@pytest.mark.asyncio_errors_expected
def test_as_tornado_unretrieved_exception_is_logged_once(
    run: Run, caplog: pytest.LogCaptureFixture
) -> None:
    @as_tornado
    async def fails_at_once() -> None:
        _raise_boom()

    @as_tornado
    async def fails_later() -> None:
        await asyncio.sleep(0)
        _raise_boom()

    async def main() -> None:
        fails_at_once()
        fails_later()
        await _ticks(3)

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        run(main())
        gc.collect()
    logged = [r for r in caplog.records if r.name == "asyncio"]
    assert len(logged) == 2
    for record in logged:
        assert "exception was never retrieved" in record.getMessage()
        assert record.exc_info is not None
        assert isinstance(record.exc_info[1], Boom)


def test_as_tornado_runs_in_a_copy_of_the_callers_context(run: Run) -> None:
    @as_tornado
    async def work() -> str:
        seen = request_id.get()
        request_id.set("inside")
        await asyncio.sleep(0)
        return f"{seen} {request_id.get()}"

    async def main() -> None:
        request_id.set("caller")
        assert await work() == "caller inside"
        assert request_id.get() == "caller"

    run(main())


# --- both: decoration, methods, metadata --------------------------------------------

DECORATORS = [pytest.param(as_asyncio, id="as_asyncio"), pytest.param(as_tornado, id="as_tornado")]
Decorator = Callable[[Any], Any]


async def _outcome(value: Any) -> Any:
    """Await what an @as_asyncio or an @as_tornado function gave."""
    return await value


@pytest.mark.parametrize("decorator", DECORATORS)
def test_metadata_and_signature_are_kept(decorator: Decorator) -> None:
    async def native(x: int, *, y: str = "") -> str:
        """Native doc."""
        return y * x

    def legacy(x: int, y: int = 2) -> Generator[Any, Any, int]:
        """Legacy doc."""
        yield None
        return x

    def plain(a: str) -> asyncio.Future[str]:
        """Plain doc."""
        raise AssertionError("not called")

    for fn in (native, legacy, plain):
        wrapped = decorator(fn)
        assert wrapped.__name__ == fn.__name__
        assert wrapped.__qualname__ == fn.__qualname__
        assert wrapped.__module__ == fn.__module__
        assert wrapped.__doc__ == fn.__doc__
        assert wrapped.__wrapped__ is fn
        assert inspect.signature(wrapped) == inspect.signature(fn)


@pytest.mark.parametrize("decorator", DECORATORS)
def test_partial_objects(decorator: Decorator, run: Run) -> None:
    async def native(x: int, y: int) -> int:
        """Native doc."""
        await asyncio.sleep(0)
        return x - y

    def legacy(x: int, y: int) -> Generator[Any, Any, int]:
        yield None
        return x * y

    async def main() -> None:
        for fn, expected in ((native, 3), (legacy, 10)):
            partial = functools.partial(fn, 5)
            wrapped = decorator(partial)
            assert wrapped.__name__ == fn.__name__
            assert wrapped.__qualname__ == fn.__qualname__
            assert wrapped.__wrapped__ is partial
            assert inspect.signature(wrapped) == inspect.signature(partial)
            assert await _outcome(wrapped(2)) == expected

    run(main())


@pytest.mark.parametrize("decorator", DECORATORS)
def test_methods_classmethods_and_staticmethods_in_either_order(
    decorator: Decorator, run: Run
) -> None:
    class Service:
        factor = 10

        def __init__(self) -> None:
            self.offset = 1

        @decorator
        async def method(self, x: int) -> int:
            await asyncio.sleep(0)
            return x + self.offset

        @decorator
        def legacy_method(self, x: int) -> Generator[Any, Any, int]:
            value = yield _double(x)
            return value + self.offset

        @classmethod
        @decorator
        async def class_below(cls, x: int) -> int:
            return x * cls.factor

        @decorator
        @classmethod
        def class_above(cls, x: int) -> Generator[Any, Any, int]:
            yield None
            return x * cls.factor

        @staticmethod
        @decorator
        async def static_below(x: int) -> int:
            return -x

        @decorator
        @staticmethod
        async def static_above(x: int) -> int:
            return -x

    async def main() -> None:
        service = Service()
        assert await _outcome(service.method(1)) == 2
        assert await _outcome(service.legacy_method(2)) == 5
        for owner in (service, Service):
            assert await _outcome(owner.class_below(2)) == 20
            assert await _outcome(owner.class_above(3)) == 30
            assert await _outcome(owner.static_below(4)) == -4
            assert await _outcome(owner.static_above(5)) == -5
        assert Service.class_above.__name__ == "class_above"
        assert inspect.signature(service.method) == inspect.signature(
            Service.method.__wrapped__.__get__(service)
        )
        assert isinstance(Service.__dict__["static_above"], staticmethod)
        assert isinstance(Service.__dict__["class_above"], classmethod)
        if decorator is as_asyncio:
            assert inspect.iscoroutinefunction(service.method)
            assert inspect.iscoroutinefunction(Service.class_above)
            assert inspect.iscoroutinefunction(Service.static_above)

    run(main())


@pytest.mark.parametrize("decorator", DECORATORS)
def test_abstract_methods_stay_abstract(decorator: Decorator, run: Run) -> None:
    class Base(abc.ABC):
        @decorator
        @abc.abstractmethod
        async def above(self) -> int: ...

        @abc.abstractmethod
        @decorator
        async def below(self) -> int: ...

        @decorator
        @staticmethod
        @abc.abstractmethod
        async def static() -> int: ...

    class Impl(Base):
        async def above(self) -> int:
            return 1

        async def below(self) -> int:
            return 2

        @staticmethod
        async def static() -> int:
            return 3

    assert Base.__abstractmethods__ == frozenset({"above", "below", "static"})
    with pytest.raises(TypeError, match="abstract"):
        Base()  # type: ignore[abstract]

    async def main() -> None:
        impl = Impl()
        assert (await impl.above(), await impl.below(), await impl.static()) == (1, 2, 3)

    run(main())


@pytest.mark.parametrize("decorator", DECORATORS)
def test_decorating_a_class_or_a_non_callable_fails_at_once(decorator: Decorator) -> None:
    name = decorator.__name__

    class Thing:
        pass

    with pytest.raises(TypeError, match=rf"@{name} cannot decorate a class \(.*Thing\)"):
        decorator(Thing)
    with pytest.raises(TypeError, match=rf"@{name} decorates a function.*got an int"):
        decorator(3)
    with pytest.raises(TypeError, match=rf"@{name} decorates a function.*got a str"):
        decorator(staticmethod("not callable"))

    async def agen() -> Any:
        yield 1

    with pytest.raises(TypeError, match=rf"@{name} cannot decorate the async generator"):
        decorator(agen)


@pytest.mark.parametrize("decorator", DECORATORS)
def test_keyword_arguments_never_collide_with_ours(decorator: Decorator, run: Run) -> None:
    def legacy(
        fn: int, func: int, context: int, loop: int, decorator: int, args: int
    ) -> Generator[Any, Any, int]:
        yield None
        return fn + func + context + loop + decorator + args

    async def native(fn: int, func: int, context: int, loop: int, decorator: int, args: int) -> int:
        return fn + func + context + loop + decorator + args

    names = {"fn": 1, "func": 2, "context": 3, "loop": 4, "decorator": 5, "args": 6}

    async def main() -> None:
        for target in (legacy, native):
            assert await _outcome(decorator(target)(**names)) == 21

    run(main())


@pytest.mark.parametrize("decorator", DECORATORS)
def test_generator_decorated_methods_use_self(decorator: Decorator, run: Run) -> None:
    class Counter:
        def __init__(self) -> None:
            self.count = 0

        @decorator
        def bump(self) -> Generator[Any, Any, int]:
            self.count += 1
            yield moment
            self.count += 1
            return self.count

    async def main() -> None:
        counter = Counter()
        assert await _outcome(counter.bump()) == 2

    run(main())


def test_no_reference_cycle_per_call(run: Run) -> None:
    @as_asyncio
    def legacy() -> Generator[Any, Any, int]:
        value = yield _done(1)
        with contextlib.suppress(Boom):
            yield _fails()
        return value

    @as_tornado
    async def started() -> int:
        await asyncio.sleep(0)
        return 2

    @as_tornado
    async def quick() -> int:
        return 3

    async def _fails() -> None:
        _raise_boom()

    @as_tornado
    async def fails_at_once() -> None:
        _raise_boom()

    @as_tornado
    async def fails_later() -> None:
        await asyncio.sleep(0)
        _raise_boom()

    async def calls() -> None:
        for fails in (fails_at_once, fails_later, as_asyncio(fails_later)):
            with contextlib.suppress(Boom):
                await fails()
        assert await legacy() == 1
        assert await started() == 2
        assert await quick() == 3
        assert await as_asyncio(started)() == 2

    async def main() -> int:
        await calls()  # warm up caches
        gc.collect()
        gc.disable()
        try:
            for _ in range(20):
                await calls()
            return gc.collect()
        finally:
            gc.enable()

    assert run(main()) == 0


def test_as_tornado_leaves_nothing_pending_when_done_at_once(loop_factory: Any) -> None:
    @as_tornado
    async def quick() -> int:
        return 1

    async def main() -> int:
        # The loop stops after this step: nothing scheduled by it will run.
        asyncio.get_running_loop().stop()
        return await quick()

    loop = loop_factory()
    try:
        assert loop.run_until_complete(main()) == 1
    finally:
        # Closed without cancelling leftover tasks: any left pending would be
        # reported as "Task was destroyed but it is pending" when collected.
        loop.close()
    gc.collect()


def test_on_futurebridges_own_ioloop() -> None:
    from futurebridge import AsyncIOLoop

    events: list[str] = []

    @as_tornado
    async def started(x: int) -> int:
        events.append("started")
        await asyncio.sleep(0)
        return x + 1

    @as_asyncio
    def legacy(x: int) -> Generator[Any, Any, int]:
        value = yield started(x)
        try:
            events.append("legacy waits")
            yield tornado.gen.sleep(3600)
        finally:
            events.append("legacy finally")
        return value

    @tornado.gen.coroutine
    def caller() -> Generator[Any, Any, tuple[int, bool]]:
        done: TornadoFuture[int] = TornadoFuture()
        IOLoop.current().add_future(started(1), lambda f: done.set_result(f.result()))
        first = yield done
        task = asyncio.ensure_future(legacy(5))
        while "legacy waits" not in events:
            yield moment
        task.cancel()
        try:
            yield task
        except asyncio.CancelledError:
            return first, True
        return first, False

    io_loop = AsyncIOLoop()
    try:
        assert io_loop.run_sync(caller) == (2, True)
    finally:
        io_loop.close(all_fds=True)
    assert events == ["started", "started", "legacy waits", "legacy finally"]


def test_as_tornado_cancelled_at_once_gives_a_cancelled_future(run: Run) -> None:
    @as_tornado
    async def gives_up() -> None:
        raise asyncio.CancelledError

    @as_tornado
    def plain_gives_up() -> None:
        raise asyncio.CancelledError

    async def main() -> None:
        for fn in (gives_up, plain_gives_up):
            future = fn()
            assert future.cancelled()

    run(main())


# --- a drop-in for @gen.coroutine (issue 13) ----------------------------------------
# Each test names the item of issue 13 it checks; each failed before the change
# that made the decorators accept what @gen.coroutine accepts.

BOTH = [pytest.param(as_asyncio, id="as_asyncio"), pytest.param(as_tornado, id="as_tornado")]


class _Stream:
    """Not a yieldable: a stand-in for the IOStream pair Tornado's tests return."""


@pytest.mark.parametrize("decorator", BOTH)
def test_plain_return_value_is_the_result(decorator: Decorator, run: Run) -> None:
    # Item 1: make_iostream_pair() returns a tuple of two streams.
    pair = (_Stream(), _Stream())
    returned: list[Any] = [42, pair, {"a": 1}, [1, "two"], [], {}, "text", None]

    def make(value: Any) -> Any:
        @decorator
        def plain() -> Any:
            return value

        return plain

    async def main() -> None:
        for value in returned:
            result = await make(value)()
            assert result is value or (result == value and type(result) is type(value))
        assert await make(pair)() is pair

    run(main())


@pytest.mark.parametrize("decorator", BOTH)
def test_a_returned_yieldable_is_still_waited_for(decorator: Decorator, run: Run) -> None:
    # What futurebridge always did, and what the types promise: a returned
    # future, coroutine or list of them gives its outcome.
    @decorator
    def returns_future() -> asyncio.Future[int]:
        return _done(7)

    @decorator
    def returns_list() -> list[Coroutine[Any, Any, int]]:
        return [_double(1), _double(2)]

    async def main() -> None:
        assert await returns_future() == 7
        assert await returns_list() == [2, 4]

    run(main())


@pytest.mark.parametrize("decorator", BOTH)
def test_gen_return_without_yield(decorator: Decorator, run: Run) -> None:
    # Item 4: the Python 2-era way to return from a function with no yield.
    @decorator
    def old_style(x: int) -> Any:
        raise tornado.gen.Return(x * 2)

    async def main() -> None:
        assert await old_style(21) == 42

    run(main())


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_as_tornado_with_no_running_loop_starts_on_ioloop_current(loop_kind: str) -> None:
    # Item 2: future = f(); io_loop.add_future(future, cb); io_loop.start().
    from tests.conftest import LOOP_FACTORIES

    events: list[str] = []

    @as_tornado
    def legacy(x: int) -> Generator[Any, Any, int]:
        events.append("legacy started")
        yield moment
        events.append("legacy resumed")
        return x + 1

    @as_tornado
    async def modern(x: int) -> int:
        events.append("modern started")
        await asyncio.sleep(0)
        return x * 2

    loop = LOOP_FACTORIES[loop_kind]()
    asyncio.set_event_loop(loop)
    io_loop = IOLoop.current()
    try:
        first = legacy(1)
        # As under @gen.coroutine: the body runs up to its first yield at once.
        assert events == ["legacy started"]
        second = modern(2)
        assert first.get_loop() is loop
        assert second.get_loop() is loop
        io_loop.add_future(tornado.gen.multi([first, second]), lambda _: io_loop.stop())
        io_loop.start()
        assert (first.result(), second.result()) == (2, 4)
        assert sorted(events) == ["legacy resumed", "legacy started", "modern started"]
    finally:
        io_loop.close()
        asyncio.set_event_loop(None)


@pytest.mark.parametrize("decorator", BOTH)
def test_yield_none_and_bare_yield_let_the_loop_run(decorator: Decorator, run: Run) -> None:
    # Item 3: Tornado documents both as gen.moment; a polling loop must not spin.
    flags: dict[str, bool] = {"none": False, "bare": False}

    @decorator
    def wait_for(name: str, bare: bool) -> Generator[Any, Any, int]:
        polls = 0
        while not flags[name]:
            polls += 1
            if polls > 1000:
                raise AssertionError("the loop never ran")
            if bare:
                yield
            else:
                yield None
        return polls

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.call_soon(flags.__setitem__, "none", True)
        loop.call_soon(flags.__setitem__, "bare", True)
        assert await wait_for("none", False) == 1
        assert await wait_for("bare", True) == 0

    run(main())


def test_to_asyncio_future_of_none_is_one_loop_iteration(run: Run) -> None:
    # Item 3: what to_asyncio_future(None) means, as Tornado's convert_yielded(None).
    from futurebridge import to_asyncio_future

    async def main() -> None:
        ran: list[bool] = []
        asyncio.get_running_loop().call_soon(ran.append, True)
        future = to_asyncio_future(None)
        assert not future.done()
        assert await future is None
        assert ran == [True]

    run(main())


@pytest.mark.parametrize("decorator", BOTH)
def test_bad_yield_is_both_bad_yield_error_and_type_error(decorator: Decorator, run: Run) -> None:
    # Item 5: user code catches gen.BadYieldError.
    caught: list[BaseException] = []

    @decorator
    def yields_an_int() -> Generator[Any, Any, str]:
        try:
            yield 42
        except tornado.gen.BadYieldError as exc:
            caught.append(exc)
            return "caught: " + str(exc)
        return "not reached"

    @decorator
    def lets_it_escape() -> Generator[Any, Any, None]:
        yield "text"

    async def main() -> None:
        assert "cannot convert an int" in await yields_an_int()
        assert isinstance(caught[0], TypeError)
        with pytest.raises(tornado.gen.BadYieldError, match="cannot convert a str"):
            await lets_it_escape()

    run(main())


@pytest.mark.parametrize("decorator", BOTH)
def test_yield_from_an_asyncio_future(decorator: Decorator, run: Run) -> None:
    # Item 6: return (yield from loop.run_in_executor(...)) in a legacy generator.
    @decorator
    def in_executor() -> Generator[Any, Any, int]:
        loop = asyncio.get_running_loop()
        first = yield from loop.run_in_executor(None, sum, [1, 2])
        waiter: asyncio.Future[int] = loop.create_future()
        loop.call_soon(waiter.set_result, 4)
        second = yield from waiter
        return first + second

    async def main() -> None:
        if PRIVATE_PATHS:
            assert await in_executor() == 7
        else:
            # Documented: with private paths off (FUTUREBRIDGE_PRIVATE_PATHS=0,
            # or no GIL) yield from a future fails as under plain asyncio.
            with pytest.raises(RuntimeError, match="await wasn't used with future"):
                await in_executor()

    run(main())


def test_gen_is_coroutine_function_is_true_for_as_tornado() -> None:
    # Item 7: curl_httpclient and libraries consult it.
    @as_tornado
    def legacy() -> Generator[Any, Any, None]:
        yield None

    @as_tornado
    async def modern() -> None:
        pass

    assert tornado.gen.is_coroutine_function(legacy)
    assert tornado.gen.is_coroutine_function(modern)


@pytest.mark.parametrize("decorator", BOTH)
def test_second_exception_of_a_yielded_list_is_logged_as_tornado_does(
    decorator: Decorator, run: Run, caplog: pytest.LogCaptureFixture
) -> None:
    # Item 8: on tornado.application, with Tornado's words.
    @decorator
    def two_failures() -> Generator[Any, Any, None]:
        loop = asyncio.get_running_loop()
        first: asyncio.Future[None] = loop.create_future()
        second: asyncio.Future[None] = loop.create_future()
        loop.call_soon(first.set_exception, Boom("first"))
        loop.call_soon(second.set_exception, Boom("second"))
        yield [first, second]

    async def main() -> None:
        with pytest.raises(Boom, match="first"):
            await two_failures()
        await _ticks(2)

    with caplog.at_level(logging.ERROR, logger="tornado.application"):
        run(main())
    records = [r for r in caplog.records if r.name == "tornado.application"]
    assert [r.getMessage() for r in records] == ["Multiple exceptions in yield list"]
    assert records[0].exc_info is not None
    assert str(records[0].exc_info[1]) == "second"


@pytest.mark.parametrize("loop_kind", ["asyncio", "uvloop"])
def test_pending_fire_and_forget_legacy_loop_is_silent_at_loop_close(
    loop_kind: str, caplog: pytest.LogCaptureFixture, request: pytest.FixtureRequest
) -> None:
    # Item 9: as with @gen.coroutine, no "Task was destroyed but it is
    # pending!"; the generator is closed when collected, so finally runs.
    # With private paths off there is no public way to silence it
    # (docs/platforms.rst, the table of private accesses): asyncio's message
    # is logged, once, and finally still runs.
    from tests.conftest import LOOP_FACTORIES

    expected = [] if PRIVATE_PATHS else ["Task was destroyed but it is pending!"]
    if expected:
        request.node.add_marker(pytest.mark.asyncio_errors_expected)

    events: list[str] = []
    beating: list[asyncio.Event] = []

    @as_tornado
    def heartbeat() -> Generator[Any, Any, None]:
        try:
            while True:
                yield tornado.gen.sleep(0.001)
                events.append("beat")
                beating[0].set()
        finally:
            events.append("finally")

    async def main() -> None:
        beating.append(asyncio.Event())
        heartbeat()  # fire and forget
        await beating[0].wait()

    loop = LOOP_FACTORIES[loop_kind]()
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        loop.run_until_complete(main())
        loop.close()
        gc.collect()
    assert "finally" in events
    logged = [r.getMessage().splitlines()[0] for r in caplog.records if r.name == "asyncio"]
    assert logged == expected


# --- asyncio Task semantics, depth and agreement (issue 17 items 11-13) -------------


def test_as_tornado_self_cancel_without_suspending_ends_cancelled(run: Run) -> None:
    # Item 11: as a Task (eager or not), a cancel request the coroutine made
    # of its own task wins over a value returned without suspending.
    @as_tornado
    async def cancels_itself() -> str:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        return "value"

    async def main() -> None:
        future = cancels_itself()
        assert future.cancelled()

    run(main())


def test_as_tornado_current_task_is_the_returned_future_even_when_done_at_once(
    run: Run,
) -> None:
    # Item 11: current_task() inside is the future the call returns.
    seen: list[Any] = []

    @as_tornado
    async def quick() -> int:
        seen.append(asyncio.current_task())
        return 1

    async def main() -> None:
        caller = asyncio.current_task()
        future = quick()
        assert future.done()
        assert seen == [future]
        assert asyncio.current_task() is caller

    run(main())


@pytest.mark.parametrize("parent_kind", ["task", "as_tornado"])
def test_cancelled_parent_waits_for_an_as_tornado_child_that_handles_it(
    parent_kind: str, run: Run
) -> None:
    # Item 11: a Task forwards its cancel to the child it awaits and takes
    # the child's outcome, after the child's cleanup, even when the cancel
    # comes right after an eagerly started parent's first step.
    events: list[str] = []

    @as_tornado
    async def child() -> str:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            await asyncio.sleep(0)
            events.append("child cleanup")
            return "child result"
        return "not reached"

    async def parent() -> str:
        result = await child()
        events.append("parent got " + result)
        return result

    async def main() -> None:
        if parent_kind == "task":
            future: asyncio.Future[str] = asyncio.create_task(parent())
            await asyncio.sleep(0)  # the parent starts, and with it the child
        else:
            future = as_tornado(parent)()
        future.cancel()
        assert await future == "child result"
        assert events == ["child cleanup", "parent got child result"]

    run(main())


def _depth_reached(decorator: Callable[[Any], Any]) -> int:
    """How deep a legacy generator calling itself gets before RecursionError."""
    reached = 0

    @decorator
    def down(n: int) -> Generator[Any, Any, None]:
        nonlocal reached
        reached = max(reached, n)
        yield down(n + 1)

    async def main() -> None:
        with pytest.raises(RecursionError):
            await down(1)

    asyncio.run(main())
    return reached


class _DropNeverRetrieved(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "never retrieved" not in record.getMessage()


def test_legacy_recursion_depth_is_at_least_gen_coroutines() -> None:
    # Item 12: measured in the same process, with the same recursion limit.
    # Stock @gen.coroutine leaves a RecursionError that no one retrieves in a
    # future it made at the deepest level: that report is Tornado's, not ours.
    quiet = _DropNeverRetrieved()
    logging.getLogger("asyncio").addFilter(quiet)
    try:
        stock = _depth_reached(tornado.gen.coroutine)
        gc.collect()
    finally:
        logging.getLogger("asyncio").removeFilter(quiet)
    ours = _depth_reached(as_tornado)
    gc.collect()
    assert stock > 50
    assert ours >= stock, (ours, stock)


def test_as_tornado_debug_repr_names_the_callers_line(run: Run) -> None:
    # As Tornado's _create_future: in asyncio debug mode a future's repr says
    # where it was created, and that is the caller's line, not futurebridge's.
    # With private paths off there is no public way to set it
    # (docs/platforms.rst): the repr names futurebridge's own line.
    @as_tornado
    def legacy() -> Generator[Any, Any, None]:
        yield moment

    @as_tornado
    def quick() -> int:
        return 1

    async def main() -> None:
        asyncio.get_running_loop().set_debug(True)
        line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
        futures = [legacy(), quick()]
        package = os.path.dirname(_decorators_module.__file__)
        where = f"{__file__}:{line}" if PRIVATE_PATHS else f"{package}{os.sep}"
        for future in futures:
            # The last "created at" is the future's own (a task's repr names
            # the future it waits for first).
            assert repr(future).rpartition(" created at ")[2].startswith(where), repr(future)
        await futures[0]

    run(main())


# --- agreement of the two decorators under cancellation (issue 17 item 13) ----------
# Random legacy programs: generators that yield done, failed and parked futures,
# gen.moment, calls of other such generators and lists of all of these, some
# catching the exceptions thrown in. Parked futures are resumed one at a time,
# in an order fixed by their place in the program, and the whole program is
# cancelled after a drawn number of resumptions, each time once nothing can
# move any more: so the outcome depends on the program, not on how many loop
# iterations each decorator takes. Both decorators must give the same
# outcome and the same events. The outcome they give is a Task's: a cancel
# goes to what the innermost waiting generator waits for, each generator on
# the way sees CancelledError at its yield and may handle it and go on, and
# a list that was cancelled cancels its children.


@dataclasses.dataclass(frozen=True)
class _Program:
    steps: tuple[Any, ...]
    catch_cancel: bool
    catch_boom: bool


_LEAVES = st.sampled_from([("done",), ("fail",), ("moment",), ("park",)])


def _programs() -> st.SearchStrategy[_Program]:
    def extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.tuples(st.just("list"), st.lists(inner, min_size=1, max_size=3).map(tuple)),
            st.builds(
                lambda steps, catch_cancel, catch_boom: (
                    "sub",
                    _Program(steps, catch_cancel, catch_boom),
                ),
                st.lists(inner, min_size=1, max_size=3).map(tuple),
                st.booleans(),
                st.booleans(),
            ),
        )

    steps = st.recursive(_LEAVES, extend, max_leaves=8)
    return st.builds(
        _Program, st.lists(steps, min_size=1, max_size=3).map(tuple), st.booleans(), st.booleans()
    )


class _Play:
    """One run of a program under one decorator."""

    def __init__(self, decorator: Callable[[Any], Any]) -> None:
        self.decorator = decorator
        self.events: list[str] = []
        self.parks: dict[str, asyncio.Future[str]] = {}

    def function(self, program: _Program, path: str) -> Callable[[], Any]:
        events = self.events

        def body() -> Generator[Any, Any, str]:
            events.append(f"start {path}")
            try:
                for index, step in enumerate(program.steps):
                    try:
                        value = yield self.yieldable(step, f"{path}.{index}")
                        events.append(f"got {path}.{index}: {value!r}")
                    except Boom:
                        if not program.catch_boom:
                            raise
                        events.append(f"caught Boom {path}.{index}")
                return f"result {path}"
            except asyncio.CancelledError:
                if not program.catch_cancel:
                    raise
                events.append(f"caught cancel {path}")
                return f"after cancel {path}"
            finally:
                events.append(f"finally {path}")

        return cast("Callable[[], Any]", self.decorator(body))

    def yieldable(self, step: tuple[Any, ...], path: str) -> Any:
        loop = asyncio.get_running_loop()
        kind = step[0]
        if kind == "done":
            return _done(f"done {path}")
        if kind == "fail":
            failed: asyncio.Future[None] = loop.create_future()
            failed.set_exception(Boom(path))
            return failed
        if kind == "moment":
            return moment
        if kind == "park":
            parked: asyncio.Future[str] = loop.create_future()
            self.parks[path] = parked
            return parked
        if kind == "sub":
            return self.function(step[1], path)()
        return [self.yieldable(item, f"{path}.{i}") for i, item in enumerate(step[1])]

    async def settle(self) -> None:
        """Let the loop run until nothing moves for a while."""
        quiet = 0
        seen = (-1, -1)
        for _ in range(2000):
            await asyncio.sleep(0)
            now = (len(self.events), sum(1 for f in self.parks.values() if f.done()))
            quiet = quiet + 1 if now == seen else 0
            seen = now
            if quiet >= 12:
                return
        raise AssertionError("the program never settled")

    def resume_one(self) -> bool:
        pending = sorted(path for path, future in self.parks.items() if not future.done())
        if not pending:
            return False
        self.parks[pending[0]].set_result(f"resumed {pending[0]}")
        return True

    async def run(self, program: _Program, resumptions: int) -> tuple[str, list[str]]:
        top = self.function(program, "p")
        future = asyncio.ensure_future(top()) if self.decorator is as_asyncio else top()
        for _ in range(resumptions):
            await self.settle()
            if future.done() or not self.resume_one():
                break
        await self.settle()
        if not future.done():
            future.cancel()
            await self.settle()
        while not future.done() and self.resume_one():
            await self.settle()
        assert future.done(), "resuming every parked future must end the program"
        if future.cancelled():
            outcome = "cancelled"
        elif future.exception() is not None:
            outcome = f"raised {future.exception()!r}"
        else:
            outcome = f"returned {future.result()!r}"
        events = sorted(self.events)
        # Orphans (a parked generator in a failed list) end with the loop.
        for parked in self.parks.values():
            parked.cancel()
        await self.settle()
        return outcome, events


def _sub(*steps: Any, catch_cancel: bool = False, catch_boom: bool = False) -> tuple[str, _Program]:
    return ("sub", _Program(steps, catch_cancel, catch_boom))


@pytest.mark.timeout(300)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(program=_programs(), resumptions=st.integers(min_value=0, max_value=4))
# The kinds of program the issue found to differ, and one found since.
@example(  # nested sub-generators that park and catch the cancel
    program=_Program(
        (_sub(_sub(("park",), catch_cancel=True), ("park",), catch_cancel=True), ("park",)),
        catch_cancel=True,
        catch_boom=False,
    ),
    resumptions=0,
)
@example(  # a list of lists holding a failed future and a parked sub-generator
    program=_Program(
        (("list", (("list", (("fail",), _sub(("park",), catch_cancel=True))),)), ("park",)),
        catch_cancel=False,
        catch_boom=True,
    ),
    resumptions=1,
)
@example(  # a sub-generator that fails at once, in a list with a failed future
    program=_Program((("list", (_sub(("fail",)), ("fail",))),), False, False), resumptions=0
)
def test_as_tornado_and_as_asyncio_agree_under_cancellation(
    program: _Program, resumptions: int
) -> None:
    by_asyncio = asyncio.run(_Play(as_asyncio).run(program, resumptions))
    by_tornado = asyncio.run(_Play(as_tornado).run(program, resumptions))
    assert by_tornado == by_asyncio


def test_a_failed_legacy_call_keeps_no_locals_alive(run: Run) -> None:
    # As Tornado's test_coroutine_refcounting: released without the cycle
    # collector, which on 3.12+ needs the wrapper to drop a consumed failure.
    refs: list[Any] = []

    class Local:
        pass

    @as_tornado
    def inner() -> Generator[Any, Any, None]:
        local = Local()
        refs.append(weakref.ref(local))
        yield _done(None)
        raise ValueError("some error")

    @as_tornado
    def outer() -> Generator[Any, Any, None]:
        with contextlib.suppress(ValueError):
            yield inner()

    async def main() -> None:
        gc.collect()
        gc.disable()
        try:
            await outer()
            assert refs[0]() is None
        finally:
            gc.enable()

    run(main())
