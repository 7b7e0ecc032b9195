"""An IOLoop running on a thread of its own: the thread, around a portal.

This module owns :class:`LoopThread`, a thin shell: it makes the loop on a new
thread, hands it to a :class:`~futurebridge._portal.Portal` that runs it, and
stops and joins that thread; its methods that take calls (``submit``, ``run``,
``call``) wrap the caller's function in a call and pass it through the
portal. What a call lives through on the loop (admission, start, cancel,
delivery, the drain when the loop ends) is the portal's (``_portal``); the
IOLoop is ``_ioloop``'s and the conversion of yieldables ``_convert``'s.

Rules that hold across this module:

1. ``start()`` and ``close()`` are serialised by ``_lifecycle``; ``_state``
   says where the thread is. Either may be interrupted (Ctrl-C): the next
   ``close()`` still ends the thread, from any state.
2. Whether the thread ended is this module's own event, set as the thread's
   last act, not ``Thread.is_alive()`` or ``join()``: on 3.11 and 3.12 a
   ``join()`` interrupted by Ctrl-C can mark a running thread stopped (a
   CPython bug; 3.13's joins, built on thread handles, do not), and
   ``close()`` would then leave the thread running.
3. Nothing blocks on the loop thread waiting for the loop: that is a deadlock,
   so it raises RuntimeError instead.
4. A fork copies no thread: in a forked child every LoopThread of the parent
   is closed, and using it says so.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

from ._convert import _a_type_name  # pyright: ignore[reportPrivateUsage]
from ._ioloop import AsyncIOLoop
from ._outcome import Error, Value
from ._portal import (
    AwaitCall,
    BlockingCall,
    LoopFuture,
    Portal,
    SubmitCall,
    deadlock_message,
    to_future,
)

if TYPE_CHECKING:
    from types import TracebackType
    from typing import Self

__all__ = ("LoopThread",)

_P = ParamSpec("_P")
_T = TypeVar("_T")

logger = logging.getLogger("futurebridge")

_get_ident = threading.get_ident
_MAIN_THREAD_ID = threading.main_thread().ident
_SIGNAL_CHECK_INTERVAL = 0.1  # seconds

# States of a LoopThread; compared by identity on the hot path.
_NEW = "not started"
_STARTING = "starting"
_RUNNING = "running"
_CLOSING = "closing"
_CLOSED = "closed"


class LoopThread:
    """An :class:`~futurebridge.AsyncIOLoop` running on a daemon thread of its own.

    Use it as a context manager: entering starts the thread and returns once
    the loop runs; leaving cancels every call still pending on the loop, waits
    for them to end, shuts the loop's default executor down, closes the loop
    and joins the thread, so no thread or file descriptor outlives the block.
    :meth:`start` and :meth:`close` do the same explicitly. A LoopThread runs
    once: it cannot be restarted after it closed.

    From any other thread, :meth:`submit` schedules ``fn(*args, **kwargs)`` on
    the loop and returns a :class:`concurrent.futures.Future`, and :meth:`run`
    does the same and blocks for the result. From another event loop,
    ``await`` :meth:`call`. *fn* is called on the loop thread, in a copy of the
    caller's :mod:`contextvars` context, and may return any yieldable (a
    coroutine, an asyncio or Tornado future, the result of a
    ``@gen.coroutine`` function, a :class:`concurrent.futures.Future`, ``None``,
    a list or dict of those...), which is then awaited on the loop.

    Outcomes are carried exactly: results, exceptions with their original
    tracebacks, cancellations. Cancellation crosses the thread both ways.

    Example::

        import threading

        from futurebridge import LoopThread

        async def where(greeting: str) -> str:
            return f"{greeting} from {threading.current_thread().name}"

        with LoopThread(name="worker") as lt:
            print(lt.run(where, "hello"))  # hello from worker

    :param loop_factory: makes the asyncio event loop the IOLoop runs on (for
        example ``uvloop.new_event_loop``); by default a new asyncio loop. It is
        called on the loop thread and must return a new, open event loop, which
        the LoopThread owns and closes.
    :param name: the thread's name.

    .. versionadded:: 0.1
    """

    def __init__(
        self,
        *,
        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None,
        name: str = "futurebridge-loop",
    ) -> None:
        # Checked here, not when the thread starts: an untyped caller may pass
        # anything, and the mistake belongs to this line of their code.
        given: object = loop_factory
        if given is not None and not callable(given):
            hint = ""
            if isinstance(given, str):
                hint = " (for uvloop: LoopThread(loop_factory=uvloop.new_event_loop))"
            raise TypeError(
                "LoopThread(loop_factory=...) needs a function that returns a new asyncio "
                "event loop, such as asyncio.new_event_loop, "
                f"got {_a_type_name(given)}{hint}"
            )
        self._loop_factory = loop_factory
        self._name = name
        # Serialises start() and close() with each other (rule 1).
        self._lifecycle = threading.Lock()
        self._state = _NEW
        self._portal = Portal(self._unavailable)
        self._thread: threading.Thread | None = None
        # Set by the thread as its last act (rule 2).
        self._ended = threading.Event()
        self._ioloop: AsyncIOLoop | None = None
        self._start_error: BaseException | None = None
        # A close() was interrupted: the next one cancels everything again.
        self._close_interrupted = False
        self._forked = False
        _instances.add(self)

    def __repr__(self) -> str:
        return f"<LoopThread {self._name!r} {self._state}>"

    # --- lifecycle ----------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Start the thread and return once its loop is running.

        If the wait is interrupted (``KeyboardInterrupt`` while a slow
        *loop_factory* runs), the interruption propagates and the LoopThread
        stays "starting": :meth:`close` then stops the thread as soon as its
        loop exists.

        :raises RuntimeError: if this LoopThread was already started or closed.
        :raises Exception: whatever *loop_factory* or the IOLoop raised on the
            new thread; the thread has then ended and this LoopThread is closed.
        """
        with self._lifecycle:
            if self._state is not _NEW:
                raise RuntimeError(
                    f"LoopThread.start(): this LoopThread is {self._state}, and a "
                    "LoopThread runs only once: create a new one"
                )
            self._state = _STARTING
            ready = threading.Event()
            thread = threading.Thread(
                target=self._run_thread, args=(ready,), name=self._name, daemon=True
            )
            self._thread = thread
            thread.start()
            _wait(ready)
            error = self._start_error
            if error is not None:
                _wait(self._ended)
                thread.join()
                self._state = _CLOSED
                self._start_error = None
                try:
                    raise error
                finally:
                    del error
            if self._state is _STARTING:  # not closed by code on the loop meanwhile
                self._state = _RUNNING

    def close(self) -> None:
        """Stop the loop and join its thread; do nothing if already closed.

        Calls still pending on the loop are cancelled (their callers see a
        cancellation) and awaited; async generators are finalised; the
        default executor is shut down and waited for; then the IOLoop and its
        asyncio loop are closed and the thread joined. Futures of this loop
        bridged to other loops get the outcome they already have, or, if still
        pending, fail with a RuntimeError. A coroutine that ignores
        cancellation keeps ``close`` waiting; if that wait is interrupted
        (Ctrl-C), the next ``close()`` cancels everything on the loop once
        more and waits again.

        Closing a LoopThread that was never started just marks it closed; one
        whose start was interrupted stops as soon as its loop exists.

        :raises RuntimeError: if called on the loop thread itself: it would
            wait for its own thread to end. Close it from another thread.
        """
        thread_id = self._portal.thread_id
        if thread_id is not None and _get_ident() == thread_id:
            raise RuntimeError(
                "LoopThread.close() was called on the loop thread itself: it would wait "
                "for its own thread to end, a deadlock. Close it from another thread "
                "(for example the one that started it)"
            )
        with self._lifecycle:
            state = self._state
            if state is _CLOSED:
                return
            if state is _NEW or self._forked:
                self._portal.close()
                self._state = _CLOSED
                return
            self._state = _CLOSING
            again = self._close_interrupted
            # Set before anything reaches the loop: a Ctrl-C landing anywhere
            # from here on leaves the next close() cancelling once more.
            self._close_interrupted = True
            self._portal.close()
            # Every time: an earlier close() may have been interrupted before
            # it began the shutdown. On the loop, only the first one counts.
            self._portal.begin_shutdown()
            if again:
                self._portal.cancel_everything_soon()
            _wait(self._ended)
            self._close_interrupted = False
            if (error := self._start_error) is not None:
                # start() was interrupted before it could raise this.
                self._start_error = None
                logger.error(
                    "futurebridge: LoopThread %r failed to start", self._name, exc_info=error
                )
                del error
            assert self._thread is not None
            # Past the thread's last line of ours; it only has to exit now.
            self._thread.join()
            self._state = _CLOSED

    @property
    def ioloop(self) -> AsyncIOLoop:
        """The IOLoop running on the thread (``IOLoop.current()`` there).

        From other threads use only its thread-safe methods, such as
        :meth:`~tornado.ioloop.IOLoop.add_callback`; or :meth:`run` code on it.

        :raises RuntimeError: before :meth:`start`.
        """
        if self._ioloop is None or self._forked:
            raise RuntimeError(self._unavailable("ioloop"))
        return self._ioloop

    @property
    def asyncio_loop(self) -> asyncio.AbstractEventLoop:
        """The asyncio event loop running on the thread (``ioloop.asyncio_loop``).

        From other threads use only its thread-safe methods, such as
        :meth:`~asyncio.loop.call_soon_threadsafe`.

        :raises RuntimeError: before :meth:`start`.
        """
        if self._ioloop is None or self._forked:
            raise RuntimeError(self._unavailable("asyncio_loop"))
        return self._ioloop.asyncio_loop

    def _unavailable(self, what: str) -> str:
        if self._forked:
            return (
                f"LoopThread.{what} was used in a forked child process: the LoopThread "
                "belongs to the parent, and a fork does not copy its thread; start a new "
                "LoopThread in the child"
            )
        if self._state is _CLOSED:
            return (
                f"LoopThread.{what} was used after the LoopThread was closed: its "
                "loop no longer runs; start a new LoopThread"
            )
        if self._state is _CLOSING or self._ended.is_set() or self._ioloop is not None:
            return (
                f"LoopThread.{what} was used while the LoopThread is closing (or after "
                "its loop was stopped): its loop no longer takes calls"
            )
        return (
            f"LoopThread.{what} was used before the LoopThread was started: use it as "
            "`with LoopThread() as lt:` or call start() first"
        )

    def _run_thread(self, ready: threading.Event) -> None:
        try:
            try:
                asyncio_loop = None
                if self._loop_factory is not None:
                    made = self._loop_factory()
                    # Checked at run time: an untyped caller may pass any factory.
                    if not isinstance(made, asyncio.AbstractEventLoop):  # pyright: ignore[reportUnnecessaryIsInstance]
                        raise TypeError(
                            f"LoopThread's loop_factory must return an asyncio event loop, "
                            f"got {_a_type_name(made)}"
                        )
                    asyncio_loop = made
                try:
                    # Created on this thread, so it becomes this thread's current loop
                    # (IOLoop.current() and asyncio.get_event_loop() find it here).
                    ioloop = AsyncIOLoop(asyncio_loop=asyncio_loop)
                except BaseException:
                    if asyncio_loop is not None:
                        asyncio_loop.close()  # ours to close, as it would have been the IOLoop's
                    raise
            except BaseException as exc:  # start() raises it
                self._start_error = exc
                return
            self._ioloop = ioloop
            self._portal.serve(ioloop, ready.set)
        finally:
            ready.set()
            self._ended.set()

    @overload
    def submit(
        self, fn: Callable[_P, Awaitable[_T]], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> concurrent.futures.Future[_T]: ...
    @overload
    def submit(
        self,
        fn: Callable[_P, concurrent.futures.Future[_T]],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> concurrent.futures.Future[_T]: ...
    @overload
    def submit(
        self, fn: Callable[_P, None], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> concurrent.futures.Future[None]: ...
    def submit(
        self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
    ) -> concurrent.futures.Future[Any]:
        """Schedule ``fn(*args, **kwargs)`` on the loop; return a concurrent future of its outcome.

        Thread-safe; callable from any thread, the loop thread included (but
        do not block on the result there). *fn* runs on the loop thread in a
        copy of the caller's context and returns any yieldable, which is then
        awaited on the loop. Keyword arguments are passed on as they are.

        Cancelling the returned future cancels *fn*'s coroutine (or future) on
        the loop thread; if that coroutine is cancelled on the loop, the
        returned future is cancelled. Exceptions keep their tracebacks.
        Calling ``result()`` or ``exception()`` of the returned future on the
        loop thread while it is pending raises RuntimeError (it would deadlock).

        :raises TypeError: if *fn* is not callable. If *fn* returns something
            that is not a yieldable, the returned future fails with TypeError.
        :raises RuntimeError: before :meth:`start` or once :meth:`close` began.
        """
        if not callable(fn):
            raise TypeError(_not_callable_message("submit", fn))
        portal = self._portal
        future: LoopFuture[Any] = LoopFuture(portal.thread_id)
        call = SubmitCall(portal, fn, args, kwargs, future)
        future.add_done_callback(call.on_caller_done)
        portal.admit(call, "submit()")
        return future

    @overload
    def run(
        self, fn: Callable[_P, Awaitable[_T]], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> _T: ...
    @overload
    def run(
        self,
        fn: Callable[_P, concurrent.futures.Future[_T]],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T: ...
    @overload
    def run(self, fn: Callable[_P, None], /, *args: _P.args, **kwargs: _P.kwargs) -> None: ...
    def run(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` on the loop; block until it ends; return its result.

        For use from threads that do not run an event loop. *fn* runs on the
        loop thread in a copy of the caller's context and returns any
        yieldable, which is awaited there. Its exception is raised here with
        its original traceback; if it is cancelled on the loop (for example by
        :meth:`close`), :class:`concurrent.futures.CancelledError` is raised. If
        the wait is interrupted (``KeyboardInterrupt``), the call is cancelled on
        the loop and the interruption propagates.

        :raises RuntimeError: if called on the loop thread itself (it would
            deadlock: use ``await loop_thread.call(...)`` there), before
            :meth:`start`, or once :meth:`close` began.
        :raises TypeError: if *fn* is not callable, or returned something that
            is not a yieldable.
        """
        portal = self._portal
        if _get_ident() == portal.thread_id:
            raise RuntimeError(deadlock_message("LoopThread.run()"))
        if not callable(fn):
            raise TypeError(_not_callable_message("run", fn))
        call = BlockingCall(portal, fn, args, kwargs)
        try:
            portal.admit(call, "run()")
            _acquire(call.done)
        except BaseException:
            # Also a KeyboardInterrupt landing inside admit(), after the call
            # was queued: the call may have started, so cancel it either way.
            call.give_up()
            raise
        outcome = call.outcome
        call.outcome = None
        if type(outcome) is Value:
            return outcome.value
        error = outcome.error if type(outcome) is Error else concurrent.futures.CancelledError()
        # Break the cycle error -> traceback -> _drive's frame -> call -> error.
        del outcome, call
        try:
            raise error
        finally:
            del error

    @overload
    async def call(
        self, fn: Callable[_P, Awaitable[_T]], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> _T: ...
    @overload
    async def call(
        self,
        fn: Callable[_P, concurrent.futures.Future[_T]],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T: ...
    @overload
    async def call(
        self, fn: Callable[_P, None], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> None: ...
    async def call(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Run ``fn(*args, **kwargs)`` on the loop and await its result from another loop.

        The awaiting event loop keeps running meanwhile. *fn* runs on the loop
        thread in a copy of the caller's context and returns any yieldable.
        Cancelling the awaiting task cancels *fn*'s coroutine on the loop
        thread (without waiting for it to end); a cancellation on the loop
        raises :class:`asyncio.CancelledError` here. Exceptions keep their
        tracebacks. Awaited on the LoopThread's own loop, *fn* simply runs there.

        :raises RuntimeError: with no running event loop, before :meth:`start`,
            or once :meth:`close` began.
        :raises TypeError: if *fn* is not callable, or returned something that
            is not a yieldable.
        """
        if not callable(fn):
            raise TypeError(_not_callable_message("call", fn))
        caller_loop = asyncio.get_running_loop()
        portal = self._portal
        if caller_loop is portal.loop:
            return await to_future(fn(*args, **kwargs), caller_loop, fn)
        waiter: asyncio.Future[Any] = caller_loop.create_future()
        call = AwaitCall(portal, fn, args, kwargs, waiter)
        portal.admit(call, "call()")
        try:
            return await waiter
        finally:
            if waiter.cancelled() and not call.delivered:
                portal.cancel_soon(call)
            # An error raised here keeps this frame in its traceback, and the
            # waiter keeps the error: drop the waiter so they form no cycle.
            del waiter, call


def _not_callable_message(method: str, fn: object) -> str:
    name = _a_type_name(fn)
    hint = ""
    if isinstance(fn, Awaitable | concurrent.futures.Future):
        hint = (
            f": pass the function and its arguments, as in lt.{method}(fetch, url), "
            f"not lt.{method}(fetch(url))"
        )
    return f"LoopThread.{method}() needs a callable that returns a yieldable, got {name}{hint}"


def _acquire(lock: threading.Lock) -> None:
    if _get_ident() == _MAIN_THREAD_ID:
        # A signal (Ctrl-C) landing after the interpreter's last check but
        # before the wait blocks would otherwise go unnoticed until the wait
        # ends: wake up now and then, so it is handled promptly.
        while not lock.acquire(timeout=_SIGNAL_CHECK_INTERVAL):
            pass
    else:
        lock.acquire()


def _wait(event: threading.Event) -> None:
    if _get_ident() == _MAIN_THREAD_ID:
        while not event.wait(_SIGNAL_CHECK_INTERVAL):  # as in _acquire
            pass
    else:
        event.wait()


# Every LoopThread, for the fork handler (rule 4).
_instances: weakref.WeakSet[LoopThread] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for loop_thread in list(_instances):
        loop_thread._forked = True  # pyright: ignore[reportPrivateUsage]
        loop_thread._lifecycle = threading.Lock()  # pyright: ignore[reportPrivateUsage]
        loop_thread._portal.forget_after_fork()  # pyright: ignore[reportPrivateUsage]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
