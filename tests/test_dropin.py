"""futurebridge's IOLoop as a drop-in: Tornado's real servers, clients, streams,
websockets, locks, queues and test framework, over 127.0.0.1, on
``AsyncIOLoop()`` (the default asyncio loop) and on
``AsyncIOLoop(asyncio_loop=uvloop.new_event_loop())``."""

from __future__ import annotations

import asyncio
import io
import socket
import unittest
from collections.abc import Callable, Generator, Iterator
from typing import Any, ClassVar

import pytest
import tornado.locks
import tornado.queues
import tornado.simple_httpclient
import tornado.web
import tornado.websocket
import uvloop
from tornado import gen
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.iostream import IOStream, StreamClosedError
from tornado.tcpclient import TCPClient
from tornado.tcpserver import TCPServer
from tornado.testing import AsyncHTTPTestCase, AsyncTestCase, bind_unused_port, gen_test

from futurebridge import AsyncIOLoop

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


@pytest.fixture
def io_loop(loop_factory: LoopFactory) -> Iterator[AsyncIOLoop]:
    """An AsyncIOLoop on each kind of asyncio loop, closed after the test."""
    loop = AsyncIOLoop(asyncio_loop=loop_factory(), make_current=False)
    yield loop
    loop.close(all_fds=True)


def _listen(server: TCPServer) -> int:
    sock, port = bind_unused_port()  # 127.0.0.1
    server.add_sockets([sock])
    return port


# --- web.Application + HTTPServer + simple_httpclient ------------------------------


class _Hello(tornado.web.RequestHandler):
    def get(self) -> None:
        loop = IOLoop.current()
        self.write({"hello": self.get_argument("name", "world"), "loop": type(loop).__name__})


class _Echo(tornado.web.RequestHandler):
    def post(self) -> None:
        self.set_header("Content-Type", "application/octet-stream")
        self.write(self.request.body)


class _Slow(tornado.web.RequestHandler):
    async def get(self) -> None:
        await gen.sleep(0.01)
        computed = await IOLoop.current().run_in_executor(None, sum, range(10))
        self.write(str(computed))


class _Legacy(tornado.web.RequestHandler):
    @gen.coroutine
    def get(self) -> Generator[Any, Any, None]:
        yield gen.moment
        self.write("legacy")


class _Stream(tornado.web.RequestHandler):
    async def get(self) -> None:
        for i in range(3):
            self.write(f"chunk{i};")
            await self.flush()


def _application() -> tornado.web.Application:
    return tornado.web.Application(
        [
            (r"/hello", _Hello),
            (r"/echo", _Echo),
            (r"/slow", _Slow),
            (r"/legacy", _Legacy),
            (r"/stream", _Stream),
            (r"/ws", _EchoSocket),
        ]
    )


def test_http_server_and_simple_httpclient(io_loop: AsyncIOLoop) -> None:
    async def main() -> None:
        server = HTTPServer(_application())
        port = _listen(server)
        client = AsyncHTTPClient(force_instance=True)
        assert isinstance(client, tornado.simple_httpclient.SimpleAsyncHTTPClient)
        base = f"http://127.0.0.1:{port}"
        try:
            response = await client.fetch(f"{base}/hello?name=bridge")
            assert response.code == 200
            assert tornado.escape.json_decode(response.body) == {
                "hello": "bridge",
                "loop": "AsyncIOLoop",
            }
            payload = bytes(range(256)) * 1000
            response = await client.fetch(
                f"{base}/echo",
                method="POST",
                body=payload,
                headers={"Content-Type": "application/octet-stream"},
            )
            assert response.body == payload
            slow, legacy = await asyncio.gather(
                client.fetch(f"{base}/slow"), client.fetch(f"{base}/legacy")
            )
            assert (slow.body, legacy.body) == (b"45", b"legacy")
            chunks: list[bytes] = []
            response = await client.fetch(
                HTTPRequest(f"{base}/stream", streaming_callback=chunks.append)
            )
            assert b"".join(chunks) == b"chunk0;chunk1;chunk2;"
            with pytest.raises(HTTPClientError) as missing:
                await client.fetch(f"{base}/missing")
            assert missing.value.code == 404
            # Many requests at once, on one loop.
            responses = await asyncio.gather(
                *(client.fetch(f"{base}/hello?name={i}") for i in range(20))
            )
            assert [tornado.escape.json_decode(r.body)["hello"] for r in responses] == [
                str(i) for i in range(20)
            ]
        finally:
            client.close()
            server.stop()
            await server.close_all_connections()

    io_loop.run_sync(main, timeout=30)


# --- IOStream, TCPServer, TCPClient -------------------------------------------------------


class _EchoServer(TCPServer):
    async def handle_stream(self, stream: IOStream, address: tuple[Any, ...]) -> None:
        try:
            while True:
                line = await stream.read_until(b"\n")
                if line == b"bye\n":
                    stream.close()
                    return
                await stream.write(line.upper())
        except StreamClosedError:
            pass


