"""Running a callback the way Tornado's IOLoop does, on an asyncio loop.

This module owns Tornado's callback contract as futurebridge's IOLoops apply
it: an exception from a callback is logged to ``tornado.application``, not
raised; a returned yieldable (a coroutine, say) is run and its exception
logged the same way; a CancelledError is ignored. The same holds for
file-descriptor handlers. It also owns the asyncio handles that carry the
contract. It does not own scheduling (when, and on which loop, a callback
runs: that is ``_ioloop``) nor the conversion of yieldables (``_convert``;
Tornado's own ``convert_yielded`` decides what a callback may return).

Rules that hold across this module:

1. No wrapper object per callback: a callback runs through the module-level
   :func:`_run_callback` with its arguments in the asyncio handle, and
   :func:`_bind` builds a ``functools.partial`` only for keyword arguments.
2. :data:`CALLBACK_HANDLE` and :data:`CALLBACK_TIMER_HANDLE` are asyncio
   handles that run :func:`_run_handle`, which applies the contract itself,
   so no wrapper callback is queued. ``_asyncio_internals`` makes them: it
   alone knows how a handle runs.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
from collections.abc import Callable
from typing import Any

import tornado.gen
from tornado.log import app_log

from ._asyncio_internals import BaseLoopPaths

# For the IOLoops of this package: private to it, listed so the checkers
# know they are meant to be imported.
__all__ = (
    "CALLBACK_HANDLE",
    "CALLBACK_TIMER_HANDLE",
    "_bind",
    "_describe",
    "_run_callback",
    "_run_handler",
)

# getattr: Tornado types convert_yielded's argument too narrowly for "anything
# a callback returned".
_tornado_convert_yielded: Callable[[object], Any] = getattr(tornado.gen, "convert_yielded")


def _run_callback(callback: Callable[..., object], *args: Any) -> None:
    """Run a callback the way Tornado's IOLoop does.

    Exceptions go to ``tornado.application`` ("Exception in callback ...");
    a returned yieldable (a coroutine, say) is run and its exception logged
    the same way; CancelledError is ignored.
    """
    try:
        ret = callback(*args)
    except asyncio.CancelledError:
        return
    except Exception:
        app_log.error("Exception in callback %r", _describe(callback, args), exc_info=True)
        return
    if ret is not None:
        _watch(ret, callback)


def _run_handle(
    callback: Callable[..., object],
    args: tuple[Any, ...],
    context: contextvars.Context,
    loop: asyncio.AbstractEventLoop,
    handle: asyncio.Handle,
) -> None:
    """How our handles run: the callback as in :func:`_run_callback`.

    Exceptions that are not an ``Exception`` go where ``Handle._run`` sends
    them: SystemExit and KeyboardInterrupt up, others to the loop's
    exception handler.
    """
    try:
        ret = context.run(callback, *args)
    except asyncio.CancelledError:
        return
    except Exception:
        app_log.error("Exception in callback %r", _describe(callback, args), exc_info=True)
        return
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        loop.call_exception_handler(
            {"message": f"Exception in callback {callback!r}", "exception": exc, "handle": handle}
        )
        return
    if ret is not None:
        _watch(ret, callback)


CALLBACK_HANDLE, CALLBACK_TIMER_HANDLE = BaseLoopPaths.handle_types(_run_handle)


def _watch(ret: object, callback: Callable[..., object]) -> None:
    try:
        # Tornado's own conversion, for Tornado's exact rules on what a
        # callback may return (and singledispatch registrations).
        future: asyncio.Future[Any] | concurrent.futures.Future[Any] = _tornado_convert_yielded(ret)
    except tornado.gen.BadYieldError:
        # Callbacks often return non-yieldable values (a bound method's
        # result, say): those are ignored, as Tornado does.
        return
    # A task that convert_yielded started is kept alive by the IOLoop's
    # _register_task until it is done (asyncio keeps only weak references).
    if isinstance(future, asyncio.Future) and future.done():
        _log_outcome(callback, future)
        return
    future.add_done_callback(functools.partial(_log_outcome, callback))


def _log_outcome(
    callback: Callable[..., object],
    future: asyncio.Future[Any] | concurrent.futures.Future[Any],
) -> None:
    if future.cancelled():
        return
    exc = future.exception()
    if exc is not None:
        app_log.error("Exception in callback %r", callback, exc_info=exc)


def _bind(
    callback: Callable[..., object], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[Callable[..., object], tuple[Any, ...]]:
    """The callback and positional arguments to hand asyncio (rule 1)."""
    if kwargs:
        return functools.partial(callback, *args, **kwargs), ()
    return callback, args


def _describe(callback: Callable[..., object], args: tuple[Any, ...]) -> object:
    return functools.partial(callback, *args) if args else callback


def _run_handler(handler: Callable[[Any, int], object], fileobj: object, events: int) -> None:
    try:
        handler(fileobj, events)
    except Exception:
        app_log.error("Exception in I/O handler for fd %r", fileobj, exc_info=True)
