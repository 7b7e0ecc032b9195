"""Dask ``distributed`` futures as yieldables, converted from any loop without blocking one.

Importing this module registers adapters with :func:`futurebridge.register_adapter`
for :class:`distributed.Future` and for :class:`DaskAwaitable` (what
:func:`dask_future` returns). futurebridge imports it by itself the first time
it meets a type from ``distributed``, so users import it only for
:func:`dask_future`.

Rules that hold across this module:

1. No loop ever blocks. A Dask client lives on its own loop: a synchronous
   client's runs on a thread of its own, an asynchronous client's is the loop
   it was created on. Everything that touches the client (waiting for a key,
   fetching its data, cancelling it) runs there as a coroutine, through the
   client's public ``asynchronous=True`` calls; the waiter's loop only awaits
   a future that futurebridge carries across.
2. Fetching goes through :meth:`distributed.Client.gather`, which waits for
   the key and then joins any fetch already pending on that client, so the
   children of one list or dict converted together are fetched in one round
   trip to the cluster (or a few, when they finish at different times), not
   one round trip each.
3. Cancelling a converted future never cancels a computation that someone
   else still wants, unless that was asked for: by default it *releases* the
   Dask future that was converted (as :meth:`distributed.Future.release`
   does), so the key keeps running for every other future that holds it, and
   the scheduler forgets it when nobody does. ``dask_future(f,
   cancel="cluster")`` asks for :meth:`distributed.Client.cancel` with
   ``force=True`` instead: the key is cancelled for every holder, in every
   client.
4. What Dask reports is what the waiter gets: the task's own exception with
   its remote traceback, Dask's :class:`~distributed.client.FutureCancelledError`
   (its reason included) when the key was cancelled or its client closed,
   :class:`~distributed.KilledWorker` when workers died under it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine, Generator, Sequence
from typing import Any, Generic, Literal, TypeVar, cast

from distributed import Client, Future

from .._convert import register_adapter, to_asyncio_future

__all__ = ("CancelMode", "DaskAwaitable", "dask_future")

_T = TypeVar("_T")
_R = TypeVar("_R")

_logger = logging.getLogger("futurebridge")

#: What cancelling a converted Dask future does: ``"release"`` gives up the
#: converted :class:`distributed.Future` (the key runs on for its other
#: holders), ``"cluster"`` cancels the key for every holder.
CancelMode = Literal["release", "cluster"]
_CANCEL_MODES: tuple[CancelMode, ...] = ("release", "cluster")

CANCEL_REASON = "the futurebridge future converted from it was cancelled"


class DaskAwaitable(Generic[_T]):
    """A :class:`distributed.Future` with the cancellation chosen for its conversions.

    Made by :func:`dask_future`. ``await`` it on any loop, or pass it (alone
    or in a list or dict) to :func:`~futurebridge.to_asyncio_future` or
    :func:`~futurebridge.to_tornado_future`; either way its outcome is the
    Dask future's.

    .. versionadded:: 0.1
    """

    __slots__ = ("cancel", "future")

    def __init__(self, future: Future[_T], cancel: CancelMode) -> None:
        self.future: Future[_T] = future
        self.cancel: CancelMode = cancel

    def __await__(self) -> Generator[Any, None, _T]:
        return to_asyncio_future(self).__await__()

    def __repr__(self) -> str:
        return f"<DaskAwaitable {self.future!r} cancel={self.cancel!r}>"


def dask_future(future: Future[_T], /, *, cancel: CancelMode = "release") -> DaskAwaitable[_T]:
    """Return *future* with the cancellation its conversions should have.

    ``cancel="release"`` (what converting a bare :class:`distributed.Future`
    does too): cancelling the converted future releases *future*, as
    :meth:`distributed.Future.release` does. The key keeps running, and
    serving, for every other future that holds it; when none does, the
    scheduler forgets it.

    ``cancel="cluster"``: cancelling the converted future cancels the key on
    the cluster for every holder, in every client
    (:meth:`distributed.Client.cancel` with ``force=True``); they get Dask's
    ``FutureCancelledError``.

    ``await dask_future(job, cancel="cluster")`` in a request handler: if the
    request is cancelled, so is the computation, for everyone. The
    documentation's "Scaling out with Dask" page has complete programs.

    :raises TypeError: if *future* is not a :class:`distributed.Future`.
    :raises ValueError: if *cancel* is not ``"release"`` or ``"cluster"``.

    .. versionadded:: 0.1
    """
    if not isinstance(future, Future):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(
            f"dask_future() needs a distributed.Future, got {type(future).__qualname__}"
        )
    if cancel not in _CANCEL_MODES:
        raise ValueError(f"dask_future() got cancel={cancel!r}: expected 'release' or 'cluster'")
    return DaskAwaitable(future, cancel)


# --- waiting: on the waiter's loop, the work on the client's loop (rule 1) -----------


def _client_of(future: Future[Any]) -> tuple[Client, asyncio.AbstractEventLoop]:
    client: Client | None = future.client
    if client is None:
        raise RuntimeError(
            f"cannot convert {future!r}: it is bound to no Dask client; convert futures "
            "that a Client returned (submit, map, compute, scatter)"
        )
    # A Tornado IOLoop on asyncio exposes its asyncio loop as asyncio_loop.
    client_loop: object = getattr(client.loop, "asyncio_loop", None)
    if (
        client.status in ("closing", "closed")
        or not isinstance(client_loop, asyncio.AbstractEventLoop)
        or client_loop.is_closed()
    ):
        raise RuntimeError(
            f"cannot convert {future!r}: its Dask client is closing or closed "
            f"(status {client.status!r}), so it can never complete; convert the futures "
            "of an open client"
        )
    return client, client_loop


async def _await_future(future: Future[_T]) -> _T:
    client, client_loop = _client_of(future)
    result: _T = await _on_client_loop(client_loop, _fetch(client, future))
    return result


async def _gather_many(objs: Sequence[Future[Any] | DaskAwaitable[Any]]) -> list[Any]:
    """Fetch the results of the Dask children of one aggregate (rule 2).

    One :meth:`~distributed.Client.gather` per client: it waits for every key
    and fetches them all in one round trip, and fails at the first error.
    """
    futures = [obj.future if isinstance(obj, DaskAwaitable) else obj for obj in objs]
    by_client: dict[int, tuple[Client, asyncio.AbstractEventLoop, list[int]]] = {}
    for index, future in enumerate(futures):
        client, client_loop = _client_of(future)
        by_client.setdefault(id(client), (client, client_loop, []))[2].append(index)
    fetches = [
        asyncio.ensure_future(
            _on_client_loop(client_loop, _fetch(client, [futures[i] for i in indices]))
        )
        for client, client_loop, indices in by_client.values()
    ]
    try:
        parts: list[list[Any]] = await asyncio.gather(*fetches)
    except BaseException:
        for fetch in fetches:
            fetch.cancel()
        raise
    results: list[Any] = [None] * len(futures)
    for (_, _, indices), part in zip(by_client.values(), parts, strict=True):
        for index, result in zip(indices, part, strict=True):
            results[index] = result
    return results


async def _on_client_loop(
    client_loop: asyncio.AbstractEventLoop, fetch: Coroutine[Any, Any, _R | _Cancelled]
) -> _R:
    """Run *fetch* on the client's loop and return its outcome here."""
    if client_loop is asyncio.get_running_loop():
        outcome = await fetch
    else:
        outcome = await to_asyncio_future(to_asyncio_future(fetch, loop=client_loop))
    if isinstance(outcome, _Cancelled):
        # Dask cancelled the key (or its client closed): as Dask's own await
        # does, raise its FutureCancelledError, which says why.
        raise outcome.error
    return outcome


