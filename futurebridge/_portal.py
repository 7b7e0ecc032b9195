"""The loop side of a LoopThread: the portal through which calls enter its loop.

This module owns :class:`Portal`, which owns everything a call lives through
on the loop: admission (from any thread), its start on the loop, cancellation
from the caller, the delivery of its one outcome, the drain of the calls left
when the loop ends, and the shutdown of what runs on the loop. It also owns
the calls, one kind per way a caller waits: :class:`BlockingCall` (a thread
blocked on a lock: ``LoopThread.run``), :class:`SubmitCall` (a concurrent
future: ``LoopThread.submit``) and :class:`AwaitCall` (a future of another
event loop: ``LoopThread.call``). It does not own the thread that hosts the
loop nor when it starts and stops (``_thread``), the IOLoop (``_ioloop``) nor
the conversion of yieldables (``_convert``).

Rules that hold across this module:

1. The loop's objects (its tasks and futures) are touched only on the loop
   thread; a caller touches only its own waiter (a lock, a concurrent future,
   a future of its own loop). A call crosses into the loop with exactly one
   ``call_soon_threadsafe``.
2. Admission and the portal's closing share one lock: a call is admitted
   only while the portal is open, and joins :attr:`Portal.calls` in the same
   step. Every admitted call stays in ``calls`` until its outcome is
   delivered, so when the loop ends, however it ends (``close()``, code on it
   stopping it, ``KeyboardInterrupt`` or ``SystemExit`` raised on it), the
   drain finds every caller still waiting.
3. Each call delivers one outcome (:class:`~futurebridge._outcome.Value`,
   ``Error`` or ``CANCELLED``) exactly once, through :meth:`Call.deliver`, on
   the loop thread. A later outcome that carries an exception is logged,
   never dropped in silence; so is an exception whose caller stopped waiting.
4. A ``submit()`` future is moved on with ``set_running_or_notify_cancel()``
   whenever its outcome is delivered, cancellation included, so that
   :func:`concurrent.futures.wait` and ``as_completed`` see it end.
5. Nothing blocks on the loop thread waiting for the loop: that is a
   deadlock, so it raises RuntimeError instead.
6. The hot path (``LoopThread.run``) is lean on purpose: one lock to wait on,
   no concurrent future, no chained asyncio future; the coroutine is wrapped
   by :func:`_drive`, which hands its outcome straight to the caller
   (started eagerly where asyncio allows).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import inspect
import logging
import threading
import types
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Generic, TypeVar, cast

from ._asyncio_internals import (
    CALL_GRAPH,
    link_awaited_by,
    running_loop,
    start_task,
    unlink_awaited_by,
)
from ._convert import to_asyncio_future
from ._ioloop import AsyncIOLoop
from ._outcome import (
    CANCELLED,
    Cancelled,
    Error,
    Outcome,
    Value,
    log_unreceived,
    outcome_of,
    set_result_unless_done,
)

# For LoopThread: private to the package, listed so the checkers know they
# are meant to be imported.
__all__ = (
    "AwaitCall",
    "BlockingCall",
    "Call",
    "LoopFuture",
    "Portal",
    "SubmitCall",
    "deadlock_message",
    "to_future",
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


# How long a repeated close() lets the cancellations already made land before
# it cancels once more.
_SETTLE = 0.1


class Portal:
    """The door into one loop: the calls admitted to it, until each has its outcome.

    *unavailable* makes the message of the RuntimeError raised when a call
    comes while the portal is not open, from the name of the method used.
    """

    __slots__ = (
        "_again",
        "_closed",
        "_finishing",
        "_lock",
        "_open",
        "_shutdown",
        "_woken",
        "calls",
        "loop",
        "thread_id",
        "unavailable",
    )

    def __init__(self, unavailable: Callable[[str], str]) -> None:
        self._lock = threading.Lock()
        self._open = False
        self._closed = False
        self.unavailable = unavailable
        self.loop: asyncio.AbstractEventLoop | None = None
        self.thread_id: int | None = None
        # Admitted calls whose outcome is not delivered yet (rule 2). The loop
        # keeps only weak references to tasks: this also keeps a call's task
        # alive if its caller dropped its future.
        self.calls: set[Call] = set()
        self._shutdown: asyncio.Task[None] | None = None
        # Rounds of cancellation asked for by a close() after an interrupted
        # one, and how the shutdown waiting for its tasks is woken for them.
        self._again = 0
        self._woken: asyncio.Future[None] | None = None
        # Past its own tasks: closing async generators, the default executor.
        self._finishing = False

    # --- admission (any thread) ------------------------------------------------------

    def admit(self, call: Call, what: str) -> None:
        """Queue *call* to start on the loop; RuntimeError if the portal is not open."""
        context = contextvars.copy_context()
        with self._lock:
            if not self._open:
                raise RuntimeError(self.unavailable(what))
            self.calls.add(call)
            self.loop.call_soon_threadsafe(call.start, context=context)  # type: ignore[union-attr]  # pyright: ignore[reportOptionalMemberAccess]  # pyrefly: ignore[missing-attribute]  # ty: ignore[missing-union-attribute]

    def close(self) -> None:
        """Take no more calls. The caller then owes the loop a :meth:`begin_shutdown`."""
        with self._lock:
            self._open = False
            self._closed = True

    def cancel_soon(self, call: Call) -> None:
        """From any thread: cancel *call* on the loop (nothing if it already ended)."""
        loop = self.loop
        if loop is None:
            return
        # A closed loop: the drain already gave the call its outcome.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(call.cancel)

    def begin_shutdown(self) -> None:
        """From any thread: start the shutdown on the loop (after :meth:`close`).

        Idempotent: calls after the first change nothing.
        """
        loop = self.loop
        if loop is not None:
            # A closed loop already ended on its own.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._start_shutdown)

    def cancel_everything_soon(self) -> None:
        """From any thread: cancel every task on the loop once more.

        For a second ``close()`` after the first was interrupted while a call
        ignored its cancellation: the user asks twice, as with a second Ctrl-C.
        """
        loop = self.loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._cancel_everything)

    def forget_after_fork(self) -> None:
        """In a forked child: take no more calls; the callers waiting are the parent's.

        The loop and thread id stay: if the fork happened on the loop thread
        itself, the child still runs the loop, and calls already queued on it
        must still find it.
        """
        self._lock = threading.Lock()  # another thread may have held it at the fork
        self._open = False
        self._closed = True
        self.calls = set()

    # --- the loop's life (on the loop thread) -------------------------------------------

    def serve(self, ioloop: AsyncIOLoop, ready: Callable[[], None]) -> None:
        """Run *ioloop* until the portal is closed and everything on it ended, then close it.

        Calls *ready* from the loop once it runs. Returns at once, closing
        *ioloop*, if the portal was closed before it opened (a ``close()``
        during a slow start).
        """
        loop = ioloop.asyncio_loop
        try:
            with self._lock:
                if self._closed:
                    return
                self.loop = loop
                self.thread_id = _get_ident()
                self._open = True
            loop.call_soon(ready)
            while True:
                try:
                    ioloop.start()
                    if self._shutdown is None:
                        # Code on the loop stopped it, not close(): shut down just
                        # the same, so that no caller is left waiting.
                        self.close()
                        self._start_shutdown()
                    elif self._shutdown.done():
                        break
                except BaseException as death:  # it ends the loop, not us
                    # KeyboardInterrupt or SystemExit raised by code on the loop
                    # stopped it. The callers waiting cannot wait for it: tell
                    # them now, then clean up as asyncio.run does after Ctrl-C.
                    self.close()
                    self._drain_died(death)
                    if self._shutdown is None:
                        self._start_shutdown()
            shutdown = self._shutdown
            if not shutdown.cancelled() and (failure := shutdown.exception()) is not None:
                logger.error("futurebridge: LoopThread's shutdown failed", exc_info=failure)
        finally:
            self.close()
            # Whatever is left can never run now (rule 2).
            for call in list(self.calls):
                call.deliver(CANCELLED)
            # Also settles the waiters of this loop's futures bridged elsewhere.
            ioloop.close()
            # Thread ids are reused: a later thread must not look like this one.
            self.thread_id = None

    def _drain_died(self, death: BaseException) -> None:
        name = type(death).__name__
        calls = list(self.calls)
        logger.error(
            "futurebridge: %s was raised in code on a LoopThread's loop and stopped it; "
            "%d waiting call(s) fail with RuntimeError; the LoopThread shuts down",
            name,
            len(calls),
            exc_info=death,
        )
        for call in calls:
            error = RuntimeError(
                f"the LoopThread's loop stopped before this call ended: {name} was raised "
                "in code running on it"
            )
            error.__cause__ = death
            call.deliver(Error(error))

    def _start_shutdown(self) -> None:
        if self._shutdown is None:
            assert self.loop is not None
            self._shutdown = self.loop.create_task(self._shut_down())

    def _cancel_everything(self) -> None:
        # While the shutdown cancels and waits for tasks, it makes the round
        # itself, after the rounds before it have landed: two cancel() calls
        # before a task runs reach it as one. Once it is past them (an async
        # generator's aclose() that never ends), the round is made here.
        self._start_shutdown()
        if self._finishing:
            for task in asyncio.all_tasks(self.loop):
                if task is not self._shutdown:
                    task.cancel()
            return
        self._again += 1
        if self._woken is not None and not self._woken.done():
            self._woken.set_result(None)

    async def _shut_down(self) -> None:
        loop = asyncio.get_running_loop()
        this = asyncio.current_task()
        try:
            # Each task is cancelled once (per close() that asks, see below):
            # cancelling again would interrupt the cleanup it runs in response
            # (a finally block that awaits).
            cancelled: set[asyncio.Future[Any]] = set()
            for call in list(self.calls):
                future = call.future
                if future is not None:
                    cancelled.add(future)
                call.cancel()
            # Let the cancelled futures' done callbacks tell their callers.
            await asyncio.sleep(0)
            # Cleanup may start new tasks: repeat until none is left.
            seen: set[asyncio.Task[Any]] = set()
            while tasks := {task for task in asyncio.all_tasks(loop) if task is not this}:
                seen |= tasks
                for task in tasks - cancelled:
                    task.cancel()
                cancelled |= tasks
                if self._again:
                    # A close() after an interrupted one: once the cancellations
                    # made so far have landed, every task is cancelled once more.
                    # Landing can take a few loop iterations (through a gather
                    # or a chain of tasks); a task that ends meanwhile needs no
                    # second cancellation.
                    self._again -= 1
                    await asyncio.wait(tasks, timeout=_SETTLE)
                    cancelled.clear()
                else:
                    self._woken = woken = loop.create_future()
                    ended = asyncio.gather(*tasks, return_exceptions=True)
                    await asyncio.wait((ended, woken), return_when=asyncio.FIRST_COMPLETED)
                    self._woken = None
                for task in [task for task in seen if task.done()]:
                    seen.discard(task)
                    if not task.cancelled() and (exc := task.exception()) is not None:
                        loop.call_exception_handler(
                            {
                                "message": "unhandled exception of a task cancelled while "
                                "its LoopThread closed",
                                "exception": exc,
                                "task": task,
                            }
                        )
            self._finishing = True
            await loop.shutdown_asyncgens()
            await loop.shutdown_default_executor()
        finally:
            loop.stop()


class Call:
    """``fn(*args, **kwargs)`` to run on the loop, and where its one outcome goes."""

    __slots__ = (
        "args",
        "caller_task",
        "coro",
        "delivered",
        "entered",
        "fn",
        "future",
        "kwargs",
        "portal",
    )

    def __init__(
        self,
        portal: Portal,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        self.portal = portal
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        # What the call waits for on the loop: _drive's task or a converted future.
        self.future: asyncio.Future[Any] | None = None
        # fn's coroutine, until _drive has entered it (see cancel()).
        self.coro: Coroutine[Any, Any, Any] | None = None
        self.entered = False
        # Set on the loop thread; read by the caller's thread to skip a
        # needless cross-thread cancel.
        self.delivered = False
        # The caller's task, if it called from one: asyncio's call graph
        # (3.14+) records it as waiting for the call's task on the loop.
        self.caller_task: asyncio.Future[Any] | None = None
        if CALL_GRAPH and (caller_loop := running_loop()) is not None:
            self.caller_task = asyncio.current_task(caller_loop)

    # Each kind hands the outcome to its waiter; called once, on the loop thread.
    def send(self, outcome: Outcome) -> None:
        raise NotImplementedError

    def abandoned(self) -> bool:
        """True if the caller gave up before the call started (then nothing runs)."""
        raise NotImplementedError

    def deliver(self, outcome: Outcome) -> None:
        """The only way an outcome leaves the call (rule 3); on the loop thread."""
        if self.delivered:
            if type(outcome) is Error:
                # The loop died and its callers were told; this code kept
                # running in the cleanup and failed after that.
                log_unreceived(outcome.error, "its LoopThread call had already ended", chosen=False)
            return
        self.delivered = True
        self.portal.calls.discard(self)
        self.coro = None
        if self.caller_task is not None:
            if self.future is not None:
                unlink_awaited_by(self.future, self.caller_task)
            self.caller_task = None
        self.send(outcome)

    def start(self) -> None:
        # On the loop thread, in a copy of the caller's context.
        if self.delivered:
            return  # Drained before it could start.
        if self.abandoned():
            self.deliver(CANCELLED)
            return
        try:
            obj: object = self.fn(*self.args, **self.kwargs)
            loop = self.portal.loop
            assert loop is not None  # this runs on it
            if type(obj) is _CoroutineType:
                coro: Coroutine[Any, Any, Any] = obj  # ty: ignore[invalid-assignment]
                self.coro = coro
                self.future = _start_task(loop, _drive(self, coro))
                self._link()
                return
            future = to_future(obj, loop, self.fn)
        except asyncio.CancelledError:
            self.deliver(CANCELLED)
            return
        except BaseException as exc:  # delivered to the caller
            self.deliver(Error(exc))
            return
        if future.done():
            self.finish(future)
        else:
            self.future = future
            future.add_done_callback(self.finish)
            self._link()

    def _link(self) -> None:
        # On the loop thread, which owns the call's future (3.14+).
        if self.caller_task is not None and self.future is not None and not self.delivered:
            link_awaited_by(self.future, self.caller_task)

    def finish(self, future: asyncio.Future[Any]) -> None:
        self.deliver(outcome_of(future))

    def cancel(self) -> None:
        # On the loop thread.
        if self.delivered:
            return
        future = self.future
        if future is None:
            return  # Not started: start() sees abandoned() and delivers.
        coro = self.coro
        if coro is not None and not self.entered:
            # Its task has not taken its first step (3.11, or a task factory):
            # cancelling the task would end it before _drive runs a line, so
            # nobody would deliver, and fn's coroutine was never awaited
            # (issue 17, item 3). Close it and deliver here.
            coro.close()
            self.deliver(CANCELLED)
        future.cancel()


async def _drive(call: Call, coro: Coroutine[Any, Any, Any]) -> None:
    # Hands the outcome straight to the waiter: no done callback, no second
    # future, so a trivial coroutine costs one loop iteration (none if eager).
    call.entered = True
    try:
        result = await coro
    except asyncio.CancelledError:
        call.deliver(CANCELLED)
        # The task keeps this error, whose traceback holds this frame: no
        # path back to the call (and its task) may remain in it.
        del call
        raise
    except GeneratorExit as exc:
        call.deliver(Error(exc))
        loop = call.portal.loop
        del call  # as below
        task = asyncio.current_task(loop) if loop is not None else None
        if task is not None and _runs_this_frame(task):
            # fn raised GeneratorExit (issue 17, item 1): it is the call's
            # outcome, delivered above; the task itself ends quietly.
            return
        # This coroutine is being closed (collected while pending): it must
        # not ignore GeneratorExit.
        raise
    except BaseException as exc:  # delivered to the caller
        call.deliver(Error(exc))
        del call  # as above: the error's traceback holds this frame
    else:
        call.deliver(Value(result))


def _runs_this_frame(task: asyncio.Task[Any]) -> bool:
    coro = task.get_coro()
    frame = inspect.currentframe()
    caller = frame.f_back if frame is not None else None
    return caller is not None and getattr(coro, "cr_frame", None) is caller


class BlockingCall(Call):
    """A call whose caller blocks on a lock (LoopThread.run)."""

    __slots__ = ("done", "gave_up", "outcome")

    def __init__(
        self,
        portal: Portal,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        super().__init__(portal, fn, args, kwargs)
        # A plain lock is the cheapest cross-thread wake-up: the caller blocks
        # in acquire() until the loop thread releases it.
        self.done = threading.Lock()
        self.done.acquire()
        self.outcome: Outcome | None = None
        self.gave_up = False

    def abandoned(self) -> bool:
        return self.gave_up

    def send(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.done.release()
        # The caller may have given up meanwhile (give_up()): whichever side
        # takes the released lock reports the outcome nobody will read.
        if self.gave_up and self.done.acquire(blocking=False):
            self._unreceived()

    def give_up(self) -> None:
        """On the caller's thread: it stops waiting (an interrupt)."""
        self.gave_up = True
        if self.done.acquire(blocking=False):
            self._unreceived()
        self.portal.cancel_soon(self)

    def _unreceived(self) -> None:
        outcome = self.outcome
        self.outcome = None
        if type(outcome) is Error:
            log_unreceived(outcome.error, "its LoopThread.run() caller gave up", chosen=True)


