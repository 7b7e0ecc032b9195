"""Carrying an outcome from one future to another, across threads and loops.

This module owns the plumbing under the converters and the LoopThread portal:
the outcome of a piece of work as one value (:class:`Value`, :class:`Error`
or :data:`CANCELLED`); copying an outcome into a destination future, hopping
to the destination's thread, cancelling back the other way; and the book of
:class:`Bridge` objects, one per pending future crossing loops, that lets a
closing IOLoop settle their waiters (:func:`fail_bridges_from`). It does not
decide what to convert or how: that is ``_convert``.

Rules that hold across this module (and the converters built on it):

1. A future is only touched on its own loop's thread. Anything that crosses a
   thread goes through ``call_soon_threadsafe``; reading ``done()`` of a
   foreign future is the only exception (a single attribute read under the
   GIL).
2. An outcome is copied exactly once, by :func:`copy_outcome`, which does
   nothing if the destination is already done (it was cancelled by its
   waiter). An exception that can reach no one is logged exactly once: at
   debug level when its waiter chose to stop waiting, at error level when the
   waiter's loop closed first (a hop scheduled on a loop that is then closed
   without running it logs when asyncio drops it, as asyncio's own
   "exception was never retrieved" does).
3. Callbacks reference their futures, and futures reference their callbacks
   only until they complete (asyncio clears the list), so no reference cycle
   outlives a conversion.
4. The book of bridges holds them weakly: a bridge lives as long as one of
   its two futures can still be reached (the source through whoever will
   complete it, the destination through whoever waits for it), and not a
   moment longer. A closing loop settles every bridge still alive with the
   outcome its source already has, and only a source still pending fails
   with "closed while pending".
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import threading
import weakref
from typing import Any, Final, TypeVar

__all__ = (
    "CANCELLED",
    "Bridge",
    "Cancelled",
    "Error",
    "Outcome",
    "Value",
    "bridges",
    "cancel_concurrent",
    "cancel_if_cancelled",
    "copy_outcome",
    "copy_outcome_to",
    "deliver_threadsafe",
    "fail_bridges_from",
    "live_bridges",
    "log_unreceived",
    "outcome_of",
    "set_exception_unless_done",
    "set_result_unless_done",
)

_T = TypeVar("_T")

logger = logging.getLogger("futurebridge")


# --- one outcome, one value ------------------------------------------------------


class Value:
    """The outcome of work that returned *value*."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value


class Error:
    """The outcome of work that raised *error*."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException) -> None:
        self.error = error


class Cancelled:
    """The outcome of work that was cancelled (one shared instance, :data:`CANCELLED`)."""

    __slots__ = ()


CANCELLED: Final = Cancelled()

Outcome = Value | Error | Cancelled


def outcome_of(future: asyncio.Future[Any] | concurrent.futures.Future[Any]) -> Outcome:
    """The outcome of a done future."""
    if future.cancelled():
        return CANCELLED
    exc = future.exception()
    return Value(future.result()) if exc is None else Error(exc)


def log_unreceived(exc: BaseException, why: str, *, chosen: bool) -> None:
    """Log *exc*, which no one can receive any more, once (rule 2).

    *chosen*: its waiter chose to stop waiting (debug level); otherwise the
    waiter was taken away (error level).
    """
    with contextlib.suppress(Exception):  # at interpreter exit logging may be gone
        logger.log(
            logging.DEBUG if chosen else logging.ERROR,
            "futurebridge: an exception could not be delivered: %s",
            why,
            exc_info=exc,
        )


# --- copying an outcome ---------------------------------------------------------------


def copy_outcome(
    source: asyncio.Future[_T] | concurrent.futures.Future[_T], destination: asyncio.Future[_T]
) -> None:
    """Copy *source*'s outcome into *destination*, on *destination*'s thread."""
    if destination.done():
        if not source.cancelled() and (exc := source.exception()) is not None:
            log_unreceived(exc, "its waiter had cancelled", chosen=True)
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


def set_exception_unless_done(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)


class _Hop:
    """``copy_outcome(source, destination)``, scheduled on the destination's loop.

    A loop that is stopped and then closed drops its scheduled callbacks
    without running them; this one then logs the exception it carried, so
    that it is not lost in silence (rule 2).
    """

    __slots__ = ("destination", "source")

    def __init__(
        self,
        source: asyncio.Future[Any] | concurrent.futures.Future[Any],
        destination: asyncio.Future[Any],
    ) -> None:
        self.source: asyncio.Future[Any] | concurrent.futures.Future[Any] | None = source
        self.destination = destination

    def __call__(self) -> None:
        source = self.source
        if source is not None:
            self.source = None
            copy_outcome(source, self.destination)

    def dropped(self, why: str) -> None:
        source = self.source
        if source is not None:
            self.source = None
            if not source.cancelled() and (exc := source.exception()) is not None:
                log_unreceived(exc, why, chosen=False)

    def __del__(self) -> None:
        self.dropped("the event loop of its waiter closed before it could run the delivery")


def deliver_threadsafe(
    destination: asyncio.Future[_T],
    source: asyncio.Future[_T] | concurrent.futures.Future[_T],
) -> None:
    """Done callback of a source on another thread: hop to *destination*'s loop."""
    hop = _Hop(source, destination)
    try:
        destination.get_loop().call_soon_threadsafe(hop)
    except RuntimeError:
        hop.dropped("the event loop of its waiter is closed")


