"""futurebridge's own Tornado IOLoops: :class:`AsyncIOMainLoop` and :class:`AsyncIOLoop`.

This module owns the two IOLoop classes and what they do: run Tornado's
IOLoop primitives on an asyncio loop. It does not own how a callback runs
once scheduled (``_callbacks``: Tornado's error-logging contract), how a
thread's asyncio loop is found (``_current_loop``), the patch that lets
Tornado's ``IOLoop.configure`` and ``IOLoop.current`` create these classes
(``_tornado_patch``, which also lists everything importing futurebridge
changes in Tornado), threads (``_thread`` runs a loop on its own thread) nor
conversions (``_convert``; this module only tells it when a loop closes).

Both classes subclass :class:`tornado.ioloop.IOLoop` directly, not the classes
of :mod:`tornado.platform.asyncio`: every IOLoop primitive (file-descriptor
handlers, timeouts, callbacks, executors, start/stop/close) is implemented
here on the asyncio event-loop API, so any asyncio loop works underneath,
uvloop's included (rule 3 says where asyncio's own loop gets a faster path).

Rules that hold across this module:

1. One asyncio loop has at most one IOLoop: registration is a single
   ``setdefault`` on Tornado's map, and a clash is a RuntimeError.
2. Fast paths call the asyncio loop directly, with no per-call wrapper
   object: callbacks go to asyncio as ``_callbacks``' :func:`_run_callback`
   or its handles, with their arguments in the asyncio handle (that
   module's rule 1).
3. The hot paths (``add_callback`` on the loop's thread, ``call_later``,
   ``call_at``) must cost little more than asyncio's own ``call_soon`` and
   ``call_later``, so on asyncio's ``BaseEventLoop`` they take the fast
   paths of ``_asyncio_internals`` (a handle queued as ``call_soon`` and
   ``call_at`` would, minus checks that cannot fail there). Those handles
   come from ``_callbacks``: they apply Tornado's callback contract
   themselves, so no wrapper callback runs. In debug mode, on a closed loop,
   on any other loop (uvloop), or with private paths off, the public methods
   are used, and the thread is known from :meth:`start` and
   :meth:`run_sync`, else by asking asyncio.
4. Nothing here creates an asyncio loop implicitly through
   ``asyncio.get_event_loop()`` (deprecated, warning on 3.12 and 3.13): the
   loop set for a thread is read through ``_current_loop``, without side
   effects, and a loop is created only where Tornado would have created one,
   explicitly.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import types
import warnings
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from threading import get_ident as _get_ident
from time import time as _time
from typing import (
    Any,
    Concatenate,
    ParamSpec,
    Protocol,
    Self,
    TypeVar,
    TypeVarTuple,
    cast,
    overload,
)

import tornado.gen
from tornado.concurrent import Future
from tornado.ioloop import IOLoop

from ._asyncio_internals import (
    BaseLoopPaths,
    IOLoopHooks,
    base_loop_paths,
    ioloop_registry,
    running_loop,
)
from ._callbacks import (
    CALLBACK_HANDLE,
    CALLBACK_TIMER_HANDLE,
    _bind,
    _describe,
    _run_callback,
    _run_handler,
)
from ._convert import (
    to_asyncio_future,
)
from ._current_loop import _set_event_loop, _thread_loop, set_thread_loop
from ._outcome import fail_bridges_from

__all__ = ("AsyncIOLoop", "AsyncIOMainLoop")

_T = TypeVar("_T")
_K = TypeVar("_K")
_S = TypeVar("_S", bound="_Selectable")
_P = ParamSpec("_P")
_Ts = TypeVarTuple("_Ts")

logger = logging.getLogger("futurebridge")

_CoroutineType = types.CoroutineType
_READ = IOLoop.READ
_WRITE = IOLoop.WRITE


class _Selectable(Protocol):
    """A file-like object :meth:`IOLoop.add_handler` accepts instead of an fd."""

    def fileno(self) -> int:
        """The file descriptor to watch."""
        ...

    def close(self) -> None:
        """Close it (``IOLoop.close(all_fds=True)`` calls this)."""
        ...


# --- the loops -----------------------------------------------------------------------


class _BridgeIOLoop(IOLoopHooks, IOLoop):
    """The IOLoop primitives, on the asyncio loop in ``self.asyncio_loop``."""

    asyncio_loop: asyncio.AbstractEventLoop
    """The asyncio event loop this IOLoop runs on."""

    _handlers: dict[int, tuple[Any, Callable[..., object]]]
    _readers: set[int]
    _writers: set[int]
    _default_executor: concurrent.futures.Executor | None
    # The fast paths into the asyncio loop, where it has them (rule 3).
    _fast: BaseLoopPaths | None
    _thread_ident: int | None
    _tasks: set[Future[Any]]

    def _setup(self, asyncio_loop: asyncio.AbstractEventLoop) -> None:
        if not isinstance(asyncio_loop, asyncio.AbstractEventLoop):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                f"asyncio_loop= must be an asyncio event loop, got {type(asyncio_loop).__name__}"
            )
        if asyncio_loop.is_closed():
            raise RuntimeError(
                f"cannot create an IOLoop on {asyncio_loop!r}, which is closed: "
                "pass an open event loop, or none to create a new one"
            )
        self.asyncio_loop = asyncio_loop
        self._handlers = {}
        self._readers = set()
        self._writers = set()
        self._default_executor = None
        self._fast = base_loop_paths(asyncio_loop)
        self._thread_ident = None
        self._tasks = set()
        registry = ioloop_registry()
        # Loops closed through asyncio (not IOLoop.close()) leave stale
        # entries behind; drop them so a program making many loops does not
        # accumulate them (Tornado does the same).
        for stale in [loop for loop in registry if loop.is_closed()]:
            registry.pop(stale, None)
        existing = registry.setdefault(asyncio_loop, self)
        if existing is not self:
            raise RuntimeError(
                f"{asyncio_loop!r} already has an IOLoop ({existing!r}); an asyncio loop can "
                "belong to only one IOLoop: use IOLoop.current() on that loop to get it, "
                "or create this IOLoop on another asyncio loop"
            )

    def _unregister(self) -> None:
        registry = ioloop_registry()
        if registry.get(self.asyncio_loop) is self:
            del registry[self.asyncio_loop]

    # Tornado keeps the tasks it starts (convert_yielded, gen.coroutine)
    # alive in one class-level set, forever if their loop closes first; ours
    # are kept per loop, and let go by close().
    def _register_task(self, f: Future[Any]) -> None:
        self._tasks.add(f)

    def _unregister_task(self, f: Future[Any]) -> None:
        self._tasks.discard(f)

    def install(self) -> None:
        """Make this loop current for the calling thread.

        Its asyncio loop becomes the thread's current event loop (as with
        :func:`asyncio.set_event_loop`), so ``asyncio.get_event_loop()`` and
        ``IOLoop.current()`` return it. Unlike Tornado's deprecated
        ``IOLoop.install()``, this does not warn.
        """
        self.became_current()

    def close(self, all_fds: bool = False) -> None:
        """Close the loop and its asyncio loop, freeing their resources.

        The loop must be stopped first (``stop()`` called *and* ``start()``
        returned). With *all_fds*, the file descriptors (or file objects)
        still registered with :meth:`add_handler` are closed too.

        Futures of this loop that were converted onto other loops with
        :func:`futurebridge.to_asyncio_future` and are still pending can never
        complete: their waiters get a :class:`RuntimeError` saying so.

        :raises RuntimeError: if the loop is running.
        """
        loop = self.asyncio_loop
        if loop.is_running():
            raise RuntimeError(
                "cannot close a running IOLoop: call stop() and let start() return first"
            )
        for fd, (fileobj, _) in list(self._handlers.items()):
            self.remove_handler(fd)
            if all_fds:
                self.close_fd(fileobj)
        # Unregister before closing, as Tornado does: a concurrent initialize()
        # that sees the closed loop must not find it still mapped to us.
        self._unregister()
        self.ceased_current()
        fail_bridges_from(loop)
        # Its tasks can never finish now: let them go (see _register_task).
        self._tasks.clear()
        loop.close()

    # --- file descriptors

    @overload
    def add_handler(self, fd: int, handler: Callable[[int, int], None], events: int) -> None: ...
    @overload
    def add_handler(self, fd: _S, handler: Callable[[_S, int], None], events: int) -> None: ...
    def add_handler(self, fd: int | _Selectable, handler: Callable[..., None], events: int) -> None:
        """Call ``handler(fd, events)`` when *fd* is ready for *events*.

        *fd* is an integer file descriptor or an object with ``fileno()`` and
        ``close()``; the handler receives the same object. *events* is a
        bitwise or of ``IOLoop.READ``, ``IOLoop.WRITE`` and ``IOLoop.ERROR``.
        asyncio reports errors and hang-ups as readiness, so ``ERROR`` needs
        no registration of its own: a handler registered for ``READ`` or
        ``WRITE`` is called, and its read or write then fails. Exceptions
        from the handler are logged to ``tornado.application``.

        :raises ValueError: if *fd* already has a handler.
        """
        fd_int, fileobj = self.split_fd(fd)
        if fd_int in self._handlers:
            raise ValueError(
                f"fd {fd_int} added twice: use update_handler() to change its events, "
                "or remove_handler() first"
            )
        self._handlers[fd_int] = (fileobj, handler)
        self._listen(fd_int, fileobj, handler, events)

    def update_handler(self, fd: int | _Selectable, events: int) -> None:
        """Change the events that *fd*'s handler is called for.

        :raises KeyError: if *fd* has no handler.
        """
        fd_int, _ = self.split_fd(fd)
        try:
            fileobj, handler = self._handlers[fd_int]
        except KeyError:
            raise KeyError(f"fd {fd_int} has no handler: call add_handler() first") from None
        self._listen(fd_int, fileobj, handler, events)

    def _listen(
        self, fd: int, fileobj: object, handler: Callable[..., object], events: int
    ) -> None:
        loop = self.asyncio_loop
        if events & _READ:
            if fd not in self._readers:
                loop.add_reader(fd, _run_handler, handler, fileobj, _READ)
                self._readers.add(fd)
        elif fd in self._readers:
            loop.remove_reader(fd)
            self._readers.discard(fd)
        if events & _WRITE:
            if fd not in self._writers:
                loop.add_writer(fd, _run_handler, handler, fileobj, _WRITE)
                self._writers.add(fd)
        elif fd in self._writers:
            loop.remove_writer(fd)
            self._writers.discard(fd)

    def remove_handler(self, fd: int | _Selectable) -> None:
        """Stop calling *fd*'s handler. Removing an fd never added is a no-op.

        A readiness event already reported for *fd* in the same loop
        iteration is dropped too.
        """
        fd_int, _ = self.split_fd(fd)
        if self._handlers.pop(fd_int, None) is None:
            return
        loop = self.asyncio_loop
        if fd_int in self._readers:
            self._readers.discard(fd_int)
            loop.remove_reader(fd_int)
        if fd_int in self._writers:
            self._writers.discard(fd_int)
            loop.remove_writer(fd_int)

    # --- running

    def start(self) -> None:
        """Run the loop until :meth:`stop` is called.

        :raises RuntimeError: if the loop (or another loop) is already running
            on this thread, or it is closed.
        """
        self._check_can_run("start()")
        self._thread_ident = _get_ident()
        try:
            self.asyncio_loop.run_forever()
        finally:
            self._thread_ident = None

    def _check_can_run(self, what: str) -> None:
        # Checked here, not left to asyncio: on CPython 3.13.0 a refused
        # run_forever() still runs its cleanup, which marks the loop that *is*
        # running as stopped and unsets the thread's running loop.
        loop = self.asyncio_loop
        if loop.is_closed():
            raise RuntimeError(f"{what} on a closed IOLoop: create a new IOLoop")
        if loop.is_running():
            raise RuntimeError(
                f"{what} on an IOLoop that is already running: it would never return; "
                "await the work (or use add_callback) from code running on the loop instead"
            )
        if running_loop() is not None:
            raise RuntimeError(
                f"{what} while another event loop is running on this thread: run this "
                "IOLoop on a thread of its own (futurebridge.LoopThread), or await the work"
            )

    def stop(self) -> None:
        """Stop the loop after the current iteration; safe from any thread.

        If the loop is not running, the next :meth:`start` returns after one
        iteration. :meth:`start` may still run some callbacks scheduled
        before the call.
        """
        loop = self.asyncio_loop
        if self._on_loop_thread(loop):
            loop.stop()
            return
        try:
            # From another thread the loop may be asleep in select(): wake it.
            loop.call_soon_threadsafe(loop.stop)
        except RuntimeError:
            loop.stop()  # Closed: nothing is running, so nothing to wake.

    @overload
    def run_sync(self, func: Callable[[], Awaitable[_T]], timeout: float | None = None) -> _T: ...
    @overload
    def run_sync(
        self, func: Callable[[], concurrent.futures.Future[_T]], timeout: float | None = None
    ) -> _T: ...
    @overload
    def run_sync(self, func: Callable[[], None], timeout: float | None = None) -> None: ...
    @overload
    def run_sync(
        self,
        func: Callable[[], Sequence[Awaitable[_T] | concurrent.futures.Future[_T]]],
        timeout: float | None = None,
    ) -> list[_T]: ...
    @overload
    def run_sync(
        self,
        func: Callable[[], Mapping[_K, Awaitable[_T] | concurrent.futures.Future[_T]]],
        timeout: float | None = None,
    ) -> dict[_K, _T]: ...
    @overload
    def run_sync(
        self,
        func: Callable[[], Awaitable[_T] | Generator[Any, Any, Any] | None],
        timeout: float | None = None,
    ) -> _T: ...
    def run_sync(self, func: Callable[[], object], timeout: float | None = None) -> Any:
        """Start the loop, call *func* on it, run until its result is ready, stop.

        *func* returns ``None`` or any yieldable (a coroutine, a future, a
        :class:`concurrent.futures.Future`, a list or dict of them...); its
        outcome is returned, or its exception raised. The type checker sees
        the result type of *func*: ``run_sync(main)`` with
        ``async def main() -> int`` is an ``int``.

        With *timeout* (seconds), *func*'s work is cancelled when it expires
        and :class:`TimeoutError` is raised.

        :raises tornado.gen.BadYieldError: if *func* returns something that
            is neither ``None`` nor a yieldable.
        :raises RuntimeError: if the loop is running (``await`` the work
            instead) or closed, or if :meth:`stop` was called before the
            result was ready.
        """
        self._check_can_run("run_sync()")
        loop = self.asyncio_loop
        self._thread_ident = _get_ident()
        try:
            return loop.run_until_complete(_run_sync_main(func, timeout, loop))
        finally:
            self._thread_ident = None

    def time(self) -> float:
        """The loop's clock: :func:`time.time`, as Tornado documents."""
        return _time()

    # --- callbacks and timeouts

    def _on_loop_thread(self, loop: asyncio.AbstractEventLoop) -> bool:
        if self._fast is not None:
            return self._fast.on_loop_thread()
        ident = self._thread_ident
        if ident is not None:
            return ident == _get_ident()
        return running_loop() is loop

    @overload
    def add_callback(
        self, callback: Callable[_P, object], *args: _P.args, **kwargs: _P.kwargs
    ) -> None: ...
    # As in the tornado stubs: ty cannot match a ParamSpec against a generic
    # callback such as another loop's add_callback.
    @overload
    def add_callback(
        self,
        callback: Callable[Concatenate[Callable[..., object], ...], object],
        *args: Any,
        **kwargs: Any,
    ) -> None: ...
    def add_callback(self, callback: Callable[..., object], *args: Any, **kwargs: Any) -> None:
        """Call ``callback(*args, **kwargs)`` on the next loop iteration.

        Safe from any thread (the only IOLoop method that is, besides
        :meth:`stop` here). On a closed loop the callback is dropped and a
        debug message is logged to the ``futurebridge`` logger, as the IOLoop
        contract requires. Exceptions are logged to ``tornado.application``;
        if the callback returns a coroutine or another yieldable, it is run,
        and its exception logged the same way.
        """
        fast = self._fast
        if fast is not None and not kwargs and fast.call_soon_here(CALLBACK_HANDLE, callback, args):
            return  # call_soon() minus its checks, which cannot fail here (rule 3).
        fn: Callable[..., object] = callback
        fargs: tuple[Any, ...] = args
        if kwargs:
            fn, fargs = _bind(callback, args, kwargs)
        loop = self.asyncio_loop
        ident = self._thread_ident
        if ident == _get_ident() if ident is not None else self._on_loop_thread(loop):
            loop.call_soon(_run_callback, fn, *fargs)
            return
        try:
            loop.call_soon_threadsafe(_run_callback, fn, *fargs)
        except RuntimeError:
            if not loop.is_closed():
                raise
            logger.debug(
                "futurebridge: add_callback() on a closed IOLoop dropped %r",
                _describe(fn, fargs),
            )

    def add_callback_from_signal(
        self, callback: Callable[_P, object], *args: _P.args, **kwargs: _P.kwargs
    ) -> None:
        """Call ``callback(*args, **kwargs)`` on the next iteration, from a signal handler.

        .. deprecated:: 0.1
           As in Tornado 6.4: use :meth:`asyncio.loop.add_signal_handler`.
        """
        warnings.warn(
            "add_callback_from_signal is deprecated: use the asyncio loop's "
            "add_signal_handler() instead",
            DeprecationWarning,
            stacklevel=2,
        )
        fn, fargs = _bind(callback, args, kwargs)
        try:
            self.asyncio_loop.call_soon_threadsafe(_run_callback, fn, *fargs)
        except RuntimeError:
            if not self.asyncio_loop.is_closed():
                raise
            logger.debug(
                "futurebridge: add_callback_from_signal() on a closed IOLoop dropped %r",
                _describe(fn, fargs),
            )

    def spawn_callback(
        self, callback: Callable[_P, object], *args: _P.args, **kwargs: _P.kwargs
    ) -> None:
        """Same as :meth:`add_callback` (as in Tornado since 6.0)."""
        self.add_callback(callback, *args, **kwargs)

    def call_later(
        self, delay: float, callback: Callable[_P, object], *args: _P.args, **kwargs: _P.kwargs
    ) -> object:
        """Call ``callback(*args, **kwargs)`` after *delay* seconds.

        Returns an opaque handle for :meth:`remove_timeout`. Only from the
        loop's thread (use :meth:`add_callback` to get there).
        """
        fn: Callable[..., object] = callback
        fargs: tuple[Any, ...] = args
        if kwargs:
            fn, fargs = _bind(callback, args, kwargs)
        fast = self._fast
        if fast is not None:
            # asyncio's call_at() minus its checks and its frame (rule 3).
            timer = fast.call_later(CALLBACK_TIMER_HANDLE, delay, fn, fargs)
            if timer is not None:
                return timer
        handle: asyncio.TimerHandle = self.asyncio_loop.call_later(delay, _run_callback, fn, *fargs)
        return handle

    def call_at(
        self, when: float, callback: Callable[_P, object], *args: _P.args, **kwargs: _P.kwargs
    ) -> object:
        """Call ``callback(*args, **kwargs)`` at *when*, on the :meth:`time` clock.

        Returns an opaque handle for :meth:`remove_timeout`. Only from the
        loop's thread.
        """
        return self.call_later(when - _time(), callback, *args, **kwargs)

    def remove_timeout(self, timeout: object) -> None:
        """Cancel a timeout; harmless if it already ran or was removed.

        :raises TypeError: if *timeout* is not a handle from this loop's
            ``call_at``, ``call_later`` or ``add_timeout``.
        """
        cancel = getattr(timeout, "cancel", None)
        if cancel is None:
            raise TypeError(
                f"remove_timeout() needs a handle returned by call_at(), call_later() or "
                f"add_timeout(), got {type(timeout).__name__}"
            )
        cancel()

    # --- futures and executors

    @overload
    def add_future(self, future: Future[_T], callback: Callable[[Future[_T]], object]) -> None: ...
    @overload
    def add_future(
        self,
        future: concurrent.futures.Future[_T],
        callback: Callable[[concurrent.futures.Future[_T]], object],
    ) -> None: ...
    @overload
    def add_future(
        self,
        future: Future[_T] | concurrent.futures.Future[_T],
        callback: Callable[[Future[_T]], object],
    ) -> None: ...
    def add_future(
        self,
        future: Future[_T] | concurrent.futures.Future[_T],
        callback: Callable[[Any], object],
    ) -> None:
        """Call ``callback(future)`` on this loop once *future* is done.

        *future* is an asyncio (Tornado) future, of this loop or of another
        one, or a :class:`concurrent.futures.Future`. The callback always runs
        on this loop's thread, in a later iteration; exceptions are logged
        as for :meth:`add_callback`. If *future* belongs to a futurebridge
        loop that closes while it is pending, the callback gets a done future
        instead, whose :class:`RuntimeError` says that loop closed.

        :raises TypeError: if *future* is not a future.
        """
        loop = self.asyncio_loop
        if isinstance(future, asyncio.Future):
            if future.get_loop() is loop:
                future.add_done_callback(functools.partial(_run_callback, callback))
                return
            # A future of another loop (maybe on another thread): bridge it,
            # so the callback runs here and nothing touches it off its thread.
            bridged = to_asyncio_future(future, loop=loop)
            bridged.add_done_callback(functools.partial(_run_bridged_callback, callback, future))
            return
        if isinstance(future, concurrent.futures.Future):  # pyright: ignore[reportUnnecessaryIsInstance]
            future.add_done_callback(lambda done: self.add_callback(callback, done))
            return
        raise TypeError(
            f"add_future() needs an asyncio, Tornado or concurrent.futures Future, got "
            f"{type(future).__name__}: convert other awaitables with "
            "futurebridge.to_asyncio_future() first"
        )

    def run_in_executor(
        self,
        executor: concurrent.futures.Executor | None,
        func: Callable[[*_Ts], _T],
        *args: *_Ts,
    ) -> Future[_T]:
        """Run ``func(*args)`` in *executor* and return a future of this loop.

        *executor* ``None`` means the default one (see
        :meth:`set_default_executor`). Use :func:`functools.partial` for
        keyword arguments.
        """
        if executor is None:
            executor = self._default_executor
        return self.asyncio_loop.run_in_executor(executor, func, *args)

    def set_default_executor(self, executor: concurrent.futures.Executor) -> None:
        """Set the executor :meth:`run_in_executor` uses when given ``None``.

        Any :class:`concurrent.futures.Executor` works. A
        :class:`~concurrent.futures.ThreadPoolExecutor` also becomes the
        asyncio loop's default (used by :func:`asyncio.to_thread`), which
        asyncio shuts down when the loop closes.
        """
        if isinstance(executor, concurrent.futures.ThreadPoolExecutor):
            self.asyncio_loop.set_default_executor(executor)
            self._default_executor = None
        else:
            self._default_executor = executor