class SubmitCall(Call):
    """A call whose outcome goes to a concurrent future (LoopThread.submit)."""

    __slots__ = ("target",)

    def __init__(
        self,
        portal: Portal,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        target: concurrent.futures.Future[Any],
    ) -> None:
        super().__init__(portal, fn, args, kwargs)
        # Dropped on delivery: the target keeps its done callback (and so this
        # call) for good, and an exception's traceback may lead back here.
        self.target: concurrent.futures.Future[Any] | None = target

    def abandoned(self) -> bool:
        target = self.target
        return target is not None and target.cancelled()

    # The target stays PENDING (not RUNNING) until the outcome is known, so
    # that the caller's cancel() keeps working while the coroutine runs.
    def send(self, outcome: Outcome) -> None:
        target = self.target
        assert target is not None, "a call delivers its outcome once"
        self.target = None
        if type(outcome) is Cancelled:
            # cancel() alone does not wake concurrent.futures.wait(); the notify does (rule 4).
            target.cancel()
            target.set_running_or_notify_cancel()
        elif target.set_running_or_notify_cancel():
            if type(outcome) is Value:
                target.set_result(outcome.value)
            else:
                target.set_exception(cast("Error", outcome).error)
        elif type(outcome) is Error:
            log_unreceived(
                outcome.error, "its LoopThread.submit() future was cancelled", chosen=True
            )

    def on_caller_done(self, target: concurrent.futures.Future[Any]) -> None:
        # Runs on whichever thread completed the target.
        if target.cancelled() and not self.delivered:
            self.portal.cancel_soon(self)


