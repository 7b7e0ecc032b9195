"""A legacy Tornado module with every construct ``python -m futurebridge migrate`` handles.

It is checked in as legacy code: ``test_legacy_sample.py`` beside it runs it as
it is, and ``tests/test_migrate_sample.py`` migrates a copy and runs the same
tests on the result. Each function says what the codemod does with it.
"""
# ruff: noqa: UP006, UP035

import concurrent.futures
from typing import Any, Dict, Generator, List

import tornado.gen
from tornado import gen
from tornado import gen as tgen
from tornado.concurrent import Future, run_on_executor
from tornado.gen import Return, coroutine
from tornado.ioloop import IOLoop

EVENTS: List[str] = []
EXECUTOR = concurrent.futures.ThreadPoolExecutor(max_workers=1)


@gen.coroutine
def double(x):
    # converted, decorator removed: every caller awaits or yields it
    yield gen.sleep(0)
    raise gen.Return(x * 2)


@tornado.gen.coroutine
def add_all(values):
    """Converted; `import tornado.gen` spelling, and a list of known coroutines."""
    doubled = yield [double(v) for v in values]  # a comprehension: to_asyncio_future
    pair = yield [double(1), double(2)]  # every element provably awaitable: gather
    raise tornado.gen.Return(sum(doubled) + sum(pair))


@tgen.coroutine
def every_yieldable():
    """Converted; an aliased import, and each kind of yieldable."""
    yield  # bare yield: one loop iteration
    yield None
    yield tgen.moment
    done = yield EXECUTOR.submit(lambda: "from a thread")  # a concurrent future
    mapping = yield {"a": double(1), "b": double(5)}  # a dict
    futures = [double(3), double(4)]
    listed = yield futures  # a list in a variable
    raise Return((done, mapping, listed))


@coroutine
def bare_return():
    """Converted; `from tornado.gen import coroutine, Return`, a bare Return."""
    yield gen.sleep(0)
    EVENTS.append("bare_return")
    raise Return


@gen.coroutine
def typed_generator() -> Generator[Any, Any, int]:
    value = yield double(21)
    return value


@gen.coroutine
def typed_future() -> Future[str]:
    yield gen.sleep(0)
    return "typed"


@gen.coroutine
def quoted_annotation() -> "Future[str]":
    # a string annotation is left as it is
    yield gen.sleep(0)
    return "quoted"


@gen.coroutine
def record_later(tag):
    """Kept eager with @as_tornado: fire_and_forget calls it without awaiting."""
    EVENTS.append(f"started {tag}")
    yield gen.sleep(0)
    EVENTS.append(f"finished {tag}")


def fire_and_forget():
    record_later("forgotten")  # nobody awaits this call: eager start keeps it running
    EVENTS.append("after the call")


@gen.coroutine
def as_a_future():
    """Kept eager with @as_tornado: its result is handed to IOLoop.add_future."""
    yield gen.sleep(0)
    return "as a future"


def watch(done: "Future[str]") -> None:
    IOLoop.current().add_future(as_a_future(), lambda f: done.set_result(f.result()))


class Counter:
    """Methods are converted too; self-calls of converted methods are awaited directly."""

    def __init__(self) -> None:
        self.count = 0

    @gen.coroutine
    def step(self):
        yield gen.sleep(0)
        self.count += 1
        raise gen.Return(self.count)

    @gen.coroutine
    def steps(self, n):
        for _ in range(n):
            yield self.step()
        raise gen.Return(self.count)

    @run_on_executor(executor="executor")
    def blocking(self):
        # flagged (reported, left as it is): run_on_executor
        return "blocking"

    executor = EXECUTOR


@gen.coroutine
def caught_return():
    """Flagged: gen.Return raised inside a try whose handler catches Exception."""
    try:
        yield gen.sleep(0)
        raise gen.Return("returned")
    except Exception as error:
        # in a @gen.coroutine the Return lands here: a plain `return` would not
        raise gen.Return(f"caught {type(error).__name__}") from None


@gen.coroutine
def cleanup_with_yield():
    """Flagged: a yield inside finally."""
    try:
        yield gen.sleep(0)
    finally:
        yield gen.sleep(0)
        EVENTS.append("cleaned up")
    return "cleanup"


@gen.coroutine
def absolute_deadline():
    """Flagged: gen.with_timeout with a number is an absolute deadline."""
    deadline = IOLoop.current().time() + 5
    value = yield gen.with_timeout(deadline, double(4))
    return value


@gen.coroutine
def as_completed_values():
    """Flagged: gen.WaitIterator."""
    waiter = gen.WaitIterator(double(1), double(2))
    found = []
    while not waiter.done():
        found.append((yield waiter.next()))
    return sorted(found)


@gen.coroutine
def with_callback(callback=None):
    """Flagged: a callback parameter."""
    yield gen.sleep(0)
    if callback is not None:
        callback("called back")


@gen.coroutine
def run_synchronously():
    """Flagged: IOLoop.run_sync runs it (see run_blocking)."""
    yield gen.sleep(0)
    return "synchronously"


def run_blocking():
    loop = IOLoop(make_current=False)
    try:
        return loop.run_sync(run_synchronously)
    finally:
        loop.close()


@gen.coroutine
def finished_at_once(value):
    """Flagged: not a generator, so its future is finished at the call."""
    return value


def wrap(value: Dict[str, int]) -> Dict[str, int]:
    return dict(value)
