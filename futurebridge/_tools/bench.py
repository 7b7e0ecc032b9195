"""``python -m futurebridge bench``: futurebridge next to Tornado's machinery and raw asyncio.

This module owns the benchmark harness (calibration, interleaved batches,
medians, ratios, targets, progress, the table and the JSON file) and the
in-process rows. The HTTP row needs a server process and a load client; that
code lives in ``bench_http`` beside this module.

Rules that hold across this module:

1. Every variant of a row is measured in the same process run, in interleaved
   batches (the order rotates from batch to batch), so machine noise hits all
   of them alike. A row's figure is the median of its batches; a ratio is a
   ratio of medians.
2. A variant's timer runs *n* operations and returns the elapsed seconds,
   measured around the operations only (setup, loop start-up and the draining
   of created tasks stay outside). The garbage collector is paused while a
   timer runs, as :mod:`timeit` does.
3. Every row checks once, before it is timed, that its variants compute what
   they should. A row that cannot run here is reported as skipped with the
   reason, and a target whose variant could not run (no uvloop) as not
   measured: never a made-up figure.
4. Bad options are refused before anything runs (a --json path that cannot
   be written included), and Ctrl-C ends the run with one line.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import cProfile
import functools
import gc
import io
import json
import os
import platform
import pstats
import statistics
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import tornado
import tornado.gen
from tornado.platform.asyncio import AsyncIOLoop as TornadoAsyncIOLoop

import futurebridge
from futurebridge import AsyncIOLoop, LoopThread, as_asyncio, to_asyncio_future

__all__ = (
    "ROWS",
    "BenchResult",
    "Row",
    "Target",
    "Variant",
    "add_arguments",
    "format_report",
    "main",
    "run_bench",
)

Timer = Callable[[int], float]
Side = Literal["futurebridge", "tornado", "asyncio", "dask"]

# Tornado types convert_yielded as a plain function (it is a singledispatch one).
_convert_yielded: Callable[[Any], Any] = getattr(tornado.gen, "convert_yielded")
_perf = time.perf_counter


class Unavailable(Exception):
    """Raised by a row's setup when the row cannot run here; the message says why."""


class NotInstalled(Unavailable):
    """A row needs an optional extra that is not installed: not measured, not a failure."""


@dataclass(frozen=True)
class Variant:
    """One way of doing a row's operation.

    *timer(n)* performs the operation *n* times and returns the seconds it
    took. *side* says whose machinery it is.
    """

    name: str
    side: Side
    timer: Timer


@dataclass(frozen=True)
class Target:
    """A goal for futurebridge's variant against one other variant of a row.

    For a time row, ``ratio = futurebridge / other`` (lower is better); the
    target is met when ``ratio <= at_most``. For a rate row (requests per
    second), ``ratio = futurebridge / other`` too, but higher is better; the
    target is met when ``ratio >= at_least``.
    """

    other: str
    text: str
    at_most: float | None = None
    at_least: float | None = None
    ours: str | None = None
    """futurebridge's variant the target is for; ``None`` means the row's first."""

    def met(self, ratio: float) -> bool:
        """Whether *ratio* (futurebridge over the other variant) meets this target."""
        if self.at_most is not None:
            return ratio <= self.at_most
        assert self.at_least is not None
        return ratio >= self.at_least


@dataclass(frozen=True)
class Row:
    """A line of the benchmark table.

    *setup* enters whatever the row needs (loops, threads, servers) on the
    given stack, which the harness closes after the row, and returns the
    variants; futurebridge's variant comes first.
    """

    key: str
    title: str
    setup: Callable[[contextlib.ExitStack], list[Variant]]
    targets: tuple[Target, ...]
    unit: Literal["time", "rate"] = "time"
    batch_scale: float = 1.0
    """Batches of this row last *batch_scale* times the run's batch duration."""
    batch_count_scale: int = 1
    """This row runs *batch_count_scale* times the run's number of batches."""
    profile: bool = True
    """Whether profiling futurebridge's variant in this process says what bounds it."""


