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
import os
import sys
import types
from collections.abc import Callable, Coroutine, Generator, Mapping, Sequence
from typing import Any, ParamSpec, TypeVar, overload

import tornado.gen
from tornado.concurrent import Future
from tornado.ioloop import IOLoop

from ._asyncio_internals import (
    PRIVATE_PATHS,
    blame_the_caller,
    enter_task,
    leave_task,
    quiet_destroy_pending,
    running_loop,
    start_task,
    take_yield_from_handover,
)
from ._convert import (
    _a_type_name,  # pyright: ignore[reportPrivateUsage]
    _check_tree,  # pyright: ignore[reportPrivateUsage]
    _handler_for,  # pyright: ignore[reportPrivateUsage]
    _is_aggregate,  # pyright: ignore[reportPrivateUsage]
    _type_name,  # pyright: ignore[reportPrivateUsage]
    to_asyncio_future,
)
from ._typing import SingleYieldable

__all__ = ("BadYieldError", "as_asyncio", "as_tornado")

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

_to_asyncio_future_loop: Callable[..., asyncio.Future[Any]] = to_asyncio_future


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
@overload
def as_asyncio(fn: Callable[_P, _T], /) -> Callable[_P, Coroutine[Any, Any, _T]]: ...
def as_asyncio(fn: object, /) -> object:
    """Make *fn* a coroutine function (``async def``) that ends the way *fn*'s result ends.

    ``@as_asyncio`` is for functions whose callers **await** them (or wrap
    the call in a task): like any ``async def``, a call runs nothing until
    it is awaited, and a call nobody awaits never runs at all. Where callers
    yield the call from ``@gen.coroutine`` code, pass it to
    :meth:`IOLoop.add_future <tornado.ioloop.IOLoop.add_future>` or drop it
    ("fire and forget"), use :func:`as_tornado`, which starts at once as
    ``@gen.coroutine`` does.

    *fn* may be:

    * an ``async def``: the result behaves exactly like it, at no cost per call;
    * a function that returns any yieldable: a ``@gen.coroutine`` function, a
      function returning a Tornado or asyncio future, a
      :class:`concurrent.futures.Future`, a Twisted ``Deferred``, or a list,
      tuple or dict made only of those; the result is converted with
      :func:`to_asyncio_future` and awaited;
    * a function that returns anything else (``None``, ``3``, a tuple of
      streams): that value is the result, as with ``@gen.coroutine``;
      ``raise gen.Return(x)`` with no ``yield`` gives ``x``;
    * a bare generator function in ``@gen.coroutine`` style, so
      ``@as_asyncio`` replaces ``@gen.coroutine`` in place: each object it
      yields is converted and awaited, the result is sent back in (an
      exception is thrown back in at the ``yield``), and ``return x`` or
      ``raise gen.Return(x)`` gives the result. ``yield None`` and a bare
      ``yield`` let the loop run one iteration, as :data:`tornado.gen.moment`
      does; ``yield from`` an asyncio future works; a coroutine it yields
      (alone or in a list or dict) starts at once. A yielded object that
      cannot be converted is thrown back in as an exception that is both
      :class:`tornado.gen.BadYieldError` and :class:`TypeError`.

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

    The decorator takes no options: write ``@as_asyncio``, not
    ``@as_asyncio()``. docs/migration.rst lists every way it differs from
    ``@gen.coroutine``.

    Cancellation: cancelling the awaiting task cancels what is underneath: the
    Tornado or asyncio future being awaited, a concurrent future that has not
    started, and a generator, which gets :class:`asyncio.CancelledError`
    thrown in at its current ``yield`` so its ``finally`` blocks run. (A
    generator under ``@gen.coroutine`` keeps running instead, Tornado issue
    2990, still so in 6.6.1: decorating such a function only cancels its future, so
    replace ``@gen.coroutine`` with ``@as_asyncio`` rather than stacking them.)

    contextvars: *fn*, and every step of a generator, runs in a copy of the
    caller's context, as with ``@gen.coroutine``. A coroutine is awaited
    directly, so, like any awaited coroutine, it shares the awaiting task's
    context.

    :raises TypeError: at decoration time, if *fn* is a class, an async
        generator function or not callable.

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
        try:
            result: Any = context.run(func, *args, **kwargs)
        except (_Return, StopIteration) as stop:
            # raise gen.Return(x) with no yield: the Python 2 way to return x.
            return stop.value
        if result.__class__ is _CoroutineType:
            return await result
        if result.__class__ is _GeneratorType:
            return await _drive(result, context)
        if not _is_yieldable(result):
            return result
        future = context.run(_to_asyncio_future, result)
        try:
            return await future
        except BaseException:
            # A traceback through this frame must not keep the failed future.
            del future, result
            raise

    return await_result


async def _drive(
    gen: Generator[Any, Any, _T],
    context: contextvars.Context | None,
    future: asyncio.Future[Any] | None = None,
) -> _T:
    """Run a ``@gen.coroutine``-style generator to its end (rule 3).

    *context* is where each step runs, or None to run in the current one.
    *future*, if given, is what the generator waits for already.
    """
    send = gen.send
    throw = gen.throw
    loop = running_loop()
    value: Any = None
    yielded: Any = None
    error: BaseException | None = None
    while True:
        if future is None:
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
            try:
                if yielded.__class__ is _Future or yielded.__class__ is _Task:
                    future = _to_asyncio_future(yielded)
                elif context is None:
                    future = _convert_yielded(yielded, loop, True)
                else:
                    # A coroutine becomes a task here: it must copy the body's context.
                    future = context.run(_convert_yielded, yielded, loop, True)
            except Exception as exc:
                error = _bad_yield(exc)
                continue
            take_yield_from_handover(future)
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
            yielded = None
        future = None


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
@overload
def as_tornado(fn: Callable[_P, _T], /) -> Callable[_P, Future[_T]]: ...
def as_tornado(fn: object, /) -> object:
    """Make *fn* return a :class:`tornado.concurrent.Future` and start at once.

    ``@as_tornado`` is a drop-in for ``@gen.coroutine``: it accepts what
    ``@gen.coroutine`` accepts and behaves the same, except that cancelling
    the future reaches the generator, a coroutine runs, and the types are
    exact (docs/migration.rst lists every remaining difference). *fn* is:

    * a generator function in ``@gen.coroutine`` style, driven as
      :func:`as_asyncio` drives it: ``yield None`` or a bare ``yield`` is one
      loop iteration, a bad yield is thrown in as an exception that is both
      :class:`tornado.gen.BadYieldError` and :class:`TypeError`, ``yield
      from`` an asyncio future works;
    * an ``async def``, run as an :class:`asyncio.Task` that starts eagerly;
    * a function returning a yieldable (a future, an awaitable, a
      :class:`concurrent.futures.Future`, or a list, tuple or dict made only
      of those), whose outcome becomes the result;
    * a function returning anything else, which is the result (``return 42``,
      a tuple of streams, ``None``); ``raise gen.Return(x)`` gives ``x``.

    Calling the result runs *fn* at once, up to its first suspension, as
    ``@gen.coroutine`` did, and returns a Tornado future (an
    :class:`asyncio.Future`, a task while the body is suspended) for its
    outcome. Legacy code can ``x = yield f()`` inside ``@gen.coroutine`` or
    pass ``f()`` to :meth:`tornado.ioloop.IOLoop.add_future`; new code can
    ``await f()``. The future belongs to the running loop; called with no
    loop running (``future = f()`` before ``IOLoop.current().start()``), it
    belongs to ``IOLoop.current()``'s loop, a generator body runs up to its
    first suspension at once and an ``async def`` starts when the loop runs.
    :func:`tornado.gen.is_coroutine_function` is true for the result. The
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
    the future is collected, never dropped. A legacy generator still
    waiting when its loop closes is dropped without a message, as under
    ``@gen.coroutine`` (its ``finally`` blocks run when it is collected);
    an ``async def`` left so gets asyncio's "Task was destroyed but it is
    pending!".

    Cancellation: cancelling the returned future cancels the coroutine or
    generator (:class:`asyncio.CancelledError` is thrown in where it waits),
    or the source future for a converted yieldable. On every Python
    version, the eager start follows :class:`asyncio.Task`'s rules, as
    ``eager_start=True`` does on 3.12: :func:`asyncio.current_task` in an
    ``async def`` body is the returned future from its first step, and a
    cancel it requests of itself wins over a value it returns.

    contextvars: *fn* and its coroutine run in a copy of the caller's context.

    :raises TypeError: at decoration time, if *fn* is a class, an async
        generator function or not callable.
    :raises RuntimeError: at call time with no loop running, if
        ``IOLoop.current()`` does not run on an asyncio loop.

    .. versionadded:: 0.1
    """
    if isinstance(fn, staticmethod):
        return staticmethod(as_tornado(_method_function(fn, "as_tornado")))  # pyright: ignore[reportUnknownArgumentType]
    if isinstance(fn, classmethod):
        return classmethod(as_tornado(_method_function(fn, "as_tornado")))  # pyright: ignore[reportUnknownArgumentType]
    func = _check_decoratable(fn, "as_tornado")
    return _copy_metadata(_future_function(func), func)


def _future_function(func: Callable[..., Any]) -> Callable[..., Future[Any]]:
    start = _start_generator(func) if inspect.isgeneratorfunction(func) else _start_any(func)
    # What tornado.gen.is_coroutine_function reads (Tornado's curl client does).
    start.__dict__["__tornado_coroutine__"] = True
    return start


def _start_any(func: Callable[..., Any]) -> Callable[..., Future[Any]]:
    def start(*args: Any, **kwargs: Any) -> Future[Any]:
        loop = running_loop()
        running = loop is not None
        if loop is None:
            loop = _current_ioloop_loop()
        context = contextvars.copy_context()
        try:
            result: Any = context.run(func, *args, **kwargs)
        except (_Return, StopIteration) as stop:
            # raise gen.Return(x) with no yield: the Python 2 way to return x.
            return _resolved(loop, stop.value)
        except (Exception, _CancelledError) as exc:
            # As @gen.coroutine: what the body raises is the future's outcome.
            return _failed(loop, exc)
        if result.__class__ is _CoroutineType:
            return _start_task(result, loop, context, running, _task_name(func))
        if result.__class__ is _GeneratorType:
            return _run_generator(result, loop, context, running, func)
        if not _is_yieldable(result):
            return _resolved(loop, result)
        return context.run(_to_asyncio_future_on, result, loop)

    return start


def _start_generator(func: Callable[..., Generator[Any, Any, Any]]) -> Callable[..., Future[Any]]:
    # The first steps run in the wrapper's own frame, not in a helper's, so a
    # recursion of legacy generators uses two frames per level, as under
    # @gen.coroutine (issue 17 item 12). _run_generator is the same loop.
    def start(*args: Any, **kwargs: Any) -> Future[Any]:
        loop = running_loop()
        running = loop is not None
        if loop is None:
            loop = _current_ioloop_loop()
        context = contextvars.copy_context()
        value: Any = None
        error: BaseException | None = None
        try:
            gen = context.run(func, *args, **kwargs)
            send = gen.send
            while True:
                if error is None:
                    yielded = context.run(send, value)
                else:
                    try:
                        yielded = context.run(gen.throw, error)
                    finally:
                        error = None
                value = None
                if yielded.__class__ is _Future and yielded.get_loop() is loop:
                    future = yielded
                else:
                    try:
                        future = context.run(_convert_yielded, yielded, loop, running)
                    except Exception as exc:
                        error = _bad_yield(exc)
                        continue
                if not future.done():
                    return _carry_on(gen, future, loop, context, running, func)
                if future.cancelled():
                    error = _CancelledError()
                else:
                    error = future.exception()
                    if error is None:
                        value = future.result()
                # A failed future must not stay in this frame: on 3.12+ the
                # error's traceback can link back to it (a reference cycle).
                del future, yielded
        except (StopIteration, _Return) as stop:
            return _resolved(loop, stop.value)
        except (Exception, _CancelledError) as exc:
            return _failed(loop, exc)

    return start


def _current_ioloop_loop() -> asyncio.AbstractEventLoop:
    """The asyncio loop of ``IOLoop.current()``, for a call made with no loop running.

    ``@gen.coroutine`` makes its future there too: ``future = f()`` then
    ``IOLoop.current().start()`` is a classic idiom.
    """
    io_loop = IOLoop.current()
    # Tornado's own IOLoops and futurebridge's all carry their asyncio loop here.
    loop: object = getattr(io_loop, "asyncio_loop", None)
    if not isinstance(loop, asyncio.AbstractEventLoop):
        raise RuntimeError(
            f"@as_tornado needs IOLoop.current() to run on an asyncio loop (its "
            f"asyncio_loop attribute), got {_type_name(io_loop)}"
        )
    return loop


def _run_generator(
    gen: Generator[Any, Any, Any],
    loop: asyncio.AbstractEventLoop,
    context: contextvars.Context,
    running: bool,
    func: object,
) -> Future[Any]:
    """Run a legacy generator here, as ``@gen.coroutine`` does, up to its first real suspension.

    Done futures are consumed inline, with no task and no loop round trip, so a
    generator that never waits costs one future, and a recursion of them uses
    no more stack per level than ``@gen.coroutine``'s (issue 17 item 12). From
    the first pending future on, a task drives the rest (rule 3).
    """
    send = gen.send
    throw = gen.throw
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            if error is None:
                yielded = context.run(send, value)
            else:
                try:
                    yielded = context.run(throw, error)
                finally:
                    error = None
        except (StopIteration, _Return) as stop:
            return _resolved(loop, stop.value)
        except (Exception, _CancelledError) as exc:
            return _failed(loop, exc)
        value = None
        try:
            future = context.run(_convert_yielded, yielded, loop, running)
        except Exception as exc:
            error = _bad_yield(exc)
            continue
        if not future.done():
            return _carry_on(gen, future, loop, context, running, func)
        if future.cancelled():
            error = _CancelledError()
        else:
            error = future.exception()
            if error is None:
                value = future.result()
        # As in _start_generator: no failed future left in this frame.
        del future, yielded


def _carry_on(
    gen: Generator[Any, Any, Any],
    future: asyncio.Future[Any],
    loop: asyncio.AbstractEventLoop,
    context: contextvars.Context,
    running: bool,
    func: object,
) -> Future[Any]:
    """A task that drives *gen* on from its first pending *future*."""
    take_yield_from_handover(future)
    task = _start_task(_drive(gen, None, future), loop, context, running, _task_name(func))
    # As a @gen.coroutine still pending when its loop closes: no message.
    quiet_destroy_pending(task)
    return task


def _to_asyncio_future_on(obj: object, loop: asyncio.AbstractEventLoop) -> asyncio.Future[Any]:
    return _to_asyncio_future_loop(obj, loop=loop)


def _convert_yielded(
    yielded: Any, loop: asyncio.AbstractEventLoop | None, running: bool
) -> asyncio.Future[Any]:
    """Convert what a legacy generator yielded; called in the generator's context.

    A coroutine in it, alone or in a list, tuple or dict, starts at once on a
    running loop, as a call of a ``@gen.coroutine`` or ``@as_tornado``
    function does. So a sub-generator behaves the same under either
    decorator: which child of a list fails first, or what a cancel finds,
    does not depend on whether the sub-generator's own decorator starts it
    lazily (issue 17 item 13). The whole aggregate is checked before any
    child starts.
    """
    if running and loop is not None:
        cls = yielded.__class__
        # Returned, never bound to a local (see _start_task).
        if cls is _CoroutineType:
            return _start_eagerly(yielded, loop, contextvars.copy_context(), None)
        if cls is list or cls is tuple or cls is dict:
            _check_tree(yielded)
            return _to_asyncio_future_loop(_started(yielded, loop), loop=loop)
    return _to_asyncio_future_loop(yielded, loop=loop)


def _started(root: Any, loop: asyncio.AbstractEventLoop) -> Any:
    """*root* (a list, tuple or dict) with every coroutine in it started as a task, each once.

    Iterative, as ``_convert`` is, so a nesting thousands deep is no RecursionError.
    """
    seen: dict[int, asyncio.Task[Any]] = {}

    def members(obj: Any) -> tuple[list[Any], list[Any] | None]:
        if obj.__class__ is dict:
            return list(obj.values()), list(obj)
        return list(obj), None

    def rebuilt(obj: Any, results: list[Any], keys: list[Any] | None) -> Any:
        if keys is not None:
            return dict(zip(keys, results, strict=True))
        return tuple(results) if obj.__class__ is tuple else results

    children, keys = members(root)
    stack: list[tuple[Any, list[Any], list[Any] | None, list[Any]]] = [(root, children, keys, [])]
    while True:
        obj, children, keys, results = stack[-1]
        if len(results) < len(children):
            child = children[len(results)]
            cls = child.__class__
            if cls is list or cls is tuple or cls is dict:
                child_members, child_keys = members(child)
                stack.append((child, child_members, child_keys, []))
                continue
            if cls is _CoroutineType:
                task = seen.get(id(child))
                if task is None:
                    task = seen[id(child)] = _start_eagerly(
                        child, loop, contextvars.copy_context(), None
                    )
                child = task
            results.append(child)
            continue
        stack.pop()
        built = rebuilt(obj, results, keys)
        if not stack:
            return built
        stack[-1][3].append(built)


def _resolved(loop: asyncio.AbstractEventLoop, value: object) -> Future[Any]:
    # Not loop.create_future(): its frame would be the "created at" of debug mode.
    future: Future[Any] = _Future(loop=loop)
    future.set_result(value)
    if loop.get_debug():
        blame_the_caller(future, _NOT_THE_CALLER)
    return future


def _failed(loop: asyncio.AbstractEventLoop, exc: BaseException) -> Future[Any]:
    future: Future[Any] = _Future(loop=loop)
    if isinstance(exc, _CancelledError):
        future.cancel()
    else:
        future.set_exception(exc)
    if loop.get_debug():
        blame_the_caller(future, _NOT_THE_CALLER)
    return future


def _start_task(
    coro: Coroutine[Any, Any, _T],
    loop: asyncio.AbstractEventLoop,
    context: contextvars.Context,
    running: bool,
    name: str | None,
) -> asyncio.Task[_T]:
    # The task is returned, never bound to a local: on 3.12+ a body that fails
    # during its eager first step links its frame to the frames that started
    # it, and a local holding the task there would make a reference cycle.
    if not loop.get_debug():
        if running:
            return _start_eagerly(coro, loop, context, name)
        # No loop runs to host a task's first step: it starts when the loop does.
        return loop.create_task(coro, name=name, context=context)
    if running:
        task = _start_eagerly(coro, loop, context, name)
    else:
        task = loop.create_task(coro, name=name, context=context)
    blame_the_caller(task, _NOT_THE_CALLER)
    return task


# In asyncio's debug mode a future's repr says where it was created: frames of
# these files are skipped, so that it is the decorated function's caller, as
# Tornado's own _create_future makes it for @gen.coroutine.
_NOT_THE_CALLER = (os.path.dirname(__file__), os.path.dirname(asyncio.__file__))


if sys.version_info >= (3, 12):

    def _start_eagerly(
        coro: Coroutine[Any, Any, _T],
        loop: asyncio.AbstractEventLoop,
        context: contextvars.Context,
        name: str | None,
    ) -> asyncio.Task[_T]:
        return start_task(loop, coro, context=context, name=name)

else:

    def _start_eagerly(
        coro: Coroutine[Any, Any, _T],
        loop: asyncio.AbstractEventLoop,
        context: contextvars.Context,
        name: str | None,
    ) -> asyncio.Task[_T]:
        # Python 3.11 has no eager tasks (issue 17 item 11). A task schedules
        # its first step with loop.call_soon(); that step is taken from the
        # task as it is made (through the loop, so a task factory sees it) and
        # run here, so it is the task's own step, with its own cancellation
        # rules, current_task() and result, and nothing stays queued.
        if not PRIVATE_PATHS:
            return loop.create_task(coro, name=name, context=context)
        taken: list[tuple[Callable[..., object], tuple[object, ...], dict[str, Any]]] = []

        def take(callback: Callable[..., object], *args: object, **kwargs: Any) -> None:
            taken.append((callback, args, kwargs))

        try:
            attributes: dict[str, Any] = vars(loop)
        except TypeError:  # pragma: no cover - a loop with no __dict__: no eager start
            return loop.create_task(coro, name=name, context=context)
        saved = attributes.get("call_soon", _MISSING)
        attributes["call_soon"] = take
        try:
            task = loop.create_task(coro, name=name, context=context)
        finally:
            if saved is _MISSING:
                del attributes["call_soon"]
            else:
                attributes["call_soon"] = saved
        if len(taken) != 1 or taken[0][1]:
            # Not the one first step of a Task: hand back what was taken.
            for callback, args, kwargs in taken:
                loop.call_soon(callback, *args, **kwargs)
            return task
        step = taken[0][0]
        # A task step refuses to run while another task is current: the
        # caller's task steps aside for it, as eager_start does on 3.12.
        outer = enter_task(loop, task)
        leave_task(loop, None)
        try:
            context.run(step)
        finally:
            leave_task(loop, outer)
        return task

    _MISSING: Any = object()


def _task_name(func: object) -> str:
    # What asyncio's task listings (and ``python -m asyncio pstree``) show.
    return f"as_tornado:{_describe(func)}"


# --- shared -------------------------------------------------------------------------


class BadYieldError(tornado.gen.BadYieldError, TypeError):
    """A legacy generator yielded something that is not a yieldable.

    Both :class:`tornado.gen.BadYieldError`, which ``@gen.coroutine`` raises
    and legacy code catches, and :class:`TypeError`, which the converters
    raise for the same mistake.
    """


def _bad_yield(exc: Exception) -> Exception:
    """What a generator gets thrown in when converting what it yielded failed."""
    if isinstance(exc, TypeError) and not isinstance(exc, tornado.gen.BadYieldError):
        return BadYieldError(str(exc))
    return exc


def _is_yieldable(result: object) -> bool:
    """Whether a returned *result* is waited for (True) or is itself the value.

    A future, an awaitable, a concurrent future, or a list, tuple or dict made
    only of those (at any depth) is waited for, as futurebridge always did and
    as the types say; ``None`` and anything else is the value, as with
    ``@gen.coroutine`` (issue 13 item 1).
    """
    if result is None:
        return False
    try:
        if _is_aggregate(_handler_for(result)):
            _check_tree(result)
    except TypeError:
        return False
    return True


def _check_decoratable(fn: object, decorator: str) -> Callable[..., Any]:
    if isinstance(fn, type):
        raise TypeError(
            f"@{decorator} cannot decorate a class ({fn.__qualname__}): "
            "decorate its methods, or a function, instead"
        )
    if not callable(fn):
        raise TypeError(
            f"@{decorator} decorates a function, method, classmethod, staticmethod or "
            f"functools.partial, got {_a_type_name(fn)}"
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


def _describe(func: object) -> str:
    inner = _innermost(func)
    name = getattr(inner, "__qualname__", None)
    return name if isinstance(name, str) else repr(inner)
