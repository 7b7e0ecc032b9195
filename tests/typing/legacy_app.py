"""A small legacy Tornado service, written the way Tornado 4 code was.

It is the "correct legacy code" fixture for the tornado-stubs typing tests:
it must type-check with no new errors under mypy --strict and pyright strict
with the stubs installed, and it really runs (``run_demo`` is exercised by
``tests/typing/test_tornado_stubs.py``). Every Tornado name the stubs sharpen
appears here in its everyday use: ``@gen.coroutine`` handlers and helpers,
``gen.multi`` over a list and a dict, ``yield`` of lists and dicts,
``@run_on_executor`` with the default and a named executor,
``gen.with_timeout``, ``gen.sleep``, ``gen.moment``, ``IOLoop.add_future``,
``IOLoop.run_in_executor`` and ``IOLoop.run_sync``.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import threading
from collections.abc import Generator
from typing import Any

from tornado import gen
from tornado.concurrent import Future, run_on_executor
from tornado.httpclient import AsyncHTTPClient, HTTPResponse
from tornado.httpserver import HTTPServer
from tornado.ioloop import IOLoop
from tornado.testing import bind_unused_port
from tornado.web import Application, RequestHandler

# with_timeout takes a deadline on the IOLoop clock, or a timedelta from now.
_FIVE_SECONDS = datetime.timedelta(seconds=5)


class CounterStore:
    """Counters kept behind a lock and touched only from worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self.executor = concurrent.futures.ThreadPoolExecutor(max_workers=2)
        self.audit_pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        self.audit_log: list[str] = []

    @run_on_executor
    def load(self, key: str) -> int:
        with self._lock:
            return self._counts.get(key, 0)

    @run_on_executor
    def add(self, key: str, amount: int = 1) -> int:
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + amount
            return self._counts[key]

    @run_on_executor(executor="audit_pool")
    def audit(self, line: str) -> None:
        self.audit_log.append(line)

    @gen.coroutine
    def total(self, keys: list[str]) -> Generator[Any, Any, int]:
        counts: list[int] = yield gen.multi([self.load(key) for key in keys])
        return sum(counts)

    @gen.coroutine
    def snapshot(self, keys: list[str]) -> Generator[Any, Any, dict[str, int]]:
        # A dict of futures is yielded as is, the Tornado 4 idiom.
        counts: dict[str, int] = yield {key: self.load(key) for key in keys}
        return counts

    def close(self) -> None:
        self.executor.shutdown(wait=True)
        self.audit_pool.shutdown(wait=True)


def _send_json(handler: RequestHandler, payload: dict[str, Any]) -> None:
    # web.py is not stubbed: Tornado's own annotation of write() has a bare
    # ``dict``, which pyright strict reports with or without the stubs.
    handler.write(payload)  # pyright: ignore[reportUnknownMemberType]


class CounterHandler(RequestHandler):
    store: CounterStore

    def initialize(self, store: CounterStore) -> None:
        self.store = store

    @gen.coroutine
    def get(self, key: str) -> Generator[Any, Any, None]:
        count = yield self.store.load(key)
        _send_json(self, {"key": key, "count": count})

    @gen.coroutine
    def post(self, key: str) -> Generator[Any, Any, None]:
        amount = int(self.get_argument("amount", "1"))
        count: int = yield gen.with_timeout(_FIVE_SECONDS, self.store.add(key, amount))
        yield self.store.audit(f"{key} += {amount}")
        yield gen.moment
        _send_json(self, {"key": key, "count": count})


class TotalHandler(RequestHandler):
    store: CounterStore

    def initialize(self, store: CounterStore) -> None:
        self.store = store

    @gen.coroutine
    def get(self) -> Generator[Any, Any, None]:
        keys = self.get_arguments("key")
        total, snapshot = yield [self.store.total(keys), self.store.snapshot(keys)]
        _send_json(self, {"total": total, "counts": snapshot})


def make_app(store: CounterStore) -> Application:
    return Application(
        [
            (r"/counter/(\w+)", CounterHandler, {"store": store}),
            (r"/total", TotalHandler, {"store": store}),
        ]
    )


def _checksum(body: bytes, salt: int) -> int:
    return sum(body) + salt


@gen.coroutine
def exercise(port: int, keys: list[str]) -> Generator[Any, Any, dict[str, Any]]:
    """Drive the service over HTTP the way a legacy client script would."""
    client = AsyncHTTPClient()
    base = f"http://127.0.0.1:{port}"
    try:
        # Fan out the increments and wait for all of them.
        posted: list[HTTPResponse] = yield gen.multi(
            [
                client.fetch(f"{base}/counter/{key}?amount=2", method="POST", body=b"")
                for key in keys
            ]
        )
        bodies: dict[str, HTTPResponse] = yield gen.multi(
            {key: client.fetch(f"{base}/counter/{key}") for key in keys}
        )
        total_response: HTTPResponse = yield client.fetch(
            base + "/total?" + "&".join(f"key={key}" for key in keys)
        )
        yield gen.sleep(0.01)
        checksum: int = yield IOLoop.current().run_in_executor(
            None, _checksum, total_response.body, len(posted)
        )
        done: Future[str] = Future()
        IOLoop.current().add_future(
            gen.convert_yielded(gen.sleep(0)), lambda _: done.set_result("callback ran")
        )
        note: str = yield done
    finally:
        client.close()
    return {
        "total": total_response.body,
        "counts": {key: response.body for key, response in bodies.items()},
        "checksum": checksum,
        "note": note,
    }


def run_demo(keys: list[str]) -> dict[str, Any]:
    """Start the app on a loopback port, exercise it, and shut it all down."""
    store = CounterStore()
    io_loop: IOLoop = IOLoop(make_current=False)
    sock, port = bind_unused_port()
    server = HTTPServer(make_app(store))

    @gen.coroutine
    def serve_and_exercise() -> Generator[Any, Any, dict[str, Any]]:
        server.add_sockets([sock])
        try:
            result: dict[str, Any] = yield exercise(port, keys)
        finally:
            server.stop()
            yield server.close_all_connections()
        return result

    try:
        # Tornado's IOLoop.run_sync gives Any, so the result is annotated.
        result: dict[str, Any] = io_loop.run_sync(serve_and_exercise, timeout=10)
    finally:
        io_loop.close(all_fds=True)
        store.close()
    result["audit"] = sorted(store.audit_log)
    return result


if __name__ == "__main__":
    print(run_demo(["apples", "pears"]))
