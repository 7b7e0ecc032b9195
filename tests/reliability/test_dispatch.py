"""Conversion dispatch at the edges (issue 17, items 9 and 10): an adapter
registered while another thread converts is never shadowed by a stale cached
handler, and a deeply nested aggregate is checked in full, then converted,
without recursion and without an orphan task."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

import futurebridge._convert as convert
from futurebridge import register_adapter, to_asyncio_future

from ._support import SOAK, soak_rounds

pytestmark = pytest.mark.timeout(3600 if SOAK else 300)  # asyncio debug mode is slow

PROMPT = 10.0


# --- item 9: register_adapter() racing a conversion -------------------------------


@pytest.fixture
def forget_adapters() -> Iterator[None]:
    adapters = dict(convert._adapters)  # pyright: ignore[reportPrivateUsage]
    try:
        yield
    finally:
        convert._adapters.clear()  # pyright: ignore[reportPrivateUsage]
        convert._adapters.update(adapters)  # pyright: ignore[reportPrivateUsage]
        convert._handlers.clear()  # pyright: ignore[reportPrivateUsage]


@pytest.mark.usefixtures("forget_adapters")
def test_an_adapter_registered_during_a_conversion_is_not_shadowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rounds = soak_rounds(20)
    for n in range(rounds):
        _register_race_round(monkeypatch, n)
    print(f"soak: register-adapter-race rounds={rounds} stale=0")


def _register_race_round(monkeypatch: pytest.MonkeyPatch, n: int) -> None:
    resolve = convert._resolve  # pyright: ignore[reportPrivateUsage]

    class Base:
        pass

    class Kind(Base):
        pass

    async def old(obj: object) -> str:
        return "old"

    async def new(obj: object) -> str:
        return "new"

    register_adapter(Base, old)
    resolved = threading.Event()
    registered = threading.Event()

    def paused_resolve(cls: type[Any]) -> Any:
        # The interleaving hook: the converting thread has resolved Kind's
        # handler from the adapters as they were, and waits here while
        # the other thread registers a new adapter for Kind.
        handler = resolve(cls)
        if cls is Kind:
            resolved.set()
            assert registered.wait(PROMPT)
        return handler

    monkeypatch.setattr(convert, "_resolve", paused_resolve)

    def register_when_resolved() -> None:
        assert resolved.wait(PROMPT)
        register_adapter(Kind, new)
        registered.set()

    registering = threading.Thread(target=register_when_resolved)
    registering.start()
    first = asyncio.run(_convert(Kind()))
    registering.join(PROMPT)
    monkeypatch.setattr(convert, "_resolve", resolve)
    # The conversion that raced used the adapters it saw; every later one
    # uses the new adapter.
    assert first == "old", n
    assert asyncio.run(_convert(Kind())) == "new", n


async def _convert(obj: object) -> Any:
    return await to_asyncio_future(obj)  # type: ignore[call-overload]  # pyright: ignore[reportCallIssue, reportArgumentType]


# --- item 10: a list nested deep, with a coroutine at each level -------------------


def _nested(depth: int, leaf: object) -> tuple[list[Any], list[Coroutine[Any, Any, int]]]:
    """``[c0, [c1, [c2, ... [leaf]]]]`` and the coroutines in it."""
    coros: list[Coroutine[Any, Any, int]] = []
    inner: list[Any] = [leaf]
    for level in reversed(range(depth)):
        coro = _value(level)
        coros.append(coro)
        inner = [coro, inner]
    return inner, coros


async def _value(n: int) -> int:
    await asyncio.sleep(0)
    return n


def _flatten(nested: list[Any]) -> list[Any]:
    flat: list[Any] = []
    while isinstance(nested, list) and len(nested) == 2:
        flat.append(nested[0])
        nested = nested[1]
    flat.append(nested)
    return flat


@pytest.mark.parametrize("depth", [400, 2000])
def test_a_deeply_nested_list_converts_in_full(depth: int) -> None:
    nested, _ = _nested(depth, None)

    async def main() -> list[Any]:
        return await to_asyncio_future(nested)

    result = asyncio.run(main())
    assert _flatten(result) == [*range(depth), [None]]


@pytest.mark.parametrize("depth", [400, 2000])
def test_a_bad_leaf_deep_down_starts_nothing(depth: int) -> None:
    nested, coros = _nested(depth, object())  # not a yieldable, at the very bottom

    async def main() -> None:
        with pytest.raises(TypeError, match="object"):
            to_asyncio_future(nested)
        # No child was started: no task besides this one exists.
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(main())
    assert all(inspect.getcoroutinestate(c) == inspect.CORO_CREATED for c in coros)
    for coro in coros:
        coro.close()
