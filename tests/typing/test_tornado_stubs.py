"""What the tornado-stubs package (``stubs/``) makes mypy and pyright see.

Every name the stubs sharpen has positive cases (``assert_type``) and negative
cases: calls that stock Tornado 6.6 types accept (``*Any`` parameters,
``Future[Any]`` and ``Any`` results) but that are wrong, each carrying the
mypy code and the pyright rule it must raise. Both checkers run with
unused-ignore errors, so a case that stops being an error fails the typing
run: that is what proves each sharpened signature catches a real mistake.
These cases therefore need the stubs installed (the nox ``typing`` session
installs ``./stubs``).

``legacy_app`` is the other half: realistic legacy code that must stay free
of errors. The one pytest test here runs it for real, so "correct" is
checked at runtime too.

The functions below other than ``test_*`` are only type-checked, never run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
from collections.abc import Coroutine, Generator
from typing import Any, assert_type

from legacy_app import CounterStore, exercise, run_demo
from tornado import gen
from tornado.concurrent import Future, chain_future, run_on_executor
from tornado.ioloop import IOLoop
from tornado.platform.asyncio import to_asyncio_future, to_tornado_future

_SOON = datetime.timedelta(seconds=1)


# --- gen.coroutine: generator, awaitable and plain functions --------------


@gen.coroutine
def fetch_count(key: str, retries: int = 1) -> Generator[Any, Any, int]:
    yield gen.sleep(0)
    return len(key) * retries


@gen.coroutine
def native_inside(key: str) -> Coroutine[Any, Any, int]:
    async def inner() -> int:
        return len(key)

    return inner()


@gen.coroutine
async def half_migrated(key: str) -> int:
    return len(key)


@gen.coroutine
def plain(key: str) -> int:
    return len(key)


class Service:
    @gen.coroutine
    def lookup(self, user_id: int) -> Generator[Any, Any, str]:
        yield gen.moment
        return f"user-{user_id}"


async def coroutine_cases(service: Service) -> None:
    assert_type(fetch_count("a"), Future[int])
    assert_type(fetch_count("a", retries=2), Future[int])
    assert_type(await fetch_count("a"), int)
    assert_type(plain("a"), Future[int])
    assert_type(service.lookup(1), Future[str])
    assert_type(await service.lookup(1), str)
    # Tornado does not await what a non-generator function returns: the
    # future's result is the coroutine object itself.
    assert_type(native_inside("a"), Future[Coroutine[Any, Any, int]])
    # (mypy calls the async def's result Coroutine, pyright CoroutineType.)
    not_awaited_yet = await half_migrated("a")
    assert_type(await not_awaited_yet, int)

    # Wrong argument types and counts: stock Tornado types all of these as
    # ``def (*Any, **Any) -> Future[Any]`` and accepts them.
    fetch_count(1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    fetch_count()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[missing-argument]  # ty: ignore[missing-argument]
    fetch_count("a", 2, 3)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[bad-argument-count]  # ty: ignore[too-many-positional-arguments]
    fetch_count("a", retry=2)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[unexpected-keyword]  # ty: ignore[unknown-argument]
    plain(b"a")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    native_inside(3)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    half_migrated(3)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    service.lookup("1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    # A wrong result type.
    name: int = await service.lookup(1)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]  # ty: ignore[invalid-assignment]
    count: int = await native_inside("a")  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]  # ty: ignore[invalid-assignment]
    migrated: int = await half_migrated("a")  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]  # ty: ignore[invalid-assignment]
    del name, count, migrated


# --- run_on_executor: ParamSpec, Future[T] ---------------------------------


class Hasher:
    def __init__(self) -> None:
        self.executor = concurrent.futures.ThreadPoolExecutor(1)
        self.slow_pool = concurrent.futures.ThreadPoolExecutor(1)

    @run_on_executor
    def digest(self, data: bytes, rounds: int = 1) -> str:
        return data.hex() * rounds

    @run_on_executor(executor="slow_pool")
    def length(self, data: bytes) -> int:
        return len(data)


async def run_on_executor_cases(hasher: Hasher, store: CounterStore) -> None:
    assert_type(hasher.digest(b"x"), Future[str])
    assert_type(hasher.digest(b"x", rounds=2), Future[str])
    assert_type(await hasher.length(b"x"), int)
    assert_type(store.add("k", 2), Future[int])
    assert_type(await store.load("k"), int)

    # Stock Tornado types a @run_on_executor method as ``def (*Any, **Any) -> Any``.
    hasher.digest("x")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    hasher.digest()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[missing-argument]  # ty: ignore[missing-argument]
    hasher.digest(b"x", 2, 3)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[bad-argument-count]  # ty: ignore[too-many-positional-arguments]
    hasher.length(b"x", b"y")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[bad-argument-count]  # ty: ignore[too-many-positional-arguments]
    store.add("k", "2")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    store.audit()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[missing-argument]  # ty: ignore[missing-argument]
    size: str = await hasher.length(b"x")  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]  # ty: ignore[invalid-assignment]
    del size


# --- convert_yielded and tornado.platform.asyncio --------------------------


async def _int() -> int:
    return 1


def _from_bytes(raw: bytes) -> Future[bytes]:
    done: Future[bytes] = Future()
    done.set_result(raw)
    return done


async def convert_yielded_cases(
    future: Future[int],
    task: asyncio.Task[str],
    cf: concurrent.futures.Future[bytes],
    tasks: list[asyncio.Task[str]],
) -> None:
    assert_type(gen.convert_yielded(future), Future[int])
    assert_type(await gen.convert_yielded(_int()), int)
    assert_type(await gen.convert_yielded(task), str)
    assert_type(await gen.convert_yielded([future, future]), list[int])
    # pyrefly and ty infer the literal without the overload's context, so the
    # invariant list of coroutines misses list[Awaitable[T]] and lands on the
    # list[Any] fallback (docs/typing.rst, "Where checkers differ").
    assert_type(await gen.convert_yielded([_int(), _int()]), list[int])  # pyrefly: ignore[assert-type]  # ty: ignore[type-assertion-failure]
    assert_type(await gen.convert_yielded({"a": future}), dict[str, int])
    assert_type(await gen.convert_yielded({1: _int()}), dict[int, int])  # pyrefly: ignore[assert-type]  # ty: ignore[type-assertion-failure]
    # A list of another element type still checks, with Any results.
    assert_type(await gen.convert_yielded(tasks), list[Any])
    # A concurrent future comes back unchanged.
    assert_type(gen.convert_yielded(cf), concurrent.futures.Future[bytes])

    assert_type(to_asyncio_future(future), Future[int])
    assert_type(await to_asyncio_future(_int()), int)
    assert_type(await to_asyncio_future([future]), list[int])
    assert_type(to_tornado_future(future), Future[int])

    # A wrong result type from ``await convert_yielded(...)`` (stock: Future[Any]).
    text: str = await gen.convert_yielded(_int())  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]  # ty: ignore[invalid-assignment]
    # mypy and ty accept the next line: the list[Any] fallback overload (which
    # keeps lists of other element types checking) matches under the annotation.
    names: list[str] = await gen.convert_yielded([future])  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]
    raw: str = await to_asyncio_future(future)  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]  # ty: ignore[invalid-assignment]
    same: str = await to_tornado_future(future)  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]  # ty: ignore[invalid-assignment]
    # These raise at runtime: None becomes gen.moment and a concurrent
    # future is returned as is, and neither is awaitable.
    await gen.convert_yielded(None)  # type: ignore[misc]  # pyright: ignore[reportGeneralTypeIssues]  # pyrefly: ignore[not-async]  # ty: ignore[invalid-await]
    await gen.convert_yielded(cf)  # type: ignore[misc]  # pyright: ignore[reportGeneralTypeIssues]  # pyrefly: ignore[not-async]  # ty: ignore[invalid-await]
    await to_asyncio_future(None)  # type: ignore[misc]  # pyright: ignore[reportGeneralTypeIssues]  # pyrefly: ignore[not-async]  # ty: ignore[invalid-await]
    await gen.moment  # type: ignore[misc]  # pyright: ignore[reportGeneralTypeIssues]  # pyrefly: ignore[not-async]  # ty: ignore[invalid-await]
    # Not yieldable: an int, and a tuple (only a real list or dict is gathered).
    gen.convert_yielded(42)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    gen.convert_yielded((future,))  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    to_tornado_future(_int())  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    # to_asyncio_future is a plain function, not singledispatch like convert_yielded.
    gen.convert_yielded.register(bytes, _from_bytes)
    to_asyncio_future.register(bytes, _from_bytes)  # type: ignore[attr-defined]  # pyright: ignore[reportFunctionMemberAccess]  # pyrefly: ignore[missing-attribute]  # ty: ignore[missing-attribute]
    del text, names, raw, same


# --- maybe_future, with_timeout, multi, multi_future ------------------------


async def gather_cases(
    future: Future[int],
    other: Future[str],
    cf: concurrent.futures.Future[bytes],
) -> None:
    assert_type(gen.maybe_future(3), Future[int])
    assert_type(gen.maybe_future(future), Future[int])
    assert_type(gen.maybe_future(cf), concurrent.futures.Future[bytes])

    assert_type(gen.with_timeout(_SOON, future), Future[int])
    assert_type(await gen.with_timeout(_SOON, _int()), int)
    assert_type(await gen.with_timeout(_SOON, cf), bytes)
    assert_type(await gen.with_timeout(_SOON, [future, future]), list[int])  # ty: ignore[type-assertion-failure]
    assert_type(await gen.with_timeout(_SOON, {"k": future}), dict[str, int])  # ty: ignore[type-assertion-failure]

    assert_type(gen.multi([future, future]), Future[list[int]])
    assert_type(await gen.multi((_int(), future)), list[int])
    assert_type(await gen.multi({"a": future, "b": _int()}), dict[str, int])
    assert_type(await gen.multi([cf]), list[bytes])
    assert_type(await gen.multi_future([future]), list[int])
    assert_type(await gen.multi_future({"k": cf}), dict[str, bytes])
    assert_type(await gen.Multi([future]), list[int])

    # Stock Tornado gives Future[Any], Future[list[Any]] and Future[dict[Any, Any]].
    number: str = await gen.maybe_future(3)  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]  # ty: ignore[invalid-assignment]
    late: str = await gen.with_timeout(_SOON, future)  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]  # ty: ignore[invalid-assignment]
    texts: list[str] = await gen.multi([future])  # type: ignore[list-item]  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]  # ty: ignore[invalid-assignment]
    table: dict[str, str] = await gen.multi({"a": future})  # type: ignore[dict-item]  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]  # ty: ignore[invalid-assignment]
    keyed: dict[int, int] = await gen.multi_future({"a": future})  # type: ignore[dict-item]  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]  # ty: ignore[invalid-assignment]
    # Children must be future-like.
    gen.multi([1, 2])  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue, reportArgumentType]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    gen.with_timeout(_SOON, future, message=3)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    del number, late, texts, table, keyed, other


# --- chain_future: both future kinds ----------------------------------------


def chain_future_cases(
    future: Future[int], cf: concurrent.futures.Future[int], text: Future[str]
) -> None:
    chain_future(cf, future)
    chain_future(future, cf)
    chain_future(cf, cf)
    chain_future(future, future)
    # The result types must agree.
    chain_future(future, text)  # type: ignore[misc]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    chain_future(cf, 3)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]


# --- IOLoop: run_sync, add_future, run_in_executor, callbacks --------------


def _checksum(body: bytes, salt: int) -> int:
    return sum(body) + salt


def _nothing() -> None:
    return None


def ioloop_cases(loop: IOLoop, future: Future[int], cf: concurrent.futures.Future[bytes]) -> None:
    assert_type(IOLoop.current(), IOLoop)
    assert_type(IOLoop.current(instance=False), IOLoop | None)

    # run_sync's result stays Any, as Tornado declares it (see the stub);
    # futurebridge's own loops give the result type (test_ioloop_types.py).
    assert_type(loop.run_sync(_int), Any)
    assert_type(loop.run_sync(lambda: fetch_count("k")), Any)
    assert_type(loop.run_sync(lambda: exercise(8888, ["k"]), timeout=5), Any)
    assert_type(loop.run_sync(lambda: cf), Any)
    assert_type(loop.run_sync(_nothing), None)

    loop.add_future(future, lambda f: print(f.result() + 1))
    loop.add_future(cf, lambda f: print(f.result().hex()))
    assert_type(loop.run_in_executor(None, _checksum, b"x", 1), Future[int])

    loop.add_callback(_checksum, b"x", 1)
    loop.call_later(1.0, _checksum, b"x", salt=1)
    loop.spawn_callback(fetch_count, "k")

    # run_sync needs a function returning an awaitable or None (else BadYieldError).
    loop.run_sync(lambda: 42)  # type: ignore[arg-type, return-value]  # pyright: ignore[reportCallIssue, reportArgumentType]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    loop.run_sync(fetch_count)  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue, reportArgumentType]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]

    # A callback typed for an asyncio future is accepted with a concurrent
    # one too, as Tornado declares it (its own chain_future relies on that),
    # and run_in_executor's extra arguments are Any, as in Tornado: a sharper
    # base makes mypy refuse Tornado's own AsyncIOLoop override.

    # Extra arguments are checked against the callback (stock: *Any).
    loop.add_callback(_checksum, b"x")  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    loop.call_later(1.0, _checksum, b"x", pepper=1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[missing-argument, unexpected-keyword]  # ty: ignore[missing-argument, unknown-argument]
    loop.spawn_callback(fetch_count, 1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]


# --- The legacy module, run for real ------------------------------------


def test_legacy_app_runs() -> None:
    result = run_demo(["apples", "pears"])
    assert result["counts"] == {
        "apples": b'{"key": "apples", "count": 2}',
        "pears": b'{"key": "pears", "count": 2}',
    }
    assert result["total"] == b'{"total": 4, "counts": {"apples": 2, "pears": 2}}'
    assert result["note"] == "callback ran"
    assert result["audit"] == ["apples += 2", "pears += 2"]
