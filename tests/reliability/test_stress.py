"""Stress: the main loop and several loops on threads exchange a large, bounded
number of conversions of every kind, with randomised results, exceptions,
delays and cancellations from both sides, then an accounting proves that
nothing was lost or doubled.

What is checked, for every round:

* every waiter got exactly one outcome, and it is the one the random plan
  implies (a value, one of the exceptions its tree could raise, or a
  cancellation if and only if its cancel() succeeded or a source cancelled);
* the converted future belongs to the waiter's loop and its done callbacks
  run on that loop's thread;
* every piece of user code that started ended exactly once, and nothing is
  still running when the round is over (no task left on any loop);
* every exception raised by user code surfaced exactly once: either in a
  waiter, or in a log record (futurebridge's "dropped"/"decided" records,
  Tornado's "Exception after Future was cancelled");
* asyncio logged no error (the autouse guard in tests/conftest.py);
* no bridge is left registered, no future or task object survives the round,
  traced memory does not grow from round to round, and no thread or file
  descriptor is left over after the loops close.

Sizes are bounded for the default run; FUTUREBRIDGE_SOAK=1 makes them large.
FUTUREBRIDGE_SEED=<n> replays a run's random plan (the seed is printed, and
part of every failure message; thread interleavings still vary).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import gc
import random
import threading
import time
import tracemalloc
from collections.abc import Callable, Coroutine, Generator
from typing import Any

import pytest
import tornado.gen
import uvloop

from futurebridge import _outcome, as_asyncio, as_tornado, to_asyncio_future, to_tornado_future

from ._support import (
    WORKER_KINDS,
    Boom,
    Ledger,
    Worker,
    assert_no_leaks,
    baseline,
    capture_logs,
    harness_logger,
    seeded_random,
    soak,
    submit_plain,
)

Run = Callable[[Coroutine[Any, Any, Any]], Any]

LEAF_KINDS = (
    "coro",
    "legacy",
    "as_asyncio",
    "as_tornado",
    "foreign_task",
    "cf_loop",
    "future",
    "cf_pool",
    "cf_bare",
    "remote",
    "none",
    "moment",
)
AGGREGATE_KINDS = ("list", "tuple", "dict")
OUTCOMES = ("result", "raise", "cancel")


@dataclasses.dataclass
class Spec:
    """One node of a randomly planned yieldable."""

    tag: int
    kind: str
    outcome: str = "result"
    delay: float = 0.0
    loop_index: int = 0
    children: list[Spec] = dataclasses.field(default_factory=list["Spec"])


@dataclasses.dataclass
class Op:
    """One top-level conversion: where it is awaited, how, and whether its
    waiter cancels it."""

    spec: Spec
    waiter_index: int
    via: str  # "running", "tornado" or "remote"
    remote_index: int
    cancel_after: float | None


@dataclasses.dataclass(frozen=True)
class Expected:
    value: Any = None
    failures: frozenset[int] = frozenset()  # tags of Booms that may arrive
    may_cancel: bool = False

    @property
    def fails(self) -> bool:
        return bool(self.failures) or self.may_cancel


class Planner:
    def __init__(self, rng: random.Random, loops: int) -> None:
        self.rng = rng
        self.loops = loops
        self.next_tag = 0

    def _tag(self) -> int:
        self.next_tag += 1
        return self.next_tag

    def spec(self, depth: int = 0) -> Spec:
        rng = self.rng
        if depth < 3 and rng.random() < 0.25:
            kind = rng.choice(AGGREGATE_KINDS)
            children = [self.spec(depth + 1) for _ in range(rng.randrange(0, 5))]
            return Spec(self._tag(), kind, children=children)
        kind = rng.choice(LEAF_KINDS)
        outcome = rng.choices(OUTCOMES, weights=(6, 2, 1))[0]
        if kind in ("none", "moment"):
            outcome = "result"
        elif kind in ("legacy", "as_asyncio") and outcome == "cancel":
            # A generator cannot cancel its own Tornado future.
            outcome = "raise"
        delay = rng.choice((0.0, 0.0, 0.0005, 0.002, 0.005))
        return Spec(self._tag(), kind, outcome, delay, rng.randrange(self.loops))

    def op(self) -> Op:
        rng = self.rng
        return Op(
            spec=self.spec(),
            waiter_index=rng.randrange(self.loops),
            via=rng.choices(("running", "tornado", "remote"), weights=(5, 2, 2))[0],
            remote_index=rng.randrange(self.loops),
            cancel_after=rng.choice((0.0, 0.001, 0.003)) if rng.random() < 0.15 else None,
        )


def expected(spec: Spec) -> Expected:
    if spec.kind in AGGREGATE_KINDS:
        parts = [expected(child) for child in spec.children]
        if any(p.fails for p in parts):
            return Expected(
                failures=frozenset().union(*(p.failures for p in parts)),
                may_cancel=any(p.may_cancel for p in parts),
            )
        values = [p.value for p in parts]
        if spec.kind == "dict":
            keys = [f"k{child.tag}" for child in spec.children]
            return Expected(value=dict(zip(keys, values, strict=True)))
        return Expected(value=values)
    if spec.kind in ("none", "moment"):
        return Expected(value=None)
    if spec.outcome == "raise":
        return Expected(failures=frozenset({spec.tag}))
    if spec.outcome == "cancel":
        return Expected(may_cancel=True)
    return Expected(value=spec.tag)


# --- user code: what the planned leaves run ------------------------------------


async def user_coro(spec: Spec, ledger: Ledger) -> int:
    ledger.start(spec.tag)
    try:
        await asyncio.sleep(spec.delay)
        if spec.outcome == "raise":
            raise ledger.boom(spec.tag)
        if spec.outcome == "cancel":
            task = asyncio.current_task()
            assert task is not None
            task.cancel()
            await asyncio.sleep(0)
            raise AssertionError("a cancelled task went on running")
        return spec.tag
    finally:
        ledger.end(spec.tag)


def user_generator(spec: Spec, ledger: Ledger) -> Generator[Any, Any, int]:
    ledger.start(spec.tag)
    try:
        yield tornado.gen.sleep(spec.delay) if spec.delay else tornado.gen.moment
        if spec.outcome == "raise":
            raise ledger.boom(spec.tag)
        return spec.tag
    finally:
        ledger.end(spec.tag)


user_legacy = tornado.gen.coroutine(user_generator)
user_as_asyncio = as_asyncio(user_generator)
user_as_tornado = as_tornado(user_coro)


def user_sync(spec: Spec, ledger: Ledger) -> int:
    ledger.start(spec.tag)
    try:
        time.sleep(spec.delay)
        if spec.outcome == "raise":
            raise ledger.boom(spec.tag)
        return spec.tag
    finally:
        ledger.end(spec.tag)


def resolve_future(future: asyncio.Future[int], spec: Spec, ledger: Ledger) -> None:
    """Runs on the future's own loop: the source side decides the outcome."""
    ledger.start(spec.tag)
    try:
        if future.done():  # its waiter cancelled it through the bridge
            return
        if spec.outcome == "raise":
            future.set_exception(ledger.boom(spec.tag))
        elif spec.outcome == "cancel":
            future.cancel()
        else:
            future.set_result(spec.tag)
    finally:
        ledger.end(spec.tag)


