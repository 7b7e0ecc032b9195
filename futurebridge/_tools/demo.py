"""``python -m futurebridge demo``: a real Tornado web app mixing every kind of code we bridge.

This module owns the demo: on futurebridge's :class:`AsyncIOMainLoop` (over
asyncio's loop, or uvloop's with ``--loop uvloop``) it serves a Tornado
``web.Application`` on 127.0.0.1 (an ephemeral port) whose handlers mix legacy
``@gen.coroutine`` code, ``async def`` code, a thread pool, a second event loop
on a :class:`LoopThread` and a websocket; a client in the same process drives
every endpoint concurrently, checks every answer and prints a table. It owns no
API: it only uses the public one.

Rules that hold across this module:

1. Every answer is checked against a value computed independently by the
   client (and the thread or loop that did the work is checked too); the exit
   status is 0 only if every check passed *and* the shutdown was clean.
2. Clean means: every server, client, connection, executor, thread and loop
   is closed before ``run`` returns, no thread but the main one is left, and
   nothing was reported while running (no "never retrieved", no "destroyed
   but pending", no unraisable exception such as an unclosed-socket warning).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import gc
import hashlib
import json
import logging
import statistics
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

import tornado
import tornado.gen
import tornado.httpclient
import tornado.httpserver
import tornado.netutil
import tornado.web
import tornado.websocket
from tornado.ioloop import IOLoop

from futurebridge import (
    AsyncIOMainLoop,
    LoopThread,
    as_asyncio,
    as_tornado,
    to_asyncio_future,
    to_tornado_future,
)

__all__ = ("run",)

POOL_PREFIX = "futurebridge-demo-pool"
SECOND_LOOP_THREAD = "futurebridge-demo-loop"
REQUESTS_PER_ENDPOINT = 3
TIMEOUT = 30.0

# Tornado types gen.moment as Future[Any] although it is a _NullFuture.
_MOMENT: Any = getattr(tornado.gen, "moment")


def _send_json(handler: tornado.web.RequestHandler, data: dict[str, Any]) -> None:
    handler.set_header("Content-Type", "application/json")
    # getattr: Tornado types write()'s dict chunk as a bare dict, unknown to pyright.
    write: Callable[[str], None] = getattr(handler, "write")
    write(json.dumps(data))


# --- the code being bridged: legacy and modern, as a real app mixes them -------------------


@tornado.gen.coroutine
def legacy_double(x: int) -> Generator[Any, Any, int]:
    """Legacy Tornado code: a ``@gen.coroutine`` that yields before it answers."""
    yield _MOMENT
    return x * 2


async def modern_square(x: int) -> int:
    """Modern asyncio code."""
    await asyncio.sleep(0)
    return x * x


@as_asyncio
def legacy_sum(xs: list[int]) -> Generator[Any, Any, int]:
    """A legacy generator made an ``async def`` by :func:`as_asyncio`: yields a list of futures."""
    doubled: list[int] = yield [legacy_double(x) for x in xs]
    return sum(doubled)


@as_tornado
async def modern_negate(x: int) -> int:
    """An ``async def`` made a Tornado future by :func:`as_tornado`, for legacy callers."""
    await asyncio.sleep(0)
    return -x


def sha256_hex(data: bytes) -> tuple[str, str]:
    """Blocking work for the thread pool: the digest, and the thread that computed it."""
    return hashlib.sha256(data).hexdigest(), threading.current_thread().name


@tornado.gen.coroutine
def on_second_loop(x: int) -> Generator[Any, Any, dict[str, Any]]:
    """Legacy code run on the LoopThread's loop: reports where it ran."""
    yield tornado.gen.sleep(0.001)
    return {
        "value": x + 1000,
        "thread": threading.current_thread().name,
        "loop": id(asyncio.get_running_loop()),
    }


# --- the web application ------------------------------------------------------------------


class LegacyHandler(tornado.web.RequestHandler):
    """``GET /legacy?x=``: a ``@gen.coroutine`` handler yielding legacy and asyncio work."""

    @tornado.gen.coroutine
    def get(self) -> Generator[Any, Any, None]:
        x = int(self.get_query_argument("x"))
        doubled: int = yield legacy_double(x)
        # A native coroutine, handed to legacy code as a Tornado future.
        squared: int = yield to_tornado_future(modern_square(x))
        negated: int = yield modern_negate(x)
        _send_json(self, {"result": doubled + squared + negated})


