"""What mypy --strict and pyright strict see for @as_asyncio and @as_tornado.

Positive cases use assert_type; negative cases carry the expected error code
for each checker on the same line, and both run with unused-ignore errors, so
a case that stops being an error fails the typing run. Tornado's own
gen.coroutine gives ``def (*Any, **Any) -> Future[Any]`` and accepts all of
the negative cases below.
"""

from __future__ import annotations

import abc
import asyncio
import concurrent.futures
from collections.abc import Coroutine, Generator
from typing import Any, assert_type

from tornado import gen
from tornado.concurrent import Future

from futurebridge import as_asyncio, as_tornado


@as_asyncio
async def native(x: int, *, label: str = "") -> str:
    return f"{label}{x}"


@as_asyncio
def legacy(x: int) -> Generator[Any, Any, bytes]:
    yield None
    return b"%d" % x


@as_asyncio
def returns_future(x: int) -> Future[float]:
    future: Future[float] = asyncio.get_running_loop().create_future()
    future.set_result(float(x))
    return future


@as_asyncio
def returns_concurrent(x: int) -> concurrent.futures.Future[complex]:
    future: concurrent.futures.Future[complex] = concurrent.futures.Future()
    future.set_result(complex(x))
    return future


@as_asyncio
def returns_none(x: int) -> None:
    pass


@as_asyncio
def returns_list(x: int) -> list[Future[int]]:
    return []


@as_asyncio
def returns_dict(x: int) -> dict[str, Future[int]]:
    return {}


@as_asyncio
@gen.coroutine
def old_style(x: int) -> Generator[Any, Any, int]:
    yield None
    return x


@as_tornado
async def started(x: int, *, label: str = "") -> str:
    return f"{label}{x}"


@as_tornado
def started_legacy(x: int) -> Generator[Any, Any, bytes]:
    yield None
    return b""


@as_tornado
def started_list(x: int) -> list[Future[int]]:
    return []


class Service(abc.ABC):
    @as_asyncio
    async def method(self, x: int) -> int:
        return x

    @as_tornado
    async def tornado_method(self, x: int) -> int:
        return x

    @as_asyncio
    def legacy_method(self, x: int) -> Generator[Any, Any, int]:
        yield None
        return x

    @classmethod
    @as_asyncio
    async def class_below(cls, x: int) -> int:
        return x

    @as_asyncio
    @classmethod
    async def class_above(cls, x: int) -> int:
        return x

    @staticmethod
    @as_asyncio
    async def static_below(x: int) -> int:
        return x

    @as_asyncio
    @staticmethod
    async def static_above(x: int) -> int:
        return x

    @as_tornado
    @staticmethod
    async def tornado_static_above(x: int) -> int:
        return x

    @as_tornado
    @classmethod
    def tornado_class_above(cls, x: int) -> Generator[Any, Any, int]:
        yield None
        return x

    @as_asyncio
    @abc.abstractmethod
    async def abstract(self, x: int) -> int: ...


class Concrete(Service):
    async def abstract(self, x: int) -> int:
        return x


