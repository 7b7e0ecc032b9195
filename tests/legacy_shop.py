"""A small legacy Tornado module, written the @gen.coroutine way.

tests/test_legacy_port.py loads it twice: as written, and with every
``@gen.coroutine`` line replaced by ``@as_asyncio`` and nothing else changed,
then checks that both behave the same (cancellation aside).
"""

from __future__ import annotations

from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tornado import gen
from tornado.concurrent import Future
from tornado.ioloop import IOLoop

from futurebridge import as_asyncio  # noqa: F401  # the ported copy uses it

PRICES = {"apple": 3, "pear": 5, "plum": 7}


class OutOfStock(Exception):
    pass


class Shop:
    def __init__(self, executor: ThreadPoolExecutor) -> None:
        self.executor = executor
        self.stock = {"apple": 10, "pear": 0, "plum": 4}
        self.events: list[str] = []
        self.gate: Future[str] = Future()

    @gen.coroutine
    def price(self, item: str) -> Generator[Any, Any, int]:
        yield gen.moment
        if item not in PRICES:
            raise KeyError(item)
        raise gen.Return(PRICES[item])

    @gen.coroutine
    def reserve(self, item: str, count: int) -> Generator[Any, Any, int]:
        yield gen.sleep(0)
        if self.stock[item] < count:
            raise OutOfStock(item)
        self.stock[item] -= count
        return count

    @gen.coroutine
    def quote(self, items: dict[str, int]) -> Generator[Any, Any, int]:
        prices = yield {item: self.price(item) for item in items}
        return sum(prices[item] * count for item, count in items.items())

    @gen.coroutine
    def order(self, items: dict[str, int]) -> Generator[Any, Any, str]:
        try:
            counts = yield gen.multi([self.reserve(item, n) for item, n in items.items()])
        except OutOfStock as exc:
            self.events.append(f"out of stock: {exc}")
            raise
        total = yield self.quote(items)
        # Blocking work goes to a thread, the legacy way: yield the concurrent future.
        receipt = yield self.executor.submit(self._receipt, sum(counts), total)
        self.events.append(receipt)
        return receipt

    @gen.coroutine
    def order_all(self, orders: list[dict[str, int]]) -> Generator[Any, Any, list[str]]:
        receipts = []
        for items in orders:
            try:
                receipt = yield self.order(items)
            except OutOfStock:
                receipt = "refused"
            receipts.append(receipt)
        waited = yield IOLoop.current().run_in_executor(self.executor, len, receipts)
        raise gen.Return([*receipts, f"{waited} orders"])

    @gen.coroutine
    def deliver(self) -> Generator[Any, Any, str]:
        self.events.append("delivery started")
        try:
            address = yield self.gate
            self.events.append(f"delivered to {address}")
            return address
        finally:
            self.events.append("delivery cleanup")

    def _receipt(self, count: int, total: int) -> str:
        return f"{count} items, {total} coins"