class _Cancelled:
    """Dask's cancellation of a key, carried as a value across the loops.

    Raised on the client's loop it would only cancel the task there, and a
    bare cancellation would reach the waiter without Dask's reason.
    """

    __slots__ = ("error",)

    def __init__(self, error: asyncio.CancelledError) -> None:
        self.error = error


async def _fetch(client: Client, futures: Future[Any] | list[Future[Any]]) -> Any:
    """Wait for *futures*, then fetch their results; runs on the client's loop.

    Waiting and fetching are kept apart because only the wait may be
    cancelled: a Dask gather cancelled half-way leaves tasks behind that log
    "Task exception was never retrieved", and cancels any other gather that
    joined the same fetch. So the wait is ours, and the fetch, once started,
    runs to its end.
    """
    waiting = futures if isinstance(futures, list) else [futures]
    try:
        await _wait_until_done_or_failed(waiting)
    except asyncio.CancelledError:
        raise  # Our own waiter cancelled: nothing of Dask's was interrupted.
    # distributed leaves gather, cancel and release unannotated: typed here.
    gather = cast("Callable[..., Coroutine[Any, Any, Any]]", getattr(client, "gather"))
    fetch = asyncio.ensure_future(gather(futures, asynchronous=True))
    fetch.add_done_callback(_retrieve)
    try:
        return await asyncio.shield(fetch)
    except asyncio.CancelledError as error:
        if fetch.cancelled() or not fetch.done():
            raise  # Our own waiter cancelled during the fetch.
        return _Cancelled(error)  # Dask cancelled a key: gather raised its error.


