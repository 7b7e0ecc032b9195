"""asyncio's call graph sees through futurebridge's bridges (Python 3.14+).

``asyncio.capture_call_graph()`` and ``python -m asyncio pstree PID`` follow
who awaits each future. Each test below starts a leaf task through one kind
of bridge and checks, from inside the leaf, that the outer task is reachable.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections.abc import Generator
from typing import Any

import pytest
from tornado import gen

from futurebridge import LoopThread, as_asyncio, as_tornado, to_asyncio_future

pytestmark = pytest.mark.skipif(
    sys.version_info < (3, 14), reason="asyncio's call graph is new in Python 3.14"
)


def _awaiters(graph: Any) -> list[asyncio.Future[Any]]:
    found: list[asyncio.Future[Any]] = []
    for waiter in graph.awaited_by:
        found.append(waiter.future)
        found.extend(_awaiters(waiter))
    return found


async def _leaf(seen: list[list[asyncio.Future[Any]]]) -> int:
    # Suspend first, so every waiter is waiting by the time we look.
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    capture: Any = getattr(asyncio, "capture_call_graph")
    seen.append(_awaiters(capture()))
    return 1


def _reaches_outer(body: Any) -> list[bool]:
    seen: list[list[asyncio.Future[Any]]] = []

    async def outer() -> list[bool]:
        me = asyncio.current_task()
        await body(seen)
        return [me in waiters for waiters in seen]

    return asyncio.run(outer())


def test_list_aggregate() -> None:
    async def body(seen: list[list[asyncio.Future[Any]]]) -> None:
        await to_asyncio_future([_leaf(seen), _leaf(seen)])

    assert _reaches_outer(body) == [True, True]


def test_dict_aggregate() -> None:
    async def body(seen: list[list[asyncio.Future[Any]]]) -> None:
        await to_asyncio_future({"a": _leaf(seen), "b": _leaf(seen)})

    assert _reaches_outer(body) == [True, True]


def test_legacy_generator_driver_under_as_asyncio() -> None:
    @as_asyncio
    def legacy(seen: list[list[asyncio.Future[Any]]]) -> Generator[Any, Any, int]:
        value: int = yield _leaf(seen)
        values: list[int] = yield [_leaf(seen)]
        return value + values[0]

    assert _reaches_outer(legacy) == [True, True]


def test_legacy_generator_driver_under_as_tornado() -> None:
    @as_tornado
    def inner(seen: list[list[asyncio.Future[Any]]]) -> Generator[Any, Any, int]:
        yield gen.moment
        value: int = yield _leaf(seen)
        return value

    @as_tornado
    def legacy(seen: list[list[asyncio.Future[Any]]]) -> Generator[Any, Any, int]:
        values: list[int] = yield [inner(seen), inner(seen)]
        return sum(values)

    assert _reaches_outer(legacy) == [True, True]


def test_as_tornado_async_def() -> None:
    @as_tornado
    async def wrapped(seen: list[list[asyncio.Future[Any]]]) -> int:
        return await _leaf(seen)

    assert _reaches_outer(wrapped) == [True]


def test_loop_thread_call_from_another_loop() -> None:
    # The leaf runs on the LoopThread's loop; its caller waits on this one.
    with LoopThread() as thread:

        async def body(seen: list[list[asyncio.Future[Any]]]) -> None:
            await thread.call(_leaf, seen)

        assert _reaches_outer(body) == [True]


def test_loop_thread_submit_bridged_back() -> None:
    with LoopThread() as thread:

        async def body(seen: list[list[asyncio.Future[Any]]]) -> None:
            await to_asyncio_future(thread.submit(_leaf, seen))

        assert _reaches_outer(body) == [True]


def test_tasks_started_by_futurebridge_have_readable_names() -> None:
    @as_tornado
    def legacy() -> Generator[Any, Any, str]:
        yield gen.moment
        task = asyncio.current_task()
        assert task is not None
        return task.get_name()

    async def main() -> str:
        return await legacy()

    assert asyncio.run(main()) == f"as_tornado:{legacy.__qualname__}"


CHAIN = """
import asyncio
from tornado import gen
from futurebridge import as_tornado, to_asyncio_future

@as_tornado
def fetch_price(item):
    yield gen.moment
    yield gen.moment
    print("ready", flush=True)
    yield gen.sleep(30)
    return 3

@as_tornado
def fetch_basket(items):
    # After one step the body runs in its task; its very first step runs in
    # the caller's frame (as under @gen.coroutine), and an aggregate made
    # there is recorded as awaited by the caller's task instead.
    yield gen.moment
    prices = yield [fetch_price(i) for i in items]
    return sum(prices)

@as_tornado
def checkout(user):
    total = yield fetch_basket(["apple"])
    return total

async def main():
    print(await to_asyncio_future(checkout("ada")))

asyncio.run(main())
"""


def test_pstree_shows_a_legacy_chain() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(CHAIN)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        tree = subprocess.run(
            [sys.executable, "-m", "asyncio", "pstree", str(child.pid)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        child.kill()
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()
    if tree.returncode != 0 and "ermission" in tree.stderr:
        pytest.fail(f"pstree needs ptrace permission here (run as root): {tree.stderr}")
    assert tree.returncode == 0, tree.stderr
    names = [line.split("(T) ")[1].strip() for line in tree.stdout.splitlines() if "(T) " in line]
    assert names[-3:] == [
        "as_tornado:checkout",
        "as_tornado:fetch_basket",
        "as_tornado:fetch_price",
    ]
