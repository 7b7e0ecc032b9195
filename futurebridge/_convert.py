"""Conversion of every Tornado yieldable into an asyncio (and Tornado) future.

This module owns :func:`to_asyncio_future`, :func:`to_tornado_future` and
:func:`register_adapter`. It does not own any event loop: loops are the
business of ``_ioloop`` and ``_thread``, and carrying an outcome from one
future to another (across threads too) is ``_outcome``'s, whose rules on
threads, exactly-once delivery and reference cycles hold here as well.

One more rule holds across this module:

4. Aggregates (lists, tuples, dicts) are checked in full before any child is
   started, so bad input never leaves a half-started task behind. Both the
   check and the conversion walk the tree with a stack of their own, not by
   recursion, so no depth of nesting ends in a RecursionError half-way.
5. A resolved handler is cached only if no adapter was registered while it
   was being resolved: a conversion racing ``register_adapter`` on another
   thread never leaves a stale handler behind.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import importlib
import logging
import os
import threading
import types
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast, overload

import tornado.gen

from ._asyncio_internals import CALL_GRAPH, link_awaited_by, running_loop, unlink_awaited_by
from ._outcome import (
    Bridge,
    cancel_concurrent,
    cancel_if_cancelled,
    copy_outcome,
    copy_outcome_to,
    deliver_threadsafe,
    set_exception_unless_done,
    set_result_unless_done,
)
from ._typing import ChildYieldable, FutureLike, NoneChild, NoneResult

if TYPE_CHECKING:
    from ._typing import Moment

__all__ = ("register_adapter", "to_asyncio_future", "to_tornado_future")

_T = TypeVar("_T")
_K = TypeVar("_K")

logger = logging.getLogger("futurebridge")
_app_log = logging.getLogger("tornado.application")

_Handler = Callable[[Any, asyncio.AbstractEventLoop], "asyncio.Future[Any]"]

# The C implementations when available: the fast path compares types exactly.
_Future = asyncio.Future
_Task = asyncio.Task
_CoroutineType = types.CoroutineType
# Unbound, so a call costs what reading the private ``_loop`` costs.
_get_loop: Callable[[Any], asyncio.AbstractEventLoop] = asyncio.Future[Any].get_loop
# getattr: Tornado types moment as Future[Any] (it is a _NullFuture) and
# convert_yielded as a plain function (it is a singledispatch one).
_moment: object = getattr(tornado.gen, "moment")
_NULL_FUTURE_TYPE = type(_moment)
_tornado_convert_yielded: Any = getattr(tornado.gen, "convert_yielded")

_ACCEPTED = (
    "an asyncio or Tornado Future or Task, a coroutine, an object with __await__, "
    "a concurrent.futures.Future, None, tornado.gen.moment, a list, tuple or dict "
    "of those, or a kind taught with futurebridge.register_adapter()"
)


@overload
def to_asyncio_future(
    obj: None, /, *, loop: asyncio.AbstractEventLoop | None = None
) -> asyncio.Future[None]: ...
@overload
def to_asyncio_future(
    obj: asyncio.Future[_T], /, *, loop: asyncio.AbstractEventLoop | None = None
) -> asyncio.Future[_T]: ...
@overload
def to_asyncio_future(
    obj: concurrent.futures.Future[_T], /, *, loop: asyncio.AbstractEventLoop | None = None
) -> asyncio.Future[_T]: ...
@overload
def to_asyncio_future(
    obj: Moment, /, *, loop: asyncio.AbstractEventLoop | None = None
) -> asyncio.Future[None]: ...
@overload
def to_asyncio_future(
    obj: FutureLike[_T], /, *, loop: asyncio.AbstractEventLoop | None = None
) -> asyncio.Future[_T]: ...
@overload
def to_asyncio_future(
    obj: Awaitable[_T], /, *, loop: asyncio.AbstractEventLoop | None = None
) -> asyncio.Future[_T]: ...
# A list or tuple, or a dict, of single yieldables: None among them adds None
# to the result type. One level of nesting keeps the inner shape.
@overload
def to_asyncio_future(
    obj: Sequence[ChildYieldable[_T] | NoneChild | NoneResult[NoneChild]],
    /,
    *,
    loop: asyncio.AbstractEventLoop | None = None,
) -> asyncio.Future[list[_T | NoneChild]]: ...
@overload
def to_asyncio_future(
    obj: Mapping[_K, ChildYieldable[_T] | NoneChild | NoneResult[NoneChild]],
    /,
    *,
    loop: asyncio.AbstractEventLoop | None = None,
) -> asyncio.Future[dict[_K, _T | NoneChild]]: ...
@overload
def to_asyncio_future(
    obj: Mapping[_K, Sequence[ChildYieldable[_T]]],
    /,
    *,
    loop: asyncio.AbstractEventLoop | None = None,
) -> asyncio.Future[dict[_K, list[_T]]]: ...
@overload
def to_asyncio_future(
    obj: Sequence[Sequence[ChildYieldable[_T]]],
    /,
    *,
    loop: asyncio.AbstractEventLoop | None = None,
) -> asyncio.Future[list[list[_T]]]: ...
def to_asyncio_future(
    obj: object, /, *, loop: asyncio.AbstractEventLoop | None = None
) -> asyncio.Future[Any]:
    """Return an asyncio future on *loop* that ends the way *obj* ends.

    *obj* is any Tornado yieldable:

    * an asyncio or Tornado future or task already on *loop*: returned as is;
    * a future of another loop, possibly running on another thread: bridged
      thread-safely; cancelling the result cancels the source on its own
      thread, and a cancelled source cancels the result;
    * a coroutine or any object with ``__await__``: scheduled as a task on
      *loop*, in a copy of the caller's :mod:`contextvars` context;
    * a :class:`concurrent.futures.Future`: its outcome is delivered on *loop*;
      cancelling the result cancels it if it has not started;
    * ``None`` or :data:`tornado.gen.moment`: resolves to ``None`` after one
      loop iteration, so callbacks already scheduled run first (Tornado's
      ``convert_yielded(None)`` is ``gen.moment`` too, and a legacy
      ``while not ready: yield`` lets the loop run);
    * a list or tuple of yieldables (a future of the list of results, in
      order) or a dict of them (a future of a dict with the same keys),
      nested as deep as you like. Cancelling the aggregate cancels every
      child; the first exception wins and later ones are logged;
    * any kind taught with :func:`register_adapter` (Twisted's ``Deferred`` is
      taught automatically when Twisted is imported).

    Results, exceptions (with their original tracebacks) and cancellations are
    carried exactly.

    *loop* defaults to the running loop. If *loop* runs on another thread,
    the conversion is started there thread-safely and the returned future
    belongs to *loop*.

    :raises RuntimeError: if there is no running loop and no *loop* was given,
        or if *loop* is closed, or if the source future's loop is closed
        while the future is pending.
    :raises TypeError: if *obj* (or an element of an aggregate) is not a
        yieldable; the message names its type and the accepted kinds.

    .. versionadded:: 0.1
    """
    cls = type(obj)
    if loop is None:
        # The fast paths: one lookup of the running loop (no exception to
        # catch on any loop kind), then exact type checks.
        running = running_loop()
        if running is None:
            raise RuntimeError(
                "to_asyncio_future() was called with no running event loop: "
                "call it from a coroutine, or pass loop= the event loop the future "
                "should belong to"
            )
        if cls is _Future or cls is _Task:
            if _get_loop(obj) is running:
                return obj  # type: ignore[return-value]  # pyright: ignore[reportReturnType]  # pyrefly: ignore[bad-return]  # ty: ignore[invalid-explicit-return]
        elif cls is _CoroutineType:
            return running.create_task(obj)  # type: ignore[arg-type]  # pyright: ignore[reportUnknownVariableType, reportArgumentType]  # pyrefly: ignore[bad-argument-type]  # ty: ignore[invalid-argument-type]
        return _handler_for(obj)(obj, running)
    return _to_future(obj, loop)


def _convert_here(obj: object, loop: asyncio.AbstractEventLoop) -> asyncio.Future[Any]:
    """Convert on *loop*'s own thread, with *loop* known to be open."""
    cls = type(obj)
    if (cls is _Future or cls is _Task) and _get_loop(obj) is loop:
        return obj  # type: ignore[return-value]  # pyright: ignore[reportReturnType]  # pyrefly: ignore[bad-return]  # ty: ignore[invalid-explicit-return]
    return _handler_for(obj)(obj, loop)


