"""What mypy --strict and pyright strict see for LoopThread's run, submit and call.

Positive cases use assert_type; negative cases carry the expected error code
for each checker, and both run with unused-ignore errors, so a case that stops
being an error fails the typing run.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import assert_type

from futurebridge import AsyncIOLoop, LoopThread


async def _fetch(url: str, *, retries: int = 0) -> bytes:
    return url.encode() * (retries + 1)


def _in_pool(n: int) -> concurrent.futures.Future[float]:
    future: concurrent.futures.Future[float] = concurrent.futures.Future()
    future.set_result(n / 2)
    return future


def _loop_future() -> asyncio.Future[str]:
    return asyncio.get_running_loop().create_future()


def _plain(flag: bool) -> None:
    del flag


def from_threads(lt: LoopThread) -> None:
    assert_type(lt.run(_fetch, "u"), bytes)
    assert_type(lt.run(_fetch, "u", retries=2), bytes)
    assert_type(lt.run(_in_pool, 3), float)
    assert_type(lt.run(_loop_future), str)
    assert_type(lt.run(_plain, True), None)
    assert_type(lt.submit(_fetch, "u", retries=1), concurrent.futures.Future[bytes])
    assert_type(lt.submit(_in_pool, 3), concurrent.futures.Future[float])
    assert_type(lt.submit(_plain, False), concurrent.futures.Future[None])
    assert_type(lt.submit(_fetch, "u").result(), bytes)
    assert_type(lt.asyncio_loop, asyncio.AbstractEventLoop)
    assert_type(lt.ioloop, AsyncIOLoop)
    with LoopThread(loop_factory=asyncio.new_event_loop, name="worker") as entered:
        assert_type(entered, LoopThread)


async def from_another_loop(lt: LoopThread) -> None:
    assert_type(await lt.call(_fetch, "u", retries=3), bytes)
    assert_type(await lt.call(_in_pool, 1), float)
    assert_type(await lt.call(_loop_future), str)
    assert_type(await lt.call(_plain, True), None)


async def negative_cases(lt: LoopThread) -> None:
    # Arguments are checked against fn's signature.
    lt.run(_fetch, 42)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    lt.submit(_fetch, "u", retries="3")  # type: ignore[arg-type]  # pyright: ignore[reportCallIssue, reportArgumentType]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    await lt.call(_in_pool, "1")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    # Missing and unknown arguments.
    lt.run(_fetch)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    lt.submit(_fetch, "u", retry=1)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    # fn must return a yieldable.
    lt.run(len, "abc")  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    # The result type is exact.
    text: str = lt.run(_fetch, "u")  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]  # ty: ignore[invalid-assignment]
    # fn is positional-only, so a keyword named fn goes to fn itself.
    lt.run(fn=_fetch)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    # Options are keyword-only.
    LoopThread(asyncio.new_event_loop)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[bad-argument-count]  # ty: ignore[too-many-positional-arguments]
    del text
