"""Property-based tests: an arbitrary nesting of yieldables, with arbitrary
outcomes, gives through futurebridge exactly what the equivalent plain
asyncio program (built with asyncio.gather, ensure_future and wrap_future)
gives: the same value, the same exception, or a cancellation, and cancelling
the outer future ends every child the same way.

Each leaf finishes a distinct number of loop iterations after the start
(they are spaced widely), so which exception comes first does not depend on
the few iterations a conversion may add: the comparison is exact.

The futurebridge side is evaluated several ways: ``to_asyncio_future``,
``to_tornado_future``, ``@as_asyncio`` and ``@as_tornado`` on a function
returning the nesting, and a legacy generator under ``@as_asyncio`` that
yields it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any, cast

import pytest
import tornado.gen
import uvloop
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from futurebridge import LoopThread, as_asyncio, as_tornado, to_asyncio_future, to_tornado_future

from ._support import SOAK, Boom, Ledger, capture_logs

pytestmark = [pytest.mark.timeout(120), pytest.mark.slow]

PROPERTIES = settings(
    max_examples=500 if SOAK else 80,
    deadline=None,  # a shared, noisy machine
    suppress_health_check=[HealthCheck.too_slow],
)

#: Loop iterations between two leaves' ends: more than any conversion adds.
SPACING = 12

LEAF_OUTCOMES: dict[str, tuple[str, ...]] = {
    "coro": ("value", "raise", "cancel"),
    "gen.coroutine": ("value", "raise"),
    "as_asyncio generator": ("value", "raise"),
    "as_tornado": ("value", "raise", "cancel"),
    "future": ("value", "raise", "cancel"),
    # Done or cross-thread leaves end at no fixed iteration: values only, so
    # that which failure comes first stays deterministic.
    "done concurrent future": ("value",),
    "loop thread task": ("value",),
    "none": ("value",),
    "moment": ("value",),
}


@dataclasses.dataclass(frozen=True)
class Leaf:
    kind: str
    outcome: str
    tag: int = 0
    steps: int = 0


@dataclasses.dataclass(frozen=True)
class Node:
    kind: str  # list, tuple, dict
    children: tuple[Leaf | Node | Again, ...]
    keys: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Again:
    """The very same object as this node's child number *index*, listed again
    (as in ``[c, c]``; asyncio.gather runs it once and gives its outcome twice)."""

    index: int


Tree = Leaf | Node

leaves = st.sampled_from(sorted(LEAF_OUTCOMES)).flatmap(
    lambda kind: st.sampled_from(LEAF_OUTCOMES[kind]).map(lambda outcome: Leaf(kind, outcome))
)


def _with_repeats(node: Node, repeats: list[int]) -> Node:
    if not node.children:
        return node
    again = tuple(Again(i % len(node.children)) for i in repeats)
    keys = node.keys + tuple(f"again{n}" for n in range(len(again))) if node.keys else ()
    return Node(node.kind, node.children + again, keys)


def _nodes(children: st.SearchStrategy[Tree]) -> st.SearchStrategy[Tree]:
    nodes = st.one_of(
        st.lists(children, max_size=4).map(lambda c: Node("list", tuple(c))),
        st.lists(children, max_size=3).map(lambda c: Node("tuple", tuple(c))),
        st.dictionaries(st.text("abc", max_size=2), children, max_size=3).map(
            lambda d: Node("dict", tuple(d.values()), tuple(d))
        ),
    )
    repeats = st.lists(st.integers(0, 3), max_size=2)
    return st.builds(_with_repeats, nodes, repeats)


def _number(tree: Tree) -> Tree:
    """Give each leaf a tag and a distinct end time, depth first."""
    counter = 0

    def walk(node: Tree | Again) -> Tree | Again:
        nonlocal counter
        if isinstance(node, Again):
            return node
        if isinstance(node, Leaf):
            counter += 1
            return dataclasses.replace(node, tag=counter, steps=counter * SPACING)
        return dataclasses.replace(node, children=tuple(walk(c) for c in node.children))

    numbered = walk(tree)
    assert not isinstance(numbered, Again)
    return numbered


trees: st.SearchStrategy[Tree] = st.recursive(leaves, _nodes, max_leaves=8).map(_number)
#: None, or after how many "leaf slots" the outer future is cancelled.
cancel_points = st.one_of(st.none(), st.integers(0, 8))


def _count_leaves(tree: Tree | Again) -> int:
    if isinstance(tree, Again):
        return 0
    if isinstance(tree, Leaf):
        return 1
    return sum(_count_leaves(c) for c in tree.children)


# --- leaves -----------------------------------------------------------------------


class Clock:
    """Counts loop iterations from a program's start; ``at(n)`` is a future
    that resolves at iteration *n*. Every kind of leaf waits on it, so each
    ends at its own tick whatever its yielding costs."""

    def __init__(self) -> None:
        self.tick = 0
        self.waiters: dict[int, list[asyncio.Future[None]]] = {}
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0)
            self.tick += 1
            for waiter in self.waiters.pop(self.tick, ()):
                if not waiter.done():
                    waiter.set_result(None)

    def at(self, n: int) -> asyncio.Future[None]:
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if n <= self.tick:
            waiter.set_result(None)
        else:
            self.waiters.setdefault(n, []).append(waiter)
        return waiter

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


class _Now:
    #: The clock of the program being built and run (one program at a time).
    clock: Clock | None = None


def now() -> Clock:
    assert _Now.clock is not None
    return _Now.clock


async def leaf_coro(leaf: Leaf, ledger: Ledger) -> int:
    ledger.start(leaf.tag)
    try:
        await now().at(leaf.steps)
        if leaf.outcome == "raise":
            raise Boom(leaf.tag)
        if leaf.outcome == "cancel":
            task = asyncio.current_task()
            assert task is not None
            task.cancel()
            await asyncio.sleep(0)
        return leaf.tag
    finally:
        ledger.end(leaf.tag)


async def remote_leaf(leaf: Leaf, ledger: Ledger) -> int:
    """A leaf on the LoopThread's loop (the clock belongs to the main loop)."""
    ledger.start(leaf.tag)
    try:
        await asyncio.sleep(0)
        return leaf.tag
    finally:
        ledger.end(leaf.tag)