def resolve_concurrent(future: concurrent.futures.Future[int], spec: Spec, ledger: Ledger) -> None:
    """Runs on some loop's thread, racing a cancel() from the waiter's thread."""
    ledger.start(spec.tag)
    try:
        if spec.outcome == "cancel":
            future.cancel()
            return
        try:
            if spec.outcome == "raise":
                exc = Boom(spec.tag)
                future.set_exception(exc)
                ledger.raised[spec.tag] = exc
            else:
                future.set_result(spec.tag)
        except concurrent.futures.InvalidStateError:
            assert future.cancelled()
    finally:
        ledger.end(spec.tag)


async def _spawn(coro: Coroutine[Any, Any, int]) -> asyncio.Task[int]:
    return asyncio.ensure_future(coro)


# --- one round -----------------------------------------------------------------


class Round:
    def __init__(
        self,
        loops: list[asyncio.AbstractEventLoop],
        submitters: list[Callable[..., concurrent.futures.Future[Any]]],
        executor: concurrent.futures.ThreadPoolExecutor,
    ) -> None:
        self.loops = loops
        self.submitters = submitters
        self.executor = executor
        self.ledger = Ledger()
        self.pool_futures: list[concurrent.futures.Future[int]] = []
        self.callbacks_pending = 0
        self._lock = threading.Lock()
        self.problems: list[str] = []

    def _schedule(self, loop: asyncio.AbstractEventLoop, delay: float, fn: Any, *args: Any) -> None:
        with self._lock:
            self.callbacks_pending += 1

        def run() -> None:
            try:
                fn(*args)
            finally:
                with self._lock:
                    self.callbacks_pending -= 1

        loop.call_soon_threadsafe(loop.call_later, delay, run)

    async def build(self, spec: Spec) -> object:
        """Make the yieldable *spec* describes, on the running (waiter's) loop."""
        ledger = self.ledger
        source_loop = self.loops[spec.loop_index]
        if spec.kind in ("list", "tuple"):
            children = [await self.build(child) for child in spec.children]
            return children if spec.kind == "list" else tuple(children)
        if spec.kind == "dict":
            return {f"k{child.tag}": await self.build(child) for child in spec.children}
        if spec.kind == "none":
            return None
        if spec.kind == "moment":
            return tornado.gen.moment
        if spec.kind == "coro":
            return user_coro(spec, ledger)
        if spec.kind == "legacy":
            return user_legacy(spec, ledger)
        if spec.kind == "as_asyncio":
            return user_as_asyncio(spec, ledger)
        if spec.kind == "as_tornado":
            return user_as_tornado(spec, ledger)
        if spec.kind == "cf_loop":
            # A concurrent future of a coroutine on some loop: LoopThread.submit
            # or asyncio.run_coroutine_threadsafe.
            return self.submitters[spec.loop_index](user_coro, spec, ledger)
        if spec.kind == "foreign_task":
            spawned = asyncio.run_coroutine_threadsafe(_spawn(user_coro(spec, ledger)), source_loop)
            return await asyncio.wrap_future(spawned)
        if spec.kind == "future":
            future: asyncio.Future[int] = asyncio.Future(loop=source_loop)
            self._schedule(source_loop, spec.delay, resolve_future, future, spec, ledger)
            return future
        if spec.kind == "cf_bare":
            bare: concurrent.futures.Future[int] = concurrent.futures.Future()
            self._schedule(source_loop, spec.delay, resolve_concurrent, bare, spec, ledger)
            return bare
        if spec.kind == "cf_pool":
            submitted = self.executor.submit(user_sync, spec, ledger)
            self.pool_futures.append(submitted)
            if spec.outcome == "cancel" and not submitted.cancel():
                spec.outcome = "result"  # already running: it will end normally
            return submitted
        if spec.kind == "remote":
            # Start the coroutine on another loop from this thread (the
            # thread-safe path when that loop runs elsewhere).
            return to_asyncio_future(user_coro(spec, ledger), loop=source_loop)
        raise AssertionError(spec.kind)

    async def drive(self, op: Op) -> None:
        """The waiter of one operation, on its own loop."""
        loop = asyncio.get_running_loop()
        obj: Any = await self.build(op.spec)
        if op.via == "tornado":
            future = to_tornado_future(obj)
        elif op.via == "remote":
            # Convert onto another loop, then bring the result back here.
            remote = to_asyncio_future(obj, loop=self.loops[op.remote_index])
            future = to_asyncio_future(remote)
        else:
            future = to_asyncio_future(obj)
        if future.get_loop() is not loop:
            self.problems.append(f"op #{op.spec.tag}: future of the wrong loop")
        callback_threads: list[int] = []
        future.add_done_callback(lambda _: callback_threads.append(threading.get_ident()))
        cancel_results: list[bool] = []
        if op.cancel_after is not None:
            loop.call_later(op.cancel_after, lambda: cancel_results.append(future.cancel()))
        try:
            outcome: tuple[str, Any] = ("value", await future)
        except asyncio.CancelledError:
            outcome = ("cancelled", None)
        except Boom as exc:
            outcome = ("boom", exc)
        await asyncio.sleep(0)  # let the done callbacks run
        if callback_threads != [threading.get_ident()]:
            self.problems.append(f"op #{op.spec.tag}: done callbacks ran {callback_threads}")
        self.ledger.record(op.spec.tag, (outcome, bool(cancel_results and cancel_results[0])))

    def check_outcomes(self, ops: list[Op], logged: list[BaseException]) -> int:
        """Compare every waiter's outcome with the plan; return the count checked."""
        ledger = self.ledger
        delivered: list[Boom] = []
        for op in ops:
            recorded = ledger.outcomes.get(op.spec.tag, [])
            if len(recorded) != 1:
                self.problems.append(f"op #{op.spec.tag}: {len(recorded)} outcomes")
                continue
            (kind, value), cancelled_by_waiter = recorded[0]
            want = expected(op.spec)
            if kind == "boom":
                delivered.append(value)
            if cancelled_by_waiter:
                ok = kind == "cancelled"
            elif kind == "value":
                ok = not want.fails and value == want.value
            elif kind == "boom":
                ok = value.tag in want.failures
            else:
                ok = want.may_cancel
            if not ok:
                self.problems.append(
                    f"op #{op.spec.tag}: got {kind} {value!r}, expected {want} "
                    f"(waiter cancelled: {cancelled_by_waiter}) for {op}"
                )
        self.problems += ledger.check_started_and_ended_once()
        # Every exception user code raised surfaced exactly once.
        seen = [id(e) for e in delivered] + [id(e) for e in logged if isinstance(e, Boom)]
        where: dict[int, Op] = {}

        def index(spec: Spec, op: Op) -> None:
            where[spec.tag] = op
            for child in spec.children:
                index(child, op)

        for op in ops:
            index(op.spec, op)
        for tag, exc in ledger.raised.items():
            count = seen.count(id(exc))
            if count != 1:
                op = where[tag]
                self.problems.append(
                    f"Boom({tag}) surfaced {count} times; in op {op}; outcome "
                    f"{ledger.outcomes.get(op.spec.tag)}"
                )
        nodes = 0

        def count_nodes(spec: Spec) -> None:
            nonlocal nodes
            nodes += 1
            for child in spec.children:
                count_nodes(child)

        for op in ops:
            count_nodes(op.spec)
        return nodes

    def quiet(self) -> bool:
        with self._lock:
            pending = self.callbacks_pending
        return (
            not pending
            and not self.ledger.unfinished()
            and all(f.done() for f in self.pool_futures)
        )


