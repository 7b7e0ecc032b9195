"""The decorators :func:`as_asyncio` and :func:`as_tornado`.

This module owns the two decorators and what they share: driving a legacy
``@gen.coroutine``-style generator on asyncio, and starting a coroutine at once
as a Tornado future. Converting what a function returns or yields is the
business of ``_convert``; this module owns no event loop.

Rules that hold across this module:

1. A decorator's one parameter is positional-only and every wrapper takes
   ``*args, **kwargs`` and nothing else, so no name of ours can collide with a
   keyword argument of the wrapped function (asgiref issue 470).
2. An ``async def`` already is what ``as_asyncio`` makes, so it gets a copy of
   the function itself (same code, closure and defaults, with the wrapper
   metadata): it costs nothing per call and adds no frame to tracebacks.
3. A legacy generator is driven inside the awaiting coroutine: each yielded
   object is converted and awaited right there, with no Task per step, so a
   done future costs no loop round trip, and cancelling the awaiting task
   throws CancelledError into the generator at its current ``yield``.
4. contextvars: the wrapped function and every step of a generator run in a
   copy of the caller's context, as ``@gen.coroutine`` does, and so does the
   coroutine that ``as_tornado`` starts. A coroutine that ``as_asyncio``
   awaits is awaited like any other, so it shares the awaiting task's context.
5. Bad decoration fails at decoration time; a return value that is not a
   yieldable fails when the function is called, naming its type.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import sys
import types
from collections.abc import Callable, Coroutine, Generator, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar, overload

import tornado.gen
from tornado.concurrent import Future

from ._asyncio_internals import (
    enter_task,
    leave_task,
    quiet_destroy_pending,
    running_loop,
    start_task,
)
from ._convert import (
    _handler_for,  # pyright: ignore[reportPrivateUsage]
    _type_name,  # pyright: ignore[reportPrivateUsage]
    to_asyncio_future,
)
from ._typing import SingleYieldable

__all__ = ("as_asyncio", "as_tornado")

_P = ParamSpec("_P")
_T = TypeVar("_T")
_K = TypeVar("_K")
_C = TypeVar("_C")

_Future = asyncio.Future
_Task = asyncio.Task
_CancelledError = asyncio.CancelledError
_GeneratorType = types.GeneratorType
_CoroutineType = types.CoroutineType
_Return = tornado.gen.Return
_Partial: type[object] = functools.partial
# Typed loosely on purpose: the objects handed over are only known at run time.
_to_asyncio_future: Callable[[object], asyncio.Future[Any]] = to_asyncio_future  # type: ignore[assignment]  # pyright: ignore[reportAssignmentType]  # pyrefly: ignore[bad-assignment]  # ty: ignore[invalid-assignment]

_RETURN_RULE = (
    "return a yieldable (an asyncio or Tornado future, a coroutine or other awaitable, "
    "a concurrent.futures.Future, None, or a list or dict of those); to produce a plain "
    "value, make the function an async def or a generator in @gen.coroutine style"
)


# --- as_asyncio -------------------------------------------------------------------


@overload
def as_asyncio(
    fn: staticmethod[_P, Generator[Any, Any, _T]], /
) -> staticmethod[_P, Coroutine[Any, Any, _T]]: ...
@overload
def as_asyncio(
    fn: staticmethod[_P, SingleYieldable[_T]], /
) -> staticmethod[_P, Coroutine[Any, Any, _T]]: ...
@overload
def as_asyncio(
    fn: classmethod[_C, _P, Generator[Any, Any, _T]], /
) -> classmethod[_C, _P, Coroutine[Any, Any, _T]]: ...
@overload
def as_asyncio(
    fn: classmethod[_C, _P, SingleYieldable[_T]], /
) -> classmethod[_C, _P, Coroutine[Any, Any, _T]]: ...
@overload
def as_asyncio(
    fn: Callable[_P, Generator[Any, Any, _T]], /
) -> Callable[_P, Coroutine[Any, Any, _T]]: ...
@overload
def as_asyncio(
    fn: Callable[_P, SingleYieldable[_T]], /
) -> Callable[_P, Coroutine[Any, Any, _T]]: ...
@overload
def as_asyncio(fn: Callable[_P, None], /) -> Callable[_P, Coroutine[Any, Any, None]]: ...
@overload
def as_asyncio(
    fn: Callable[_P, Sequence[SingleYieldable[_T]]], /
) -> Callable[_P, Coroutine[Any, Any, list[_T]]]: ...
@overload
def as_asyncio(
    fn: Callable[_P, Mapping[_K, SingleYieldable[_T]]], /
) -> Callable[_P, Coroutine[Any, Any, dict[_K, _T]]]: ...
def as_asyncio(fn: object, /) -> object:
    """Make *fn* a coroutine function (``async def``) that ends the way *fn*'s result ends.

    *fn* may be:

    * an ``async def``: the result behaves exactly like it, at no cost per call;
    * a function that returns any yieldable: a ``@gen.coroutine`` function, a
      function returning a Tornado or asyncio future, a
      :class:`concurrent.futures.Future`, a Twisted ``Deferred``, ``None``, or a
      list or dict of those; the result is converted with
      :func:`to_asyncio_future` and awaited;
    * a bare generator function in ``@gen.coroutine`` style, so
      ``@as_asyncio`` replaces ``@gen.coroutine`` in place: each object it
      yields is converted and awaited, the result is sent back in (an
      exception is thrown back in at the ``yield``), and ``return x`` or
      ``raise gen.Return(x)`` gives the result. A yielded object that cannot
      be converted is thrown back in as :class:`TypeError`, where Tornado
      throws ``BadYieldError``.

    It works on plain functions, methods, ``classmethod`` and ``staticmethod``
    objects (in either order), abstract methods and :func:`functools.partial`
    objects, and keeps ``__name__``, ``__qualname__``, ``__module__``,
    ``__doc__`` and :func:`inspect.signature`, with ``__wrapped__`` set to
    *fn*. :func:`inspect.iscoroutinefunction` is true for the result, and
    calling it gives a coroutine that :func:`asyncio.create_task` accepts.

    Example::

        import asyncio
        from collections.abc import Generator
        from typing import Any

        from tornado import gen

        from futurebridge import as_asyncio

        @as_asyncio  # in place of @gen.coroutine
        def next_number(x: int) -> Generator[Any, Any, int]:
            yield gen.moment  # any yieldable, as under @gen.coroutine
            return x + 1

        print(asyncio.run(next_number(41)))  # 42

    Nothing runs until the coroutine is awaited (``@gen.coroutine`` starts at
    call time; use :func:`as_tornado` for that). The decorator takes no
    options: write ``@as_asyncio``, not ``@as_asyncio()``.

    Cancellation: cancelling the awaiting task cancels what is underneath: the
    Tornado or asyncio future being awaited, a concurrent future that has not
    started, and a generator, which gets :class:`asyncio.CancelledError`
    thrown in at its current ``yield`` so its ``finally`` blocks run. (A
    generator under ``@gen.coroutine`` keeps running instead, Tornado issues
    2990 and 3537: decorating such a function only cancels its future, so
    replace ``@gen.coroutine`` with ``@as_asyncio`` rather than stacking them.)

    contextvars: *fn*, and every step of a generator, runs in a copy of the
    caller's context, as with ``@gen.coroutine``. A coroutine is awaited
    directly, so, like any awaited coroutine, it shares the awaiting task's
    context.

    :raises TypeError: at decoration time, if *fn* is a class, an async
        generator function or not callable; when awaited, if *fn* returned
        something that is not a yieldable (a plain value such as ``3``): the
        message names the type it returned. ``None`` is a yieldable and
        gives ``None``.

    .. versionadded:: 0.1
    """
    if isinstance(fn, staticmethod):
        return staticmethod(as_asyncio(_method_function(fn, "as_asyncio")))  # pyright: ignore[reportUnknownArgumentType]
    if isinstance(fn, classmethod):
        return classmethod(as_asyncio(_method_function(fn, "as_asyncio")))  # pyright: ignore[reportUnknownArgumentType]
    func = _check_decoratable(fn, "as_asyncio")
    return _copy_metadata(_coroutine_function(func), func)


def _coroutine_function(func: Callable[..., Any]) -> Callable[..., Coroutine[Any, Any, Any]]:
    if type(func) is types.FunctionType and func.__code__.co_flags & inspect.CO_COROUTINE:
        # Rule 2: the same function again, so the speed and tracebacks are the original's.
        clone = types.FunctionType(
            func.__code__, func.__globals__, func.__name__, func.__defaults__, func.__closure__
        )
        if func.__kwdefaults__ is not None:
            clone.__kwdefaults__ = dict(func.__kwdefaults__)
        return clone

    if inspect.iscoroutinefunction(func):
        # A partial object, a bound method or a callable object whose call is async.
        async def await_coroutine(*args: Any, **kwargs: Any) -> Any:
            return await func(*args, **kwargs)

        return await_coroutine

    if inspect.isgeneratorfunction(func):

        async def drive_generator(*args: Any, **kwargs: Any) -> Any:
            # Creating a generator runs none of its body: no need to enter a context.
            return await _drive(func(*args, **kwargs), contextvars.copy_context())

        return drive_generator

    async def await_result(*args: Any, **kwargs: Any) -> Any:
        context = contextvars.copy_context()
        result: Any = context.run(func, *args, **kwargs)
        if result.__class__ is _CoroutineType:
            return await result
        if result.__class__ is _GeneratorType:
            return await _drive(result, context)
        future = context.run(_convert_result, result, func, "as_asyncio")
        try:
            return await future
        except BaseException:
            # A traceback through this frame must not keep the failed future.
            del future, result
            raise

    return await_result


async def _drive(gen: Generator[Any, Any, _T], context: contextvars.Context | None) -> _T:
    """Run a ``@gen.coroutine``-style generator to its end (rule 3).

    *context* is where each step runs, or None to run in the current one.
    """
    send = gen.send
    throw = gen.throw
    value: Any = None
    yielded: Any
    error: BaseException | None = None
    while True:
        try:
            if error is None:
                yielded = send(value) if context is None else context.run(send, value)
            else:
                try:
                    yielded = throw(error) if context is None else context.run(throw, error)
                finally:
                    # The exception's traceback holds this frame: drop the cycle.
                    error = None
        except StopIteration as stop:
            result: _T = stop.value
            return result
        except _Return as ret:
            returned: _T = ret.value
            return returned
        value = None
        future: asyncio.Future[Any]
        try:
            if context is None or yielded.__class__ is _Future or yielded.__class__ is _Task:
                future = _to_asyncio_future(yielded)
            else:
                # A coroutine becomes a task here: it must copy the body's context.
                future = context.run(_to_asyncio_future, yielded)
        except Exception as exc:
            error = exc
            continue
        try:
            value = await future
        except GeneratorExit:
            # The awaiting coroutine is being closed: close the generator with it.
            gen.close()
            raise
        except BaseException as exc:
            # Includes CancelledError when the awaiting task is cancelled: the
            # generator sees it at its yield and may clean up, or even go on.
            error = exc
            # The traceback now holds this frame, and the failed future holds
            # the exception: drop the future so that no cycle is left behind.
            del future, yielded


# --- as_tornado -------------------------------------------------------------------


@overload
def as_tornado(
    fn: staticmethod[_P, Generator[Any, Any, _T]], /
) -> staticmethod[_P, Future[_T]]: ...
@overload
def as_tornado(fn: staticmethod[_P, SingleYieldable[_T]], /) -> staticmethod[_P, Future[_T]]: ...
@overload
def as_tornado(
    fn: classmethod[_C, _P, Generator[Any, Any, _T]], /
) -> classmethod[_C, _P, Future[_T]]: ...
@overload
def as_tornado(
    fn: classmethod[_C, _P, SingleYieldable[_T]], /
) -> classmethod[_C, _P, Future[_T]]: ...
@overload
def as_tornado(fn: Callable[_P, Generator[Any, Any, _T]], /) -> Callable[_P, Future[_T]]: ...
@overload
def as_tornado(fn: Callable[_P, SingleYieldable[_T]], /) -> Callable[_P, Future[_T]]: ...
@overload
def as_tornado(fn: Callable[_P, None], /) -> Callable[_P, Future[None]]: ...
@overload
def as_tornado(
    fn: Callable[_P, Sequence[SingleYieldable[_T]]], /
) -> Callable[_P, Future[list[_T]]]: ...
@overload
def as_tornado(
    fn: Callable[_P, Mapping[_K, SingleYieldable[_T]]], /
) -> Callable[_P, Future[dict[_K, _T]]]: ...
def as_tornado(fn: object, /) -> object:
    """Make *fn* return a :class:`tornado.concurrent.Future` and start at once.

    *fn* is an ``async def``, a generator function in ``@gen.coroutine``
    style (driven as :func:`as_asyncio` drives it), or a function returning
    any yieldable (converted with :func:`to_tornado_future`).

    Calling the result runs *fn* at once, up to its first suspension, as
    ``@gen.coroutine`` did, and returns a Tornado future (an
    :class:`asyncio.Future`, a task while the coroutine runs) for its outcome.
    Legacy code can ``x = yield f()`` inside ``@gen.coroutine`` or pass
    ``f()`` to :meth:`tornado.ioloop.IOLoop.add_future`; new code can
    ``await f()``. It must be called on a running loop's thread (from a
    coroutine or a callback), as the future belongs to that loop. The
    decorator takes no options: write ``@as_tornado``, not ``@as_tornado()``.

    It works on plain functions, methods, ``classmethod`` and ``staticmethod``
    objects (in either order), abstract methods and :func:`functools.partial`
    objects, and keeps ``__name__``, ``__qualname__``, ``__module__``,
    ``__doc__`` and :func:`inspect.signature`, with ``__wrapped__`` set to *fn*.

    Example::

        import asyncio
        from collections.abc import Generator
        from typing import Any

        from tornado import gen

        from futurebridge import as_tornado

        @as_tornado
        async def double(x: int) -> int:
            await asyncio.sleep(0)
            return 2 * x

        @gen.coroutine
        def legacy() -> Generator[Any, Any, int]:
            return (yield double(21))  # legacy code yields it as before

        async def main() -> int:
            return await legacy()

        print(asyncio.run(main()))  # 42

    Outcome: the result, or the exception with its original traceback, even
    one raised before the first suspension (as ``@gen.coroutine`` delivers
    it). An exception that nobody retrieves is logged once by asyncio when
    the future is collected, never dropped.

    Cancellation: cancelling the returned future cancels the coroutine
    (:class:`asyncio.CancelledError` is thrown in where it waits), or the
    source future for a converted yieldable.

    contextvars: *fn* and its coroutine run in a copy of the caller's context.

    :raises TypeError: at decoration time, if *fn* is a class, an async
        generator function or not callable; at call time, if *fn* returned
        something that is not a yieldable (a plain value such as ``3``): the
        message names the type it returned. ``None`` is a yieldable and gives
        a future resolved to ``None``.
    :raises RuntimeError: at call time, if no event loop runs on this thread.

    .. versionadded:: 0.1
    """
    if isinstance(fn, staticmethod):
        return staticmethod(as_tornado(_method_function(fn, "as_tornado")))  # pyright: ignore[reportUnknownArgumentType]
    if isinstance(fn, classmethod):
        return classmethod(as_tornado(_method_function(fn, "as_tornado")))  # pyright: ignore[reportUnknownArgumentType]
    func = _check_decoratable(fn, "as_tornado")
    return _copy_metadata(_future_function(func), func)


def _future_function(func: Callable[..., Any]) -> Callable[..., Future[Any]]:
    if inspect.iscoroutinefunction(func):

        def start_coroutine(*args: Any, **kwargs: Any) -> Future[Any]:
            loop = _running_loop(func)
            context = contextvars.copy_context()
            try:
                # Creating a coroutine runs none of its body: no need to enter context.
                coro = func(*args, **kwargs)
            except (Exception, _CancelledError) as exc:
                return _failed(loop, exc)
            return _start(coro, loop, context, func)

        return start_coroutine

    def start(*args: Any, **kwargs: Any) -> Future[Any]:
        loop = _running_loop(func)
        context = contextvars.copy_context()
        try:
            result: Any = context.run(func, *args, **kwargs)
        except (Exception, _CancelledError) as exc:
            # As @gen.coroutine: what the body raises is the future's outcome.
            return _failed(loop, exc)
        if result.__class__ is _CoroutineType:
            return _start(result, loop, context, func)
        if result.__class__ is _GeneratorType:
            # The task runs in context already, so the steps need not enter it.
            return _start(_drive(result, None), loop, context, func)
        return context.run(_convert_result, result, func, "as_tornado")

    return start


def _running_loop(func: Callable[..., Any]) -> asyncio.AbstractEventLoop:
    loop = running_loop()
    if loop is None:
        name = _describe(func)
        raise RuntimeError(
            f"{name}() is decorated with @as_tornado and was called with no running "
            "event loop: its future must belong to a loop, so call it from a coroutine "
            f"or a callback on the loop, e.g. IOLoop.current().run_sync({name})"
        )
    return loop


def _failed(loop: asyncio.AbstractEventLoop, exc: BaseException) -> Future[Any]:
    future: Future[Any] = loop.create_future()
    if isinstance(exc, _CancelledError):
        future.cancel()
    else:
        future.set_exception(exc)
    return future


if sys.version_info >= (3, 12):

    def _start(
        coro: Coroutine[Any, Any, _T],
        loop: asyncio.AbstractEventLoop,
        context: contextvars.Context,
        func: Callable[..., Any],
    ) -> Future[_T]:
        return start_task(loop, coro, context=context, name=_task_name(func))

else:

    def _start(
        coro: Coroutine[Any, Any, _T],
        loop: asyncio.AbstractEventLoop,
        context: contextvars.Context,
        func: Callable[..., Any],
    ) -> Future[_T]:
        # Python 3.11 has no eager tasks. The first step runs here, with the task
        # that will carry on already current (asyncio.timeout() and TaskGroup ask
        # for it), and the task takes over from the first suspension.
        carrier = _Started(coro)
        # Through the loop, so a task factory sees it (its first step, run
        # here by hand, is not the factory's to see).
        task: asyncio.Task[Any] = loop.create_task(
            carrier,
            name=_task_name(func),
            context=context,
        )
        token = enter_task(loop, task)
        try:
            context.run(carrier.first_step)
        finally:
            leave_task(loop, token)
        if not carrier.finished:
            return task
        # Done without suspending: a done future, as an eager task would be.
        # The task ends quietly with None on its first step, if the loop ever
        # runs it, so it must not be reported as destroyed while pending.
        quiet_destroy_pending(task)
        # Made in a helper: the exception's traceback reaches this frame through
        # first_step's, so a local here holding the future would be a cycle.
        return carrier.settled(loop)

    class _Started(Coroutine[Any, Any, Any]):
        """A coroutine whose first step already ran, as a Task's coroutine (3.11).

        The task's first ``send`` gets what that step yielded; every later
        ``send`` and ``throw`` goes to the coroutine itself.
        """

        __slots__ = ("_coro", "_handed_over", "_yielded", "error", "finished", "result")

        def __init__(self, coro: Coroutine[Any, Any, Any]) -> None:
            self._coro = coro
            self._yielded: Any = None
            self._handed_over = False
            self.finished = False
            self.result: Any = None
            self.error: BaseException | None = None

        def first_step(self) -> None:
            try:
                self._yielded = self._coro.send(None)
            except StopIteration as stop:
                self.finished = True
                self.result = stop.value
            except BaseException as exc:
                self.finished = True
                if not isinstance(exc, Exception | _CancelledError):
                    raise  # KeyboardInterrupt, SystemExit: as a task would.
                self.error = exc

        def settled(self, loop: asyncio.AbstractEventLoop) -> Future[Any]:
            """A future done with the outcome of a coroutine that never suspended."""
            future: Future[Any] = loop.create_future()
            if self.error is None:
                future.set_result(self.result)
            elif isinstance(self.error, _CancelledError):
                future.cancel()
            else:
                future.set_exception(self.error)
            self.error = self.result = None
            return future

        def send(self, value: Any, /) -> Any:
            if self._handed_over:
                return self._coro.send(value)
            self._handed_over = True
            if self.finished:
                raise StopIteration
            yielded, self._yielded = self._yielded, None
            return yielded

        def throw(self, typ: Any, val: Any = None, tb: Any = None, /) -> Any:
            exc: BaseException = typ if val is None else val
            if not self._handed_over:
                self._handed_over = True
                if self.finished:
                    raise exc
                # Cancelled before the task saw the future it waits for:
                # cancel that future, as Task.cancel() would have.
                yielded, self._yielded = self._yielded, None
                if isinstance(yielded, _Future):
                    yielded.cancel()
            return self._coro.throw(exc)

        def close(self) -> None:
            self._coro.close()

        def __getattr__(self, name: str) -> Any:
            # __qualname__, cr_frame, cr_code...: the task's repr and get_stack().
            return getattr(self._coro, name)

        def __await__(self) -> Generator[Any, None, Any]:
            raise TypeError("futurebridge's internal task carrier is not awaitable")


# --- shared -------------------------------------------------------------------------


def _convert_result(result: object, func: Callable[..., Any], decorator: str) -> Future[Any]:
    """Convert what *func* returned, or say why it cannot be (rule 5)."""
    try:
        _handler_for(result)
    except TypeError:
        raise TypeError(
            f"{_describe(func)}(), decorated with @{decorator}, returned a value of type "
            f"{_type_name(result)}, which is not a yieldable: {_RETURN_RULE}"
        ) from None
    return _to_asyncio_future(result)


def _check_decoratable(fn: object, decorator: str) -> Callable[..., Any]:
    if isinstance(fn, type):
        raise TypeError(
            f"@{decorator} cannot decorate a class ({fn.__qualname__}): "
            "decorate its methods, or a function, instead"
        )
    if not callable(fn):
        raise TypeError(
            f"@{decorator} decorates a function, method, classmethod, staticmethod or "
            f"functools.partial, got a {_type_name(fn)}"
        )
    if inspect.isasyncgenfunction(fn):
        raise TypeError(
            f"@{decorator} cannot decorate the async generator function "
            f"{_describe(fn)}: it gives an async iterator, not one outcome to wait for"
        )
    return fn


def _method_function(
    method: staticmethod[..., Any] | classmethod[Any, ..., Any], decorator: str
) -> Callable[..., Any]:
    func: object = method.__func__
    return _check_decoratable(func, decorator)


def _copy_metadata(wrapper: Callable[..., _T], func: Callable[..., Any]) -> Callable[..., _T]:
    functools.update_wrapper(wrapper, func)
    inner = _innermost(func)
    if inner is not func:
        # A partial has no name of its own: take the innermost function's.
        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            if hasattr(inner, name):
                setattr(wrapper, name, getattr(inner, name))
    return wrapper


def _innermost(func: object) -> object:
    while func.__class__ is _Partial:
        func = getattr(func, "func")
    return func


def _task_name(func: object) -> str:
    # What asyncio's task listings (and ``python -m asyncio pstree``) show.
    return f"as_tornado:{_describe(func)}"


def _describe(func: object) -> str:
    inner = _innermost(func)
    name = getattr(inner, "__qualname__", None)
    return name if isinstance(name, str) else repr(inner)