@dataclass
class VariantResult:
    """The measurements of one variant: seconds per operation, one per batch."""

    name: str
    side: Side
    n: int
    samples: list[float]

    @property
    def median(self) -> float:
        """Median seconds per operation over the batches."""
        return statistics.median(self.samples)


@dataclass
class TargetResult:
    """A target with the ratio measured for it."""

    text: str
    ours: str
    other: str
    ratio: float | None
    """``None`` when one of the two variants could not run (a missing optional dependency)."""
    met: bool


@dataclass
class RowResult:
    """The outcome of one row: its variants and targets, or why it was skipped."""

    key: str
    title: str
    unit: str
    variants: list[VariantResult] = field(default_factory=list[VariantResult])
    targets: list[TargetResult] = field(default_factory=list[TargetResult])
    skipped: str | None = None
    # Skipped only because an optional extra is not installed (not a failure).
    not_installed: bool = False
    profile: str | None = None


@dataclass
class BenchResult:
    """A whole run: the machine, the settings and every row."""

    mode: str
    batches: int
    batch_seconds: float
    rows: list[RowResult]
    machine: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The figures as plain JSON data."""
        rows: list[dict[str, Any]] = []
        for row in self.rows:
            rows.append(
                {
                    "key": row.key,
                    "title": row.title,
                    "unit": row.unit,
                    "skipped": row.skipped,
                    "not_installed": row.not_installed,
                    "variants": [
                        {
                            "name": v.name,
                            "side": v.side,
                            "n_per_batch": v.n,
                            "median_seconds": v.median,
                            "samples_seconds": v.samples,
                        }
                        for v in row.variants
                    ],
                    "targets": [
                        {
                            "text": t.text,
                            "ours": t.ours,
                            "other": t.other,
                            "ratio": t.ratio,
                            "met": t.met,
                        }
                        for t in row.targets
                    ],
                    "profile": row.profile,
                }
            )
        return {
            "mode": self.mode,
            "batches": self.batches,
            "batch_seconds": self.batch_seconds,
            "machine": self.machine,
            "rows": rows,
        }


# --- measuring ------------------------------------------------------------------------


def _timed(timer: Timer, n: int) -> float:
    gc.collect()
    gc.disable()
    try:
        return timer(n)
    finally:
        gc.enable()


def _calibrate(timer: Timer, batch_seconds: float, max_n: int) -> int:
    """The number of operations that makes one batch last about *batch_seconds*."""
    n = 1
    while True:
        elapsed = _timed(timer, n)
        if elapsed >= batch_seconds / 5 or n >= max_n:
            break
        n = min(max_n, n * 4 if elapsed < batch_seconds / 50 else n * 2)
    return max(1, min(max_n, round(n * batch_seconds / max(elapsed, 1e-9))))


def _measure(
    variants: Sequence[Variant],
    batches: int,
    batch_seconds: float,
    max_n: int,
    progress: Callable[[str], None],
) -> list[VariantResult]:
    counts = [_calibrate(v.timer, batch_seconds, max_n) for v in variants]
    results = [VariantResult(v.name, v.side, n, []) for v, n in zip(variants, counts, strict=True)]
    for batch in range(batches):
        progress(f"batch {batch + 1}/{batches}")
        # Rule 1: rotate the order so that no variant always runs first.
        for offset in range(len(variants)):
            index = (batch + offset) % len(variants)
            n = counts[index]
            results[index].samples.append(_timed(variants[index].timer, n) / n)
    return results


def _quiet(text: str) -> None:
    pass


def _say_in_row(say: Callable[[str], None], prefix: str, text: str) -> None:
    say(f"{prefix}: {text}")


def _profile(variant: Variant, n: int, limit: int = 12) -> str:
    """cProfile one batch of *variant*: the functions that bound it, by own time."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        variant.timer(n)
    finally:
        profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(limit)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    # Keep the table (header onwards), not pstats' preamble.
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join(lines[start:])