def leaf_generator(leaf: Leaf, ledger: Ledger) -> Generator[Any, Any, int]:
    ledger.start(leaf.tag)
    try:
        yield now().at(leaf.steps)
        if leaf.outcome == "raise":
            raise Boom(leaf.tag)
        return leaf.tag
    finally:
        ledger.end(leaf.tag)


legacy_leaf = tornado.gen.coroutine(leaf_generator)
as_asyncio_leaf = as_asyncio(leaf_generator)
as_tornado_leaf = as_tornado(leaf_coro)


class Builder:
    """Makes the objects a tree describes, on the running loop."""

    def __init__(self, ledger: Ledger, loop_thread: LoopThread) -> None:
        self.ledger = ledger
        self.loop_thread = loop_thread
        self.resolvers: list[asyncio.Future[None]] = []

    async def _resolve(self, future: asyncio.Future[int], leaf: Leaf) -> None:
        self.ledger.start(leaf.tag)
        try:
            await now().at(leaf.steps)
            if future.done():
                return
            if leaf.outcome == "raise":
                future.set_exception(Boom(leaf.tag))
            elif leaf.outcome == "cancel":
                future.cancel()
            else:
                future.set_result(leaf.tag)
        finally:
            self.ledger.end(leaf.tag)

    def leaf(self, leaf: Leaf) -> object:
        kind = leaf.kind
        if kind == "coro":
            return leaf_coro(leaf, self.ledger)
        if kind == "gen.coroutine":
            return legacy_leaf(leaf, self.ledger)
        if kind == "as_asyncio generator":
            return as_asyncio_leaf(leaf, self.ledger)
        if kind == "as_tornado":
            return as_tornado_leaf(leaf, self.ledger)
        if kind == "future":
            future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
            self.resolvers.append(asyncio.ensure_future(self._resolve(future, leaf)))
            return future
        if kind == "done concurrent future":
            done: concurrent.futures.Future[int] = concurrent.futures.Future()
            done.set_result(leaf.tag)
            return done
        if kind == "loop thread task":
            # Done before the program starts: a pending cross-thread leaf would
            # end at no fixed tick (the stress suite covers those).
            task = self.loop_thread.run(_spawn, remote_leaf(leaf, self.ledger))
            self.loop_thread.run(asyncio.wait, [task])
            return task
        if kind == "none":
            return None
        assert kind == "moment"
        return tornado.gen.moment

    def yieldable(self, tree: Tree) -> object:
        """The nesting as futurebridge takes it."""
        if isinstance(tree, Leaf):
            return self.leaf(tree)
        children: list[object] = []
        for child in tree.children:
            if isinstance(child, Again):
                children.append(children[child.index])
            else:
                children.append(self.yieldable(child))
        if tree.kind == "dict":
            return dict(zip(tree.keys, children, strict=True))
        return children if tree.kind == "list" else tuple(children)

    def plain(self, tree: Tree) -> asyncio.Future[Any]:
        """The same program in plain asyncio."""
        if isinstance(tree, Leaf):
            obj = self.leaf(tree)
            if obj is None:
                done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                done.set_result(None)
                return done
            if obj is tornado.gen.moment:
                return asyncio.ensure_future(asyncio.sleep(0))
            if isinstance(obj, concurrent.futures.Future):
                return asyncio.wrap_future(obj)
            if isinstance(obj, asyncio.Task) and obj.get_loop() is not asyncio.get_running_loop():
                copy: asyncio.Future[int] = asyncio.get_running_loop().create_future()
                copy.set_result(obj.result())
                return copy
            return asyncio.ensure_future(cast("Awaitable[Any]", obj))
        children: list[asyncio.Future[Any]] = []
        for child in tree.children:
            if isinstance(child, Again):
                children.append(children[child.index])
            else:
                children.append(self.plain(child))
        gathered = asyncio.gather(*children)
        if tree.kind == "dict":
            return asyncio.ensure_future(_as_dict(tree.keys, gathered))
        return gathered