async def positive_cases(service: Concrete) -> None:
    coro = native(1)
    same = assert_type(coro, Coroutine[Any, Any, str])
    same.close()
    assert_type(await native(1, label="n"), str)
    assert_type(await legacy(1), bytes)
    assert_type(await returns_future(1), float)
    assert_type(await returns_concurrent(1), complex)
    assert_type(await returns_none(1), None)
    assert_type(await returns_list(1), list[int])
    assert_type(await returns_dict(1), dict[str, int])
    assert_type(await old_style(1), int)

    assert_type(started(1), Future[str])
    assert_type(await started(1, label="t"), str)
    assert_type(started_legacy(1), Future[bytes])
    assert_type(started_list(1), Future[list[int]])

    # The result of @as_asyncio is a coroutine, which create_task accepts.
    assert_type(asyncio.create_task(native(1)), asyncio.Task[str])
    assert_type(asyncio.create_task(legacy(1)), asyncio.Task[bytes])

    # Bound methods keep self out of the signature.
    assert_type(await service.method(1), int)
    assert_type(service.tornado_method(1), Future[int])
    assert_type(await service.legacy_method(1), int)
    assert_type(await service.class_below(1), int)
    assert_type(await Concrete.class_below(1), int)
    # ty answers Unknown for @as_asyncio/@as_tornado above @classmethod or
    # @staticmethod: it does not solve a ParamSpec through classmethod[...].
    assert_type(await service.class_above(1), int)  # ty: ignore[type-assertion-failure]
    assert_type(await Concrete.class_above(1), int)  # ty: ignore[type-assertion-failure]
    assert_type(await service.static_below(1), int)
    assert_type(await service.static_above(1), int)  # ty: ignore[type-assertion-failure]
    assert_type(await Concrete.static_above(1), int)  # ty: ignore[type-assertion-failure]
    assert_type(service.tornado_static_above(1), Future[int])  # ty: ignore[type-assertion-failure]
    assert_type(Concrete.tornado_class_above(1), Future[int])  # ty: ignore[type-assertion-failure]
    assert_type(await service.abstract(1), int)


async def negative_cases(service: Concrete) -> None:
    # Wrong argument types.
    await native("1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    await legacy(b"1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    await returns_future(None)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    started("1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    started_legacy([])  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    await native(1, label=2)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    await service.method("1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    service.tornado_method("1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
    await service.class_above("1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]
    await service.static_above("1")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]

    # Wrong argument counts and names.
    await native()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[missing-argument]  # ty: ignore[missing-argument]
    await native(1, "2")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[bad-argument-count]  # ty: ignore[too-many-positional-arguments]
    await native(1, colour="red")  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[unexpected-keyword]  # ty: ignore[unknown-argument]
    await legacy(1, 2)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[bad-argument-count]  # ty: ignore[too-many-positional-arguments]
    started()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[missing-argument]  # ty: ignore[missing-argument]
    # self and cls are bound: the one parameter left is x.
    await service.method(1, 2)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[bad-argument-count]  # ty: ignore[too-many-positional-arguments]
    await service.legacy_method()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[missing-argument]  # ty: ignore[missing-argument]
    await Concrete.class_below(1, 2)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[bad-argument-count]  # ty: ignore[too-many-positional-arguments]
    await Concrete.class_above()  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[missing-argument]
    service.tornado_static_above(1, 2)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[bad-argument-count]
    await service.static_below(1, 2)  # type: ignore[call-arg]  # pyright: ignore[reportCallIssue]  # pyrefly: ignore[bad-argument-count]  # ty: ignore[too-many-positional-arguments]

    # Return types are exact.
    text: int = await native(1)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]  # ty: ignore[invalid-assignment]
    data: str = await legacy(1)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]  # ty: ignore[invalid-assignment]
    fut: Future[int] = started(1)  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]  # ty: ignore[invalid-assignment]
    del text, data, fut

    # Not a coroutine function: a plain value is not a yieldable.
    @as_asyncio  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportCallIssue, reportUntypedFunctionDecorator]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    def plain() -> int:
        return 1

    @as_tornado  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType, reportCallIssue, reportUntypedFunctionDecorator]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]
    def plain_too() -> str:
        return ""

    # @as_tornado gives a future, not a coroutine: asyncio.run refuses it.
    asyncio.run(started(1))  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]

    # Decorating a non-callable.
    as_asyncio(3)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]  # pyrefly: ignore[no-matching-overload]  # ty: ignore[no-matching-overload]


# Legacy code leaves the return type out. mypy alone then loses the
# parameters (an Any return matches several overloads at once) unless the
# futurebridge.mypy plugin is on, as it is in this project's configuration.
@as_asyncio
def unannotated(x: int):  # type: ignore[no-untyped-def]
    yield None
    return x


@as_tornado
def unannotated_started(x: int):  # type: ignore[no-untyped-def]
    yield None
    return x


async def unannotated_cases() -> None:
    await unannotated(1)
    await unannotated("x")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]
    await unannotated_started(1)
    unannotated_started("x")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]  # pyrefly: ignore[bad-argument-type]
