"""The one door to asyncio's and Tornado's private internals.

This module owns every private attribute of asyncio and Tornado that
futurebridge touches, and the choice, made once, of whether to touch it. It
does not own what the rest of the package does with the answers: loops are
``_ioloop``'s, the callback contract ``_callbacks``', conversions
``_convert``'s.

Rules that hold across this module:

1. No other module of futurebridge names a private attribute of asyncio or
   Tornado. ``tests/test_asyncio_internals.py`` greps the package for them.
2. Each private access is chosen once: for the Python version at import, for
   the loop kind when a loop is first seen (asyncio's own ``BaseEventLoop``;
   uvloop and any other ``AbstractEventLoop`` take the public path). No fast
   path raises and catches an exception per call.
3. Each private access has a public fallback, which is what runs when
   ``FUTUREBRIDGE_PRIVATE_PATHS=0`` is set in the environment at import (the
   test suite has a leg that runs everything that way), or when the GIL is
   off (``sys._is_gil_enabled()`` false on a free-threaded build): appending
   to a loop's ready queue or timer heap and swapping asyncio's current task
   are safe only because the GIL serialises them with the loop's own thread.
4. Each private access says in one line why it pays, naming the row of
   ``python -m futurebridge bench`` that shows it.

Private accesses, by gate:

=====================  ==========================  =================================
access                 used when (private paths on)   pays for (bench row)
=====================  ==========================  =================================
``_get_running_loop``  3.12+                         ``done_future``, ``coroutine``
``loop._thread_id``    3.11, ``BaseEventLoop``       ``done_future`` (no ``getpid()``)
``loop._ready``        ``BaseEventLoop``             ``add_callback``
``loop._scheduled``    ``BaseEventLoop``             ``call_later``
``Handle._run`` slots  ``BaseEventLoop``             ``add_callback``, ``call_later``
``_current_tasks``     3.11                          eager ``@as_tornado`` (3.11 has no eager tasks)
policy ``_local``      3.11-3.13, also when off     none: the only side-effect-free query
``IOLoop`` privates    always (no public API)        none: Tornado's registry and hooks
=====================  ==========================  =================================
"""

from __future__ import annotations

import asyncio
import asyncio.events
import asyncio.tasks
import contextvars
import heapq
import inspect
import os
import sys
import threading
import warnings
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, cast

from tornado.ioloop import IOLoop

__all__ = (
    "CALL_GRAPH",
    "EAGER_TASKS",
    "PRIVATE_PATHS",
    "BaseLoopPaths",
    "IOLoopHooks",
    "base_loop_paths",
    "enter_task",
    "ioloop_registry",
    "leave_task",
    "link_awaited_by",
    "quiet_destroy_pending",
    "running_loop",
    "set_event_loop_of_thread",
    "start_task",
    "unlink_awaited_by",
)

_T = TypeVar("_T")

_get_ident = threading.get_ident


def _private_paths_allowed() -> bool:
    if os.environ.get("FUTUREBRIDGE_PRIVATE_PATHS", "1").strip() == "0":
        return False
    # Free-threaded builds (3.13t/3.14t): the fast paths below mutate loop
    # state from the loop's thread without a lock, which is safe only under
    # the GIL.
    gil_enabled: Callable[[], bool] | None = getattr(sys, "_is_gil_enabled", None)
    return gil_enabled is None or gil_enabled()


PRIVATE_PATHS: bool = _private_paths_allowed()
"""Whether the private fast paths are in use (rule 3 says when they are not)."""

EAGER_TASKS: bool = sys.version_info >= (3, 12)
"""Whether asyncio can start a task eagerly (``eager_start``, 3.12+)."""


# --- the running loop -----------------------------------------------------------------


def _running_loop_public() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


_last_running: Any = None


def _running_loop_311() -> asyncio.AbstractEventLoop | None:
    # 3.11's _get_running_loop() calls getpid() on every call (about 200 ns);
    # a BaseEventLoop records the thread it runs on, and a loop running on
    # this thread is the running loop. Pays in the ``done_future`` row.
    global _last_running
    loop = _last_running
    if loop is not None and loop._thread_id == _get_ident():
        return loop  # type: ignore[no-any-return]
    found = asyncio.events._get_running_loop()
    # Only asyncio's own loops have _thread_id: others are never cached, so
    # the check above never raises.
    _last_running = found if isinstance(found, asyncio.BaseEventLoop) else None
    return found