def run_bench(
    rows: Sequence[Row] | None = None,
    *,
    mode: str = "full",
    batches: int = 15,
    batch_seconds: float = 0.1,
    max_n: int = 200_000,
    profile_misses: bool = False,
    progress: Callable[[str], None] | None = None,
) -> BenchResult:
    """Measure every row of *rows* (all rows by default) and return the figures.

    Each row's variants are calibrated so that one batch lasts about
    *batch_seconds* (at most *max_n* operations), then measured in *batches*
    interleaved batches. With *profile_misses*, futurebridge's variant of a
    row that misses a target is profiled with :mod:`cProfile` for one batch.
    *progress* receives a line of text as the run advances.
    """
    say = progress or _quiet
    selected = list(ROWS if rows is None else rows)
    results: list[RowResult] = []
    for number, row in enumerate(selected, 1):
        prefix = f"[{number}/{len(selected)}] {row.title}"
        say(f"{prefix}: setting up")
        result = RowResult(row.key, row.title, row.unit)
        results.append(result)
        with contextlib.ExitStack() as stack:
            try:
                variants = row.setup(stack)
            except Unavailable as missing:
                result.skipped = str(missing)
                result.not_installed = isinstance(missing, NotInstalled)
                say(f"{prefix}: skipped ({missing})")
                continue
            result.variants = _measure(
                variants,
                batches * row.batch_count_scale,
                batch_seconds * row.batch_scale,
                max_n,
                functools.partial(_say_in_row, say, prefix),
            )
            medians = {v.name: v.median for v in result.variants}
            missed: list[int] = []
            for target in row.targets:
                ours_name = target.ours or variants[0].name
                if ours_name not in medians or target.other not in medians:
                    # A variant needing an optional dependency (uvloop) did not run.
                    result.targets.append(
                        TargetResult(target.text, ours_name, target.other, None, False)
                    )
                    continue
                ours = medians[ours_name]
                if row.unit == "rate":
                    ratio = medians[target.other] / ours  # both are seconds per request
                else:
                    ratio = ours / medians[target.other]
                met = target.met(ratio)
                result.targets.append(
                    TargetResult(target.text, ours_name, target.other, ratio, met)
                )
                if not met:
                    missed.append([v.name for v in variants].index(ours_name))
            if profile_misses and row.profile and missed:
                index = missed[0]
                say(f"{prefix}: profiling {variants[index].name}")
                result.profile = _profile(variants[index], result.variants[index].n)
    machine = {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "tornado": tornado.version,
        "futurebridge": futurebridge.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }
    return BenchResult(mode, batches, batch_seconds, results, machine)


# --- helpers for the rows -------------------------------------------------------------


def _new_loop(kind: str) -> asyncio.AbstractEventLoop:
    """A new event loop of *kind*: ``"asyncio"`` or ``"uvloop"``."""
    if kind == "uvloop":
        try:
            import uvloop
        except ImportError:
            hint = "pip install 'futurebridge[uvloop]'"
            raise NotInstalled(f"uvloop is not installed: {hint}") from None
        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        return loop
    return asyncio.new_event_loop()


@contextlib.contextmanager
def _asyncio_loop(kind: str = "asyncio") -> Generator[asyncio.AbstractEventLoop, None, None]:
    loop = _new_loop(kind)
    try:
        yield loop
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def _on(
    loop: asyncio.AbstractEventLoop, body: Callable[[int], Coroutine[Any, Any, float]]
) -> Timer:
    """A timer that runs the coroutine *body(n)* on *loop*; *body* times itself."""

    def timer(n: int) -> float:
        return loop.run_until_complete(body(n))

    return timer


def _check(label: str, got: object, expected: object) -> None:
    if got != expected:
        raise AssertionError(
            f"bench self-check failed for {label}: got {got!r}, expected {expected!r}"
        )


def _calls(fn: Callable[[Any], object], arg: object) -> Callable[[int], Coroutine[Any, Any, float]]:
    """A body calling ``fn(arg)`` *n* times on the running loop."""

    async def body(n: int) -> float:
        start = _perf()
        for _ in range(n):
            fn(arg)
        return _perf() - start

    return body


def _awaits(make: Callable[[], Any]) -> Callable[[int], Coroutine[Any, Any, float]]:
    """A body awaiting ``make()`` *n* times on the running loop."""

    async def body(n: int) -> float:
        start = _perf()
        for _ in range(n):
            await make()
        return _perf() - start

    return body


