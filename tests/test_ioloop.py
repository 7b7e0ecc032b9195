"""The IOLoop API of futurebridge's AsyncIOLoop and AsyncIOMainLoop, as Tornado
documents it, on the default asyncio loop and on uvloop: real sockets, real
threads, real second loops, no mocks."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime
import gc
import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import weakref
from collections.abc import Callable, Generator, Iterator
from typing import Any

import pytest
import tornado.platform.asyncio
from tornado import gen
from tornado.ioloop import IOLoop, PeriodicCallback

import futurebridge
from futurebridge import AsyncIOLoop, AsyncIOMainLoop, to_asyncio_future
from futurebridge._tornado_patch import _install_patch  # pyright: ignore[reportPrivateUsage]

LoopFactory = Callable[[], asyncio.AbstractEventLoop]

READ = IOLoop.READ
WRITE = IOLoop.WRITE
ERROR = IOLoop.ERROR


@pytest.fixture
def io_loop(loop_factory: LoopFactory) -> Iterator[AsyncIOLoop]:
    """An AsyncIOLoop on each kind of asyncio loop, closed after the test."""
    loop = AsyncIOLoop(asyncio_loop=loop_factory(), make_current=False)
    yield loop
    loop.close()


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def run_until(io_loop: IOLoop, done: Callable[[], bool], limit: float = 10.0) -> None:
    """Run *io_loop* until *done()*, polling each iteration; a guard stops it after *limit* s."""

    async def wait() -> None:
        while not done():  # noqa: ASYNC110  # set by handlers and threads, not by a coroutine
            await asyncio.sleep(0.001)

    io_loop.run_sync(wait, timeout=limit)


def drain(io_loop: IOLoop, iterations: int = 5) -> None:
    """Let *io_loop* run a few iterations."""

    async def spin() -> None:
        for _ in range(iterations):
            await asyncio.sleep(0)

    io_loop.run_sync(spin)


# --- construction, asyncio_loop, registration ------------------------------------------


def test_new_loop_owns_a_fresh_asyncio_loop() -> None:
    io_loop = AsyncIOLoop(make_current=False)
    other = AsyncIOLoop(make_current=False)
    try:
        assert isinstance(io_loop, IOLoop)
        # Our own primitives, not Tornado's asyncio classes underneath.
        assert tornado.platform.asyncio.BaseAsyncIOLoop not in type(io_loop).__mro__
        assert isinstance(io_loop.asyncio_loop, asyncio.AbstractEventLoop)
        assert io_loop.asyncio_loop is not other.asyncio_loop
        assert not io_loop.asyncio_loop.is_running()
    finally:
        io_loop.close()
        other.close()
    assert io_loop.asyncio_loop.is_closed()


def test_adopts_the_given_loop(loop_factory: LoopFactory) -> None:
    asyncio_loop = loop_factory()
    io_loop = AsyncIOLoop(asyncio_loop=asyncio_loop, make_current=False)
    assert io_loop.asyncio_loop is asyncio_loop
    assert io_loop.run_sync(lambda: asyncio.sleep(0, "ran")) == "ran"
    io_loop.close()
    assert asyncio_loop.is_closed()


def test_one_asyncio_loop_never_has_two_ioloops(loop_factory: LoopFactory) -> None:
    asyncio_loop = loop_factory()
    io_loop = AsyncIOLoop(asyncio_loop=asyncio_loop, make_current=False)
    try:
        with pytest.raises(RuntimeError, match="already has an IOLoop"):
            AsyncIOLoop(asyncio_loop=asyncio_loop, make_current=False)
        with pytest.raises(RuntimeError, match="already associated"):  # Tornado's words
            tornado.platform.asyncio.AsyncIOLoop(asyncio_loop=asyncio_loop, make_current=False)
        # The failed attempts left the first one in place and the loop open.
        assert not asyncio_loop.is_closed()
        assert io_loop.run_sync(lambda: asyncio.sleep(0, IOLoop.current())) is io_loop
    finally:
        io_loop.close()


def test_a_loop_of_tornados_cannot_be_claimed_either() -> None:
    theirs = tornado.platform.asyncio.AsyncIOLoop(make_current=False)
    try:
        with pytest.raises(RuntimeError, match="already has an IOLoop"):
            AsyncIOLoop(asyncio_loop=theirs.asyncio_loop, make_current=False)
    finally:
        theirs.close()


def test_a_closed_asyncio_loop_is_refused(loop_factory: LoopFactory) -> None:
    asyncio_loop = loop_factory()
    asyncio_loop.close()
    with pytest.raises(RuntimeError, match="closed"):
        AsyncIOLoop(asyncio_loop=asyncio_loop)


def test_current_is_our_loop_inside_it(io_loop: AsyncIOLoop) -> None:
    seen: list[IOLoop] = []

    async def main() -> None:
        seen.append(IOLoop.current())
        await asyncio.sleep(0)
        seen.append(IOLoop.current())

    io_loop.run_sync(main)
    io_loop.run_sync(lambda: seen.append(IOLoop.current()))
    assert seen == [io_loop, io_loop, io_loop]


def test_make_current_sets_and_restores_the_threads_asyncio_loop() -> None:
    # On a fresh thread, so the main thread's asyncio state is untouched.
    results: dict[str, object] = {}

    def target() -> None:
        previous = asyncio.new_event_loop()
        asyncio.set_event_loop(previous)
        io_loop = AsyncIOLoop()  # make_current=True is the default, as in Tornado
        results["during"] = asyncio.get_event_loop() is io_loop.asyncio_loop
        results["current"] = IOLoop.current() is io_loop
        io_loop.close()
        results["after"] = asyncio.get_event_loop() is previous
        asyncio.set_event_loop(None)
        previous.close()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    assert results == {"during": True, "current": True, "after": True}


def test_install_makes_it_current_without_a_warning() -> None:
    results: dict[str, object] = {}

    def target() -> None:
        io_loop = AsyncIOLoop(make_current=False)
        io_loop.install()  # filterwarnings=error: a DeprecationWarning would raise
        results["current"] = asyncio.get_event_loop() is io_loop.asyncio_loop
        io_loop.close()
        asyncio.set_event_loop(None)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    assert results == {"current": True}


def test_main_loop_attaches_to_the_running_loop(loop_factory: LoopFactory) -> None:
    async def main() -> tuple[bool, bool, str]:
        main_loop = AsyncIOMainLoop()
        with pytest.raises(RuntimeError, match="already has an IOLoop"):
            AsyncIOMainLoop()
        same = main_loop.asyncio_loop is asyncio.get_running_loop()
        found = IOLoop.current() is main_loop
        message = await main_loop.run_in_executor(None, lambda: "from a thread")
        return same, found, message

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        assert runner.run(main()) == (True, True, "from a thread")


def test_main_loop_leaves_the_threads_loop_alone_until_install(loop_factory: LoopFactory) -> None:
    results: dict[str, object] = {}

    def target() -> None:
        async def main() -> AsyncIOMainLoop:
            return AsyncIOMainLoop()

        # asyncio.Runner with a loop_factory does not set the thread's loop.
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            main_loop = runner.run(main())
            results["before"] = futurebridge._ioloop._set_event_loop()  # pyright: ignore[reportPrivateUsage]
            main_loop.install()
            results["after"] = asyncio.get_event_loop() is main_loop.asyncio_loop
            asyncio.set_event_loop(None)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    assert results == {"before": None, "after": True}


def test_main_loop_on_a_thread_without_a_loop_creates_one() -> None:
    results: dict[str, object] = {}

    def target() -> None:
        main_loop = AsyncIOMainLoop()
        results["set"] = asyncio.get_event_loop() is main_loop.asyncio_loop
        results["result"] = main_loop.run_sync(lambda: asyncio.sleep(0, 42))
        main_loop.close()
        results["closed"] = main_loop.asyncio_loop.is_closed()
        asyncio.set_event_loop(None)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    assert results == {"set": True, "result": 42, "closed": True}


# --- IOLoop.configure / IOLoop.current patch ------------------------------------------


@pytest.fixture
def configured_ours() -> Iterator[None]:
    IOLoop.configure("futurebridge.AsyncIOLoop")
    try:
        yield
    finally:
        IOLoop.configure(None)


@pytest.mark.usefixtures("configured_ours")
def test_configure_makes_ioloop_create_ours() -> None:
    io_loop = IOLoop(make_current=False)
    try:
        assert type(io_loop) is AsyncIOLoop
    finally:
        io_loop.close()


@pytest.mark.usefixtures("configured_ours")
def test_configure_keeps_keyword_defaults(loop_factory: LoopFactory) -> None:
    IOLoop.configure(AsyncIOLoop, make_current=False)
    asyncio_loop = loop_factory()
    io_loop = IOLoop(asyncio_loop=asyncio_loop)
    try:
        assert type(io_loop) is AsyncIOLoop
        assert getattr(io_loop, "asyncio_loop") is asyncio_loop
    finally:
        io_loop.close()


@pytest.mark.usefixtures("configured_ours")
def test_current_creates_our_main_loop_for_a_running_loop(loop_factory: LoopFactory) -> None:
    async def main() -> type[IOLoop]:
        current = IOLoop.current()
        assert IOLoop.current() is current
        return type(current)

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        assert runner.run(main()) is AsyncIOMainLoop


def test_current_without_our_configuration_is_tornados() -> None:
    async def main() -> type[IOLoop]:
        return type(IOLoop.current())

    assert asyncio.run(main()) is tornado.platform.asyncio.AsyncIOMainLoop


@pytest.mark.usefixtures("configured_ours")
def test_current_on_a_thread_without_a_loop() -> None:
    results: dict[str, object] = {}

    def target() -> None:
        results["none"] = IOLoop.current(instance=False)
        current = IOLoop.current()
        results["type"] = type(current)
        results["set"] = asyncio.get_event_loop() is current.asyncio_loop  # type: ignore[attr-defined]
        results["again"] = IOLoop.current() is current
        current.close()
        asyncio.set_event_loop(None)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    assert results == {"none": None, "type": AsyncIOMainLoop, "set": True, "again": True}


def test_configure_still_refuses_other_classes() -> None:
    class NotALoop(IOLoop):
        pass

    with pytest.raises(RuntimeError, match="only AsyncIOLoop is allowed"):
        IOLoop.configure(NotALoop)
    assert IOLoop.configured_class() is tornado.platform.asyncio.AsyncIOLoop


def test_patch_is_installed_once() -> None:
    configure = IOLoop.__dict__["configure"]
    current = IOLoop.__dict__["current"]
    _install_patch()
    assert IOLoop.__dict__["configure"] is configure
    assert IOLoop.__dict__["current"] is current
    assert getattr(current.__func__, "__futurebridge_patch__", False)


def _run_script(source: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-W", "error", "-X", "dev", "-c", textwrap.dedent(source)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_documented_usage_main_loop_install() -> None:
    result = _run_script(
        """
        import asyncio
        from tornado.ioloop import IOLoop
        from futurebridge import AsyncIOMainLoop

        def check():
            print(type(IOLoop.current()).__qualname__)
            asyncio.get_event_loop().stop()

        AsyncIOMainLoop().install()
        asyncio.get_event_loop().call_soon(check)
        asyncio.get_event_loop().run_forever()
        IOLoop.current().close()
        """
    )
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "AsyncIOMainLoop\n")


def test_documented_usage_configure_then_current_start() -> None:
    result = _run_script(
        """
        from tornado.ioloop import IOLoop
        import futurebridge

        def check():
            current = IOLoop.current()
            print(type(current).__module__, type(current).__qualname__)
            other = IOLoop(make_current=False)
            print(type(other).__qualname__)
            other.close()
            current.stop()

        IOLoop.configure("futurebridge.AsyncIOLoop")
        IOLoop.current().add_callback(check)
        IOLoop.current().start()
        IOLoop.current().close()
        """
    )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "futurebridge._ioloop AsyncIOMainLoop\nAsyncIOLoop\n"


# --- file descriptors ------------------------------------------------------------------


def test_read_handler_gets_the_object_it_was_given(
    io_loop: AsyncIOLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    calls: list[tuple[object, int, bytes]] = []

    def on_read(fd: socket.socket, events: int) -> None:
        calls.append((fd, events, fd.recv(100)))

    io_loop.add_handler(a, on_read, READ)
    b.send(b"ping")
    run_until(io_loop, lambda: bool(calls))
    assert calls == [(a, READ, b"ping")]
    io_loop.remove_handler(a)


def test_integer_fd_handler_gets_the_integer(
    io_loop: AsyncIOLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    calls: list[tuple[int, int]] = []

    def on_read(fd: int, events: int) -> None:
        calls.append((fd, events))
        os.read(fd, 100)

    io_loop.add_handler(a.fileno(), on_read, READ)
    b.send(b"x")
    run_until(io_loop, lambda: bool(calls))
    assert calls == [(a.fileno(), READ)]
    io_loop.remove_handler(a.fileno())


def test_write_handler_and_update_handler(
    io_loop: AsyncIOLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    events_seen: list[int] = []

    def on_event(fd: socket.socket, events: int) -> None:
        events_seen.append(events)
        if events & WRITE:
            # Writable once is enough: listen for reads only from now on.
            io_loop.update_handler(fd, READ)
            b.send(b"reply")
        if events & READ:
            fd.recv(100)

    io_loop.add_handler(a, on_event, WRITE)
    run_until(io_loop, lambda: READ in events_seen)
    assert events_seen == [WRITE, READ]
    # NONE: no events at all, even though a is writable and has data.
    io_loop.update_handler(a, IOLoop.NONE)
    b.send(b"more")
    events_seen.clear()
    drain(io_loop, 20)
    assert events_seen == []
    io_loop.update_handler(a, READ | WRITE)
    run_until(io_loop, lambda: READ in events_seen and WRITE in events_seen)
    io_loop.remove_handler(a)


def test_remove_handler_stops_events_and_tolerates_unknown_fds(
    io_loop: AsyncIOLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    calls: list[int] = []
    io_loop.add_handler(a, lambda fd, events: calls.append(events), READ)
    io_loop.remove_handler(a)
    io_loop.remove_handler(a)  # twice: still fine
    io_loop.remove_handler(b.fileno())  # never added: a no-op
    b.send(b"unheard")
    drain(io_loop, 20)
    assert calls == []


def test_remove_handler_from_another_handler_in_the_same_iteration(
    io_loop: AsyncIOLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    a.send(b"1")
    b.send(b"2")
    read: list[bytes] = []

    def on_read(fd: socket.socket, events: int) -> None:
        read.append(fd.recv(10))
        io_loop.remove_handler(b if fd is a else a)

    io_loop.add_handler(a, on_read, READ)
    io_loop.add_handler(b, on_read, READ)
    drain(io_loop, 20)
    assert len(read) == 1
    io_loop.remove_handler(a)
    io_loop.remove_handler(b)


def test_add_handler_twice_and_update_unknown_fd_are_errors(
    io_loop: AsyncIOLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, _ = pair
    io_loop.add_handler(a, lambda fd, events: None, READ)
    with pytest.raises(ValueError, match="added twice"):
        io_loop.add_handler(a.fileno(), lambda fd, events: None, READ)
    io_loop.remove_handler(a)
    with pytest.raises(KeyError, match="no handler"):
        io_loop.update_handler(a, READ)


def test_error_flag_hangup_is_reported(
    io_loop: AsyncIOLoop, pair: tuple[socket.socket, socket.socket]
) -> None:
    a, b = pair
    calls: list[bytes] = []

    def on_event(fd: socket.socket, events: int) -> None:
        calls.append(fd.recv(10))  # b"" is end-of-file: the peer hung up
        io_loop.remove_handler(fd)

    io_loop.add_handler(a, on_event, READ | ERROR)
    b.close()
    run_until(io_loop, lambda: bool(calls))
    assert calls == [b""]


def test_handler_exception_is_logged_and_loop_goes_on(
    io_loop: AsyncIOLoop,
    pair: tuple[socket.socket, socket.socket],
    caplog: pytest.LogCaptureFixture,
) -> None:
    a, b = pair

    def broken(fd: socket.socket, events: int) -> None:
        fd.recv(10)
        raise ZeroDivisionError("handler bug")

    io_loop.add_handler(a, broken, READ)
    b.send(b"x")
    with caplog.at_level(logging.ERROR, logger="tornado.application"):
        run_until(io_loop, lambda: bool(caplog.records))
    assert "Exception in I/O handler" in caplog.records[0].getMessage()
    exc_info = caplog.records[0].exc_info
    assert exc_info is not None
    assert isinstance(exc_info[1], ZeroDivisionError)
    io_loop.remove_handler(a)


class _Closable:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = False

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.closed = True
        self.sock.close()


def test_close_all_fds_closes_registered_fds_and_objects(loop_factory: LoopFactory) -> None:
    io_loop = AsyncIOLoop(asyncio_loop=loop_factory(), make_current=False)
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    wrapper = _Closable(a)
    io_loop.add_handler(wrapper, lambda fd, events: None, READ)
    io_loop.add_handler(c.fileno(), lambda fd, events: None, WRITE)
    io_loop.close(all_fds=True)
    assert wrapper.closed
    with pytest.raises(OSError):
        os.fstat(c.fileno())
    c.detach()  # its fd is closed already
    b.close()
    d.close()


def test_close_without_all_fds_leaves_them_open(loop_factory: LoopFactory) -> None:
    io_loop = AsyncIOLoop(asyncio_loop=loop_factory(), make_current=False)
    a, b = socket.socketpair()
    wrapper = _Closable(a)
    io_loop.add_handler(wrapper, lambda fd, events: None, READ)
    io_loop.close()
    assert not wrapper.closed
    os.fstat(a.fileno())
    a.close()
    b.close()


# --- timeouts ----------------------------------------------------------------------------


def test_timeouts_run_in_deadline_order_with_their_arguments(io_loop: AsyncIOLoop) -> None:
    order: list[str] = []

    def record(name: str, *, suffix: str = "") -> None:
        order.append(name + suffix)

    now = io_loop.time()
    io_loop.call_at(now + 0.03, record, "at")
    io_loop.call_later(0.02, record, "later", suffix="!")
    io_loop.add_timeout(now + 0.01, record, "add_timeout")
    io_loop.add_timeout(datetime.timedelta(seconds=0.04), record, "timedelta")
    io_loop.call_later(0, record, "zero")
    run_until(io_loop, lambda: len(order) == 5)
    assert order == ["zero", "add_timeout", "later!", "at", "timedelta"]


def test_remove_timeout(io_loop: AsyncIOLoop) -> None:
    fired: list[str] = []
    handles = [
        io_loop.call_later(0.01, fired.append, "later"),
        io_loop.call_at(io_loop.time() + 0.01, fired.append, "at"),
        io_loop.add_timeout(io_loop.time() + 0.01, fired.append, "add"),
    ]
    for handle in handles:
        assert handle is not None
        io_loop.remove_timeout(handle)
    done = io_loop.call_later(0.03, fired.append, "kept")
    run_until(io_loop, lambda: bool(fired))
    assert fired == ["kept"]
    io_loop.remove_timeout(done)  # after it ran: harmless
    with pytest.raises(TypeError, match="remove_timeout"):
        io_loop.remove_timeout(object())


def test_remove_timeout_from_an_earlier_timeout(io_loop: AsyncIOLoop) -> None:
    calls: list[str] = []
    now = io_loop.time()

    def first() -> None:
        calls.append("first")
        io_loop.remove_timeout(second_handle)

    io_loop.call_at(now + 0.01, first)
    second_handle = io_loop.call_at(now + 0.02, calls.append, "second")
    io_loop.call_at(now + 0.03, calls.append, "third")
    time.sleep(0.04)  # all three are due when the loop next looks
    run_until(io_loop, lambda: "third" in calls)
    assert calls == ["first", "third"]


def test_timeout_exception_is_logged(
    io_loop: AsyncIOLoop, caplog: pytest.LogCaptureFixture
) -> None:
    ran: list[bool] = []

    def broken() -> None:
        raise ValueError("timeout bug")

    io_loop.call_later(0, broken)
    io_loop.call_later(0.01, ran.append, True)
    with caplog.at_level(logging.ERROR, logger="tornado.application"):
        run_until(io_loop, lambda: bool(ran))
    assert [r.getMessage().startswith("Exception in callback") for r in caplog.records] == [True]


def test_time_is_time_dot_time(io_loop: AsyncIOLoop) -> None:
    before = time.time()
    now = io_loop.time()
    after = time.time()
    assert before <= now <= after


def test_periodic_callback(io_loop: AsyncIOLoop) -> None:
    count = 0
    finished = asyncio.Event()

    def tick() -> None:
        nonlocal count
        count += 1
        if count == 3:
            periodic.stop()
            finished.set()

    async def main() -> None:
        periodic.start()
        assert periodic.is_running()
        await finished.wait()

    periodic = PeriodicCallback(tick, 5)
    io_loop.run_sync(main, timeout=10)
    assert count == 3
    assert not periodic.is_running()


# --- callbacks ----------------------------------------------------------------------------


def test_add_callback_runs_later_with_arguments(io_loop: AsyncIOLoop) -> None:
    calls: list[tuple[Any, ...]] = []

    def main() -> None:
        io_loop.add_callback(lambda *args, **kwargs: calls.append((args, kwargs)), 1, k=2)
        io_loop.add_callback(calls.append, ("positional",))
        io_loop.spawn_callback(lambda x: calls.append(("spawned", x)), 3)
        calls.append(("inline",))

    io_loop.run_sync(main)
    drain(io_loop)
    assert calls == [("inline",), ((1,), {"k": 2}), ("positional",), ("spawned", 3)]


def test_add_callback_from_another_thread_wakes_the_loop(io_loop: AsyncIOLoop) -> None:
    ran_on: list[int] = []

    def on_loop() -> None:
        ran_on.append(threading.get_ident())
        io_loop.stop()

    def from_thread() -> None:
        io_loop.add_callback(on_loop)

    guard = io_loop.call_later(30, io_loop.stop)  # only if the wake-up were lost
    thread = threading.Thread(target=from_thread)
    io_loop.add_callback(thread.start)
    io_loop.start()
    thread.join()
    io_loop.remove_timeout(guard)
    assert ran_on == [threading.get_ident()]


def test_many_threads_add_callbacks_concurrently(io_loop: AsyncIOLoop) -> None:
    received: list[int] = []
    per_thread = 200

    def producer(n: int) -> None:
        for i in range(per_thread):
            io_loop.add_callback(received.append, n * per_thread + i)

    threads = [threading.Thread(target=producer, args=(n,)) for n in range(4)]

    async def main() -> None:
        for thread in threads:
            thread.start()
        while len(received) < 4 * per_thread:  # noqa: ASYNC110  # filled by other threads
            await asyncio.sleep(0.001)

    io_loop.run_sync(main, timeout=30)
    for thread in threads:
        thread.join()
    assert sorted(received) == list(range(4 * per_thread))


def test_callback_exceptions_and_returned_coroutines_are_logged(
    io_loop: AsyncIOLoop, caplog: pytest.LogCaptureFixture
) -> None:
    async def failing_coroutine() -> None:
        await asyncio.sleep(0)
        raise KeyError("from a coroutine")

    @gen.coroutine
    def failing_generator() -> Generator[Any, Any, None]:
        yield gen.moment
        raise IndexError("from gen.coroutine")

    def cancelled() -> None:
        raise asyncio.CancelledError

    async def main() -> None:
        io_loop.add_callback(lambda: 1 / 0)
        io_loop.add_callback(failing_coroutine)
        io_loop.spawn_callback(failing_generator)
        io_loop.add_callback(cancelled)  # ignored, as in Tornado
        io_loop.add_callback(lambda: 42)  # a non-yieldable result is ignored
        io_loop.add_callback(lambda: {})  # an empty dict is a done yieldable
        for _ in range(20):
            await asyncio.sleep(0)

    with caplog.at_level(logging.ERROR, logger="tornado.application"):
        io_loop.run_sync(main)
    errors = sorted(type(r.exc_info[1]).__name__ for r in caplog.records if r.exc_info is not None)
    assert errors == ["IndexError", "KeyError", "ZeroDivisionError"]
    assert all(r.getMessage().startswith("Exception in callback") for r in caplog.records)


class _NotAnException(BaseException):
    pass


def test_base_exceptions_go_to_the_loops_exception_handler(io_loop: AsyncIOLoop) -> None:
    # As with call_soon: only Exception is Tornado's to log; SystemExit and
    # KeyboardInterrupt propagate, other BaseExceptions reach the handler.
    reported: list[BaseException] = []

    def raise_it(tag: str) -> None:
        raise _NotAnException(tag)

    async def main() -> None:
        io_loop.asyncio_loop.set_exception_handler(
            lambda loop, context: reported.append(context["exception"])
        )
        io_loop.add_callback(raise_it, "soon")
        io_loop.call_later(0, raise_it, "later")
        for _ in range(5):
            await asyncio.sleep(0)

    io_loop.run_sync(main)
    assert sorted(str(exc) for exc in reported) == ["later", "soon"]

    def interrupt() -> None:
        raise KeyboardInterrupt

    io_loop.add_callback(interrupt)
    with pytest.raises(KeyboardInterrupt):
        io_loop.start()


@pytest.mark.asyncio_errors_expected  # "Task was destroyed but it is pending", on purpose
def test_closing_releases_coroutines_spawned_by_callbacks(loop_factory: LoopFactory) -> None:
    io_loop = AsyncIOLoop(asyncio_loop=loop_factory(), make_current=False)
    started: list[asyncio.Task[Any]] = []

    async def forever() -> None:
        task = asyncio.current_task()
        assert task is not None
        started.append(task)
        await asyncio.Event().wait()

    io_loop.add_callback(forever)  # the loop keeps it alive while it runs
    drain(io_loop)
    gc.collect()
    assert len(started) == 1
    assert not started[0].done()
    ref = weakref.ref(started.pop())
    io_loop.close()
    gc.collect()
    assert ref() is None


def test_add_callback_on_a_closed_loop_is_a_logged_no_op(
    loop_factory: LoopFactory, caplog: pytest.LogCaptureFixture
) -> None:
    io_loop = AsyncIOLoop(asyncio_loop=loop_factory(), make_current=False)
    io_loop.close()
    ran: list[bool] = []
    with caplog.at_level(logging.DEBUG, logger="futurebridge"):
        io_loop.add_callback(ran.append, True)
        io_loop.spawn_callback(ran.append, True)
        thread = threading.Thread(target=io_loop.add_callback, args=(ran.append, True))
        thread.start()
        thread.join()
    dropped = [r for r in caplog.records if "closed IOLoop dropped" in r.getMessage()]
    assert len(dropped) == 3
    assert all(r.levelno == logging.DEBUG for r in dropped)
    assert ran == []


def test_add_callback_racing_a_close_on_another_thread(loop_factory: LoopFactory) -> None:
    io_loop = AsyncIOLoop(asyncio_loop=loop_factory(), make_current=False)
    closing = threading.Event()

    def target() -> None:
        io_loop.add_callback(io_loop.stop)
        io_loop.start()
        closing.set()
        io_loop.close(all_fds=True)

    thread = threading.Thread(target=target)
    thread.start()
    closing.wait()
    for _ in range(1000):
        io_loop.add_callback(lambda: None)  # must never raise
    thread.join()


def test_add_callback_from_signal(io_loop: AsyncIOLoop) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.fail("signal handlers need the main thread")
    received: list[int] = []

    def handler(signum: int, frame: object) -> None:
        io_loop.add_callback_from_signal(received.append, signum)

    previous = signal.signal(signal.SIGUSR1, handler)
    try:
        io_loop.call_later(0, os.kill, os.getpid(), signal.SIGUSR1)
        with pytest.warns(DeprecationWarning, match="add_callback_from_signal"):
            run_until(io_loop, lambda: bool(received))
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert received == [signal.SIGUSR1]


# --- futures and executors ------------------------------------------------------------------


def test_add_future_with_a_future_of_this_loop(io_loop: AsyncIOLoop) -> None:
    seen: list[object] = []

    async def main() -> None:
        future: asyncio.Future[int] = io_loop.asyncio_loop.create_future()
        io_loop.add_future(future, lambda f: seen.append(f.result()))
        future.set_result(7)
        assert seen == []  # never inline: the next iteration
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    io_loop.run_sync(main)
    assert seen == [7]


def test_add_future_with_a_concurrent_future_runs_on_the_loop_thread(
    io_loop: AsyncIOLoop,
) -> None:
    seen: list[tuple[object, int]] = []
    with concurrent.futures.ThreadPoolExecutor(1) as pool:

        def main() -> None:
            future = pool.submit(lambda: "done in a thread")
            io_loop.add_future(future, lambda f: seen.append((f.result(), threading.get_ident())))

        io_loop.run_sync(main)
        run_until(io_loop, lambda: bool(seen))
    assert seen == [("done in a thread", threading.get_ident())]


def test_add_future_with_a_future_of_another_loop(io_loop: AsyncIOLoop) -> None:
    other = AsyncIOLoop(make_current=False)
    thread = threading.Thread(target=other.start)
    thread.start()
    try:
        other_future: concurrent.futures.Future[asyncio.Future[str]] = concurrent.futures.Future()
        other.add_callback(lambda: other_future.set_result(other.asyncio_loop.create_future()))
        foreign = other_future.result(timeout=10)
        seen: list[tuple[object, int]] = []

        def main() -> None:
            io_loop.add_future(foreign, lambda f: seen.append((f, threading.get_ident())))
            other.add_callback(foreign.set_result, "over there")

        io_loop.run_sync(main)
        run_until(io_loop, lambda: bool(seen))
        assert seen == [(foreign, threading.get_ident())]
        assert foreign.result() == "over there"
    finally:
        other.add_callback(other.stop)
        thread.join()
        other.close()


def test_add_future_callback_exception_is_logged(
    io_loop: AsyncIOLoop, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(future: asyncio.Future[None]) -> None:
        raise RuntimeError("add_future callback bug")

    async def main() -> None:
        future: asyncio.Future[None] = io_loop.asyncio_loop.create_future()
        io_loop.add_future(future, broken)
        future.set_result(None)
        for _ in range(3):
            await asyncio.sleep(0)

    with caplog.at_level(logging.ERROR, logger="tornado.application"):
        io_loop.run_sync(main)
    assert [r.getMessage().startswith("Exception in callback") for r in caplog.records] == [True]


def test_add_future_refuses_non_futures(io_loop: AsyncIOLoop) -> None:
    with pytest.raises(TypeError, match="add_future"):
        io_loop.add_future(object(), lambda f: None)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]


def test_run_in_executor_runs_in_parallel(io_loop: AsyncIOLoop) -> None:
    first = threading.Event()
    second = threading.Event()

    def wait_for_the_other(mine: threading.Event, other: threading.Event) -> str:
        mine.set()
        if not other.wait(10):
            raise TimeoutError("the other call never started: not run in parallel")
        return "ok"

    async def main() -> list[str]:
        return list(
            await asyncio.gather(
                io_loop.run_in_executor(None, wait_for_the_other, first, second),
                io_loop.run_in_executor(None, wait_for_the_other, second, first),
            )
        )

    assert io_loop.run_sync(main) == ["ok", "ok"]


def test_run_in_executor_with_an_explicit_executor(io_loop: AsyncIOLoop) -> None:
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="explicit") as pool:

        async def main() -> str:
            return await io_loop.run_in_executor(pool, lambda: threading.current_thread().name)

        assert io_loop.run_sync(main).startswith("explicit")


class _CountingPool(concurrent.futures.ThreadPoolExecutor):
    submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


class _InlineExecutor(concurrent.futures.Executor):
    """Not a ThreadPoolExecutor: runs each call at once, on the calling thread."""

    def __init__(self) -> None:
        self.calls = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        future.set_result(fn(*args, **kwargs))
        return future


def test_set_default_executor(io_loop: AsyncIOLoop) -> None:
    pool = _CountingPool(1)
    io_loop.set_default_executor(pool)

    async def main() -> tuple[int, int]:
        a = await io_loop.run_in_executor(None, lambda: 1)
        b = await asyncio.to_thread(lambda: 2)  # the asyncio loop's default, too
        return a, b

    assert io_loop.run_sync(main) == (1, 2)
    assert pool.submitted == 2

    inline = _InlineExecutor()
    io_loop.set_default_executor(inline)
    assert io_loop.run_sync(lambda: io_loop.run_in_executor(None, lambda: 3)) == 3
    assert inline.calls == 1


# --- run_sync, start, stop, close ------------------------------------------------------------


def test_run_sync_results(io_loop: AsyncIOLoop) -> None:
    @gen.coroutine
    def legacy() -> Generator[Any, Any, int]:
        yield gen.moment
        return 42

    async def native() -> str:
        await asyncio.sleep(0)
        return "native"

    async def two() -> int:
        return 2

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert io_loop.run_sync(lambda: pool.submit(lambda: "thread")) == "thread"
    assert io_loop.run_sync(legacy) == 42
    assert io_loop.run_sync(native) == "native"
    assert io_loop.run_sync(lambda: None) is None
    assert io_loop.run_sync(lambda: [two(), native()]) == [2, "native"]
    assert io_loop.run_sync(lambda: {"k": two()}) == {"k": 2}
    assert io_loop.run_sync(lambda: gen.moment) is None


def test_run_sync_exceptions(io_loop: AsyncIOLoop) -> None:
    async def failing() -> None:
        await asyncio.sleep(0)
        raise KeyError("async")

    with pytest.raises(ZeroDivisionError):
        io_loop.run_sync(lambda: 1 / 0)  # type: ignore[arg-type, return-value]  # pyright: ignore[reportArgumentType, reportCallIssue]
    with pytest.raises(KeyError, match="async"):
        io_loop.run_sync(failing)
    with pytest.raises(gen.BadYieldError, match="neither None nor a yieldable"):
        io_loop.run_sync(lambda: 42)  # type: ignore[arg-type, return-value]  # pyright: ignore[reportArgumentType, reportCallIssue]
    # The loop is still usable.
    assert io_loop.run_sync(lambda: asyncio.sleep(0, "again")) == "again"


def test_run_sync_timeout_cancels_the_work(io_loop: AsyncIOLoop) -> None:
    cancelled: list[bool] = []

    async def slow() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    with pytest.raises(TimeoutError, match=r"timed out after 0\.01 seconds"):
        io_loop.run_sync(slow, timeout=0.01)
    assert cancelled == [True]
    # A TimeoutError raised by the work itself is not mistaken for the timeout.
    with pytest.raises(TimeoutError, match="its own"):
        io_loop.run_sync(_raise_timeout, timeout=30)
    assert io_loop.run_sync(lambda: asyncio.sleep(0, 5), timeout=30) == 5


async def _raise_timeout() -> None:
    raise TimeoutError("its own")


def test_run_sync_stopped_early(io_loop: AsyncIOLoop) -> None:
    async def stops_the_loop() -> None:
        IOLoop.current().stop()
        await asyncio.sleep(30)

    with pytest.raises(RuntimeError, match="Event loop stopped before Future completed"):
        io_loop.run_sync(stops_the_loop)

    async def cancel_leftovers() -> None:
        me = asyncio.current_task()
        tasks = [t for t in asyncio.all_tasks() if t is not me]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    io_loop.run_sync(cancel_leftovers)


def test_run_sync_misuse(io_loop: AsyncIOLoop, loop_factory: LoopFactory) -> None:
    async def nested() -> None:
        with pytest.raises(RuntimeError, match="already running"):
            io_loop.run_sync(lambda: None)

    io_loop.run_sync(nested)
    closed = AsyncIOLoop(asyncio_loop=loop_factory(), make_current=False)
    closed.close()
    with pytest.raises(RuntimeError, match="closed IOLoop"):
        closed.run_sync(lambda: None)
    with pytest.raises(RuntimeError, match="closed IOLoop"):
        closed.start()


def test_run_sync_and_start_inside_another_running_loop(
    io_loop: AsyncIOLoop, loop_factory: LoopFactory
) -> None:
    async def main() -> None:
        with pytest.raises(RuntimeError, match="another event loop is running"):
            io_loop.run_sync(lambda: None)
        with pytest.raises(RuntimeError, match="another event loop is running"):
            io_loop.start()
        # The loop that is running is unharmed (CPython 3.13.0 would unset it).
        assert asyncio.get_running_loop() is outer
        await asyncio.sleep(0)

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        outer = runner.get_loop()
        runner.run(main())
    assert io_loop.run_sync(lambda: asyncio.sleep(0, "still usable")) == "still usable"


def test_stop_before_start_returns_after_one_iteration(io_loop: AsyncIOLoop) -> None:
    ran: list[bool] = []
    io_loop.add_callback(ran.append, True)
    io_loop.stop()
    io_loop.start()
    assert ran == [True]


def test_stop_from_another_thread_wakes_the_loop(io_loop: AsyncIOLoop) -> None:
    started = threading.Event()
    io_loop.add_callback(started.set)
    guard = io_loop.call_later(30, io_loop.stop)  # only if the wake-up were lost

    def stopper() -> None:
        started.wait(10)
        time.sleep(0.01)  # let the loop go to sleep in select()
        io_loop.stop()

    thread = threading.Thread(target=stopper)
    thread.start()
    io_loop.start()
    thread.join()
    io_loop.remove_timeout(guard)
    assert started.is_set()


def test_start_while_running_and_close_while_running_raise(io_loop: AsyncIOLoop) -> None:
    errors: list[str] = []

    def reenter() -> None:
        for attempt in (io_loop.start, io_loop.close):
            try:
                attempt()
            except RuntimeError as exc:
                errors.append(str(exc))
        io_loop.stop()

    io_loop.add_callback(reenter)
    io_loop.start()
    assert not io_loop.asyncio_loop.is_running()
    assert len(errors) == 2
    assert "already running" in errors[0]
    assert "cannot close a running IOLoop" in errors[1]


def test_close_twice_is_harmless(loop_factory: LoopFactory) -> None:
    io_loop = AsyncIOLoop(asyncio_loop=loop_factory(), make_current=False)
    io_loop.close()
    io_loop.close()
    assert io_loop.asyncio_loop.is_closed()


def _start_on_thread(io_loop: AsyncIOLoop) -> threading.Thread:
    started = threading.Event()
    io_loop.add_callback(started.set)
    thread = threading.Thread(target=io_loop.start)
    thread.start()
    assert started.wait(10)
    return thread


def test_closing_a_loop_fails_waiters_of_futures_bridged_from_it(
    loop_factory: LoopFactory,
) -> None:
    source = AsyncIOLoop(asyncio_loop=loop_factory(), make_current=False)
    thread = _start_on_thread(source)
    made: concurrent.futures.Future[asyncio.Future[int]] = concurrent.futures.Future()
    source.add_callback(lambda: made.set_result(source.asyncio_loop.create_future()))
    pending = made.result(timeout=10)

    async def wait_for_it() -> int:
        bridged = to_asyncio_future(pending)

        # Close the source while we wait: stop it, then close it.
        def stop_and_close() -> None:
            source.add_callback(source.stop)
            thread.join()
            source.close()

        closer.append(threading.Thread(target=stop_and_close))
        closer[0].start()
        return await asyncio.wait_for(bridged, 10)

    closer: list[threading.Thread] = []

    with (
        asyncio.Runner(loop_factory=loop_factory) as runner,
        pytest.raises(RuntimeError, match="was closed while the future was pending"),
    ):
        runner.run(wait_for_it())
    closer[0].join()
    assert source.asyncio_loop.is_closed()


def test_package_exports_the_loops() -> None:
    assert futurebridge.AsyncIOLoop is AsyncIOLoop
    assert futurebridge.AsyncIOMainLoop is AsyncIOMainLoop
    assert {"AsyncIOLoop", "AsyncIOMainLoop"} <= set(futurebridge.__all__)


def test_closed_loops_are_unregistered(loop_factory: LoopFactory) -> None:
    closed: list[asyncio.AbstractEventLoop] = []
    for _ in range(20):
        io_loop = AsyncIOLoop(asyncio_loop=loop_factory(), make_current=False)
        io_loop.run_sync(lambda: asyncio.sleep(0))
        io_loop.close()
        closed.append(io_loop.asyncio_loop)
    registry = IOLoop._ioloop_for_asyncio  # pyright: ignore[reportPrivateUsage]
    assert not [loop for loop in closed if loop in registry]


def test_loops_closed_behind_our_back_are_dropped_from_the_registry(
    loop_factory: LoopFactory,
) -> None:
    # asyncio.Runner closes its loop without telling the IOLoop; the next
    # IOLoop created cleans up, as Tornado's own loops do.
    async def main() -> asyncio.AbstractEventLoop:
        AsyncIOMainLoop()
        return asyncio.get_running_loop()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        behind_our_back = runner.run(main())
    registry = IOLoop._ioloop_for_asyncio  # pyright: ignore[reportPrivateUsage]
    assert behind_our_back in registry
    AsyncIOLoop(make_current=False).close()
    assert behind_our_back not in registry