def cancel_concurrent(
    source: concurrent.futures.Future[Any], destination: asyncio.Future[Any]
) -> None:
    if destination.cancelled():
        source.cancel()


def copy_outcome_to(destination: asyncio.Future[Any], source: asyncio.Future[Any]) -> None:
    copy_outcome(source, destination)


def cancel_if_cancelled(source: asyncio.Future[Any], destination: asyncio.Future[Any]) -> None:
    if destination.cancelled():
        source.cancel()


# --- the book of bridges ------------------------------------------------------------


class _BridgeRef(weakref.ref["Bridge"]):
    __slots__ = ("loop",)
    loop: asyncio.AbstractEventLoop


# Pending bridges per source loop, held weakly (rule 4), so a closing IOLoop
# can settle their waiters. A bridge registers on the converting thread (its
# source loop may never run again) and forgets on the source thread, hence
# the lock.
bridges: dict[asyncio.AbstractEventLoop, set[_BridgeRef]] = {}
_lock = threading.Lock()
# Refs of bridges the garbage collector took. Its callback may run on a thread
# that holds _lock already (collection starts at any allocation), so it only
# queues them here; whoever holds _lock next removes them.
_collected: list[_BridgeRef] = []


def _reap() -> None:
    # With _lock held.
    while _collected:
        ref = _collected.pop()
        pending = bridges.get(ref.loop)
        if pending is not None:
            pending.discard(ref)
            if not pending:
                del bridges[ref.loop]


def _on_collected(ref: weakref.ref[Bridge]) -> None:
    assert isinstance(ref, _BridgeRef)
    _collected.append(ref)
    if _lock.acquire(blocking=False):
        try:
            _reap()
        finally:
            _lock.release()


def live_bridges() -> dict[asyncio.AbstractEventLoop, int]:
    """How many bridges are registered per source loop (for tests and diagnostics)."""
    with _lock:
        _reap()
        return {loop: len(refs) for loop, refs in bridges.items()}


class Bridge:
    """One pending future crossing from its own loop to another loop."""

    __slots__ = ("__weakref__", "_ref", "destination", "source")

    def __init__(self, source: asyncio.Future[Any], destination: asyncio.Future[Any]) -> None:
        self.source = source
        self.destination = destination
        loop = source.get_loop()
        ref = self._ref = _BridgeRef(self, _on_collected)
        ref.loop = loop
        with _lock:
            _reap()
            bridges.setdefault(loop, set()).add(ref)

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
                # complete, so nothing would ever forget this bridge.
                self.forget()

    def settle(self) -> None:
        """The source loop is closing: give the waiter what the source has."""
        self.forget()
        if self.source.done():
            # It completed in the loop's last iteration, and the done callback
            # that would have delivered it will never run (issue 17, item 4).
            deliver_threadsafe(self.destination, self.source)
            return
        error = RuntimeError(
            "the event loop this future belonged to was closed while the future was pending"
        )
        # If both loops are closed, there is no waiter left to tell.
        with contextlib.suppress(RuntimeError):
            self.destination.get_loop().call_soon_threadsafe(
                set_exception_unless_done, self.destination, error
            )

    def forget(self) -> None:
        loop = self._ref.loop
        with _lock:
            _reap()
            pending = bridges.get(loop)
            if pending is not None:
                pending.discard(self._ref)
                if not pending:
                    del bridges[loop]


def fail_bridges_from(loop: asyncio.AbstractEventLoop) -> None:
    """Settle the waiters of every future of *loop* still bridged; *loop* is closing.

    Called by futurebridge's own loops on close, on their thread. A source
    that completed in the loop's last iteration delivers its outcome; a
    source still pending fails its waiter with a :class:`RuntimeError`
    saying the source loop closed.
    """
    with _lock:
        _reap()
        refs = list(bridges.get(loop, ()))
    for ref in refs:
        bridge = ref()
        if bridge is not None:
            bridge.settle()


def _after_fork_in_child() -> None:
    # The parent's loops do not run in a forked child: forget their bridges.
    # Another thread of the parent may have held the lock at the fork.
    global _lock
    _lock = threading.Lock()
    bridges.clear()
    _collected.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
