"""The Dask row of ``python -m futurebridge bench``: one finished Dask future's result, three ways.

This module owns that row's set-up: a local cluster with one in-process
worker (TCP on 127.0.0.1, no dashboard), a synchronous client, whose loop
runs on a thread of its own, and a finished future. ``bench.py`` imports it
only when the row runs, and reports the row as skipped without distributed.

The operation is "get the result of a finished Dask future": every variant
pays one request to the scheduler, so the ratios say what futurebridge adds
to Dask's own fetch, not how fast the cluster is.
"""

from __future__ import annotations

import contextlib
import logging
import operator
import time
from collections.abc import Awaitable, Callable
from typing import Any, cast

from distributed import Client, Future, LocalCluster

from futurebridge import to_asyncio_future

from .bench import Variant, _asyncio_loop, _check, _on  # pyright: ignore[reportPrivateUsage]

__all__ = ("variants",)

_perf = time.perf_counter


def variants(stack: contextlib.ExitStack) -> list[Variant]:
    """The row's variants: futurebridge from another loop, then Dask's own two ways."""
    make_cluster = cast("Callable[..., LocalCluster]", LocalCluster)
    make_client = cast("Callable[..., Client]", Client)
    cluster = make_cluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.CRITICAL,
    )
    close_cluster: Callable[[], object] = getattr(cluster, "close")
    stack.callback(close_cluster)
    client = make_client(cluster)
    close_client: Callable[[], object] = getattr(client, "close")
    stack.callback(close_client)
    gather: Callable[..., Any] = getattr(client, "gather")
    submit: Callable[..., Future[int]] = getattr(client, "submit")
    future = submit(operator.add, 1, 2)
    _check("client.gather(f)", gather(future), 3)

    loop = stack.enter_context(_asyncio_loop())

    async def ours(n: int) -> float:
        start = _perf()
        for _ in range(n):
            await to_asyncio_future(future)
        return _perf() - start

    _check(
        "await to_asyncio_future(f)",
        loop.run_until_complete(to_asyncio_future(future, loop=loop)),
        3,
    )

    def blocking(n: int) -> float:
        start = _perf()
        for _ in range(n):
            gather(future)
        return _perf() - start

    async def on_clients_loop(n: int) -> float:
        # On the client's own loop: asynchronous=True makes gather a coroutine.
        start = _perf()
        for _ in range(n):
            await cast("Awaitable[int]", gather(future, asynchronous=True))
        return _perf() - start

    # client.sync runs a coroutine function on the client's loop and blocks for it.
    sync: Callable[..., Any] = getattr(client, "sync")

    def native(n: int) -> float:
        elapsed: float = sync(on_clients_loop, n)
        return elapsed

    async def check_native() -> int:
        return await cast("Awaitable[int]", gather(future, asynchronous=True))

    _check("await client.gather(f) on its loop", sync(check_native), 3)
    return [
        Variant("await to_asyncio_future(f), another loop", "futurebridge", _on(loop, ours)),
        Variant("client.gather(f), blocking", "dask", blocking),
        Variant("await client.gather(f), the client's loop", "dask", native),
    ]
