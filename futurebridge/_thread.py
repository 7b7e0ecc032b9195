"""An IOLoop running on a thread of its own, and calls into it from anywhere.

This module owns :class:`LoopThread`: starting and stopping the thread, and
accepting calls (a function returning any yieldable) from other threads and
other event loops and scheduling them onto the loop. It does not own what a
call does there and how its outcome gets back (``_thread_calls``), the IOLoop
itself (``_ioloop``) nor the conversion of yieldables (``_convert``).

Rules that hold across this module:

1. The loop's objects (its tasks and futures, ``_pending``) are touched only on
   the loop thread (as in ``_thread_calls``, rule 1), and each call crosses
   into the loop with exactly one ``call_soon_threadsafe``.
2. A call is scheduled under ``_lock`` after checking ``_state``, and ``close``
   flips ``_state`` under that same lock before it schedules the shutdown. So
   every accepted call starts before the shutdown begins and is cancelled by
   it: no call can slip into a stopped loop and leave its caller hanging.
3. Nothing blocks on the loop thread waiting for the loop: that is a deadlock,
   so it raises RuntimeError instead.
4. The hot path (``run``) is lean on purpose: one lock to wait on, no
   concurrent future; the call it makes is ``_thread_calls``' lightest kind
   (that module's rule 4).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

from ._convert import _a_type_name  # pyright: ignore[reportPrivateUsage]
from ._ioloop import AsyncIOLoop
from ._thread_calls import (
    _AwaitCall,
    _BlockingCall,
    _Call,
    _deadlock_message,
    _LoopFuture,
    _SubmitCall,
    _to_future,
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
        # Guards _state and the scheduling of calls (rule 2).
        self._lock = threading.Lock()
        # Serialises start() and close() with each other.
        self._lifecycle = threading.Lock()
        self._state = _NEW
        self._thread: threading.Thread | None = None
        self._thread_id: int | None = None
        self._ioloop: AsyncIOLoop | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._start_error: BaseException | None = None
        # Calls started and not yet ended. The loop keeps only weak references
        # to tasks: this keeps a task alive even if its caller dropped its
        # future, and lets the shutdown cancel futures that are not tasks.
        self._pending: set[_Call] = set()
        self._shutdown_task: asyncio.Task[None] | None = None

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

        :raises RuntimeError: if this LoopThread was already started or closed.
        :raises Exception: whatever *loop_factory* or the IOLoop raised on the
            new thread; the thread has then ended and this LoopThread is closed.
        """
        with self._lifecycle:
            with self._lock:
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
            ready.wait()
            error = self._start_error
            if error is not None:
                thread.join()
                with self._lock:
                    self._state = _CLOSED
                self._start_error = None
                try:
                    raise error
                finally:
                    del error
            with self._lock:
                self._state = _RUNNING

    def close(self) -> None:
        """Stop the loop and join its thread; do nothing if already closed.

        Calls still pending on the loop are cancelled (their callers see a
        cancellation) and awaited; async generators are finalised; the
        default executor is shut down and waited for; then the IOLoop and its
        asyncio loop are closed and the thread joined. Futures of this loop
        bridged to other loops still pending then fail with a RuntimeError.
        A coroutine that ignores cancellation keeps ``close`` waiting.

        Closing a LoopThread that was never started just marks it closed.

        :raises RuntimeError: if called on the loop thread itself: it would
            wait for its own thread to end. Close it from another thread.
        """
        if self._thread_id is not None and _get_ident() == self._thread_id:
            raise RuntimeError(
                "LoopThread.close() was called on the loop thread itself: it would wait "
                "for its own thread to end, a deadlock. Close it from another thread "
                "(for example the one that started it)"
            )
        with self._lifecycle:
            with self._lock:
                state = self._state
                if state is _NEW:
                    self._state = _CLOSED
                    return
                if state is _CLOSED:
                    return
                if state is _RUNNING:
                    self._state = _CLOSING
                    assert self._loop is not None
                    # A loop already closed means its thread is ending by itself.
                    with contextlib.suppress(RuntimeError):
                        self._loop.call_soon_threadsafe(self._begin_shutdown)
            assert self._thread is not None
            self._thread.join()
            with self._lock:
                self._state = _CLOSED

    @property
    def ioloop(self) -> AsyncIOLoop:
        """The IOLoop running on the thread (``IOLoop.current()`` there).

        From other threads use only its thread-safe methods, such as
        :meth:`~tornado.ioloop.IOLoop.add_callback`; or :meth:`run` code on it.

        :raises RuntimeError: before :meth:`start`.
        """
        if self._ioloop is None:
            raise RuntimeError(self._unavailable("ioloop"))
        return self._ioloop

    @property
    def asyncio_loop(self) -> asyncio.AbstractEventLoop:
        """The asyncio event loop running on the thread (``ioloop.asyncio_loop``).

        From other threads use only its thread-safe methods, such as
        :meth:`~asyncio.loop.call_soon_threadsafe`.

        :raises RuntimeError: before :meth:`start`.
        """
        if self._loop is None:
            raise RuntimeError(self._unavailable("asyncio_loop"))
        return self._loop

    def _unavailable(self, what: str) -> str:
        if self._state is _CLOSED:
            return (
                f"LoopThread.{what} was used after the LoopThread was closed: its "
                "loop no longer runs; start a new LoopThread"
            )
        if self._state is _CLOSING:
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
        except BaseException as exc:
            self._start_error = exc
            ready.set()
            return
        loop = ioloop.asyncio_loop
        self._ioloop = ioloop
        self._loop = loop
        self._thread_id = _get_ident()
        loop.call_soon(ready.set)
        try:
            ioloop.start()
            if self._shutdown_task is None:
                # Code on the loop stopped it directly, not through close(): shut
                # down just the same, so that no caller is left waiting (rule 2).
                with self._lock:
                    self._state = _CLOSING
                self._shutdown_task = loop.create_task(self._shutdown())
                ioloop.start()
            shutdown = self._shutdown_task
            if not shutdown.cancelled() and (failure := shutdown.exception()) is not None:
                logger.error("futurebridge: LoopThread's shutdown failed", exc_info=failure)
        finally:
            # Also fails the waiters of this loop's futures bridged elsewhere.
            ioloop.close()
            with self._lock:
                if self._state is _RUNNING:
                    # The thread died without close() (an interrupt on the
                    # loop): take no more calls; close() only joins now.
                    self._state = _CLOSING
            # Thread ids are reused: a later thread must not look like this one.
            self._thread_id = None

    def _begin_shutdown(self) -> None:
        assert self._loop is not None
        self._shutdown_task = self._loop.create_task(self._shutdown())

    async def _shutdown(self) -> None:
        loop = asyncio.get_running_loop()
        this = asyncio.current_task()
        try:
            # Each task is cancelled once: cancelling again would interrupt the
            # cleanup it runs in response (a finally block that awaits).
            cancelled: set[asyncio.Future[Any]] = set()
            for call in list(self._pending):
                if call.future is not None:
                    cancelled.add(call.future)
                    call.future.cancel()
            # Let the cancelled futures' done callbacks tell their callers.
            await asyncio.sleep(0)
            # Cleanup may start new tasks: repeat until none is left.
            while tasks := {task for task in asyncio.all_tasks(loop) if task is not this}:
                for task in tasks - cancelled:
                    task.cancel()
                cancelled |= tasks
                await asyncio.gather(*tasks, return_exceptions=True)
                for task in tasks:
                    if not task.cancelled() and (exc := task.exception()) is not None:
                        loop.call_exception_handler(
                            {
                                "message": "unhandled exception of a task cancelled while "
                                "its LoopThread closed",
                                "exception": exc,
                                "task": task,
                            }
                        )
            await loop.shutdown_asyncgens()
            await loop.shutdown_default_executor()
        finally:
            loop.stop()

    # --- calls --------------------------------------------------------------------

    def _schedule(self, call: _Call, method: str) -> None:
        context = contextvars.copy_context()
        with self._lock:
            if self._state is not _RUNNING:
                raise RuntimeError(self._unavailable(method))
            # Rule 2: inside the lock, so close() cannot slip in between.
            self._loop.call_soon_threadsafe(call.start, context=context)  # type: ignore[union-attr]  # pyright: ignore[reportOptionalMemberAccess]

    def _cancel_soon(self, call: _Call) -> None:
        loop = self._loop
        if loop is None:
            return
        # A closed loop has already ended (and cancelled) everything on it.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(call.cancel_on_loop)

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
        future: _LoopFuture[Any] = _LoopFuture(self._thread_id)
        call = _SubmitCall(self, fn, args, kwargs, future)
        future.add_done_callback(call.on_caller_done)
        self._schedule(call, "submit()")
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
        if _get_ident() == self._thread_id:
            raise RuntimeError(_deadlock_message("LoopThread.run()"))
        if not callable(fn):
            raise TypeError(_not_callable_message("run", fn))
        call = _BlockingCall(self, fn, args, kwargs)
        try:
            self._schedule(call, "run()")
            if _get_ident() == _MAIN_THREAD_ID:
                # A signal (Ctrl-C) landing after the interpreter's last check
                # but before the wait blocks would otherwise go unnoticed until
                # the call ends: wake up now and then, so it is handled promptly.
                while not call.done.acquire(timeout=_SIGNAL_CHECK_INTERVAL):
                    pass
            else:
                call.done.acquire()
        except BaseException:
            # Also a KeyboardInterrupt landing inside _schedule, after the call
            # was queued: the call may have started, so cancel it either way.
            call.gave_up = True
            self._cancel_soon(call)
            raise
        error = call.error
        if error is not None:
            # Break the cycle error -> traceback -> _drive's frame -> call -> error.
            call.error = None
            try:
                raise error
            finally:
                del error, call
        return call.value

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
        if caller_loop is self._loop:
            return await _to_future(fn(*args, **kwargs), caller_loop, fn)
        waiter: asyncio.Future[Any] = caller_loop.create_future()
        call = _AwaitCall(self, fn, args, kwargs, waiter)
        self._schedule(call, "call()")
        try:
            return await waiter
        finally:
            if waiter.cancelled() and not call.delivered:
                self._cancel_soon(call)
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