async def _other_tasks() -> list[str]:
    current = asyncio.current_task()
    return [repr(t) for t in asyncio.all_tasks() if t is not current]


async def _tasks_left(workers: list[Worker]) -> list[str]:
    left = await _other_tasks()
    for worker in workers:
        left += await worker.launch(_other_tasks)
    return left


async def run_round(
    planner: Planner,
    workers: list[Worker],
    executor: concurrent.futures.ThreadPoolExecutor,
    n_ops: int,
    seed: int,
) -> int:
    """One round of *n_ops* concurrent operations; returns the nodes checked."""
    loops = [asyncio.get_running_loop(), *(w.loop for w in workers)]
    main_loop = loops[0]

    def submit_to_main(fn: Callable[..., Coroutine[Any, Any, Any]], *args: Any) -> Any:
        return submit_plain(main_loop, fn, *args)

    rnd = Round(loops, [submit_to_main, *(w.submit for w in workers)], executor)
    ops = [planner.op() for _ in range(n_ops)]
    with capture_logs("futurebridge", "tornado.application", harness_logger.name) as logs:
        waiters: list[Any] = []
        for op in ops:
            if op.waiter_index == 0:
                waiters.append(rnd.drive(op))
            else:
                waiter_loop = loops[op.waiter_index]
                waiters.append(
                    asyncio.wrap_future(
                        asyncio.run_coroutine_threadsafe(rnd.drive(op), waiter_loop)
                    )
                )
        await asyncio.gather(*waiters)
        deadline = time.monotonic() + 30
        while not rnd.quiet() or await _tasks_left(workers):
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"seed {seed}: the round does not settle: unfinished "
                    f"{rnd.ledger.unfinished()}, tasks {await _tasks_left(workers)}"
                )
            await asyncio.sleep(0.005)
        # Let the last done callbacks (deliveries, drop logs) run everywhere.
        for worker in workers:
            await worker.launch(asyncio.sleep, 0)
        await asyncio.sleep(0)
        logged = logs.exceptions()
    nodes = rnd.check_outcomes(ops, logged)
    if live := _outcome.live_bridges():
        rnd.problems.append(f"bridges left registered: {live}")
    assert not rnd.problems, f"seed {seed}:\n" + "\n".join(rnd.problems[:30])
    return nodes