def _forget_running_after_fork() -> None:
    # A forked child inherits the parent's loop objects, whose _thread_id may
    # equal the child's only thread: never answer from the parent's cache.
    global _last_running
    _last_running = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_running_after_fork)

running_loop: Callable[[], asyncio.AbstractEventLoop | None]
"""The loop running on this thread, or ``None``; never raises."""
if not PRIVATE_PATHS:
    running_loop = _running_loop_public
elif sys.version_info >= (3, 12):
    # A C function with no exception to catch: the public get_running_loop()
    # needs a try block, and a wrapper frame, at every caller. Pays in the
    # ``done_future`` and ``coroutine`` rows.
    running_loop = asyncio.events._get_running_loop
else:
    running_loop = _running_loop_311


# --- asyncio's own loops: the ready queue and the timer heap ----------------------------

_LOOP_ATTRIBUTES = ("_thread_id", "_debug", "_closed", "_ready", "_scheduled")


class BaseLoopPaths:
    """The fast paths into one asyncio ``BaseEventLoop`` (rules 2 and 4).

    Made by :func:`base_loop_paths`, which returns ``None`` for loops that
    must take the public path. *handle_type* and *timer_type* are the
    handles the caller wants queued: ``asyncio.Handle`` and
    ``asyncio.TimerHandle`` subclasses made by :meth:`handle_types`.
    """

    __slots__ = ("_loop", "_ready", "_scheduled")

    def __init__(self, loop: Any) -> None:
        self._loop = loop
        self._ready = loop._ready
        self._scheduled = loop._scheduled

    def on_loop_thread(self) -> bool:
        """Whether the loop runs on the calling thread (3.11: no getpid()).

        Pays in the ``add_callback`` row on 3.11; on 3.12+ asking for the
        running loop is as cheap, and that is what runs.
        """
        if EAGER_TASKS:
            return running_loop() is self._loop
        return self._loop._thread_id == _get_ident()  # type: ignore[no-any-return]

    def call_soon_here(self, handle_type: type[asyncio.Handle], fn: Any, args: Any) -> bool:
        """Queue ``handle_type(fn, args)`` as ``call_soon`` would, if on the loop's thread.

        Returns False, queuing nothing, off the loop's thread or in debug
        mode (where asyncio's own checks must run). ``call_soon`` minus
        checks that cannot fail here: pays in the ``add_callback`` row.
        """
        loop = self._loop
        if loop._debug or not self.on_loop_thread():
            return False
        self._ready.append(handle_type(fn, args, loop, None))
        return True

    def call_later(
        self, timer_type: type[asyncio.TimerHandle], delay: float, fn: Any, args: Any
    ) -> asyncio.TimerHandle | None:
        """Push ``timer_type`` on the timer heap as ``call_at`` would, or ``None``.

        ``None`` (nothing scheduled) in debug mode or on a closed loop.
        ``call_at`` minus its checks and frame: pays in the ``call_later`` row.
        """
        loop = self._loop
        if loop._debug or loop._closed:
            return None
        timer: Any = timer_type(loop.time() + delay, fn, args, loop, None)
        heapq.heappush(self._scheduled, timer)
        timer._scheduled = True
        return timer  # type: ignore[no-any-return]

    @staticmethod
    def handle_types(
        run: Callable[
            [Callable[..., object], tuple[Any, ...], contextvars.Context, Any, Any], None
        ],
    ) -> tuple[type[asyncio.Handle], type[asyncio.TimerHandle]]:
        """Handle classes whose ``_run`` calls ``run(callback, args, context, loop, handle)``.

        Replacing ``Handle._run`` (rather than queuing a wrapper callback)
        lets the caller apply its own contract with no wrapper object per
        callback: pays in the ``add_callback`` and ``call_later`` rows.
        """

        def _run(self: Any) -> None:
            run(self._callback, self._args, self._context, self._loop, self)

        handle: type[asyncio.Handle] = type(
            "FuturebridgeHandle", (asyncio.Handle,), {"__slots__": (), "_run": _run}
        )
        timer: type[asyncio.TimerHandle] = type(
            "FuturebridgeTimerHandle", (asyncio.TimerHandle,), {"__slots__": (), "_run": _run}
        )
        return handle, timer