class AsyncLegacyHandler(tornado.web.RequestHandler):
    """``GET /async-legacy?x=``: an ``async def`` handler awaiting legacy code."""

    async def get(self) -> None:
        x = int(self.get_query_argument("x"))
        doubled = await to_asyncio_future(legacy_double(x))
        both = await to_asyncio_future({"double": legacy_double(x), "square": modern_square(x)})
        total = await legacy_sum([x, x + 1])
        _send_json(self, {"result": doubled + both["double"] + both["square"] + total})


class ExecutorHandler(tornado.web.RequestHandler):
    """``GET /executor?data=``: blocking work on a ThreadPoolExecutor."""

    def initialize(self, pool: concurrent.futures.ThreadPoolExecutor) -> None:
        self.pool = pool

    async def get(self) -> None:
        data = self.get_query_argument("data").encode()
        digest, thread = await to_asyncio_future(self.pool.submit(sha256_hex, data))
        _send_json(self, {"result": digest, "thread": thread})


class LoopThreadHandler(tornado.web.RequestHandler):
    """``GET /loop-thread?x=``: legacy work on a second event loop, on its own thread."""

    def initialize(self, second: LoopThread) -> None:
        self.second = second

    async def get(self) -> None:
        answer = await self.second.call(on_second_loop, int(self.get_query_argument("x")))
        _send_json(
            self,
            {
                "result": answer["value"],
                "thread": answer["thread"],
                "same_loop": answer["loop"] == id(asyncio.get_running_loop()),
            },
        )


class ShoutSocket(tornado.websocket.WebSocketHandler):
    """``/ws``: answers each message in capitals, computed by legacy code."""

    async def on_message(self, message: str | bytes) -> None:
        text = message.decode() if isinstance(message, bytes) else message
        reply: str = await to_asyncio_future(_legacy_shout(text))
        await self.write_message(reply)


@tornado.gen.coroutine
def _legacy_shout(text: str) -> Generator[Any, Any, str]:
    yield _MOMENT
    return text.upper() + "!"


def make_app(
    pool: concurrent.futures.ThreadPoolExecutor,
    second: LoopThread,
    extra: Sequence[tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]] = (),
) -> tornado.web.Application:
    """The demo's Tornado application, with the *extra* routes (the Dask ones)."""
    return tornado.web.Application(
        [
            (r"/legacy", LegacyHandler),
            (r"/async-legacy", AsyncLegacyHandler),
            (r"/executor", ExecutorHandler, {"pool": pool}),
            (r"/loop-thread", LoopThreadHandler, {"second": second}),
            (r"/ws", ShoutSocket),
            *extra,
        ]
    )


# --- the client -------------------------------------------------------------------------


@dataclass
class Check:
    """The outcome of driving one endpoint."""

    endpoint: str
    bridged: str
    results: list[str] = field(default_factory=list[str])
    failures: list[str] = field(default_factory=list[str])
    latencies: list[float] = field(default_factory=list[float])

    @property
    def ok(self) -> bool:
        """Whether every request to the endpoint got the expected answer."""
        return bool(self.results) and not self.failures


@dataclass(frozen=True)
class _Endpoint:
    path: str
    bridged: str
    query: Callable[[int], str]
    expected: Callable[[int], dict[str, Any]]


def _expect_legacy(x: int) -> dict[str, Any]:
    return {"result": 2 * x + x * x - x}


def _expect_async_legacy(x: int) -> dict[str, Any]:
    return {"result": 2 * x + 2 * x + x * x + 2 * x + 2 * (x + 1)}


def _expect_executor(x: int) -> dict[str, Any]:
    return {"result": hashlib.sha256(f"block-{x}".encode()).hexdigest()}


def _expect_loop_thread(x: int) -> dict[str, Any]:
    return {"result": x + 1000, "thread": SECOND_LOOP_THREAD, "same_loop": False}