def _to_future(obj: object, loop: asyncio.AbstractEventLoop) -> asyncio.Future[Any]:
    """Convert onto any *loop*: checks it, and hops threads if it runs elsewhere."""
    cls = type(obj)
    if (cls is _Future or cls is _Task) and _get_loop(obj) is loop:
        return obj  # type: ignore[return-value]  # pyright: ignore[reportReturnType]  # pyrefly: ignore[bad-return]  # ty: ignore[invalid-explicit-return]
    return _convert(obj, loop)


@overload
def to_tornado_future(obj: None, /) -> asyncio.Future[None]: ...
@overload
def to_tornado_future(obj: asyncio.Future[_T], /) -> asyncio.Future[_T]: ...
@overload
def to_tornado_future(obj: concurrent.futures.Future[_T], /) -> asyncio.Future[_T]: ...
@overload
def to_tornado_future(obj: Moment, /) -> asyncio.Future[None]: ...
@overload
def to_tornado_future(obj: FutureLike[_T], /) -> asyncio.Future[_T]: ...
@overload
def to_tornado_future(obj: Awaitable[_T], /) -> asyncio.Future[_T]: ...
@overload
def to_tornado_future(
    obj: Sequence[ChildYieldable[_T] | NoneChild | NoneResult[NoneChild]], /
) -> asyncio.Future[list[_T | NoneChild]]: ...
@overload
def to_tornado_future(
    obj: Mapping[_K, ChildYieldable[_T] | NoneChild | NoneResult[NoneChild]], /
) -> asyncio.Future[dict[_K, _T | NoneChild]]: ...
@overload
def to_tornado_future(
    obj: Mapping[_K, Sequence[ChildYieldable[_T]]], /
) -> asyncio.Future[dict[_K, list[_T]]]: ...
@overload
def to_tornado_future(
    obj: Sequence[Sequence[ChildYieldable[_T]]], /
) -> asyncio.Future[list[list[_T]]]: ...
def to_tornado_future(obj: object, /) -> asyncio.Future[Any]:
    """Return a :class:`tornado.concurrent.Future` that ends the way *obj* ends.

    Since Tornado 5, a Tornado future *is* an :class:`asyncio.Future`, so this
    is :func:`to_asyncio_future` on the running loop, for legacy code that
    yields the result from a ``@gen.coroutine`` or passes it to
    :meth:`tornado.ioloop.IOLoop.add_future`. It accepts the same kinds.

    Outside a running loop, an asyncio future is returned as is (it already
    is a Tornado future) and anything else raises :class:`RuntimeError`.

    .. versionadded:: 0.1
    """
    loop = running_loop()
    if loop is None:
        if isinstance(obj, asyncio.Future):
            return obj  # pyright: ignore[reportUnknownVariableType]
        raise RuntimeError(
            f"to_tornado_future() got {_a_type_name(obj)} with no running event loop: "
            "call it on the IOLoop (from a coroutine or a callback), or use "
            "to_asyncio_future(obj, loop=...) to choose the loop"
        )
    return _convert_here(obj, loop)


