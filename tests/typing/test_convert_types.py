"""What mypy --strict and pyright strict see for each converter overload.

Positive cases use assert_type; negative cases carry the expected error code
for each checker, and both run with unused-ignore errors, so a case that stops
being an error fails the typing run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Coroutine
from typing import Any, assert_type

from tornado import gen

from futurebridge import register_adapter, to_asyncio_future, to_tornado_future


async def _int() -> int:
    return 1


async def _str() -> str:
    return "s"


async def converters(
    future: asyncio.Future[int],
    task: asyncio.Task[str],
    coro: Coroutine[Any, Any, bytes],
    awaitable: Awaitable[float],
    cf: concurrent.futures.Future[complex],
    loop: asyncio.AbstractEventLoop,
    cf_int: concurrent.futures.Future[int],
) -> None:
    assert_type(to_asyncio_future(future), asyncio.Future[int])
    assert_type(to_asyncio_future(task), asyncio.Future[str])
    assert_type(to_asyncio_future(coro), asyncio.Future[bytes])
    assert_type(to_asyncio_future(awaitable), asyncio.Future[float])
    assert_type(to_asyncio_future(cf), asyncio.Future[complex])
    assert_type(to_asyncio_future(None), asyncio.Future[None])
    assert_type(to_asyncio_future(future, loop=loop), asyncio.Future[int])

    assert_type(await to_asyncio_future(future), int)
    assert_type(await to_asyncio_future(_int()), int)
    assert_type(await to_asyncio_future(cf), complex)
    assert_type(await to_asyncio_future(None), None)

    assert_type(await to_asyncio_future([_int(), _int()]), list[int])
    assert_type(await to_asyncio_future((future, future)), list[int])
    assert_type(await to_asyncio_future({"a": _int()}), dict[str, int])
    assert_type(await to_asyncio_future({1: cf}), dict[int, complex])

    # None among the children adds None to the result type (the README's example).
    assert_type(await to_asyncio_future([asyncio.sleep(0, 1), None]), list[int | None])
    assert_type(await to_asyncio_future({"a": _int(), "b": None}), dict[str, int | None])
    assert_type(await to_asyncio_future(gen.moment), None)
    # gen.moment among the children adds None too (with the stubs it is a
    # _NullFuture, matched by shape; mypy joins the literal to object first).
    assert_type(await to_asyncio_future([asyncio.sleep(0, 1), gen.moment]), list[int | None])  # type: ignore[arg-type, assert-type]
    assert_type(await to_tornado_future({"a": _int(), "m": gen.moment}), dict[str, int | None])  # type: ignore[arg-type, assert-type]
    # ty leaves the unconstrained result type of the other children Unknown.
    assert_type(await to_asyncio_future([gen.moment, None]), list[None])  # ty: ignore[type-assertion-failure]
    # Only a None result matches that shape: anything else with done() and
    # result() is refused, as at run time.
    to_asyncio_future([_DoneWithInt()])  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue, reportArgumentType]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    # One level of nesting keeps its shape.
    assert_type(await to_asyncio_future({"a": [_int(), _int()]}), dict[str, list[int]])
    assert_type(await to_asyncio_future([[future], [future]]), list[list[int]])
    # Mixed kinds of one result type, and mixed result types: a union. mypy
    # joins the elements of a literal before it matches them (to object).
    assert_type(await to_asyncio_future([_int(), future]), list[int])
    # mypy's way for a coroutine and a concurrent future (docs/typing.rst):
    # the list named with its type first.
    children: list[Awaitable[int] | concurrent.futures.Future[int]] = [_int(), cf_int]
    assert_type(await to_asyncio_future(children), list[int])
    assert_type(await to_asyncio_future([_int(), _str()]), list[int | str])  # type: ignore[assert-type]
    # A concurrent.futures.Future among children of another result type (the
    # cookbook's legacy handler): it is matched by shape, so its result type
    # joins the union instead of refusing the list (pyright, pyrefly).
    assert_type(await to_asyncio_future([_str(), cf]), list[str | complex])  # type: ignore[arg-type, assert-type]
    assert_type(await to_tornado_future([_str(), cf]), list[str | complex])  # type: ignore[arg-type, assert-type]

    assert_type(to_tornado_future(future), asyncio.Future[int])
    assert_type(await to_tornado_future(_str()), str)
    assert_type(await to_tornado_future(cf), complex)
    assert_type(await to_tornado_future([_int()]), list[int])
    assert_type(await to_tornado_future({"k": _str()}), dict[str, str])


async def negative_cases(future: asyncio.Future[int]) -> None:
    # Not a yieldable.
    to_asyncio_future(42)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    to_tornado_future(b"bytes")  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue, reportArgumentType]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    # The result type is exact: an int future does not give a str.
    text: str = await to_asyncio_future(future)  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]  # ty: ignore[invalid-assignment]
    # loop= is keyword-only and must be a loop.
    to_asyncio_future(future, asyncio.new_event_loop())  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    to_asyncio_future(future, loop="loop")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    # obj is positional-only.
    to_asyncio_future(obj=future)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    del text


class Promise:
    pass


async def _from_promise(promise: Promise) -> int:
    return 1


class _DoneWithInt:
    """Has done() and result(), as a future does, but is not a yieldable."""

    def done(self) -> bool:
        return True

    def result(self) -> int:
        return 1


def adapters() -> None:
    register_adapter(Promise, _from_promise)
    # The adapter must accept the registered kind.
    register_adapter(int, _from_promise)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    # ... and return an awaitable.
    register_adapter(Promise, lambda promise: 1)  # type: ignore[arg-type, return-value]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