async def _spawn(coro: Coroutine[Any, Any, int]) -> asyncio.Task[int]:
    return asyncio.ensure_future(coro)


async def _await(awaitable: Awaitable[int]) -> int:
    return await awaitable


async def _as_dict(keys: tuple[str, ...], gathered: Awaitable[list[Any]]) -> dict[str, Any]:
    return dict(zip(keys, await gathered, strict=True))


# --- evaluation ---------------------------------------------------------------------


def _through_to_asyncio_future(obj: object) -> Awaitable[Any]:
    return to_asyncio_future(obj)  # type: ignore[call-overload,no-any-return]


def _through_to_tornado_future(obj: object) -> Awaitable[Any]:
    return to_tornado_future(obj)  # type: ignore[call-overload,no-any-return]


def _through_as_asyncio(obj: object) -> Awaitable[Any]:
    def returns_obj() -> Awaitable[Any]:
        return cast("Awaitable[Any]", obj)

    return asyncio.ensure_future(as_asyncio(returns_obj)())


def _through_as_tornado(obj: object) -> Awaitable[Any]:
    return as_tornado(lambda: obj)()  # type: ignore[arg-type,return-value]


def _through_legacy_generator(obj: object) -> Awaitable[Any]:
    @as_asyncio
    def legacy() -> Generator[Any, Any, Any]:
        result = yield obj
        return result

    return asyncio.ensure_future(legacy())


WAYS: dict[str, Callable[[object], Awaitable[Any]]] = {
    "to_asyncio_future": _through_to_asyncio_future,
    "to_tornado_future": _through_to_tornado_future,
    "as_asyncio": _through_as_asyncio,
    "as_tornado": _through_as_tornado,
    "as_asyncio legacy generator": _through_legacy_generator,
}