def _call_cancel_method(obj: object, /) -> None:
    """Call ``obj.cancel()`` if *obj* has such a method: :func:`register_adapter`'s default."""
    cancel = getattr(obj, "cancel", None)
    if callable(cancel):
        cancel()


def register_adapter(
    kind: type[_K],
    adapter: Callable[[_K], Awaitable[Any]],
    /,
    *,
    cancel: Callable[[_K], object] | None = _call_cancel_method,
    gather: Callable[[Sequence[_K]], Awaitable[Sequence[Any]]] | None = None,
) -> None:
    """Teach :func:`to_asyncio_future` and :func:`to_tornado_future` a new kind.

    *adapter* is called with an instance of *kind* (or of a subclass) and must
    return an awaitable (a coroutine, a future, anything with ``__await__``),
    which is then converted like any other yieldable. The most specific
    registered class in an object's MRO wins, and a registration takes
    precedence over the built-in handling of the same class.

    *gather*, if given, converts several objects at once: when a list, tuple
    or dict holds more than one object whose registrations share this
    *gather*, it is called once with them (in order) and must return
    an awaitable of their results in the same order; if it fails, the
    aggregate fails with its exception, and cancelling the aggregate cancels
    it (and calls *cancel* for each object). Use it when the other library
    fetches many results in one round trip.

    *cancel* is called with the object, on the target loop's thread, when the
    converted future is cancelled, so a cancellation reaches the object even
    if it came before the adapter's awaitable started. It must not block. The
    default calls the object's ``cancel()`` method if it has one; pass
    ``None`` when the adapter's awaitable handles cancellation by itself, or
    when the object's ``cancel()`` means something else (a blocking call, or
    a cancel for every holder of a shared computation).

    Example::

        import asyncio

        from futurebridge import register_adapter, to_asyncio_future

        class Job:  # a future-like type of some other library
            def __init__(self, value: int) -> None:
                self.value = value

        async def wait_for_job(job: Job) -> int:
            await asyncio.sleep(0)
            return job.value

        register_adapter(Job, wait_for_job)

        async def main() -> list[int]:
            # Type checkers know only the built-in kinds; Job is taught at run time.
            return await to_asyncio_future([Job(1), Job(2)])  # type: ignore[list-item]

        print(asyncio.run(main()))  # [1, 2]

    :raises TypeError: if *kind* is not a class, or *adapter* or *cancel* is
        not callable.

    .. versionadded:: 0.1
    .. versionchanged:: 0.1
       The *cancel* and *gather* keywords.
    """
    if not isinstance(kind, type):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"register_adapter() needs a class as kind, got {_type_name(kind)}")
    if not callable(adapter):
        raise TypeError(f"register_adapter() needs a callable adapter, got {_type_name(adapter)}")
    if cancel is not None and not callable(cancel):
        raise TypeError(
            f"register_adapter() needs cancel= to be a callable or None, got {_type_name(cancel)}"
        )
    if gather is not None and not callable(gather):
        raise TypeError(
            f"register_adapter() needs gather= to be a callable or None, got {_type_name(gather)}"
        )
    global _generation, _grouping
    with _registry_lock:
        _adapters[kind] = _AdapterHandler(adapter, cancel, gather)
        _grouping = _grouping or gather is not None
        _generation += 1
        _handlers.clear()