ENDPOINTS = (
    _Endpoint(
        "/legacy",
        "@gen.coroutine handler yielding legacy, to_tornado_future(coro), @as_tornado",
        lambda x: f"x={x}",
        _expect_legacy,
    ),
    _Endpoint(
        "/async-legacy",
        "async def awaiting to_asyncio_future(legacy, dict), @as_asyncio generator",
        lambda x: f"x={x}",
        _expect_async_legacy,
    ),
    _Endpoint(
        "/executor",
        "ThreadPoolExecutor future via to_asyncio_future",
        lambda x: f"data=block-{x}",
        _expect_executor,
    ),
    _Endpoint(
        "/loop-thread",
        "@gen.coroutine on a second loop via LoopThread.call",
        lambda x: f"x={x}",
        _expect_loop_thread,
    ),
)


async def _drive_endpoint(
    client: tornado.httpclient.AsyncHTTPClient, base: str, endpoint: _Endpoint
) -> Check:
    check = Check(endpoint.path, endpoint.bridged)

    async def one(x: int) -> None:
        start = time.perf_counter()
        response = await client.fetch(
            f"{base}{endpoint.path}?{endpoint.query(x)}", raise_error=False
        )
        check.latencies.append(time.perf_counter() - start)
        if response.code != 200:
            check.failures.append(f"x={x}: HTTP {response.code}")
            return
        answer: dict[str, Any] = json.loads(response.body)
        expected = endpoint.expected(x)
        if endpoint.path == "/executor":
            # The digest must come from a pool thread, not the loop's.
            if not str(answer.get("thread", "")).startswith(POOL_PREFIX):
                check.failures.append(f"x={x}: ran on thread {answer.get('thread')!r}")
            answer.pop("thread", None)
        if answer != expected:
            check.failures.append(f"x={x}: got {answer!r}, expected {expected!r}")
        else:
            check.results.append(str(answer["result"])[:10])

    await asyncio.gather(*(one(x) for x in range(1, REQUESTS_PER_ENDPOINT + 1)))
    return check


async def _drive_websocket(base: str) -> Check:
    check = Check("/ws", "websocket; async on_message awaiting legacy code")
    url = base.replace("http://", "ws://") + "/ws"
    connection = await tornado.websocket.websocket_connect(url)
    try:
        for word in ("hello", "bridge", "tornado"):
            sent = time.perf_counter()
            await connection.write_message(word)
            reply = await connection.read_message()
            check.latencies.append(time.perf_counter() - sent)
            if reply != word.upper() + "!":
                check.failures.append(f"{word!r}: got {reply!r}")
            else:
                check.results.append(str(reply))
    finally:
        connection.close()
        # Wait for the closing handshake, so no connection outlives the demo.
        while await connection.read_message() is not None:
            pass
    return check


async def _serve_and_drive(
    pool: concurrent.futures.ThreadPoolExecutor, second: LoopThread, dask: Any = None
) -> tuple[str, list[Check]]:
    endpoints = list(ENDPOINTS)
    extra: list[tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]] = []
    if dask is not None:
        from .demo_dask import ENDPOINTS as DASK_ENDPOINTS
        from .demo_dask import handlers

        endpoints += [_Endpoint(*spec) for spec in DASK_ENDPOINTS]
        extra = handlers(dask)
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(make_app(pool, second, extra))
    server.add_sockets(sockets)
    base = f"http://127.0.0.1:{sockets[0].getsockname()[1]}"
    client = tornado.httpclient.AsyncHTTPClient(force_instance=True)
    try:
        checks = await asyncio.wait_for(
            asyncio.gather(
                *(_drive_endpoint(client, base, endpoint) for endpoint in endpoints),
                _drive_websocket(base),
            ),
            TIMEOUT,
        )
    finally:
        client.close()
        server.stop()
        await server.close_all_connections()
        loop = asyncio.get_running_loop()
        await loop.shutdown_asyncgens()
        # Tornado's resolver runs getaddrinfo on the default executor.
        await loop.shutdown_default_executor()
    return base, list(checks)


# --- running it ---------------------------------------------------------------------------