def base_loop_paths(loop: asyncio.AbstractEventLoop) -> BaseLoopPaths | None:
    """The fast paths into *loop*, or ``None`` where only the public API may be used.

    Chosen once per loop: asyncio's own ``BaseEventLoop`` (with the
    attributes CPython 3.11 to 3.15 share) gets them; uvloop and any other
    loop, or any loop when private paths are off, gets ``None``.
    """
    if not PRIVATE_PATHS or not isinstance(loop, asyncio.BaseEventLoop):
        return None
    if not all(hasattr(loop, name) for name in _LOOP_ATTRIBUTES):
        return None
    return BaseLoopPaths(loop)


# --- tasks -------------------------------------------------------------------------------


def _factory_takes_eager_start(factory: Callable[..., object]) -> bool:
    try:
        parameters = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        p.name == "eager_start" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters
    )


def _create_task_takes_eager_start(loop: asyncio.AbstractEventLoop) -> bool:
    # asyncio's create_task forwards eager_start from 3.14; uvloop 0.23
    # forwards it on 3.13 and later. Read once per loop class.
    cls = type(loop)
    known = _EAGER_CREATE_TASK.get(cls)
    if known is None and cls.__module__.partition(".")[0] == "uvloop":
        # uvloop 0.23 declares eager_start on every Python but forwards it
        # only on 3.13 and later (on 3.12 it is ignored).
        known = _EAGER_CREATE_TASK[cls] = sys.version_info >= (3, 13)
    if known is None:
        try:
            parameters = inspect.signature(cls.create_task).parameters.values()
            known = any(
                p.name == "eager_start" or p.kind is inspect.Parameter.VAR_KEYWORD
                for p in parameters
            )
        except (TypeError, ValueError):
            # A C or Cython method without a signature (uvloop): trust the
            # version that documents the forwarding.
            known = sys.version_info >= (3, 13) and cls.__module__.startswith("uvloop")
        _EAGER_CREATE_TASK[cls] = known
    return known


_TASK: Any = asyncio.Task  # typeshed gives eager_start only for 3.12+ targets
_EAGER_CREATE_TASK: dict[type[asyncio.AbstractEventLoop], bool] = {}


def start_task(
    loop: asyncio.AbstractEventLoop,
    coro: Coroutine[Any, Any, _T],
    *,
    context: contextvars.Context | None = None,
    name: str | None = None,
) -> asyncio.Task[_T]:
    """Start *coro* as a task of *loop*, eagerly where asyncio can (3.12+).

    Through ``loop.create_task(..., eager_start=True)`` where the loop (and
    its task factory, if any) accepts it, so task factories and custom Task
    classes are honoured. Where a task factory is set that cannot start
    eagerly, through ``loop.create_task()``: the factory wins over eagerness.
    Only where nothing else can start eagerly (3.12 and 3.13 on asyncio's
    loops with no task factory) is the Task built directly, which is what
    ``create_task`` would do anyway, minus the eagerness.
    """
    if not EAGER_TASKS:
        return loop.create_task(coro, name=name, context=context)
    factory = loop.get_task_factory()
    if _create_task_takes_eager_start(loop) and (
        factory is None or _factory_takes_eager_start(factory)
    ):
        create: Any = loop.create_task
        return create(coro, name=name, context=context, eager_start=True)  # type: ignore[no-any-return]
    if factory is not None:
        return loop.create_task(coro, name=name, context=context)
    # Returned, never bound to a local: a coroutine that fails in its eager
    # first step keeps this frame (its f_back) in the error's traceback, and
    # a local holding the task would close a reference cycle per call.
    return _TASK(coro, loop=loop, name=name, context=context, eager_start=True)  # type: ignore[no-any-return]


# 3.11 has no eager tasks: _decorators runs a coroutine's first step itself,
# with the task that carries on already current (asyncio.timeout() and
# TaskGroup ask for it). The C and Python halves of asyncio share this dict.
_current_tasks: dict[asyncio.AbstractEventLoop, asyncio.Task[Any]] = getattr(
    asyncio.tasks, "_current_tasks", {}
)