# --- dispatch -----------------------------------------------------------------

_GatherMany = Callable[[Sequence[Any]], Awaitable[Sequence[Any]]]
_adapters: dict[type[Any], _AdapterHandler] = {}
# Whether any registration has gather=: until one does, aggregates skip grouping.
_grouping = False
# Resolved handler per exact type, rebuilt lazily after register_adapter().
_handlers: dict[type[Any], _Handler] = {}
# Rule 5: register_adapter() bumps the generation; a handler resolved under an
# older one is used once but not cached. The lock makes "check the generation,
# then cache" one step against a registration.
_generation = 0
_registry_lock = threading.Lock()


def _convert(obj: object, loop: object) -> asyncio.Future[Any]:
    if not isinstance(loop, asyncio.AbstractEventLoop):
        raise TypeError(
            f"loop= must be an asyncio event loop (or None for the running loop), "
            f"got {_type_name(loop)}"
        )
    if loop.is_closed():
        raise RuntimeError(
            f"cannot convert {_a_type_name(obj)} onto a closed event loop; "
            "pass loop= a loop that is open"
        )
    handler = _handler_for(obj)
    running = running_loop()
    if running is not loop and loop.is_running():
        return _convert_threadsafe(obj, loop, handler)
    return handler(obj, loop)


def _handler_for(obj: object) -> _Handler:
    cls = type(obj)
    try:
        return _handlers[cls]
    except KeyError:
        pass
    generation = _generation
    handler = _resolve(cls)
    if handler is None:
        raise TypeError(_not_yieldable_message(obj))
    with _registry_lock:
        if generation == _generation:
            _handlers[cls] = handler
    return handler


def _resolve(cls: type[Any]) -> _Handler | None:
    _load_contrib_for(cls)
    for base in cls.__mro__:
        adapter = _adapters.get(base)
        if adapter is not None:
            return adapter
    if cls is type(None) or cls is _NULL_FUTURE_TYPE:
        return _from_moment
    if issubclass(cls, asyncio.Future):
        return _from_asyncio_future
    if issubclass(cls, concurrent.futures.Future):
        return _from_concurrent_future
    if issubclass(cls, Coroutine):
        return _from_coroutine
    if issubclass(cls, (list, tuple)):
        return _from_sequence
    if issubclass(cls, Mapping):
        return _from_mapping
    if issubclass(cls, Awaitable):
        return _from_awaitable
    # Kinds that someone taught Tornado's own convert_yielded (singledispatch).
    tornado_dispatch: Callable[[type[Any]], Callable[[Any], Awaitable[Any]]] = (
        _tornado_convert_yielded.dispatch
    )
    tornado_impl = tornado_dispatch(cls)
    if tornado_impl is not tornado_dispatch(object):
        return functools.partial(_from_tornado_registration, tornado_impl)
    return None