class _Reported(logging.Handler):
    """Collects what asyncio and Tornado report at WARNING or above."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


def _loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop]:
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return asyncio.new_event_loop


def _qualname(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def run(loop_name: str = "asyncio", dask: bool = False) -> int:
    """Run the demo on *loop_name* (``"asyncio"`` or ``"uvloop"``); print the table.

    With *dask*, a local Dask cluster (2 worker processes on 127.0.0.1) is
    started and two more endpoints fan work out to it.

    Returns 0 if every endpoint answered as expected and the shutdown was
    clean, else 1 (2 if uvloop, or for *dask* distributed, is not installed).
    """
    try:
        factory = _loop_factory(loop_name)
    except ImportError:
        print(
            "futurebridge demo: uvloop is not installed: pip install 'futurebridge[uvloop]'",
            file=sys.stderr,
        )
        return 2
    cluster: contextlib.AbstractContextManager[Any] = contextlib.nullcontext()
    if dask:
        try:
            from .demo_dask import local_cluster
        except ImportError:
            print(
                "futurebridge demo: --dask needs distributed (pip install 'futurebridge[dask]')",
                file=sys.stderr,
            )
            return 2
        cluster = local_cluster()
    reported = _Reported()
    loggers = [logging.getLogger(name) for name in ("asyncio", "tornado", "futurebridge")]
    for logger in loggers:
        logger.addHandler(reported)
    unraisable: list[str] = []
    previous_hook = sys.unraisablehook

    def on_unraisable(info: Any) -> None:
        unraisable.append(f"{info.exc_type.__name__}: {info.exc_value} ({info.object!r})")
        previous_hook(info)

    sys.unraisablehook = on_unraisable
    try:
        with (
            cluster as dask_client,
            concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix=POOL_PREFIX) as pool,
            LoopThread(loop_factory=factory, name=SECOND_LOOP_THREAD) as second,
        ):
            asyncio_loop = factory()
            asyncio.set_event_loop(asyncio_loop)
            try:
                # The IOLoop of the loop just set; closing it closes that loop.
                ioloop = AsyncIOMainLoop()
            except BaseException:
                asyncio.set_event_loop(None)
                asyncio_loop.close()
                raise
            try:
                loop_names = (
                    f"IOLoop:  {_qualname(IOLoop.current())}\nasyncio: {_qualname(asyncio_loop)}"
                )
                _, checks = ioloop.run_sync(
                    functools.partial(_serve_and_drive, pool, second, dask_client)
                )
            finally:
                ioloop.close()
                asyncio.set_event_loop(None)
        gc.collect()
    finally:
        sys.unraisablehook = previous_hook
        for logger in loggers:
            logger.removeHandler(reported)
    leaked = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if dask:
        from .demo_dask import PROCESS_WIDE_THREADS

        leaked = [name for name in leaked if not name.startswith(PROCESS_WIDE_THREADS)]
    return _report(loop_names, checks, leaked, reported.messages + unraisable)


# The table fits a terminal of 80 columns: what was bridged wraps in the last column.
_WIDTH = 80
_BRIDGED_AT = 2 + 13 + 1 + 16 + 1 + 9 + 2


def _report(loop_names: str, checks: list[Check], leaked: list[str], reported: list[str]) -> int:
    # No address: the server on its ephemeral loopback port is gone once this prints.
    print(f"futurebridge demo: a Tornado {tornado.version} web app on 127.0.0.1, in this process")
    print(loop_names)
    print("every endpoint driven concurrently, each answer checked")
    print()
    print(f"  {'endpoint':<13} {'result':<16} {'latency':>9}  what was bridged")
    for check in checks:
        verdict = f"ok {check.results[0]}" if check.ok else "FAILED"
        latency = statistics.median(check.latencies) * 1e3 if check.latencies else float("nan")
        bridged = textwrap.wrap(check.bridged, _WIDTH - _BRIDGED_AT) or [""]
        print(f"  {check.endpoint:<13} {verdict[:16]:<16} {latency:6.1f} ms  {bridged[0]}")
        for more in bridged[1:]:
            print(" " * _BRIDGED_AT + more)
        for failure in check.failures:
            print(f"      {failure}")
    print()
    passed = sum(check.ok for check in checks)
    clean = not leaked and not reported
    print(f"{passed}/{len(checks)} endpoints passed their checks")
    if clean:
        print("shutdown: clean (server, client, pool and both loops closed; no thread left)")
    else:
        if leaked:
            print(f"shutdown: threads left running: {', '.join(leaked)}")
        for message in reported:
            print(f"shutdown: reported: {message}")
    return 0 if passed == len(checks) and clean else 1