def test_tcp_server_and_client(io_loop: AsyncIOLoop) -> None:
    async def main() -> None:
        server = _EchoServer()
        port = _listen(server)
        try:
            stream = await TCPClient().connect("127.0.0.1", port)
            for word in (b"alpha", b"beta", b"x" * 100_000):
                await stream.write(word + b"\n")
                assert await stream.read_until(b"\n", max_bytes=200_000) == word.upper() + b"\n"
            await stream.write(b"bye\n")
            assert await stream.read_until_close() == b""
            assert stream.closed()
        finally:
            server.stop()

    io_loop.run_sync(main, timeout=30)


def test_raw_iostream_both_ends(io_loop: AsyncIOLoop) -> None:
    async def main() -> None:
        listener, port = bind_unused_port()
        accepted: asyncio.Future[IOStream] = asyncio.get_running_loop().create_future()

        def on_accept(fd: socket.socket, events: int) -> None:
            connection, _ = fd.accept()
            IOLoop.current().remove_handler(fd)
            accepted.set_result(IOStream(connection))

        IOLoop.current().add_handler(listener, on_accept, IOLoop.READ)
        client = IOStream(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
        await client.connect(("127.0.0.1", port))
        server_side = await accepted
        listener.close()
        await client.write(b"GET / HTTP/1.0\r\n\r\n")
        assert await server_side.read_until(b"\r\n\r\n") == b"GET / HTTP/1.0\r\n\r\n"
        server_side.write(b"partial")
        assert await client.read_bytes(7) == b"partial"
        server_side.write(b"tail")
        assert await client.read_bytes(10, partial=True) == b"tail"
        server_side.close()
        with pytest.raises(StreamClosedError):
            await client.read_bytes(1)
        assert client.closed()

    io_loop.run_sync(main, timeout=30)


# --- websockets --------------------------------------------------------------------------


class _EchoSocket(tornado.websocket.WebSocketHandler):
    closed_with: ClassVar[list[int | None]] = []

    def on_message(self, message: str | bytes) -> None:
        if message == "close please":
            self.close(4000, "asked to")
            return
        self.write_message(message, binary=isinstance(message, bytes))

    def on_close(self) -> None:
        _EchoSocket.closed_with.append(self.close_code)


def test_websockets(io_loop: AsyncIOLoop) -> None:
    async def main() -> None:
        _EchoSocket.closed_with = []
        server = HTTPServer(_application())
        port = _listen(server)
        try:
            connection = await tornado.websocket.websocket_connect(f"ws://127.0.0.1:{port}/ws")
            await connection.write_message("text")
            assert await connection.read_message() == "text"
            await connection.write_message(b"\x00binary", binary=True)
            assert await connection.read_message() == b"\x00binary"
            await connection.write_message("close please")
            assert await connection.read_message() is None  # closed by the server
            assert connection.close_code == 4000
            assert connection.close_reason == "asked to"
            connection.close()  # the client's side of it: Tornado warns otherwise
            second = await tornado.websocket.websocket_connect(f"ws://127.0.0.1:{port}/ws")
            second.close(1000)
            for _ in range(100):
                if len(_EchoSocket.closed_with) == 2:
                    break
                await asyncio.sleep(0.01)
            assert sorted(c or 0 for c in _EchoSocket.closed_with) == [1000, 4000]
        finally:
            server.stop()
            await server.close_all_connections()

    io_loop.run_sync(main, timeout=30)


# --- tornado.locks, tornado.queues -------------------------------------------------------


def test_locks(io_loop: AsyncIOLoop) -> None:
    async def main() -> None:
        log: list[str] = []
        lock = tornado.locks.Lock()
        event = tornado.locks.Event()
        condition = tornado.locks.Condition()
        semaphore = tornado.locks.BoundedSemaphore(2)

        async def worker(name: str) -> None:
            await event.wait()
            async with semaphore, lock:
                log.append(f"{name} in")
                await gen.sleep(0.001)
                log.append(f"{name} out")

        workers = [asyncio.ensure_future(worker(n)) for n in "abc"]
        await gen.sleep(0.01)
        assert log == []  # all waiting for the event
        event.set()
        await asyncio.gather(*workers)
        # The lock let one worker in at a time: every "in" is followed by its "out".
        names = [entry.split()[0] for entry in log]
        assert names[0::2] == names[1::2]
        assert sorted(names[0::2]) == ["a", "b", "c"]
        assert [entry.split()[1] for entry in log] == ["in", "out"] * 3

        # A timed-out Condition.wait resolves to False (it does not raise).
        assert await condition.wait(timeout=IOLoop.current().time() + 0.01) is False
        waiter = condition.wait()
        IOLoop.current().add_callback(condition.notify_all)
        assert await waiter is True
        with pytest.raises(ValueError, match="released too many times"):
            semaphore.release()

    io_loop.run_sync(main, timeout=30)


def test_queues(io_loop: AsyncIOLoop) -> None:
    async def main() -> None:
        queue: tornado.queues.Queue[int] = tornado.queues.Queue(maxsize=2)
        results: list[int] = []

        @gen.coroutine
        def legacy_consumer() -> Generator[Any, Any, None]:
            while True:
                item = yield queue.get()
                try:
                    if item < 0:
                        return
                    results.append(item * 10)
                finally:
                    queue.task_done()

        consumer = legacy_consumer()
        for i in range(5):
            await queue.put(i)  # blocks while full: the consumer must run
        await queue.put(-1)
        await queue.join()
        await consumer
        assert results == [0, 10, 20, 30, 40]

        with pytest.raises(gen.TimeoutError):
            await queue.get(timeout=IOLoop.current().time() + 0.01)
        priority = tornado.queues.PriorityQueue()
        lifo = tornado.queues.LifoQueue()
        for item in (3, 1, 2):
            priority.put_nowait(item)
            lifo.put_nowait(item)
        assert [priority.get_nowait() for _ in range(3)] == [1, 2, 3]
        assert [lifo.get_nowait() for _ in range(3)] == [2, 1, 3]

    io_loop.run_sync(main, timeout=30)


# --- tornado.testing.AsyncTestCase / gen_test ------------------------------------------------


class _UVLoopIOLoop(AsyncIOLoop):
    """AsyncIOLoop on a new uvloop loop each time: what IOLoop() creates below."""

    def initialize(
        self, make_current: bool = True, *, asyncio_loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        super().initialize(
            make_current, asyncio_loop=asyncio_loop if asyncio_loop else uvloop.new_event_loop()
        )


@pytest.fixture(params=["asyncio", "uvloop"])
def configured_loop(request: pytest.FixtureRequest) -> Iterator[type[AsyncIOLoop]]:
    """IOLoop() creates futurebridge's AsyncIOLoop (on asyncio or on uvloop)."""
    cls = AsyncIOLoop if request.param == "asyncio" else _UVLoopIOLoop
    IOLoop.configure(cls)
    try:
        yield cls
    finally:
        IOLoop.configure(None)


def _run_cases(*cases: type[unittest.TestCase]) -> unittest.TestResult:
    suite = unittest.TestSuite(
        unittest.defaultTestLoader.loadTestsFromTestCase(case) for case in cases
    )
    result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
    details = [text for _, text in (*result.errors, *result.failures)]
    assert result.wasSuccessful(), "\n".join(details)
    return result


def test_async_test_case_and_gen_test(configured_loop: type[AsyncIOLoop]) -> None:
    seen: list[type[IOLoop]] = []

    class Case(AsyncTestCase):
        def test_loop_is_ours(self) -> None:
            seen.append(type(self.io_loop))
            self.io_loop.add_callback(self.stop, "stopped")
            assert self.wait() == "stopped"

        @gen_test
        async def test_native(self) -> None:
            seen.append(type(IOLoop.current()))
            await gen.sleep(0.001)
            queue: tornado.queues.Queue[str] = tornado.queues.Queue()
            IOLoop.current().call_later(0.001, queue.put_nowait, "later")
            assert await queue.get() == "later"

        @gen_test(timeout=5)
        def test_legacy(self) -> Generator[Any, Any, None]:
            result = yield IOLoop.current().run_in_executor(None, lambda: "executor")
            assert result == "executor"

    result = _run_cases(Case)
    assert result.testsRun == 3
    assert seen == [configured_loop] * 2


def test_async_http_test_case(configured_loop: type[AsyncIOLoop]) -> None:
    class Case(AsyncHTTPTestCase):
        def get_app(self) -> tornado.web.Application:
            return _application()

        def test_fetch(self) -> None:
            assert type(self.io_loop) is configured_loop
            response = self.fetch("/hello")
            assert response.code == 200
            assert tornado.escape.json_decode(response.body)["loop"] == configured_loop.__name__

        @gen_test
        async def test_websocket(self) -> None:
            url = self.get_url("/ws").replace("http", "ws", 1)
            connection = await tornado.websocket.websocket_connect(url)
            await connection.write_message("hi")
            assert await connection.read_message() == "hi"
            connection.close()

    result = _run_cases(Case)
    assert result.testsRun == 2


def test_failures_and_timeouts_are_reported(configured_loop: type[AsyncIOLoop]) -> None:
    cancelled: list[bool] = []

    class Case(AsyncTestCase):
        @gen_test
        async def test_fails(self) -> None:
            await asyncio.sleep(0)
            raise AssertionError("expected failure")

        @gen_test(timeout=0.05)
        async def test_times_out(self) -> None:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.append(True)
                raise

    suite = unittest.defaultTestLoader.loadTestsFromTestCase(Case)
    result = unittest.TextTestRunner(stream=io.StringIO(), verbosity=0).run(suite)
    reports = {
        test.id().rsplit(".", 1)[1]: text for test, text in (*result.errors, *result.failures)
    }
    assert sorted(reports) == ["test_fails", "test_times_out"]
    assert "AssertionError: expected failure" in reports["test_fails"]
    assert "TimeoutError: Operation timed out after 0.05 seconds" in reports["test_times_out"]
    assert cancelled == [True]