class AwaitCall(Call):
    """A call awaited from another event loop (LoopThread.call)."""

    __slots__ = ("waiter",)

    def __init__(
        self,
        portal: Portal,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        waiter: asyncio.Future[Any],
    ) -> None:
        super().__init__(portal, fn, args, kwargs)
        # Dropped on delivery, so that an exception's traceback cannot lead
        # back to the waiter through this call.
        self.waiter: asyncio.Future[Any] | None = waiter

    def abandoned(self) -> bool:
        # done() of a foreign future is a single attribute read (_outcome rule 1).
        waiter = self.waiter
        return waiter is not None and waiter.done()

    def send(self, outcome: Outcome) -> None:
        waiter = self.waiter
        assert waiter is not None, "a call delivers its outcome once"
        self.waiter = None
        hop = _Settle(waiter, outcome)
        try:
            waiter.get_loop().call_soon_threadsafe(hop)
        except RuntimeError:
            hop.dropped("the event loop awaiting LoopThread.call() is closed")


class _Settle:
    """Hands an outcome to a waiter on its own loop.

    If that loop is closed before running this (stopped, then closed), the
    exception it carried is logged when asyncio drops it (rule 3).
    """

    __slots__ = ("outcome", "waiter")

    def __init__(self, waiter: asyncio.Future[Any], outcome: Outcome) -> None:
        self.waiter = waiter
        self.outcome: Outcome | None = outcome

    def __call__(self) -> None:
        outcome = self.outcome
        self.outcome = None
        waiter = self.waiter
        if type(outcome) is Value:
            set_result_unless_done(waiter, outcome.value)
        elif type(outcome) is Error:
            if not waiter.done():
                waiter.set_exception(outcome.error)
            else:
                log_unreceived(
                    outcome.error, "its LoopThread.call() caller had cancelled", chosen=True
                )
        elif outcome is not None:
            waiter.cancel()

    def dropped(self, why: str) -> None:
        outcome = self.outcome
        self.outcome = None
        if type(outcome) is Error:
            log_unreceived(outcome.error, why, chosen=False)

    def __del__(self) -> None:
        self.dropped(
            "the event loop awaiting LoopThread.call() closed before it could run the delivery"
        )


