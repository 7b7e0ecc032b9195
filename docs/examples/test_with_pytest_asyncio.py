"""Testing code that mixes asyncio and Tornado with pytest-asyncio.

Runs with ``asyncio_mode = "strict"`` (tests are marked one by one) and with
warnings as errors, as futurebridge's own suite does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

import pytest
import pytest_asyncio
from tornado import gen
from tornado.ioloop import IOLoop

from futurebridge import AsyncIOMainLoop, as_asyncio, as_tornado, to_asyncio_future


@gen.coroutine
def legacy_double(x: int) -> Generator[Any, Any, int]:
    yield gen.moment
    return x * 2


@pytest_asyncio.fixture
async def ioloop() -> AsyncIOMainLoop:
    # Attaches to the test's own loop. Not closed here: closing it would close
    # the asyncio loop, which belongs to pytest-asyncio.
    return AsyncIOMainLoop()


@pytest.mark.asyncio
async def test_awaits_legacy_code() -> None:
    assert await to_asyncio_future(legacy_double(21)) == 42
    assert await to_asyncio_future([legacy_double(1), None]) == [2, None]


@pytest.mark.asyncio
async def test_tornado_code_finds_futurebridge_loop(ioloop: AsyncIOMainLoop) -> None:
    assert IOLoop.current() is ioloop
    assert ioloop.asyncio_loop is asyncio.get_running_loop()


@pytest.mark.asyncio
async def test_cancellation_reaches_a_migrated_generator() -> None:
    cleaned_up = []

    @as_asyncio
    def migrated(gate: asyncio.Future[None]) -> Generator[Any, Any, None]:
        try:
            yield gate
        finally:
            cleaned_up.append(True)

    gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(migrated(gate))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned_up == [True]
    assert gate.cancelled()


@pytest.mark.asyncio
async def test_as_tornado_starts_at_once() -> None:
    started = []

    @as_tornado
    async def job() -> str:
        started.append(True)
        await asyncio.sleep(0)
        return "done"

    future = job()
    assert started == [True]
    assert await future == "done"
