"""What mypy --strict and pyright strict see for Dask futures and other adapted kinds.

distributed annotates ``Client.submit`` and ``Client.map`` (``Future[T]`` for
a function returning ``T``) and ``Future.result() -> T``, but not
``Future.__await__``: through the ``FutureLike`` overload the converters
still give ``asyncio.Future[T]`` for one future (in a list or dict, the
element type is Any: see below). Any kind of the same shape (``done()``,
``result() -> T``) taught with ``register_adapter`` is typed the same way.
"""

from __future__ import annotations

import asyncio
from typing import assert_type

from distributed import Future

from futurebridge import register_adapter, to_asyncio_future, to_tornado_future
from futurebridge.contrib.dask import DaskAwaitable, dask_future


async def dask_futures(one: Future[int], many: list[Future[str]]) -> None:
    assert_type(to_asyncio_future(one), asyncio.Future[int])
    assert_type(to_tornado_future(one), asyncio.Future[int])
    assert_type(dask_future(one, cancel="cluster"), DaskAwaitable[int])
    assert_type(await dask_future(one), int)
    assert_type(await to_asyncio_future(dask_future(one)), int)
    # In a list or dict, the element type comes from Future.__await__, which
    # distributed leaves unannotated: Any, so any annotation is accepted.
    texts: list[str] = await to_asyncio_future(many)
    numbers: dict[str, int] = await to_asyncio_future({"a": one})
    del texts, numbers


async def dask_bad_input(one: Future[int]) -> None:
    dask_future(one, cancel="everything")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    dask_future(1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]


class Job:
    """A future-like kind of some other library: it has done() and result()."""

    def done(self) -> bool:
        return True

    def result(self) -> bytes:
        return b""


class Opaque:
    """A kind with no such shape: accepted at run time once taught, unknown to checkers."""


async def _wait_job(job: Job) -> bytes:
    return job.result()


async def _wait_opaque(opaque: Opaque) -> int:
    return 1


async def adapted_kinds(job: Job, opaque: Opaque) -> None:
    register_adapter(Job, _wait_job)
    register_adapter(Opaque, _wait_opaque)
    assert_type(await to_asyncio_future(job), bytes)
    # In a list or dict only the built-in kinds are typed: wrap each in its adapter.
    assert_type(await to_asyncio_future([_wait_job(job), _wait_job(job)]), list[bytes])
    # The result type is exact.
    text: str = await to_asyncio_future(job)  # type: ignore[arg-type]  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]  # ty: ignore[invalid-assignment]
    del text
    # The checkers cannot know that Opaque was taught: wrap it in its adapter instead.
    to_asyncio_future(opaque)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    assert_type(await to_asyncio_future(_wait_opaque(opaque)), int)