async def _noop() -> None:
    return None


async def _one() -> int:
    return 1


# --- the rows ---------------------------------------------------------------------------


def _done_future(stack: contextlib.ExitStack, kind: str = "asyncio") -> list[Variant]:
    loop = stack.enter_context(_asyncio_loop(kind))
    done: asyncio.Future[int] = loop.create_future()
    done.set_result(1)

    async def same() -> tuple[bool, bool]:
        return to_asyncio_future(done) is done, _convert_yielded(done) is done

    _check("to_asyncio_future(done future)", loop.run_until_complete(same()), (True, True))
    return [
        Variant("to_asyncio_future", "futurebridge", _on(loop, _calls(to_asyncio_future, done))),
        Variant("gen.convert_yielded", "tornado", _on(loop, _calls(_convert_yielded, done))),
        Variant("asyncio.isfuture", "asyncio", _on(loop, _calls(asyncio.isfuture, done))),
    ]


def _coroutine(stack: contextlib.ExitStack, kind: str = "asyncio") -> list[Variant]:
    loop = stack.enter_context(_asyncio_loop(kind))

    def creating(convert: Callable[[Any], object]) -> Timer:
        async def body(n: int) -> float:
            start = _perf()
            for _ in range(n):
                convert(_noop())
            elapsed = _perf() - start
            # Let every task created run to its end, outside the timing.
            await asyncio.sleep(0)
            return elapsed

        return _on(loop, body)

    async def check() -> int:
        return await to_asyncio_future(_one())

    _check("to_asyncio_future(coroutine)", loop.run_until_complete(check()), 1)
    return [
        Variant("to_asyncio_future", "futurebridge", creating(to_asyncio_future)),
        Variant("loop.create_task", "asyncio", creating(loop.create_task)),
        Variant("gen.convert_yielded", "tornado", creating(_convert_yielded)),
    ]


def _concurrent_done(stack: contextlib.ExitStack) -> list[Variant]:
    loop = stack.enter_context(_asyncio_loop())
    done: concurrent.futures.Future[int] = concurrent.futures.Future()
    done.set_result(1)

    async def check() -> tuple[int, int]:
        return await to_asyncio_future(done), await asyncio.wrap_future(done)

    _check("await to_asyncio_future(concurrent future)", loop.run_until_complete(check()), (1, 1))
    return [
        Variant(
            "await to_asyncio_future",
            "futurebridge",
            _on(loop, _awaits(lambda: to_asyncio_future(done))),
        ),
        Variant(
            "await asyncio.wrap_future",
            "asyncio",
            _on(loop, _awaits(lambda: asyncio.wrap_future(done))),
        ),
    ]


def _as_asyncio_async(stack: contextlib.ExitStack) -> list[Variant]:
    loop = stack.enter_context(_asyncio_loop())

    @as_asyncio
    async def ours() -> int:
        return 1

    async def plain() -> int:
        return 1

    @tornado.gen.coroutine
    def legacy() -> int:
        return 1

    async def check() -> tuple[int, int, int]:
        return await ours(), await plain(), await legacy()

    _check("@as_asyncio async def", loop.run_until_complete(check()), (1, 1, 1))
    return [
        Variant("@as_asyncio async def", "futurebridge", _on(loop, _awaits(ours))),
        Variant("plain async def", "asyncio", _on(loop, _awaits(plain))),
        Variant("@gen.coroutine", "tornado", _on(loop, _awaits(legacy))),
    ]


def _as_asyncio_generator(stack: contextlib.ExitStack) -> list[Variant]:
    loop = stack.enter_context(_asyncio_loop())
    done: asyncio.Future[int] = loop.create_future()
    done.set_result(1)

    def body() -> Generator[Any, Any, int]:
        value: int = yield done
        return value + 1

    ours = as_asyncio(body)
    legacy = tornado.gen.coroutine(body)

    async def check() -> tuple[int, int]:
        return await ours(), await legacy()

    _check("@as_asyncio generator", loop.run_until_complete(check()), (2, 2))
    return [
        Variant("@as_asyncio generator", "futurebridge", _on(loop, _awaits(ours))),
        Variant("@gen.coroutine generator", "tornado", _on(loop, _awaits(legacy))),
    ]


