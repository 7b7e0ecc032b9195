"""Carrying an outcome from one future to another, across threads and loops.

This module owns the plumbing under the converters: copying a result,
exception or cancellation into a destination future, hopping to the
destination's thread, cancelling back the other way, and the book of
:class:`Bridge` objects, one per pending future crossing loops, that lets a
closing IOLoop fail their waiters (:func:`fail_bridges_from`). It does not
decide what to convert or how: that is ``_convert``.

Rules that hold across this module (and the converters built on it):

1. A future is only touched on its own loop's thread. Anything that crosses a
   thread goes through ``call_soon_threadsafe``; reading ``done()`` of a
   foreign future is the only exception (a single attribute read under the
   GIL).
2. An outcome is copied exactly once, by :func:`copy_outcome`, which does
   nothing if the destination is already done (it was cancelled by its
   waiter). An outcome that has nowhere left to go is logged, never dropped
   in silence.
3. Callbacks reference their futures, and futures reference their callbacks
   only until they complete (asyncio clears the list), so no reference cycle
   outlives a conversion.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
from typing import Any, TypeVar

__all__ = (
    "Bridge",
    "bridges",
    "cancel_concurrent",
    "cancel_if_cancelled",
    "copy_outcome",
    "copy_outcome_to",
    "deliver_threadsafe",
    "fail_bridges_from",
    "set_exception_unless_done",
    "set_result_unless_done",
)

_T = TypeVar("_T")

logger = logging.getLogger("futurebridge")


def copy_outcome(
    source: asyncio.Future[_T] | concurrent.futures.Future[_T], destination: asyncio.Future[_T]
) -> None:
    """Copy *source*'s outcome into *destination*, on *destination*'s thread."""
    if destination.done():
        if not source.cancelled() and (exc := source.exception()) is not None:
            logger.debug(
                "futurebridge: dropped an exception whose waiter had cancelled", exc_info=exc
            )
        return
    if source.cancelled():
        destination.cancel()
        return
    exc = source.exception()
    if exc is not None:
        destination.set_exception(exc)
    else:
        destination.set_result(source.result())


def set_result_unless_done(future: asyncio.Future[_T], result: _T) -> None:
    if not future.done():
        future.set_result(result)


def deliver_threadsafe(
    destination: asyncio.Future[_T],
    source: asyncio.Future[_T] | concurrent.futures.Future[_T],
) -> None:
    """Done callback of a source on another thread: hop to *destination*'s loop."""
    try:
        destination.get_loop().call_soon_threadsafe(copy_outcome, source, destination)
    except RuntimeError:
        # The waiter's loop closed: nobody can receive this outcome any more.
        if not source.cancelled() and (exc := source.exception()) is not None:
            logger.error(
                "futurebridge: an exception could not be delivered because the "
                "waiting event loop is closed",
                exc_info=exc,
            )


def cancel_concurrent(
    source: concurrent.futures.Future[Any], destination: asyncio.Future[Any]
) -> None:
    if destination.cancelled():
        source.cancel()


# Pending bridges per source loop, so a closing IOLoop can fail their waiters.
# A bridge registers on the converting thread (its source loop may never run
# again) and forgets on the source thread, hence the lock.
bridges: dict[asyncio.AbstractEventLoop, set[Bridge]] = {}
_lock = threading.Lock()


class Bridge:
    """One pending future crossing from its own loop to another loop."""

    __slots__ = ("destination", "source")

    def __init__(self, source: asyncio.Future[Any], destination: asyncio.Future[Any]) -> None:
        self.source = source
        self.destination = destination
        with _lock:
            bridges.setdefault(source.get_loop(), set()).add(self)

    def attach(self) -> None:
        # Runs on the source loop's thread (rule 1).
        self.source.add_done_callback(self.deliver)

    def deliver(self, source: asyncio.Future[Any]) -> None:
        self.forget()
        deliver_threadsafe(self.destination, source)

    def cancel_source(self, destination: asyncio.Future[Any]) -> None:
        # Runs on the destination loop's thread.
        if destination.cancelled() and not self.source.done():
            try:
                self.source.get_loop().call_soon_threadsafe(self.source.cancel)
            except RuntimeError:
                # The source loop is closed without telling us (a plain asyncio
                # loop; ours call fail_bridges_from): the source can never
                # complete, so nothing would ever forget this bridge and
                # bridges would keep both loops and futures alive.
                self.forget()

    def fail(self) -> None:
        self.forget()
        error = RuntimeError(
            "the event loop this future belonged to was closed while the future was pending"
        )
        # If both loops are closed, there is no waiter left to tell.
        with contextlib.suppress(RuntimeError):
            self.destination.get_loop().call_soon_threadsafe(
                set_exception_unless_done, self.destination, error
            )

    def forget(self) -> None:
        loop = self.source.get_loop()
        with _lock:
            pending = bridges.get(loop)
            if pending is not None:
                pending.discard(self)
                if not pending:
                    del bridges[loop]


def set_exception_unless_done(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


def fail_bridges_from(loop: asyncio.AbstractEventLoop) -> None:
    """Fail the waiters of every future still pending on *loop*, which is closing.

    Called by futurebridge's own loops on close; each waiter gets a
    :class:`RuntimeError` saying the source loop closed.
    """
    with _lock:
        pending = list(bridges.get(loop, ()))
    for bridge in pending:
        bridge.fail()


def copy_outcome_to(destination: asyncio.Future[Any], source: asyncio.Future[Any]) -> None:
    copy_outcome(source, destination)


def cancel_if_cancelled(source: asyncio.Future[Any], destination: asyncio.Future[Any]) -> None:
    if destination.cancelled():
        source.cancel()