async def outcome_of(
    future: Awaitable[Any], cancel_at: int | None, ledger: Ledger, builder: Builder
) -> tuple[str, Any]:
    """Await *future* (cancelling it at *cancel_at* if set), then wait for every
    leaf to end; return the outcome."""
    if cancel_at is not None:
        # Halfway between two leaves' ends, so both programs are in the same state.
        await now().at(cancel_at * SPACING + SPACING // 2)
        future.cancel()  # type: ignore[attr-defined]
    try:
        outcome: tuple[str, Any] = ("value", await future)
    except asyncio.CancelledError:
        outcome = ("cancelled", None)
    except Boom as exc:
        outcome = ("raised", exc.tag)
    except Exception as exc:  # any other error is an outcome to compare
        outcome = ("error", f"{type(exc).__name__}: {exc}")
    deadline = time.monotonic() + 10
    while ledger.unfinished() or not all(r.done() for r in builder.resolvers):
        assert time.monotonic() < deadline, f"leaves never ended: {ledger.unfinished()}"
        await asyncio.sleep(0.001)
    await now().stop()
    return outcome


@pytest.mark.parametrize("way", sorted(WAYS))
@pytest.mark.parametrize("loop_name", ["asyncio", "uvloop"])
def test_nestings_behave_like_plain_asyncio(way: str, loop_name: str) -> None:
    factory = asyncio.new_event_loop if loop_name == "asyncio" else uvloop.new_event_loop
    convert = WAYS[way]
    examples = 0

    async def compare(tree: Tree, cancel_at: int | None) -> None:
        nonlocal examples
        if cancel_at is not None and cancel_at > _count_leaves(tree):
            cancel_at = None
        plain_ledger, bridged_ledger = Ledger(), Ledger()
        plain_builder = Builder(plain_ledger, loop_thread)
        bridged_builder = Builder(bridged_ledger, loop_thread)
        _Now.clock = Clock()
        plain = await outcome_of(plain_builder.plain(tree), cancel_at, plain_ledger, plain_builder)
        _Now.clock = Clock()
        bridged = await outcome_of(
            convert(bridged_builder.yieldable(tree)), cancel_at, bridged_ledger, bridged_builder
        )
        _Now.clock = None
        assert bridged == plain, f"{way} on {tree!r} (cancel at {cancel_at})"
        # Every leaf ran exactly as often as in the plain program.
        assert bridged_ledger.started == plain_ledger.started
        assert not bridged_ledger.check_started_and_ended_once()
        examples += 1

    with (
        LoopThread(loop_factory=factory) as loop_thread,
        asyncio.Runner(loop_factory=factory) as runner,
        # Later failures of siblings are logged (by futurebridge and by
        # Tornado's gen.coroutine); they are not what is compared here.
        capture_logs("futurebridge", "tornado.application"),
    ):

        @PROPERTIES
        @given(trees, cancel_points)
        def check(tree: Tree, cancel_at: int | None) -> None:
            runner.run(compare(tree, cancel_at))

        check()
    print(f"properties: {examples} nestings compared through {way} on {loop_name}")
    assert examples > 0


# --- regressions found by the properties above ---------------------------------------


def test_an_object_listed_twice_runs_once() -> None:
    """As with asyncio.gather: ``[c, c]`` runs ``c`` once and gives its result
    twice (it used to fail with "cannot reuse already awaited coroutine")."""
    ledger = Ledger()

    async def main() -> None:
        coro = leaf_coro(Leaf("coro", "value", tag=1), ledger)
        _Now.clock = Clock()
        assert await to_asyncio_future([coro, coro]) == [1, 1]
        coro = leaf_coro(Leaf("coro", "value", tag=2), ledger)
        assert await to_asyncio_future({"a": coro, "b": coro}) == {"a": 2, "b": 2}
        await now().stop()
        _Now.clock = None

    asyncio.run(main())
    assert ledger.started == {1: 1, 2: 1}


def test_a_failing_future_listed_twice_surfaces_once() -> None:
    """Its exception fails the aggregate and is not logged again as a later
    failure of a sibling (it used to be: one exception, surfacing twice)."""

    async def main() -> None:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        aggregate = to_asyncio_future([future, future])
        future.set_exception(Boom(1))
        with pytest.raises(Boom):
            await aggregate
        await asyncio.sleep(0)

    with capture_logs("futurebridge") as logs:
        asyncio.run(main())
    assert logs.exceptions() == []
