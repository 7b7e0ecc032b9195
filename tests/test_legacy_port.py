"""Porting legacy code: tests/legacy_shop.py, written with @gen.coroutine,
yield and gen.multi, becomes asyncio code by changing its decorators to
@as_asyncio and nothing else, and behaves the same; on cancellation it now
behaves better (the generator is told, so its cleanup runs)."""

from __future__ import annotations

import asyncio
import difflib
import inspect
import pathlib
import types
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

Run = Callable[[Coroutine[Any, Any, Any]], Any]

SOURCE_PATH = pathlib.Path(__file__).with_name("legacy_shop.py")


def _load(name: str, source: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.__file__ = str(SOURCE_PATH)
    exec(compile(source, str(SOURCE_PATH), "exec"), module.__dict__)
    return module


@pytest.fixture(scope="module")
def modules() -> tuple[types.ModuleType, types.ModuleType]:
    legacy_source = SOURCE_PATH.read_text()
    ported_source = legacy_source.replace("    @gen.coroutine\n", "    @as_asyncio\n")
    # The port changes decorator lines and nothing else.
    changed = [
        line
        for line in difflib.ndiff(legacy_source.splitlines(), ported_source.splitlines())
        if line.startswith(("- ", "+ "))
    ]
    assert changed
    assert set(changed) == {"-     @gen.coroutine", "+     @as_asyncio"}
    return _load("legacy_shop", legacy_source), _load("ported_shop", ported_source)


@pytest.fixture
def executor() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(2) as pool:
        yield pool


async def _scenario(module: types.ModuleType, executor: ThreadPoolExecutor) -> dict[str, Any]:
    """Everything the shop does, with every outcome recorded."""
    shop = module.Shop(executor)
    outcome: dict[str, Any] = {}
    outcome["price"] = await shop.price("pear")
    outcome["quote"] = await shop.quote({"apple": 2, "plum": 1})
    outcome["order"] = await shop.order({"apple": 3, "plum": 2})
    with pytest.raises(module.OutOfStock) as out_of_stock:
        await shop.order({"pear": 1})
    outcome["out of stock"] = str(out_of_stock.value)
    with pytest.raises(KeyError) as missing:
        await shop.quote({"kiwi": 1})
    outcome["missing"] = str(missing.value)
    outcome["order all"] = await shop.order_all([{"apple": 1}, {"pear": 2}, {"plum": 1}])
    outcome["gathered"] = await asyncio.gather(shop.price("apple"), shop.reserve("apple", 1))
    outcome["stock"] = dict(shop.stock)
    outcome["events"] = list(shop.events)
    return outcome


def test_ported_module_behaves_the_same(
    modules: tuple[types.ModuleType, types.ModuleType], executor: ThreadPoolExecutor, run: Run
) -> None:
    legacy, ported = modules
    before = run(_scenario(legacy, executor))
    after = run(_scenario(ported, executor))
    assert after == before
    # And it is not a vacuous comparison.
    assert before["order"] == "5 items, 23 coins"
    assert before["order all"] == ["1 items, 3 coins", "refused", "1 items, 7 coins", "3 orders"]
    assert before["stock"] == {"apple": 5, "pear": 0, "plum": 1}


def test_ported_functions_are_coroutine_functions(
    modules: tuple[types.ModuleType, types.ModuleType],
) -> None:
    legacy, ported = modules
    names = ["price", "reserve", "quote", "order", "order_all", "deliver"]
    for name in names:
        assert not inspect.iscoroutinefunction(getattr(legacy.Shop, name))
        assert inspect.iscoroutinefunction(getattr(ported.Shop, name))
        assert inspect.signature(getattr(ported.Shop, name)) == inspect.signature(
            getattr(legacy.Shop, name)
        )


def test_ported_module_serves_legacy_callers(
    modules: tuple[types.ModuleType, types.ModuleType], executor: ThreadPoolExecutor, run: Run
) -> None:
    """Code that was not ported yet still yields the ported coroutines."""
    from tornado import gen

    _, ported = modules

    @gen.coroutine
    def legacy_caller() -> Any:
        shop = ported.Shop(executor)
        both = yield [shop.price("plum"), shop.quote({"pear": 2})]
        return both

    async def main() -> list[int]:
        result: list[int] = await legacy_caller()
        return result

    assert run(main()) == [7, 10]


def test_cancellation_now_reaches_the_generator(
    modules: tuple[types.ModuleType, types.ModuleType], executor: ThreadPoolExecutor, run: Run
) -> None:
    legacy, ported = modules

    async def cancel_delivery(module: types.ModuleType) -> tuple[list[str], bool]:
        shop = module.Shop(executor)
        task = asyncio.ensure_future(shop.deliver())
        for _ in range(2):
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        gate_cancelled = shop.gate.cancelled()
        if not shop.gate.done():
            shop.gate.set_result("the door")
        for _ in range(3):
            await asyncio.sleep(0)
        return shop.events, gate_cancelled

    # Tornado's gen.coroutine (issue 2990): the generator is never told
    # and carries on once its future resolves, long after its caller gave up.
    assert run(cancel_delivery(legacy)) == (
        ["delivery started", "delivered to the door", "delivery cleanup"],
        False,
    )
    # Ported: the awaited future is cancelled and the generator cleans up at once.
    assert run(cancel_delivery(ported)) == (["delivery started", "delivery cleanup"], True)