class AsyncIOMainLoop(_BridgeIOLoop):
    """The IOLoop of the current asyncio event loop.

    That is the loop running on this thread, else the one set with
    :func:`asyncio.set_event_loop`; if there is neither, a new loop is
    created and set, without the deprecation warning that an implicit
    ``asyncio.get_event_loop()`` gives on Python 3.12 and 3.13. The loop is
    reachable as :attr:`asyncio_loop`.

    Usage, as in Tornado's documentation (here with a server that stops
    itself, so the example ends)::

        import asyncio

        from futurebridge import AsyncIOMainLoop

        AsyncIOMainLoop().install()
        asyncio.get_event_loop().call_later(0.01, asyncio.get_event_loop().stop)
        asyncio.get_event_loop().run_forever()

    Closing the IOLoop closes the asyncio loop.

    :raises RuntimeError: if that asyncio loop already has an IOLoop.

    .. versionadded:: 0.1
    """

    def __new__(cls, *, make_current: bool = True) -> Self:
        # Tornado's Configurable.__new__ is typed as returning Any; this
        # signature keeps AsyncIOMainLoop() typed as an AsyncIOMainLoop.
        instance: Self = super().__new__(cls, make_current=make_current)
        return instance

    def initialize(self, make_current: bool = True) -> None:
        """Attach to the current asyncio loop (Tornado's two-step construction)."""
        loop, created = _thread_loop(create=True)
        assert loop is not None
        try:
            self._setup(loop)
        except BaseException:
            if created:
                set_thread_loop(None)
                loop.close()
            raise
        super().initialize(make_current=make_current)

    def became_current(self) -> None:
        """Nothing to do: as with Tornado's AsyncIOMainLoop, its loop already is the thread's."""

    def install(self) -> None:
        """Make the asyncio loop the current event loop of the calling thread.

        After ``AsyncIOMainLoop().install()``, ``asyncio.get_event_loop()``
        returns it (then ``.run_forever()`` runs the IOLoop), without the
        deprecation warning of Tornado's ``IOLoop.install()``.
        """
        set_thread_loop(self.asyncio_loop)


