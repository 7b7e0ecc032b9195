"""What mypy --strict and pyright strict see for AsyncIOLoop and AsyncIOMainLoop.

Positive cases use assert_type; negative cases carry the expected error code
for each checker, and both run with unused-ignore errors, so a case that stops
being an error fails the typing run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any, assert_type

from tornado.ioloop import IOLoop

from futurebridge import AsyncIOLoop, AsyncIOMainLoop


async def _int() -> int:
    return 1


async def _str() -> str:
    return "s"


def _none() -> None:
    return None


def _thread_result() -> concurrent.futures.Future[bytes]:
    return concurrent.futures.Future()


def constructors(loop: asyncio.AbstractEventLoop) -> None:
    # Configurable.__new__ returns Any: our __new__ keeps the class.
    assert_type(AsyncIOLoop(), AsyncIOLoop)
    assert_type(AsyncIOLoop(asyncio_loop=loop), AsyncIOLoop)
    assert_type(AsyncIOLoop(asyncio_loop=loop, make_current=False), AsyncIOLoop)
    assert_type(AsyncIOMainLoop(), AsyncIOMainLoop)
    assert_type(AsyncIOLoop().asyncio_loop, asyncio.AbstractEventLoop)
    assert_type(AsyncIOMainLoop().asyncio_loop, asyncio.AbstractEventLoop)
    io_loop: IOLoop = AsyncIOLoop()  # still an IOLoop
    del io_loop


def run_sync(io_loop: AsyncIOLoop, main_loop: AsyncIOMainLoop) -> None:
    assert_type(io_loop.run_sync(_int), int)
    assert_type(main_loop.run_sync(_str), str)
    assert_type(io_loop.run_sync(_int, timeout=1.0), int)
    assert_type(io_loop.run_sync(_none), None)
    assert_type(io_loop.run_sync(_thread_result), bytes)
    assert_type(io_loop.run_sync(lambda: [_int(), _int()]), list[int])
    assert_type(io_loop.run_sync(lambda: {"k": _str()}), dict[str, str])
    coro: Coroutine[Any, Any, float] = asyncio.sleep(0, 1.5)
    assert_type(io_loop.run_sync(lambda: coro), float)  # ty: ignore[type-assertion-failure]


def misuse(io_loop: AsyncIOLoop) -> None:
    AsyncIOLoop(asyncio_loop=3)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    AsyncIOLoop(loop=None)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[unexpected-keyword]  # ty: ignore[unknown-argument]
    AsyncIOMainLoop(asyncio_loop=None)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[unexpected-keyword]  # ty: ignore[unknown-argument]
    io_loop.run_sync(lambda: 42)  # type: ignore[arg-type, return-value]  # pyright: ignore[reportArgumentType, reportCallIssue]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    io_loop.run_sync(_int, timeout="soon")  # type: ignore[call-overload]  # pyright: ignore[reportArgumentType, reportCallIssue]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