def _live_objects() -> tuple[int, int]:
    """(asyncio futures and tasks alive, all gc-tracked objects alive)."""
    objects = gc.get_objects()
    return sum(1 for o in objects if isinstance(o, asyncio.Future)), len(objects)


def _who_holds_futures(limit: int = 5) -> str:
    """For a failure message: what refers to some of the futures still alive."""
    lines = []
    futures = [o for o in gc.get_objects() if isinstance(o, asyncio.Future)]
    for future in futures[:limit]:
        holders = [type(r).__qualname__ for r in gc.get_referrers(future) if r is not futures]
        lines.append(f"{future!r:.120} held by {holders}")
    return "\n".join(lines)


# The traced-memory budget: a high-water mark may move once (asyncio's set of
# all tasks keeps the table of its busiest moment, a 128 KiB step seen in soak
# runs), a leak grows every round: one small object per operation is 40+ bytes.
MEMORY_STEP_ALLOWANCE = 256 * 1024
MEMORY_BYTES_PER_OP = 16


@pytest.mark.slow
@pytest.mark.timeout(300)
@pytest.mark.parametrize("worker_kind", sorted(WORKER_KINDS))
def test_stress_every_kind_across_loops(run: Run, worker_kind: str) -> None:
    """*worker_kind*: the loops on threads are plain asyncio/uvloop loops
    driven with run_coroutine_threadsafe, or futurebridge LoopThreads driven
    with their own call()."""
    rng, seed = seeded_random("stress")
    before = baseline()
    make_worker = WORKER_KINDS[worker_kind]
    workers = [
        make_worker(asyncio.new_event_loop if i % 2 else uvloop.new_event_loop, f"stress-{i}")
        for i in range(soak(4, 8))
    ]
    executor = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="stress-pool")
    rounds, n_ops = soak(6, 60), soak(600, 2000)
    totals: list[int] = []
    memory: list[int] = []
    alive: list[tuple[int, int]] = []
    held: list[str] = []

    async def main() -> None:
        planner = Planner(rng, len(workers) + 1)
        for index in range(rounds):
            totals.append(await run_round(planner, workers, executor, n_ops, seed))
            gc.collect()
            alive.append(_live_objects())
            if index and alive[-1][0] != alive[1][0] and not held:
                held.append(_who_holds_futures())
            if index == 0:
                tracemalloc.start()
            else:
                memory.append(tracemalloc.get_traced_memory()[0])

    try:
        run(main())
    finally:
        tracemalloc.stop()
        executor.shutdown(wait=True)
        for worker in workers:
            worker.stop()
    print(
        f"stress: {sum(totals)} nodes checked in {rounds} rounds of {n_ops} operations; "
        f"traced memory per round {memory}; (futures, objects) alive per round {alive}"
    )
    # Nothing accumulates from round to round. The second round is the
    # baseline (caches are warm). A leak grows every round, so at least one of
    # the last two rounds is above the baseline; a callback that happens to
    # hold the last frames of a round until the loops run again (seen on 3.12
    # and 3.13, one future or one round's objects, gone a round later) is not.
    futures = [count for count, _ in alive]
    objects = [count for _, count in alive]
    report = f"seed {seed}: (futures, objects) per round {alive}\n{held}"
    assert min(futures[-2:]) <= futures[1], report
    assert max(futures[1:]) <= futures[1] + 2 * n_ops, report
    assert min(objects[-2:]) - objects[1] < n_ops // 10, report
    budget = MEMORY_STEP_ALLOWANCE + MEMORY_BYTES_PER_OP * n_ops * (rounds - 2)
    assert memory[-1] - memory[0] < budget, f"seed {seed}: memory per round {memory}"
    gc.collect()
    assert_no_leaks(before)