class LoopFuture(concurrent.futures.Future[_T], Generic[_T]):
    """A concurrent future that refuses to block on the loop thread (rule 5)."""

    def __init__(self, loop_thread_id: int | None) -> None:
        super().__init__()
        self._futurebridge_loop_thread_id = loop_thread_id

    def result(self, timeout: float | None = None) -> _T:
        if not self.done() and _get_ident() == self._futurebridge_loop_thread_id:
            raise RuntimeError(deadlock_message("result() of a LoopThread.submit() future"))
        return super().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        if not self.done() and _get_ident() == self._futurebridge_loop_thread_id:
            raise RuntimeError(deadlock_message("exception() of a LoopThread.submit() future"))
        return super().exception(timeout)


# --- helpers ------------------------------------------------------------------------


def to_future(
    obj: object, loop: asyncio.AbstractEventLoop, fn: Callable[..., Any]
) -> asyncio.Future[Any]:
    try:
        future: asyncio.Future[Any] = to_asyncio_future(cast("Awaitable[Any]", obj), loop=loop)
    except TypeError as exc:
        raise TypeError(
            f"{_name_of(fn)} returned a value LoopThread cannot wait for: {exc}"
        ) from None
    return future


def deadlock_message(what: str) -> str:
    return (
        f"{what} was called on the LoopThread's own thread: it would block the very "
        "loop that has to run the call, a deadlock. In code running on that loop, "
        "use `await loop_thread.call(fn, ...)` (or await fn(...) directly) instead"
    )


def _name_of(fn: Callable[..., Any]) -> str:
    name = getattr(fn, "__qualname__", None)
    return f"{name}()" if isinstance(name, str) else repr(fn)