def _not_yieldable_message(obj: object) -> str:
    name = _a_type_name(obj)
    hint = ""
    if isinstance(obj, types.GeneratorType | types.AsyncGeneratorType):
        hint = (
            " A bare generator is not a yieldable: decorate its function with "
            "@futurebridge.as_asyncio (or @tornado.gen.coroutine) and call that."
        )
    elif callable(obj):
        hint = " Did you mean to call it first?"
    return f"cannot convert {name} to a future: expected {_ACCEPTED}.{hint}"


def _type_name(obj: object) -> str:
    cls = type(obj)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"


def _a_type_name(obj: object) -> str:
    """The type of *obj* with its article: "an int", "a str", "a uvloop.Loop"."""
    name = _type_name(obj)
    # "u" mostly sounds as "you" in type names (uvloop, UnicodeDecodeError).
    return f"{'an' if name[:1].lower() in 'aeio' else 'a'} {name}"


# --- handlers, one per kind; each runs on the target loop's thread -------------


def _from_moment(obj: object, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None]:
    # gen.moment means "let the loop run one iteration", so resolve on the next one.
    future: asyncio.Future[None] = loop.create_future()
    loop.call_soon(set_result_unless_done, future, None)
    return future


def _from_coroutine(
    coro: Coroutine[Any, Any, _T], loop: asyncio.AbstractEventLoop
) -> asyncio.Future[_T]:
    # create_task runs the coroutine in a copy of the current context.
    return loop.create_task(coro)


def _from_awaitable(obj: Awaitable[_T], loop: asyncio.AbstractEventLoop) -> asyncio.Future[_T]:
    return loop.create_task(_await(obj))


async def _await(awaitable: Awaitable[_T]) -> _T:
    return await awaitable


class _AdapterHandler:
    """The handler of a kind taught with register_adapter(), with what it was taught."""

    __slots__ = ("adapter", "cancel", "gather")

    def __init__(
        self,
        adapter: Callable[[Any], Awaitable[Any]],
        cancel: Callable[[Any], object] | None,
        gather: _GatherMany | None,
    ) -> None:
        self.adapter = adapter
        self.cancel = cancel
        self.gather = gather

    def __call__(self, obj: object, loop: asyncio.AbstractEventLoop) -> asyncio.Future[Any]:
        awaitable = self.adapter(obj)
        if type(awaitable) is type(obj):
            raise TypeError(
                f"the adapter registered for {_type_name(obj)} returned another "
                f"{_type_name(obj)}: it must return a different awaitable"
            )
        try:
            _handler_for(awaitable)
        except TypeError:
            name = getattr(self.adapter, "__qualname__", repr(self.adapter))
            raise TypeError(
                f"the adapter {name} registered for {_type_name(obj)} returned "
                f"{_a_type_name(awaitable)}, which is not awaitable: an adapter must return "
                "an awaitable (a coroutine, a future, an object with __await__)"
            ) from None
        future = _convert_here(awaitable, loop)
        # A task cancelled before its first step never runs the adapter's code, so
        # that code cannot pass the cancellation on: do it here, where we can.
        if self.cancel is not None and not future.done():
            future.add_done_callback(functools.partial(_call_if_cancelled, self.cancel, obj))
        return future


def _call_if_cancelled(
    cancel: Callable[[Any], object], obj: object, future: asyncio.Future[Any]
) -> None:
    if future.cancelled():
        cancel(obj)


def _from_tornado_registration(
    impl: Callable[[Any], Awaitable[Any]], obj: object, loop: asyncio.AbstractEventLoop
) -> asyncio.Future[Any]:
    return _convert_here(impl(obj), loop)


def _from_asyncio_future(
    source: asyncio.Future[_T], loop: asyncio.AbstractEventLoop
) -> asyncio.Future[_T]:
    source_loop = source.get_loop()
    if source_loop is loop:
        return source
    destination: asyncio.Future[_T] = loop.create_future()
    if source.done():
        copy_outcome(source, destination)
        if source_loop.is_running() and not source.cancelled() and source.exception():
            # On its loop's thread, set_exception() marks the future done,
            # schedules its callbacks (Python code: this thread can run), and
            # only then flags the exception as unretrieved. Read in between,
            # the flag is set again after this read and "never retrieved" is
            # logged for an exception that was delivered: read it again there.
            with contextlib.suppress(RuntimeError):  # that loop closed meanwhile
                source_loop.call_soon_threadsafe(_retrieve_exception, source)
        return destination
    if source_loop.is_closed():
        raise RuntimeError(
            "cannot convert a pending future whose event loop is closed: it can never complete"
        )
    bridge = Bridge(source, destination)
    try:
        source_loop.call_soon_threadsafe(bridge.attach)
    except RuntimeError:
        bridge.forget()
        # The source loop closed between the check above and now.
        raise RuntimeError(
            "cannot convert a pending future whose event loop is closed: it can never complete"
        ) from None
    destination.add_done_callback(bridge.cancel_source)
    return destination


