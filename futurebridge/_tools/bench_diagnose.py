"""Where the time goes in the bench rows that miss (or barely meet) their targets.

A developer's tool, not a user command::

    python -m futurebridge._tools.bench_diagnose [--quick]

Each section rebuilds one operation step by step, from the raw asyncio floor
up to futurebridge's full code path, and measures every step with the bench
harness (interleaved batches, medians). The ratio column is the step's median
over the first line of its section, so the jump between two consecutive steps
is the cost of what the later step adds.
"""

# This script takes the bench harness's helpers apart on purpose.
# pyright: reportPrivateUsage=false

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import sys
import threading
from asyncio.events import _get_running_loop
from collections.abc import Callable
from threading import get_ident
from typing import Any, cast

from futurebridge import AsyncIOLoop, LoopThread, to_asyncio_future

from .._callbacks import _run_callback
from .bench import (
    Row,
    Timer,
    Variant,
    _asyncio_loop,
    _bare_loop_thread,
    _calls,
    _format_time,
    _noop,
    _on,
    _scheduling,
    run_bench,
)

_Future = asyncio.Future


# --- to_asyncio_future(done future on the running loop) -----------------------------------


def _same_signature(obj: object, /, *, loop: object = None) -> bool:
    return True


def _plus_type_check(obj: object, /, *, loop: object = None) -> bool:
    return loop is None and type(obj) is _Future


def _plus_thread_check(obj: Any, /, *, loop: object = None) -> bool:
    # What to_asyncio_future must also know: is obj's loop the one running here?
    return loop is None and type(obj) is _Future and obj._loop._thread_id == get_ident()  # type: ignore[attr-defined]  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownVariableType]


def _asking_asyncio(obj: Any, /, *, loop: object = None) -> bool:
    # The public way to know: asyncio's running loop (a getpid() per call on 3.11).
    return loop is None and type(obj) is _Future and obj._loop is _get_running_loop()


def _done_future(stack: contextlib.ExitStack) -> list[Variant]:
    loop = stack.enter_context(_asyncio_loop())
    done: asyncio.Future[int] = loop.create_future()
    done.set_result(1)

    def step(name: str, fn: Callable[[Any], object]) -> Variant:
        return Variant(name, "asyncio", _on(loop, _calls(fn, done)))

    return [
        step("asyncio.isfuture (the reference)", asyncio.isfuture),
        step("a function with the same signature", _same_signature),
        step("  + exact type check", _plus_type_check),
        step("  + thread check (threading.get_ident)", _plus_thread_check),
        step("  or asyncio's running loop (getpid on 3.11)", _asking_asyncio),
        Variant("to_asyncio_future", "futurebridge", _on(loop, _calls(to_asyncio_future, done))),
    ]


# --- IOLoop.add_callback --------------------------------------------------------------------


class _MinimalIOLoop:
    """add_callback reduced to its contract: a method, Tornado's callback wrapper, call_soon."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.asyncio_loop = loop

    def add_callback(self, callback: Callable[..., object], *args: Any) -> None:
        self.asyncio_loop.call_soon(_run_callback, callback, *args)


def _add_callback(stack: contextlib.ExitStack) -> list[Variant]:
    ours = AsyncIOLoop(make_current=False)
    stack.callback(ours.close)
    loop = ours.asyncio_loop

    minimal = _MinimalIOLoop(loop)
    return [
        Variant("loop.call_soon(cb) (the reference)", "asyncio", _scheduling(loop, loop.call_soon)),
        Variant(
            "  + Tornado's wrapper: call_soon(_run_callback, cb)",
            "asyncio",
            _scheduling(
                loop,
                functools.partial(cast("Callable[..., object]", loop.call_soon), _run_callback),
            ),
        ),
        Variant("  + a method frame around it", "asyncio", _scheduling(loop, minimal.add_callback)),
        Variant("AsyncIOLoop.add_callback", "futurebridge", _scheduling(loop, ours.add_callback)),
    ]


# --- cross-thread round trip ------------------------------------------------------------------


def _cross_thread(stack: contextlib.ExitStack) -> list[Variant]:
    bare = stack.enter_context(_bare_loop_thread())
    lt = stack.enter_context(LoopThread(name="diagnose-loop-thread"))

    def round_trips(start: Callable[[Callable[[], None]], None]) -> Timer:
        def timer(n: int) -> float:
            import time

            lock = threading.Lock()
            lock.acquire()
            release = lock.release
            begin = time.perf_counter()
            for _ in range(n):
                start(release)
                lock.acquire()
            return time.perf_counter() - begin

        return timer

    def wake(release: Callable[[], None]) -> None:
        bare.call_soon_threadsafe(release)

    async def release_after(release: Callable[[], None]) -> None:
        await _noop()
        release()

    def task(release: Callable[[], None]) -> None:
        # Wake the loop, start a task there, release from inside the task.
        bare.call_soon_threadsafe(bare.create_task, release_after(release))

    def ours(n: int) -> float:
        import time

        begin = time.perf_counter()
        for _ in range(n):
            lt.run(_noop)
        return time.perf_counter() - begin

    return [
        Variant("bare wake-up (the reference)", "asyncio", round_trips(wake)),
        Variant("  + a task running a coroutine", "asyncio", round_trips(task)),
        Variant("LoopThread.run", "futurebridge", ours),
    ]


ROWS = (
    Row("done_future", "to_asyncio_future(done future), step by step", _done_future, ()),
    Row("add_callback", "IOLoop.add_callback, step by step", _add_callback, ()),
    Row("cross_thread", "cross-thread round trip, step by step", _cross_thread, ()),
)


def main(argv: list[str] | None = None) -> None:
    """Measure every section and print it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    result = run_bench(
        ROWS,
        mode="diagnose quick" if args.quick else "diagnose",
        batches=5 if args.quick else 15,
        batch_seconds=0.025 if args.quick else 0.1,
        progress=lambda text: print(text, file=sys.stderr),
    )
    m = result.machine
    print(f"futurebridge diagnose: Python {m['python']}, Tornado {m['tornado']}, {m['cpus']} CPUs")
    print(f"median of {result.batches} interleaved batches; ratio = step / the section's reference")
    for row in result.rows:
        print()
        print(row.title)
        reference = row.variants[0].median
        for v in row.variants:
            print(
                f"    {v.name:<52} {_format_time(v.median):>10}  ratio {v.median / reference:.2f}"
            )


if __name__ == "__main__":
    main()