def enter_task(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> object:
    """Make *task* the current task of *loop*; returns what :func:`leave_task` needs.

    With private paths off this does nothing: ``asyncio.current_task()`` in
    a 3.11 ``@as_tornado`` body's first step is then the caller's task.
    """
    if not PRIVATE_PATHS:
        return None
    outer = _current_tasks.get(loop)
    _current_tasks[loop] = task
    return outer


def leave_task(loop: asyncio.AbstractEventLoop, token: object) -> None:
    """Undo :func:`enter_task` with the token it returned."""
    if not PRIVATE_PATHS:
        return
    if token is None:
        _current_tasks.pop(loop, None)
    else:
        _current_tasks[loop] = cast("asyncio.Task[Any]", token)


def quiet_destroy_pending(task: asyncio.Task[Any]) -> None:
    """Let *task* be collected while pending without asyncio's "Task was destroyed" error.

    For a task whose outcome was already delivered elsewhere (3.11's first
    step run by hand). No public equivalent: with private paths off the task
    is left as it is.
    """
    if PRIVATE_PATHS:
        setattr(task, "_log_destroy_pending", False)  # noqa: B010


# --- asyncio's call graph (3.14+) -----------------------------------------------------

_add_to_awaited_by: Any = getattr(asyncio, "future_add_to_awaited_by", None)
_discard_from_awaited_by: Any = getattr(asyncio, "future_discard_from_awaited_by", None)

CALL_GRAPH: bool = _add_to_awaited_by is not None
"""Whether asyncio records who awaits a future (3.14+: ``capture_call_graph``, ``pstree``)."""


def link_awaited_by(child: asyncio.Future[Any], waiter: asyncio.Future[Any]) -> None:
    """Record that *waiter* waits for *child*, as ``asyncio.gather`` does (3.14+; else nothing).

    Public API, but only on 3.14 and later: the version gate lives here.
    Call on the loop's thread, and :func:`unlink_awaited_by` once *child* is done.
    """
    if _add_to_awaited_by is not None:
        _add_to_awaited_by(child, waiter)


def unlink_awaited_by(child: asyncio.Future[Any], waiter: asyncio.Future[Any]) -> None:
    """Undo :func:`link_awaited_by`."""
    if _discard_from_awaited_by is not None:
        _discard_from_awaited_by(child, waiter)


# --- the thread's current (not running) loop ----------------------------------------------


def set_event_loop_of_thread() -> asyncio.AbstractEventLoop | Any | None:
    """The loop set for this thread with ``asyncio.set_event_loop()``, if any; never creates one.

    ``NotImplemented`` where asyncio no longer has a thread's current loop
    (the policy system is to go in 3.16): the caller keeps its own record.

    3.14 and later: ``asyncio.get_event_loop()`` no longer creates a loop, so
    it is the public answer. 3.11 to 3.13 have no query without side effects
    (``get_event_loop()`` may create a loop, and warns on 3.12 and 3.13), so
    the default policy's thread-local slot is read, with ``get_event_loop()``
    and its warning silenced as the fallback. On 3.16, where the policy
    system goes, ``_current_loop`` keeps futurebridge's own record first.
    """
    if not hasattr(asyncio, "get_event_loop_policy"):
        return NotImplemented
    if sys.version_info >= (3, 14):
        try:
            return asyncio.get_event_loop()
        except RuntimeError:
            return None
    # No public query without side effects before 3.14, so this one access
    # stays on with private paths off: reading a thread-local is safe
    # without the GIL too.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        policy = asyncio.get_event_loop_policy()  # pyright: ignore[reportDeprecated]
    local = getattr(policy, "_local", None)
    if local is not None:
        loop = getattr(local, "_loop", None)
        return loop if isinstance(loop, asyncio.AbstractEventLoop) else None
    # A policy not derived from asyncio's: ask it, silencing its warning.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return policy.get_event_loop()
        except RuntimeError:
            return None


# --- Tornado ----------------------------------------------------------------------------


def ioloop_registry() -> dict[asyncio.AbstractEventLoop, IOLoop]:
    """Tornado's map from asyncio loops to their IOLoops (how ``IOLoop.current()`` finds one).

    No public API registers an IOLoop that is not Tornado's own class.
    """
    # getattr: outside the class, pyright calls the name private without the
    # stubs and fine with them; one spelling must satisfy both.
    registry: dict[asyncio.AbstractEventLoop, IOLoop] = getattr(IOLoop, "_ioloop_for_asyncio")
    return registry


class IOLoopHooks:
    """Tornado's private IOLoop hooks, forwarded to public-named methods.

    ``IOLoop.__init__(make_current=True)`` and ``install()`` call
    ``_make_current``; ``IOLoop.clear_current()`` calls
    ``_clear_current_hook``. Mix this in before :class:`IOLoop`.
    """

    def became_current(self) -> None:
        """Called when Tornado makes this IOLoop current for the thread."""

    def ceased_current(self) -> None:
        """Called when Tornado clears the thread's current IOLoop, if it was this one."""

    def _make_current(self) -> None:
        self.became_current()

    def _clear_current_hook(self) -> None:
        self.ceased_current()
