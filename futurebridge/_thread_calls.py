"""One call crossing into a LoopThread's loop, and its outcome coming back.

This module owns :class:`_Call` and its kinds, one per way a caller waits:
:class:`_BlockingCall` (a thread blocked on a lock: ``LoopThread.run``),
:class:`_SubmitCall` (a concurrent future: ``LoopThread.submit``) and
:class:`_AwaitCall` (a future of another event loop: ``LoopThread.call``);
and :class:`_LoopFuture`, the concurrent future ``submit`` returns. A call
runs *fn* on the loop thread, waits there for the yieldable it returned, and
delivers the outcome to its caller's waiter. It does not own the thread, the
loop's lifecycle or the scheduling of calls (``_thread``: :class:`LoopThread`)
nor the conversion of yieldables (``_convert``).

Rules that hold across this module:

1. A call touches the loop's objects (its tasks and futures, the
   LoopThread's ``_pending``) only on the loop thread. A caller touches only
   its own waiter (a lock, a concurrent future, a future of its own loop).
2. Each call delivers its outcome exactly once. An exception nobody waits for
   any more is logged at debug level, never dropped in silence.
3. Nothing blocks on the loop thread waiting for the loop: that is a
   deadlock, so it raises RuntimeError instead.
4. The hot path (``LoopThread.run``) is lean on purpose: no concurrent
   future, no chained asyncio future, the coroutine is wrapped by
   :func:`_drive` which hands its outcome straight to the waiter (started
   eagerly where asyncio allows).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import types
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

from ._asyncio_internals import start_task
from ._convert import (
    to_asyncio_future,
)
from ._outcome import set_result_unless_done

if TYPE_CHECKING:
    from ._thread import LoopThread

# For LoopThread: private to the package, listed so the checkers know they
# are meant to be imported.
__all__ = (
    "_AwaitCall",
    "_BlockingCall",
    "_Call",
    "_LoopFuture",
    "_SubmitCall",
    "_deadlock_message",
    "_to_future",
)

_T = TypeVar("_T")

logger = logging.getLogger("futurebridge")

_CoroutineType: type[Coroutine[Any, Any, Any]] = types.CoroutineType
_get_ident = threading.get_ident


def _start_task(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, None]
) -> asyncio.Future[None]:
    # Eager start where the loop allows (3.12+): a coroutine that finishes
    # without suspending completes inside this callback, saving a loop
    # iteration per call.
    return start_task(loop, coro, name=f"LoopThread call:{getattr(coro, '__qualname__', '?')}")


class _Call:
    """``fn(*args, **kwargs)`` to run on the loop, and where its outcome goes."""

    __slots__ = ("args", "delivered", "fn", "future", "kwargs", "owner")

    def __init__(
        self,
        owner: LoopThread,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.owner = owner
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        # What the call waits for on the loop: _drive's task or a converted future.
        self.future: asyncio.Future[Any] | None = None
        # Read by the caller's thread to skip a needless cross-thread cancel.
        self.delivered = False

    # Each subclass delivers the outcome to its waiter; called once, on the loop thread.
    def set_result(self, value: Any) -> None:
        raise NotImplementedError

    def set_exception(self, exc: BaseException) -> None:
        raise NotImplementedError

    def set_cancelled(self) -> None:
        raise NotImplementedError

    def abandoned(self) -> bool:
        """True if the caller gave up before the call started (then nothing runs)."""
        raise NotImplementedError

    def start(self) -> None:
        # On the loop thread, in a copy of the caller's context.
        if self.abandoned():
            self.delivered = True
            return
        try:
            obj: object = self.fn(*self.args, **self.kwargs)
            loop = self.owner._loop  # pyright: ignore[reportPrivateUsage]
            assert loop is not None  # this runs on it
            if type(obj) is _CoroutineType:
                # Added first: an eager task may end (and discard it) at once.
                self.owner._pending.add(self)  # pyright: ignore[reportPrivateUsage]
                self.future = _start_task(loop, _drive(self, obj))
                return
            future = _to_future(obj, loop, self.fn)
        except asyncio.CancelledError:
            self.owner._pending.discard(self)  # pyright: ignore[reportPrivateUsage]
            self.set_cancelled()
            return
        except BaseException as exc:
            self.owner._pending.discard(self)  # pyright: ignore[reportPrivateUsage]
            self.set_exception(exc)
            return
        if future.done():
            self.finish(future)
        else:
            self.future = future
            self.owner._pending.add(self)  # pyright: ignore[reportPrivateUsage]
            future.add_done_callback(self.finish)

    def finish(self, future: asyncio.Future[Any]) -> None:
        self.owner._pending.discard(self)  # pyright: ignore[reportPrivateUsage]
        if future.cancelled():
            self.set_cancelled()
            return
        exc = future.exception()
        if exc is not None:
            self.set_exception(exc)
        else:
            self.set_result(future.result())

    def cancel_on_loop(self) -> None:
        future = self.future
        if future is not None:
            future.cancel()


async def _drive(call: _Call, coro: Coroutine[Any, Any, Any]) -> None:
    # Hands the outcome straight to the waiter: no done callback, no second
    # future, so a trivial coroutine costs one loop iteration (none if eager).
    try:
        try:
            result = await coro
        finally:
            call.owner._pending.discard(call)  # pyright: ignore[reportPrivateUsage]
    except asyncio.CancelledError:
        call.set_cancelled()
        # The task keeps this error, whose traceback holds this frame: no
        # path back to the call (and its task) may remain in it.
        del call
        raise
    except GeneratorExit:
        raise
    except BaseException as exc:
        call.set_exception(exc)
        del call  # as above: the error's traceback holds this frame
    else:
        call.set_result(result)


class _BlockingCall(_Call):
    """A call whose caller blocks on a lock (LoopThread.run)."""

    __slots__ = ("done", "error", "gave_up", "value")

    def __init__(
        self,
        owner: LoopThread,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        super().__init__(owner, fn, args, kwargs)
        # A plain lock is the cheapest cross-thread wake-up: the caller blocks
        # in acquire() until the loop thread releases it.
        self.done = threading.Lock()
        self.done.acquire()
        self.value: Any = None
        self.error: BaseException | None = None
        self.gave_up = False

    def abandoned(self) -> bool:
        return self.gave_up

    def set_result(self, value: Any) -> None:
        self.delivered = True
        self.value = value
        self.done.release()

    def set_exception(self, exc: BaseException) -> None:
        self.delivered = True
        if self.gave_up:
            _log_dropped(exc)
        self.error = exc
        self.done.release()

    def set_cancelled(self) -> None:
        self.delivered = True
        self.error = concurrent.futures.CancelledError()
        self.done.release()


class _SubmitCall(_Call):
    """A call whose outcome goes to a concurrent future (LoopThread.submit)."""

    __slots__ = ("target",)

    def __init__(
        self,
        owner: LoopThread,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        target: concurrent.futures.Future[Any],
    ) -> None:
        super().__init__(owner, fn, args, kwargs)
        # Dropped on delivery: the target keeps its done callback (and so this
        # call) for good, and an exception's traceback may lead back here.
        self.target: concurrent.futures.Future[Any] | None = target

    def _take(self) -> concurrent.futures.Future[Any]:
        target = self.target
        assert target is not None, "a call delivers its outcome once"
        self.target = None
        self.delivered = True
        return target

    def abandoned(self) -> bool:
        target = self.target
        if target is not None and target.cancelled():
            # Moves it to CANCELLED_AND_NOTIFIED, which concurrent.futures.wait() awaits.
            self._take().set_running_or_notify_cancel()
            return True
        return False

    # The target stays PENDING (not RUNNING) until the outcome is known, so
    # that the caller's cancel() keeps working while the coroutine runs.
    def set_result(self, value: Any) -> None:
        target = self._take()
        if target.set_running_or_notify_cancel():
            target.set_result(value)

    def set_exception(self, exc: BaseException) -> None:
        target = self._take()
        if target.set_running_or_notify_cancel():
            target.set_exception(exc)
        else:
            _log_dropped(exc)

    def set_cancelled(self) -> None:
        target = self._take()
        # cancel() alone does not wake concurrent.futures.wait(); the notify does.
        target.cancel()
        target.set_running_or_notify_cancel()

    def on_caller_done(self, target: concurrent.futures.Future[Any]) -> None:
        # Runs on whichever thread completed the target.
        if target.cancelled() and not self.delivered:
            self.owner._cancel_soon(self)  # pyright: ignore[reportPrivateUsage]


class _AwaitCall(_Call):
    """A call awaited from another event loop (LoopThread.call)."""

    __slots__ = ("waiter",)

    def __init__(
        self,
        owner: LoopThread,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        waiter: asyncio.Future[Any],
    ) -> None:
        super().__init__(owner, fn, args, kwargs)
        # Dropped on delivery, so that an exception's traceback cannot lead
        # back to the waiter through this call.
        self.waiter: asyncio.Future[Any] | None = waiter

    def abandoned(self) -> bool:
        # done() of a foreign future is a single attribute read (see _convert rule 1).
        waiter = self.waiter
        if waiter is not None and waiter.done():
            self.waiter = None
            self.delivered = True
            return True
        return False

    def set_result(self, value: Any) -> None:
        self._send(set_result_unless_done, value)

    def set_exception(self, exc: BaseException) -> None:
        self._send(_settle_exception, exc)

    def set_cancelled(self) -> None:
        self._send(_settle_cancelled, None)

    def _send(self, settle: Callable[[asyncio.Future[Any], Any], None], arg: Any) -> None:
        waiter = self.waiter
        assert waiter is not None, "a call delivers its outcome once"
        self.waiter = None
        self.delivered = True
        try:
            waiter.get_loop().call_soon_threadsafe(settle, waiter, arg)
        except RuntimeError:
            # The awaiting loop is closed: nobody is left to tell.
            if isinstance(arg, BaseException):
                logger.error(
                    "futurebridge: LoopThread.call() could not deliver an exception because "
                    "the awaiting event loop is closed",
                    exc_info=arg,
                )


def _settle_exception(waiter: asyncio.Future[Any], exc: BaseException) -> None:
    if not waiter.done():
        waiter.set_exception(exc)
    else:
        _log_dropped(exc)


def _settle_cancelled(waiter: asyncio.Future[Any], _: None) -> None:
    waiter.cancel()


class _LoopFuture(concurrent.futures.Future[_T], Generic[_T]):
    """A concurrent future that refuses to block on the loop thread (rule 3)."""

    def __init__(self, loop_thread_id: int | None) -> None:
        super().__init__()
        self._futurebridge_loop_thread_id = loop_thread_id

    def result(self, timeout: float | None = None) -> _T:
        if not self.done() and _get_ident() == self._futurebridge_loop_thread_id:
            raise RuntimeError(_deadlock_message("result() of a LoopThread.submit() future"))
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        if not self.done() and _get_ident() == self._futurebridge_loop_thread_id:
            raise RuntimeError(_deadlock_message("exception() of a LoopThread.submit() future"))
        return super().exception(timeout)


# --- helpers ------------------------------------------------------------------------


def _to_future(
    obj: object, loop: asyncio.AbstractEventLoop, fn: Callable[..., Any]
) -> asyncio.Future[Any]:
    try:
        future: asyncio.Future[Any] = to_asyncio_future(cast("Awaitable[Any]", obj), loop=loop)
    except TypeError as exc:
        raise TypeError(
            f"{_name_of(fn)} returned a value LoopThread cannot wait for: {exc}"
        ) from None
    return future


def _log_dropped(exc: BaseException) -> None:
    logger.debug("futurebridge: dropped an exception whose caller had cancelled", exc_info=exc)


def _deadlock_message(what: str) -> str:
    return (
        f"{what} was called on the LoopThread's own thread: it would block the very "
        "loop that has to run the call, a deadlock. In code running on that loop, "
        "use `await loop_thread.call(fn, ...)` (or await fn(...) directly) instead"
    )


def _name_of(fn: Callable[..., Any]) -> str:
    name = getattr(fn, "__qualname__", None)
    return f"{name}()" if isinstance(name, str) else repr(fn)