def _retrieve_exception(future: asyncio.Future[Any]) -> None:
    future.exception()


def _from_concurrent_future(
    source: concurrent.futures.Future[_T], loop: asyncio.AbstractEventLoop
) -> asyncio.Future[_T]:
    destination: asyncio.Future[_T] = loop.create_future()
    if source.done():
        # No thread hop needed: this is what makes a done future cheap.
        copy_outcome(source, destination)
        return destination
    destination.add_done_callback(functools.partial(cancel_concurrent, source))
    source.add_done_callback(functools.partial(deliver_threadsafe, destination))
    return destination


def _from_sequence(
    objs: Sequence[object], loop: asyncio.AbstractEventLoop
) -> asyncio.Future[list[Any]]:
    return _from_aggregate(objs, loop)


def _from_mapping(
    objs: Mapping[Any, object], loop: asyncio.AbstractEventLoop
) -> asyncio.Future[dict[Any, Any]]:
    return _from_aggregate(objs, loop)


def _members(obj: object) -> tuple[list[object], list[Any] | None]:
    """The children of an aggregate, and its keys if it is a mapping."""
    if isinstance(obj, Mapping):
        mapping = cast("Mapping[Any, object]", obj)
        keys = list(mapping)
        return [mapping[key] for key in keys], keys
    return list(cast("Sequence[object]", obj)), None


def _is_aggregate(handler: _Handler) -> bool:
    return handler is _from_sequence or handler is _from_mapping


def _check_tree(root: object) -> None:
    """Raise TypeError now if anything in the tree under *root* could not be converted (rule 4).

    An aggregate that contains itself can never resolve; without this check it
    ended in a RecursionError (found by the bad-input suite).
    """
    on_path = {id(root)}
    stack = [(id(root), _labelled_members(root))]
    # Where the walk is, as index and key steps from the root ("[2]['user']"),
    # so that the error names the bad element, however deep.
    where: list[str] = []
    while stack:
        key, children = stack[-1]
        for label, child in children:
            try:
                handler = _handler_for(child)
            except TypeError as exc:
                path = "".join([*where, label])
                raise TypeError(f"item {path} of the {_type_name(root)}: {exc}") from None
            if _is_aggregate(handler):
                if id(child) in on_path:
                    raise TypeError(
                        f"cannot convert {_a_type_name(child)} that contains itself: a list, "
                        "tuple or dict of yieldables must not contain itself at any depth"
                    )
                on_path.add(id(child))
                stack.append((id(child), _labelled_members(child)))
                where.append(label)
                break
        else:
            stack.pop()
            on_path.discard(key)
            if where:
                where.pop()


def _labelled_members(obj: object) -> Iterator[tuple[str, object]]:
    """The children of an aggregate, each with its index or key as written: ``[0]``, ``['a']``."""
    members, keys = _members(obj)
    labels = (
        (f"[{k!r}]" for k in keys) if keys is not None else (f"[{i}]" for i in range(len(members)))
    )
    return zip(labels, members, strict=True)


class _Level:
    """One aggregate being converted: its children so far, in order."""

    __slots__ = ("children", "converted", "index", "keys", "members", "obj")

    def __init__(self, obj: object) -> None:
        self.obj = obj
        self.members, self.keys = _members(obj)
        self.index = 0
        self.children: list[asyncio.Future[Any]] = []
        # As with asyncio.gather, ``[c, c]`` runs the coroutine ``c`` once and
        # gives its outcome twice; converting it twice failed with "cannot
        # reuse already awaited coroutine" (found by the property-based
        # suite). self.members keeps every child alive, so their ids are unique.
        self.converted: dict[int, asyncio.Future[Any]] = {}

    def add(self, obj: object, future: asyncio.Future[Any]) -> None:
        self.converted[id(obj)] = future
        self.children.append(future)


