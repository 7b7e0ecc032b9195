"""Testing with tornado.testing, on futurebridge's loops.

``IOLoop.configure("futurebridge.AsyncIOLoop")`` makes the loop that each
``AsyncTestCase`` creates one of futurebridge's. pytest and unittest both run
this module.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

from tornado.ioloop import IOLoop
from tornado.testing import AsyncHTTPTestCase, AsyncTestCase, gen_test
from tornado.web import Application, RequestHandler

import futurebridge
from futurebridge import to_tornado_future


def setUpModule() -> None:
    IOLoop.configure("futurebridge.AsyncIOLoop")


def tearDownModule() -> None:
    IOLoop.configure(None)


class LoopName(RequestHandler):
    async def get(self) -> None:
        await asyncio.sleep(0)
        self.write(type(IOLoop.current()).__name__)


class ServedByFuturebridge(AsyncHTTPTestCase):
    def get_app(self) -> Application:
        return Application([("/", LoopName)])

    def test_blocking_fetch(self) -> None:
        assert isinstance(self.io_loop, futurebridge.AsyncIOLoop)
        assert self.fetch("/").body == b"AsyncIOLoop"

    @gen_test
    async def test_async_fetch(self) -> None:
        response = await self.http_client.fetch(self.get_url("/"))
        assert response.body == b"AsyncIOLoop"


class LegacyStyle(AsyncTestCase):
    @gen_test
    def test_generator_yields_asyncio_code(self) -> Generator[Any, Any, None]:
        result = yield to_tornado_future([asyncio.sleep(0, "a"), asyncio.sleep(0, "b")])
        assert result == ["a", "b"]