def _ioloops(
    stack: contextlib.ExitStack, kind: str = "asyncio"
) -> tuple[AsyncIOLoop, TornadoAsyncIOLoop, asyncio.AbstractEventLoop]:
    """Our AsyncIOLoop, Tornado's AsyncIOLoop and a bare loop, each on its own loop of *kind*."""
    ours = AsyncIOLoop(asyncio_loop=_new_loop(kind), make_current=False)
    stack.callback(_close_ioloop, ours)
    theirs = TornadoAsyncIOLoop(asyncio_loop=_new_loop(kind), make_current=False)
    stack.callback(_close_ioloop, theirs)
    bare = stack.enter_context(_asyncio_loop(kind))
    return ours, theirs, bare


def _close_ioloop(ioloop: AsyncIOLoop | TornadoAsyncIOLoop) -> None:
    asyncio_loop: asyncio.AbstractEventLoop = ioloop.asyncio_loop
    ioloop.close()
    if not asyncio_loop.is_closed():
        asyncio_loop.close()


def _scheduling(
    loop: asyncio.AbstractEventLoop, schedule: Callable[[Callable[[], None]], object]
) -> Timer:
    """A timer scheduling *n* callbacks with *schedule* and waiting until all have run."""

    async def body(n: int) -> float:
        finished = loop.create_future()
        remaining = n

        def callback() -> None:
            nonlocal remaining
            remaining -= 1
            if not remaining:
                finished.set_result(None)

        start = _perf()
        for _ in range(n):
            schedule(callback)
        await finished
        return _perf() - start

    return _on(loop, body)


def _add_callback(stack: contextlib.ExitStack, kind: str = "asyncio") -> list[Variant]:
    ours, theirs, bare = _ioloops(stack, kind)
    return [
        Variant(
            "AsyncIOLoop.add_callback",
            "futurebridge",
            _scheduling(ours.asyncio_loop, ours.add_callback),  # ty: ignore[invalid-argument-type]
        ),
        Variant("loop.call_soon", "asyncio", _scheduling(bare, bare.call_soon)),  # ty: ignore[invalid-argument-type]
        Variant(
            "tornado AsyncIOLoop.add_callback",
            "tornado",
            _scheduling(theirs.asyncio_loop, getattr(theirs, "add_callback")),
        ),
    ]


def _call_later(stack: contextlib.ExitStack) -> list[Variant]:
    ours, theirs, bare = _ioloops(stack)
    return [
        Variant(
            "AsyncIOLoop.call_later(0)",
            "futurebridge",
            _scheduling(ours.asyncio_loop, lambda cb: ours.call_later(0, cb)),
        ),
        Variant(
            "loop.call_later(0)", "asyncio", _scheduling(bare, lambda cb: bare.call_later(0, cb))
        ),
        Variant(
            "tornado AsyncIOLoop.call_later(0)",
            "tornado",
            _scheduling(theirs.asyncio_loop, functools.partial(getattr(theirs, "call_later"), 0)),
        ),
    ]


def _run_sync(stack: contextlib.ExitStack) -> list[Variant]:
    ours, theirs, bare = _ioloops(stack)

    def repeating(run: Callable[[], object]) -> Timer:
        def timer(n: int) -> float:
            start = _perf()
            for _ in range(n):
                run()
            return _perf() - start

        return timer

    _check("AsyncIOLoop.run_sync", ours.run_sync(_one), 1)
    return [
        Variant("AsyncIOLoop.run_sync", "futurebridge", repeating(lambda: ours.run_sync(_noop))),
        Variant(
            "loop.run_until_complete",
            "asyncio",
            repeating(lambda: bare.run_until_complete(_noop())),
        ),
        Variant(
            "tornado AsyncIOLoop.run_sync",
            "tornado",
            repeating(functools.partial(getattr(theirs, "run_sync"), _noop)),
        ),
    ]