def _from_aggregate(root: object, loop: asyncio.AbstractEventLoop) -> asyncio.Future[Any]:
    _check_tree(root)
    # Children are converted depth first, in order, as the recursive version
    # did; each aggregate's future is made once all its children have one.
    started: list[asyncio.Future[Any]] = []  # the tasks made so far
    stack = [_Level(root)]
    try:
        if _grouping:
            started += _convert_groups(stack[-1], loop)
        while True:
            level = stack[-1]
            if level.index < len(level.members):
                obj = level.members[level.index]
                level.index += 1
                seen = level.converted.get(id(obj))
                if seen is not None:
                    level.children.append(seen)
                elif _is_aggregate(_handler_for(obj)):
                    stack.append(_Level(obj))
                    if _grouping:
                        started += _convert_groups(stack[-1], loop)
                else:
                    future = _convert_here(obj, loop)
                    if future is not obj and isinstance(future, asyncio.Task):
                        started.append(future)
                    level.add(obj, future)
                continue
            stack.pop()
            outer = _gather(level.children, level.keys, loop)
            if not stack:
                return outer
            stack[-1].add(level.obj, outer)
    except BaseException:
        # A handler failed half-way (an adapter raised, say): what already
        # started must not run on as an orphan nobody can await.
        for future in started:
            future.cancel()
        raise


def _convert_groups(level: _Level, loop: asyncio.AbstractEventLoop) -> list[asyncio.Future[Any]]:
    """Convert together the children of *level* whose registrations share a gather=.

    Their futures go into ``level.converted``, where the walk over the
    children finds them; a group of one is left alone: its adapter serves it.
    Returns the futures made, so a failure later on can cancel them.
    """
    groups: dict[_GatherMany, dict[int, tuple[object, _AdapterHandler]]] = {}
    for obj in level.members:
        handler = _handler_for(obj)
        if isinstance(handler, _AdapterHandler) and handler.gather is not None:
            groups.setdefault(handler.gather, {})[id(obj)] = (obj, handler)
    made: list[asyncio.Future[Any]] = []
    for gather, members in groups.items():
        if len(members) > 1:
            children = _from_group(gather, members, loop)
            level.converted.update(children)
            made += children.values()
    return made


def _from_group(
    gather: _GatherMany,
    members: dict[int, tuple[object, _AdapterHandler]],
    loop: asyncio.AbstractEventLoop,
) -> dict[int, asyncio.Future[Any]]:
    objs = [obj for obj, _ in members.values()]
    group = _convert_here(gather(objs), loop)
    children = {key: loop.create_future() for key in members}
    hooks_called = False

    def call_cancel_hooks() -> None:
        # Once, when the group's cancellation is decided: a waiter cancelling
        # the aggregate, or the group ending cancelled by itself.
        nonlocal hooks_called
        if not hooks_called:
            hooks_called = True
            for obj, handler in members.values():
                if handler.cancel is not None:
                    handler.cancel(obj)

    def on_group_done(group: asyncio.Future[Any]) -> None:
        futures = list(children.values())
        if group.cancelled():
            call_cancel_hooks()
            for child in futures:
                child.cancel()
            return
        exc = group.exception()
        results: Sequence[Any] = () if exc is not None else group.result()
        if exc is None and (
            not isinstance(results, Sequence) or len(results) != len(futures)  # pyright: ignore[reportUnnecessaryIsInstance]
        ):
            exc = TypeError(
                f"the gather= registered for {_type_name(objs[0])} must return a sequence "
                f"of {len(futures)} results, one per object, got {_type_name(results)}"
            )
        if exc is not None:
            # The group fails as a whole: one child carries the exception to the
            # aggregate, the others are cancelled so it is reported once.
            set_exception_unless_done(futures[0], exc)
            for child in futures[1:]:
                child.cancel()
            return
        for child, result in zip(futures, results, strict=True):
            set_result_unless_done(child, result)

    def on_child_done(child: asyncio.Future[Any]) -> None:
        if child.cancelled() and not group.done():
            call_cancel_hooks()
            group.cancel()

    group.add_done_callback(on_group_done)
    for child in children.values():
        child.add_done_callback(on_child_done)
    return children


