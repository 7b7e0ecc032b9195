"""Tornado's own server and client stack on futurebridge's loops, under a
bounded loopback load.

The server is Tornado's HTTPServer on a futurebridge :class:`AsyncIOLoop`
running on its own thread; its handlers bridge to an executor, a
``@gen.coroutine``, an ``@as_tornado`` coroutine, an ``@as_asyncio`` legacy
generator and a :class:`LoopThread`. The clients are Tornado's
AsyncHTTPClient on the main loop under futurebridge's
:class:`AsyncIOMainLoop`, many concurrent ones, each checking every response
body. Afterwards nothing is left: no error was logged, no task, thread, file
descriptor or bridge remains.

Tornado's simple HTTP client opens one connection per request. The default
run makes 20,000 requests (10,000 on asyncio loops, 10,000 on uvloop loops,
about 15 s on two cores); FUTUREBRIDGE_SOAK=1 makes 100,000.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable, Generator
from typing import Any

import pytest
import tornado.gen
import uvloop
from tornado.httpclient import AsyncHTTPClient
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler

from futurebridge import (
    AsyncIOLoop,
    AsyncIOMainLoop,
    LoopThread,
    _outcome,
    as_asyncio,
    as_tornado,
    to_asyncio_future,
)

from ._support import assert_no_leaks, baseline, capture_logs, soak

pytestmark = [pytest.mark.timeout(180), pytest.mark.slow]

REQUESTS = soak(20000, 100000)
CLIENTS = 50
KINDS = ("plain", "executor", "gen.coroutine", "as_tornado", "as_asyncio", "loop_thread")


def _triple(n: int) -> int:
    return 3 * n


@tornado.gen.coroutine
def _legacy_triple(n: int) -> Generator[Any, Any, int]:
    yield tornado.gen.moment
    return 3 * n


@as_tornado
async def _tornado_triple(n: int) -> int:
    await asyncio.sleep(0)
    return 3 * n


@as_asyncio
def _asyncio_triple(n: int) -> Generator[Any, Any, int]:
    result = yield _legacy_triple(n)
    return result  # type: ignore[no-any-return]


async def _remote_triple(n: int) -> int:
    await asyncio.sleep(0)
    return 3 * n


class Triple(RequestHandler):
    def initialize(self, executor: concurrent.futures.Executor, loop_thread: LoopThread) -> None:
        self.executor = executor
        self.loop_thread = loop_thread

    async def get(self, kind: str) -> None:
        n = int(self.get_argument("n"))
        if kind == "plain":
            value = 3 * n
        elif kind == "executor":
            value = await to_asyncio_future(self.executor.submit(_triple, n))
        elif kind == "gen.coroutine":
            value = await _legacy_triple(n)
        elif kind == "as_tornado":
            value = await _tornado_triple(n)
        elif kind == "as_asyncio":
            value = await _asyncio_triple(n)
        else:
            value = await self.loop_thread.call(_remote_triple, n)
        self.write(f"{kind}:{value}")


class ServerThread:
    """HTTPServer on a futurebridge AsyncIOLoop on its own thread."""

    def __init__(
        self,
        factory: Callable[[], asyncio.AbstractEventLoop],
        executor: concurrent.futures.Executor,
        loop_thread: LoopThread,
    ) -> None:
        self.sockets = bind_sockets(0, "127.0.0.1")
        self.port: int = self.sockets[0].getsockname()[1]
        self.app = Application(
            [(r"/triple/(.*)", Triple, {"executor": executor, "loop_thread": loop_thread})]
        )
        self.ioloop: AsyncIOLoop | None = None
        self.server: HTTPServer | None = None
        self.tasks_left: set[asyncio.Task[Any]] = set()
        ready = threading.Event()

        def main() -> None:
            ioloop = AsyncIOLoop(asyncio_loop=factory())
            self.ioloop = ioloop

            def setup() -> None:
                self.server = HTTPServer(self.app)
                self.server.add_sockets(self.sockets)
                ready.set()

            ioloop.add_callback(setup)
            ioloop.start()
            ioloop.close(all_fds=True)

        self.thread = threading.Thread(target=main, name="load-server")
        self.thread.start()
        assert ready.wait(10)

    def stop(self) -> None:
        async def shutdown() -> None:
            assert self.server is not None
            assert self.ioloop is not None
            self.server.stop()
            await self.server.close_all_connections()
            await asyncio.sleep(0.01)  # let the connections' last callbacks run
            self.tasks_left = asyncio.all_tasks() - {asyncio.current_task()}
            self.ioloop.stop()

        assert self.ioloop is not None
        self.ioloop.add_callback(shutdown)
        self.thread.join(30)
        assert not self.thread.is_alive()


@pytest.mark.parametrize("loop_name", ["asyncio", "uvloop"])
def test_tornado_server_and_client_under_load(loop_name: str) -> None:
    factory = asyncio.new_event_loop if loop_name == "asyncio" else uvloop.new_event_loop
    requests = REQUESTS // 2  # per loop kind
    before = baseline()
    served: list[int] = []
    problems: list[str] = []
    with (
        capture_logs("tornado.application", "tornado.general", "futurebridge", "asyncio") as logs,
        concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="load-pool") as executor,
        LoopThread(loop_factory=factory, name="load-loop-thread") as loop_thread,
    ):
        server = ServerThread(factory, executor, loop_thread)
        started = time.monotonic()
        try:

            async def main() -> None:
                AsyncIOMainLoop()  # Tornado's client runs on futurebridge's IOLoop
                client = AsyncHTTPClient(force_instance=True, max_clients=CLIENTS)
                numbers = iter(range(requests))

                @as_asyncio
                def legacy_fetch(url: str) -> Generator[Any, Any, bytes]:
                    response = yield client.fetch(url)
                    return response.body  # type: ignore[no-any-return]

                async def one_client() -> None:
                    for n in numbers:
                        kind = KINDS[n % len(KINDS)]
                        url = f"http://127.0.0.1:{server.port}/triple/{kind}?n={n}"
                        if n % 3 == 0:
                            body = (await client.fetch(url)).body
                        elif n % 3 == 1:
                            body = (await to_asyncio_future(client.fetch(url))).body
                        else:
                            body = await legacy_fetch(url)
                        if body != f"{kind}:{3 * n}".encode():
                            problems.append(f"request {n}: body {body!r}")
                        served.append(n)

                try:
                    await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
                finally:
                    client.close()
                left = asyncio.all_tasks() - {asyncio.current_task()}
                if left:
                    problems.append(f"tasks left on the client loop: {left}")

            with asyncio.Runner(loop_factory=factory) as runner:
                runner.run(main())
        finally:
            server.stop()
        elapsed = time.monotonic() - started
    errors = [r for r in logs.records if r.levelno >= logging.WARNING]
    print(
        f"load: {len(served)} requests served on {loop_name} by {CLIENTS} concurrent "
        f"clients in {elapsed:.1f} s"
    )
    assert not problems, problems[:20]
    assert not server.tasks_left
    assert not errors, [r.getMessage() for r in errors[:20]]
    assert sorted(served) == list(range(requests))
    assert not _outcome.live_bridges()
    # No task started by a callback is kept (the last one stopped its loop).
    assert not IOLoop._pending_tasks  # pyright: ignore[reportPrivateUsage]
    assert_no_leaks(before, settle=10)