@contextlib.contextmanager
def _bare_loop_thread() -> Generator[asyncio.AbstractEventLoop, None, None]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="bench-bare-loop", daemon=True)
    thread.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def _loop_thread(stack: contextlib.ExitStack) -> list[Variant]:
    lt = stack.enter_context(LoopThread(name="bench-loop-thread"))
    bare = stack.enter_context(_bare_loop_thread())

    def ours(n: int) -> float:
        run = lt.run
        start = _perf()
        for _ in range(n):
            run(_noop)
        return _perf() - start

    def threadsafe(n: int) -> float:
        submit = asyncio.run_coroutine_threadsafe
        start = _perf()
        for _ in range(n):
            submit(_noop(), bare).result()
        return _perf() - start

    def wake_up(n: int) -> float:
        # The floor of any call into a loop on another thread: wake that loop
        # (call_soon_threadsafe) and be woken by it (a lock it releases).
        lock = threading.Lock()
        lock.acquire()
        call = bare.call_soon_threadsafe
        release = lock.release
        acquire = lock.acquire
        start = _perf()
        for _ in range(n):
            call(release)
            acquire()
        return _perf() - start

    _check("LoopThread.run", lt.run(_one), 1)
    return [
        Variant("LoopThread.run", "futurebridge", ours),
        Variant("run_coroutine_threadsafe().result()", "asyncio", threadsafe),
        Variant("bare wake-up (call_soon_threadsafe + lock)", "asyncio", wake_up),
    ]


def _dask(stack: contextlib.ExitStack) -> list[Variant]:
    try:
        from .bench_dask import variants
    except ImportError as error:
        raise NotInstalled(
            f"needs distributed: pip install 'futurebridge[dask]' ({error})"
        ) from None
    return variants(stack)


def _http(stack: contextlib.ExitStack) -> list[Variant]:
    # Imported here: only this row needs the server and its load client.
    from .bench_http import variants

    return variants(stack)


ROWS: tuple[Row, ...] = (
    Row(
        "done_future",
        "to_asyncio_future(done asyncio future)",
        _done_future,
        (
            Target("asyncio.isfuture", "<= 1.5x asyncio.isfuture", at_most=1.5),
            Target("gen.convert_yielded", ">= 4x faster than convert_yielded", at_most=0.25),
        ),
    ),
    Row(
        "coroutine",
        "to_asyncio_future(coroutine)",
        _coroutine,
        (Target("loop.create_task", "<= 1.15x loop.create_task", at_most=1.15),),
    ),
    Row(
        "done_future_uvloop",
        "to_asyncio_future(done asyncio future), uvloop",
        functools.partial(_done_future, kind="uvloop"),
        (
            Target("asyncio.isfuture", "<= 1.5x asyncio.isfuture", at_most=1.5),
            Target("gen.convert_yielded", ">= 4x faster than convert_yielded", at_most=0.25),
        ),
    ),
    Row(
        "coroutine_uvloop",
        "to_asyncio_future(coroutine), uvloop",
        functools.partial(_coroutine, kind="uvloop"),
        (Target("loop.create_task", "<= 1.15x loop.create_task", at_most=1.15),),
    ),
    Row(
        "concurrent_done",
        "await to_asyncio_future(done concurrent future)",
        _concurrent_done,
        (Target("await asyncio.wrap_future", ">= 3x faster than wrap_future", at_most=1 / 3),),
    ),
    Row(
        "as_asyncio_async",
        "call + await @as_asyncio async def",
        _as_asyncio_async,
        (Target("plain async def", "<= 2x plain async def", at_most=2.0),),
    ),
    Row(
        "as_asyncio_generator",
        "@as_asyncio generator yielding a done future",
        _as_asyncio_generator,
        (Target("@gen.coroutine generator", ">= 3x faster than gen.coroutine", at_most=1 / 3),),
    ),
    Row(
        "add_callback",
        "IOLoop.add_callback, schedule + run",
        _add_callback,
        (Target("loop.call_soon", "<= 1.2x loop.call_soon", at_most=1.2),),
    ),
    Row(
        "add_callback_uvloop",
        "IOLoop.add_callback, schedule + run, uvloop",
        functools.partial(_add_callback, kind="uvloop"),
        (Target("loop.call_soon", "<= 1.2x loop.call_soon", at_most=1.2),),
    ),
    Row(
        "call_later",
        "IOLoop.call_later(0, cb), schedule + run",
        _call_later,
        (Target("loop.call_later(0)", "<= 1.1x loop.call_later", at_most=1.1),),
    ),
    Row(
        "run_sync",
        "IOLoop.run_sync(coro_fn) on a reused loop",
        _run_sync,
        (Target("loop.run_until_complete", "<= 1.5x run_until_complete", at_most=1.5),),
    ),
    Row(
        "loop_thread",
        "cross-thread round trip, trivial coroutine",
        _loop_thread,
        (
            Target(
                "bare wake-up (call_soon_threadsafe + lock)",
                "<= 1.5x the bare wake-up",
                at_most=1.5,
            ),
        ),
    ),
    Row(
        "dask",
        "result of a finished Dask future (one scheduler request each)",
        _dask,
        (
            Target("client.gather(f), blocking", "<= 1.5x client.gather", at_most=1.5),
            Target(
                "await client.gather(f), the client's loop",
                "<= 2x await on the client's own loop",
                at_most=2.0,
            ),
        ),
        profile=False,
    ),
    Row(
        "http",
        "Tornado hello-world HTTP, loopback",
        _http,
        (
            Target(
                "Tornado's AsyncIOMainLoop, asyncio",
                ">= 1.0x Tornado's own loop",
                at_least=1.0,
                ours="futurebridge AsyncIOMainLoop, asyncio",
            ),
            Target(
                "Tornado's AsyncIOMainLoop, asyncio",
                ">= 1.0x Tornado's own loop",
                at_least=1.0,
                ours="futurebridge AsyncIOMainLoop, uvloop",
            ),
        ),
        unit="rate",
        # Many short batches follow the load of a shared machine more closely.
        batch_scale=4.0,
        batch_count_scale=3,
        # The work is in the server processes: see bench_http's profile command.
        profile=False,
    ),
)