def _check(obj: object, path: tuple[int, ...]) -> None:
    """Raise TypeError now if *obj* could not be converted (rule 4).

    *path* holds the ids of the aggregates that enclose *obj*. An aggregate
    that contains itself can never resolve; without this check it ended in a
    RecursionError from deep inside this function (found by the bad-input suite).
    """
    handler = _handler_for(obj)
    if handler is _from_sequence or handler is _from_mapping:
        if id(obj) in path:
            raise TypeError(
                f"cannot convert a {_type_name(obj)} that contains itself: a list, tuple "
                "or dict of yieldables must not contain itself at any depth"
            )
        path = (*path, id(obj))
        if handler is _from_sequence:
            for child in cast("Sequence[object]", obj):
                _check(child, path)
        else:
            for child in cast("Mapping[object, object]", obj).values():
                _check(child, path)


def _gather(
    children: list[asyncio.Future[Any]], keys: list[Any] | None, loop: asyncio.AbstractEventLoop
) -> asyncio.Future[Any]:
    outer: asyncio.Future[Any] = loop.create_future()
    # A future listed twice is watched once: otherwise its exception, after
    # failing the aggregate, was logged again as a later failure of a sibling.
    watched = list(dict.fromkeys(children))
    remaining = len(watched)
    if not remaining:
        outer.set_result({} if keys is not None else [])
        return outer

    # Who waits, for capture_call_graph() and pstree (3.14+): as in
    # asyncio.gather, the task that made the aggregate, else the aggregate.
    waiter: asyncio.Future[Any] | None = None
    if CALL_GRAPH:
        waiter = asyncio.current_task(loop) or outer

    def on_child_done(child: asyncio.Future[Any]) -> None:
        nonlocal remaining
        remaining -= 1
        if waiter is not None:
            unlink_awaited_by(child, waiter)
        if outer.done():
            # The outcome is decided; a later exception must still be seen.
            if not child.cancelled() and (exc := child.exception()) is not None:
                # Tornado's logger and words, which log monitoring keys on.
                _app_log.error("Multiple exceptions in yield list", exc_info=exc)
            return
        if child.cancelled():
            # As asyncio.gather and tornado.gen.multi: a cancelled child is an
            # error of the aggregate, siblings keep running.
            try:
                child.result()
            except asyncio.CancelledError as cancelled:
                outer.set_exception(cancelled)
            return
        exc = child.exception()
        if exc is not None:
            outer.set_exception(exc)
        elif not remaining:
            results = [c.result() for c in children]
            outer.set_result(dict(zip(keys, results, strict=True)) if keys is not None else results)

    def on_outer_done(outer: asyncio.Future[Any]) -> None:
        if outer.cancelled():
            for child in watched:
                child.cancel()

    for child in watched:
        child.add_done_callback(on_child_done)
        if waiter is not None:
            link_awaited_by(child, waiter)
    outer.add_done_callback(on_outer_done)
    return outer


def _convert_threadsafe(
    obj: object, loop: asyncio.AbstractEventLoop, handler: _Handler
) -> asyncio.Future[Any]:
    """Start a conversion on *loop*, which runs on another thread."""
    destination: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()
    loop.call_soon_threadsafe(_start_on_loop, obj, loop, handler, destination, context=context)
    return destination


def _start_on_loop(
    obj: object,
    loop: asyncio.AbstractEventLoop,
    handler: _Handler,
    destination: asyncio.Future[Any],
) -> None:
    if destination.done():
        return
    try:
        source = handler(obj, loop)
    except BaseException as exc:
        destination.set_exception(exc)
        return
    if source is destination:
        return
    source.add_done_callback(functools.partial(copy_outcome_to, destination))
    destination.add_done_callback(functools.partial(cancel_if_cancelled, source))


# --- optional adapters -----------------------------------------------------------

# Libraries whose adapter module was imported (or tried), by top-level package.
_contrib_loaded: set[str] = set()


def _load_contrib_for(cls: type[Any]) -> None:
    """Import the adapter module for the library *cls* comes from, if there is one.

    The module registers its adapters on import. Which library has which
    module is contrib's knowledge (``ADAPTER_MODULES``), not this module's:
    the converters name no third-party library.
    """
    from .contrib import ADAPTER_MODULES

    for base in cls.__mro__:
        package = base.__module__.partition(".")[0]
        module = ADAPTER_MODULES.get(package)
        if module is not None and package not in _contrib_loaded:
            _contrib_loaded.add(package)
            importlib.import_module(f"{__package__}.contrib.{module}")


def _after_fork_in_child() -> None:
    # Another thread of the parent may have held the lock at the fork. (The
    # running-loop hint is _asyncio_internals' to forget.)
    global _registry_lock
    _registry_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
