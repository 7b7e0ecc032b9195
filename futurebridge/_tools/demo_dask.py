"""The Dask part of ``python -m futurebridge demo --dask``: handlers fanning out to a cluster.

This module owns the demo's Dask endpoints and the local cluster they use:
2 worker processes on 127.0.0.1, no dashboard, started and closed by
:func:`local_cluster`. The handlers are what the cookbook page shows; the
scheduler address is the only thing a multi-machine cluster would change.
``demo.py`` serves and drives them with the other endpoints, and checks every
answer against a value computed here, in the demo's process.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Generator, Iterable
from typing import Any, Protocol, TypeVar, cast

import tornado.gen
import tornado.web
from distributed import Client, Future, LocalCluster

from futurebridge import to_asyncio_future, to_tornado_future

_T = TypeVar("_T")

__all__ = (
    "ENDPOINTS",
    "PROCESS_WIDE_THREADS",
    "DaskClient",
    "collatz_steps",
    "handlers",
    "local_cluster",
)


def collatz_steps(n: int) -> int:
    """The work sent to the cluster: steps for *n* to reach 1 in the Collatz sequence."""
    steps = 0
    while n != 1:
        n = n // 2 if n % 2 == 0 else 3 * n + 1
        steps += 1
    return steps


def _send_json(handler: tornado.web.RequestHandler, data: dict[str, Any]) -> None:
    handler.set_header("Content-Type", "application/json")
    write: Callable[[str], None] = getattr(handler, "write")
    write(json.dumps(data))


class DaskClient(Protocol):
    """What the handlers use of :class:`distributed.Client`, typed in full.

    distributed annotates ``submit`` and ``map`` (a ``Future[T]`` for a
    function returning ``T``) but leaves some of their parameters bare, which
    pyright's strict mode reports as partially unknown at every call.
    """

    def submit(self, func: Callable[..., _T], /, *args: Any) -> Future[_T]:
        """Run ``func(*args)`` on the cluster."""
        ...

    def map(self, func: Callable[..., _T], iterable: Iterable[Any], /) -> list[Future[_T]]:
        """Run *func* on each element of *iterable* on the cluster."""
        ...


class DaskLegacyHandler(tornado.web.RequestHandler):
    """``GET /dask-legacy?n=``: a ``@gen.coroutine`` handler yielding a list of Dask futures."""

    def initialize(self, client: Client) -> None:
        self.client = cast("DaskClient", client)

    @tornado.gen.coroutine
    def get(self) -> Generator[Any, Any, None]:
        n = int(self.get_query_argument("n"))
        futures = self.client.map(collatz_steps, range(1, n + 1))
        steps: list[int] = yield to_tornado_future(futures)
        _send_json(self, {"result": sum(steps)})


class DaskAsyncHandler(tornado.web.RequestHandler):
    """``GET /dask-async?n=``: an ``async def`` handler; the reduction runs on the cluster too."""

    def initialize(self, client: Client) -> None:
        self.client = cast("DaskClient", client)

    async def get(self) -> None:
        n = int(self.get_query_argument("n"))
        steps = self.client.map(collatz_steps, range(1, n + 1))
        summary: dict[str, int] = await to_asyncio_future(
            {"total": self.client.submit(sum, steps), "longest": self.client.submit(max, steps)}
        )
        try:
            await to_asyncio_future(self.client.submit(int, f"not a number {n}"))
            error = "none"
        except ValueError as raised:  # raised on a worker, with its traceback
            error = type(raised).__name__
        _send_json(self, {"result": {**summary, "error": error}})


def handlers(client: Client) -> list[tuple[str, type[tornado.web.RequestHandler], dict[str, Any]]]:
    """The Dask routes, for ``tornado.web.Application``."""
    return [
        (r"/dask-legacy", DaskLegacyHandler, {"client": client}),
        (r"/dask-async", DaskAsyncHandler, {"client": client}),
    ]


def _expect_legacy(n: int) -> dict[str, Any]:
    return {"result": sum(collatz_steps(i) for i in range(1, 20 * n + 1))}


def _expect_async(n: int) -> dict[str, Any]:
    steps = [collatz_steps(i) for i in range(1, 20 * n + 1)]
    return {"result": {"total": sum(steps), "longest": max(steps), "error": "ValueError"}}


#: ``(path, what is bridged, query for request x, expected answer for x)``.
ENDPOINTS: tuple[tuple[str, str, Callable[[int], str], Callable[[int], dict[str, Any]]], ...] = (
    (
        "/dask-legacy",
        "@gen.coroutine yielding to_tornado_future(client.map(...)): Dask cluster",
        lambda x: f"n={20 * x}",
        _expect_legacy,
    ),
    (
        "/dask-async",
        "async def awaiting a dict of Dask futures; a remote ValueError",
        lambda x: f"n={20 * x}",
        _expect_async,
    ),
)


@contextlib.contextmanager
def local_cluster() -> Generator[Client, None, None]:
    """A 2-process cluster on 127.0.0.1 without dashboard, and a client of it; both closed after.

    Against a real cluster, only this changes: ``Client("tcp://scheduler:8786")``.
    """
    # distributed leaves these constructors unannotated (and types the
    # dashboard address as str, though None is what turns the dashboard off).
    make_cluster = cast("Callable[..., LocalCluster]", LocalCluster)
    make_client = cast("Callable[..., Client]", Client)
    cluster = make_cluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        # With no dashboard, the scheduler still serves its health routes over
        # HTTP, by default on port 8787 of every interface: an ephemeral loopback
        # port instead, so nothing clashes with another cluster on the machine.
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        # The workers' logs of the ValueError raised on purpose would be noise.
        silence_logs=logging.CRITICAL,
    )
    client = make_client(cluster)
    with contextlib.closing(cluster), contextlib.closing(client):
        yield client


#: Threads that distributed keeps for the whole process once used (its
#: offload executor): not the demo's to close.
PROCESS_WIDE_THREADS = ("Dask-Offload",)