class AsyncIOLoop(_BridgeIOLoop):
    """An IOLoop that runs on an asyncio event loop of its own.

    ``AsyncIOLoop()`` creates a new asyncio loop (with the current policy's
    ``new_event_loop()``); ``AsyncIOLoop(asyncio_loop=loop)`` adopts the
    given one instead, such as ``uvloop.new_event_loop()``. Either way it is
    reachable as :attr:`asyncio_loop` and closed by :meth:`close`, so
    programs that run loops on several threads can give each its own
    ``AsyncIOLoop``.

    With ``make_current=True`` (the default, as in Tornado), the asyncio loop
    becomes the creating thread's current event loop until the IOLoop is
    closed, when the previous one is restored.

    ``IOLoop.configure("futurebridge.AsyncIOLoop")`` makes ``IOLoop()``
    create this class and ``IOLoop.current()`` create
    :class:`AsyncIOMainLoop` (importing futurebridge patches both methods:
    see the documentation of ``futurebridge._tornado_patch``).

    :raises RuntimeError: if *asyncio_loop* is closed or already has an IOLoop.

    .. versionadded:: 0.1
    """

    _is_current: bool
    _previous: asyncio.AbstractEventLoop | None

    def __new__(
        cls,
        *,
        asyncio_loop: asyncio.AbstractEventLoop | None = None,
        make_current: bool = True,
    ) -> Self:
        # See AsyncIOMainLoop.__new__: keep Configurable's Any out of the type.
        instance: Self = super().__new__(cls, asyncio_loop=asyncio_loop, make_current=make_current)
        return instance

    def initialize(
        self, make_current: bool = True, *, asyncio_loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        """Create or adopt the asyncio loop (Tornado's two-step construction)."""
        self._is_current = False
        self._previous = None
        created = asyncio_loop is None
        loop = asyncio.new_event_loop() if asyncio_loop is None else asyncio_loop
        try:
            self._setup(loop)
        except BaseException:
            if created:
                loop.close()
            raise
        try:
            super().initialize(make_current=make_current)
        except BaseException:
            self._unregister()
            if created:
                loop.close()
            raise

    def became_current(self) -> None:
        """Make the asyncio loop the thread's current loop, remembering the previous one."""
        if not self._is_current:
            self._previous = _set_event_loop()
            self._is_current = True
        set_thread_loop(self.asyncio_loop)

    def ceased_current(self) -> None:
        """Restore the thread's previous current loop, if this one is still current."""
        if not self._is_current:
            return
        self._is_current = False
        previous, self._previous = self._previous, None
        # Only undo our own doing: another thread, or a later
        # set_event_loop(), may have changed what is current since.
        if _set_event_loop() is self.asyncio_loop:
            if previous is not None and previous.is_closed():
                previous = None
            set_thread_loop(previous)


# --- run_sync -----------------------------------------------------------------------------


async def _run_sync_main(
    func: Callable[[], object], limit: float | None, loop: asyncio.AbstractEventLoop
) -> Any:
    result: Any = func()
    if result is None:
        return None
    awaitable: Awaitable[Any]
    # A coroutine is awaited in place: no task of its own, which is what
    # keeps run_sync() close to run_until_complete() in cost.
    if type(result) is _CoroutineType:
        awaitable = cast("Awaitable[Any]", result)
    else:
        try:
            awaitable = to_asyncio_future(cast("Awaitable[Any]", result), loop=loop)
        except TypeError as exc:
            raise tornado.gen.BadYieldError(
                f"run_sync(): {func!r} returned {result!r}, which is neither None nor a "
                f"yieldable ({exc})"
            ) from exc
    if limit is None:
        return await awaitable
    scope = asyncio.timeout(limit)
    try:
        async with scope:
            return await awaitable
    except TimeoutError:
        if scope.expired():
            raise TimeoutError(f"Operation timed out after {limit} seconds") from None
        raise


def _run_bridged_callback(
    callback: Callable[[Any], object], future: Future[Any], bridged: Future[Any]
) -> None:
    # The callback gets the future it was given, done. If that future's loop
    # closed while it was pending it never will be: then the callback gets the
    # bridged future, done with the RuntimeError that says so (issue 17, item
    # 6). done() of a foreign future is a single attribute read (_outcome rule 1).
    _run_callback(callback, future if future.done() else bridged)