# --- reporting and the command line -------------------------------------------------------


def _format_time(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} us"
    return f"{seconds * 1e3:.2f} ms"


def _format_value(unit: str, seconds: float) -> str:
    if unit == "rate":
        return f"{1 / seconds:,.0f} req/s"
    return _format_time(seconds)


def format_report(result: BenchResult) -> str:
    """The human-readable table of *result*."""
    m = result.machine
    lines = [
        f"futurebridge {m['futurebridge']} bench ({result.mode}): {m['implementation']} "
        f"{m['python']}, Tornado {m['tornado']}, {m['cpus']} CPUs, {m['platform']}",
        f"median of {result.batches} interleaved batches of ~{result.batch_seconds * 1e3:.0f} ms "
        "per variant; ratio = futurebridge / other, time rows: below 1 means futurebridge is "
        "faster; rate rows: above 1 means futurebridge serves more",
    ]
    met = missed = unmeasured = skipped = 0
    for row in result.rows:
        lines.append("")
        lines.append(row.title)
        if row.skipped is not None and row.not_installed:
            unmeasured += 1
            lines.append(f"    not measured: {row.skipped}")
            continue
        if row.skipped is not None:
            skipped += 1
            lines.append(f"    skipped: {row.skipped}")
            continue
        ours = row.variants[0]
        for v in row.variants:
            ratio = ""
            if v.side != "futurebridge":
                r = (ours.median / v.median) if row.unit == "time" else (v.median / ours.median)
                ratio = f"ratio {r:.2f}"
                if row.unit == "time" and r < 1:
                    ratio += f" ({1 / r:.1f}x faster)"
            lines.append(
                f"    {v.side:<12} {v.name:<44} {_format_value(row.unit, v.median):>16}  {ratio}"
            )
        for t in row.targets:
            who = "" if t.ours == ours.name else f"{t.ours}: "
            if t.ratio is None:
                unmeasured += 1
                lines.append(f"    target {who}{t.text}: not measured ({t.ours} did not run)")
                continue
            met += t.met
            missed += not t.met
            lines.append(
                f"    target {who}{t.text}: ratio {t.ratio:.3f}, {'met' if t.met else 'MISSED'}"
            )
        if row.profile:
            lines.append("    profile of the missed variant (cProfile, one batch, by own time):")
            lines.extend(f"      {line}" for line in row.profile.splitlines())
    lines.append("")
    lines.append(
        f"targets: {met} met, {missed} missed, {unmeasured} not measured; rows skipped: {skipped}"
    )
    return "\n".join(lines)