async def _wait_until_done_or_failed(futures: list[Future[Any]]) -> None:
    """Return once every future is done, or one of them failed or was cancelled.

    Waits with :meth:`distributed.Future.exception`, which (with
    ``asynchronous=True`` on the client's loop) waits for the key and fetches
    nothing, and which may be cancelled cleanly.
    """
    pending = [future for future in futures if not _is_done(future)]
    if not pending or any(_failed(future) for future in futures):
        return
    loop = asyncio.get_running_loop()
    gate: asyncio.Future[None] = loop.create_future()
    remaining = len(pending)

    def on_done(future: Future[Any], _: asyncio.Future[object]) -> None:
        nonlocal remaining
        remaining -= 1
        if not gate.done() and (remaining == 0 or _failed(future)):
            gate.set_result(None)

    waiters: list[asyncio.Future[object]] = []
    for future in pending:
        exception: Callable[..., Coroutine[Any, Any, object]] = getattr(future, "exception")
        waiter = asyncio.ensure_future(exception(asynchronous=True))
        waiter.add_done_callback(functools.partial(on_done, future))
        waiters.append(waiter)
    try:
        await gate
    finally:
        for pending_waiter in waiters:
            pending_waiter.cancel()


def _is_done(future: Future[Any]) -> bool:
    done: Callable[[], bool] = getattr(future, "done")
    return done()


def _failed(future: Future[Any]) -> bool:
    return future.status in ("error", "cancelled")


def _retrieve(fetch: asyncio.Future[Any]) -> None:
    # A fetch whose waiter left: its outcome has nowhere to go (rule 2 of _outcome).
    if not fetch.cancelled() and (error := fetch.exception()) is not None:
        _logger.debug("futurebridge: a Dask fetch failed after its waiter left", exc_info=error)


async def _await_dask_awaitable(awaitable: DaskAwaitable[_T]) -> _T:
    return await _await_future(awaitable.future)


# --- cancelling (rule 3): called on the waiter's loop, must not block --------------


def _release(future: Future[Any]) -> None:
    # Thread-safe by Dask's contract: it only schedules the release on the client's loop.
    release: Callable[[], None] = getattr(future, "release")
    release()


def _cancel_dask_awaitable(awaitable: DaskAwaitable[Any]) -> None:
    if awaitable.cancel == "release":
        _release(awaitable.future)
        return
    future = awaitable.future
    try:
        client, client_loop = _client_of(future)
    except RuntimeError:
        return  # The client is closed: its keys are gone already.
    cancel: Callable[..., Coroutine[Any, Any, None]] = getattr(client, "cancel")
    cancelling = cancel([future], asynchronous=True, force=True, reason=CANCEL_REASON)
    try:
        done = to_asyncio_future(cancelling, loop=client_loop)
    except RuntimeError:
        cancelling.close()
        return
    done.add_done_callback(_log_cancel_failure)


def _log_cancel_failure(done: asyncio.Future[Any]) -> None:
    if not done.cancelled() and (error := done.exception()) is not None:
        _logger.error("futurebridge: a cluster-wide cancel of a Dask key failed", exc_info=error)


register_adapter(Future, _await_future, cancel=_release, gather=_gather_many)
register_adapter(
    DaskAwaitable, _await_dask_awaitable, cancel=_cancel_dask_awaitable, gather=_gather_many
)