class _Progress:
    """Progress lines on stderr; rewritten in place on a terminal."""

    def __init__(self) -> None:
        self._tty = sys.stderr.isatty()
        self._started = _perf()

    def __call__(self, text: str) -> None:
        line = f"[{_perf() - self._started:6.1f}s] {text}"
        if self._tty:
            sys.stderr.write(f"\r\x1b[K{line}")
        else:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()

    def done(self) -> None:
        if self._tty:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``bench`` command's options to *parser*."""
    parser.add_argument(
        "--quick", action="store_true", help="fewer, shorter batches: about 30 seconds in all"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the figures to PATH as JSON")
    parser.add_argument(
        "--rows",
        metavar="KEY,...",
        help=f"run only these rows (of {', '.join(row.key for row in ROWS)})",
    )
    parser.add_argument("--batches", type=int, help="batches per variant (default 15, quick 7)")
    parser.add_argument(
        "--batch-ms", type=float, help="milliseconds per batch (default 100, quick 40)"
    )
    parser.add_argument(
        "--no-profile",
        action="store_true",
        help="do not profile futurebridge's variant of rows that miss a target",
    )


def _check_writable(path: Path) -> str | None:
    """Why *path* cannot be written, or None; checked before the run, not after it."""
    if path.is_dir():
        return "it is a directory"
    existed = path.exists()
    try:
        with path.open("a"):
            pass
    except OSError as exc:
        return exc.strerror or str(exc)
    if not existed:
        path.unlink()
    return None


def main(args: argparse.Namespace) -> int:
    """Run the benchmark described by the parsed *args*; return the exit status.

    The status is 0 when every row ran, whether or not its targets were met
    (a target is a goal, not a test; a variant that cannot run here, such as
    uvloop's when it is not installed, is reported as not measured, and so is
    a row that needs an optional extra, Dask's), 1 if a row was skipped for
    any other reason, 2 for bad options and 130 after Ctrl-C.
    """
    rows = list(ROWS)
    if args.rows:
        wanted = [key.strip() for key in args.rows.split(",") if key.strip()]
        known = {row.key: row for row in ROWS}
        unknown = [key for key in wanted if key not in known]
        if unknown:
            print(
                f"unknown row(s): {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr
            )
            return 2
        rows = [known[key] for key in wanted]
    problems: list[str] = []
    if args.batches is not None and args.batches < 1:
        problems.append(f"--batches must be a whole number of at least 1, got {args.batches}")
    if args.batch_ms is not None and not args.batch_ms > 0:
        problems.append(f"--batch-ms must be a number of milliseconds above 0, got {args.batch_ms}")
    if args.json:
        why = _check_writable(Path(args.json))
        if why is not None:
            problems.append(f"--json {args.json}: cannot write there ({why})")
    if problems:
        for problem in problems:
            print(f"bench: {problem}", file=sys.stderr)
        return 2
    quick: bool = args.quick
    batches: int = args.batches or (7 if quick else 15)
    batch_ms: float = args.batch_ms or (40.0 if quick else 100.0)
    progress = _Progress()
    try:
        result = run_bench(
            rows,
            mode="quick" if quick else "full",
            batches=batches,
            batch_seconds=batch_ms / 1e3,
            profile_misses=not (quick or args.no_profile),
            progress=progress,
        )
    except KeyboardInterrupt:
        progress.done()
        print("bench: interrupted (Ctrl-C); no figures were kept", file=sys.stderr)
        return 130
    progress.done()
    print(format_report(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result.to_json(), indent=2) + "\n")
        print(f"figures written to {args.json}")
    return 1 if any(row.skipped and not row.not_installed for row in result.rows) else 0
