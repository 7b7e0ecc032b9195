# Sharpened stub for ``tornado.gen``.
#
# What changes against Tornado's inline annotations:
#
# * ``coroutine`` keeps the decorated function's parameters (``ParamSpec``), so
#   wrong argument types and counts are errors, and its result is
#   ``Future[T]`` where ``T`` is the generator's return type.
# * ``convert_yielded``, ``maybe_future``, ``with_timeout``, ``multi`` and
#   ``multi_future`` carry the result type of what they are given.
# * The stub tells the truth where the runtime is surprising:
#   ``convert_yielded(None)`` and ``moment`` are a ``_NullFuture`` (not
#   awaitable), and ``convert_yielded`` hands a ``concurrent.futures.Future``
#   back unchanged (also not awaitable), so ``await`` on either is an error.

import datetime
import types
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from concurrent.futures import Future as _ConcurrentFuture
from inspect import isawaitable as isawaitable
from typing import (
    Any,
    Literal,
    ParamSpec,
    Protocol,
    Self,
    TypeAlias,
    TypeVar,
    overload,
    type_check_only,
)

# Names tornado.gen imports and code reaches through it (streamz uses
# gen.is_future, gen.isawaitable and gen.Future).
from tornado.concurrent import Future as Future
from tornado.concurrent import chain_future as chain_future
from tornado.concurrent import future_add_done_callback as future_add_done_callback
from tornado.concurrent import future_set_exc_info as future_set_exc_info
from tornado.concurrent import (
    future_set_result_unless_cancelled as future_set_result_unless_cancelled,
)
from tornado.concurrent import is_future as is_future
from tornado.ioloop import IOLoop
from tornado.util import TimeoutError as TimeoutError

_T = TypeVar("_T")
_K = TypeVar("_K")
_AwaitableT = TypeVar("_AwaitableT", bound=Awaitable[Any])
_P = ParamSpec("_P")

# One child of ``multi`` or the argument of ``with_timeout``: something
# ``convert_yielded`` turns into a future with a ``_T`` result.
_SingleYieldable: TypeAlias = Awaitable[_T] | _ConcurrentFuture[_T]
_QuietExceptions: TypeAlias = type[Exception] | tuple[type[Exception], ...]
# What ``yield`` accepts inside a ``@coroutine`` generator (Tornado's own alias).
_Yieldable: TypeAlias = (
    Awaitable[Any]
    | list[Awaitable[Any]]
    | dict[Any, Awaitable[Any]]
    | _ConcurrentFuture[Any]
    | None
)

class KeyReuseError(Exception): ...
class UnknownKeyError(Exception): ...
class LeakedCallbackError(Exception): ...
class BadYieldError(Exception): ...
class ReturnValueIgnoredError(Exception): ...

# Most specific first. A generator function runs as a coroutine and its
# future resolves to the generator's return value. Any other function is
# called once and its return value becomes the result as is: Tornado does
# not await an awaitable returned this way, so the result is the awaitable.
@overload
def coroutine(func: Callable[_P, Generator[Any, Any, _T]]) -> Callable[_P, Future[_T]]: ...
@overload
def coroutine(func: Callable[_P, _AwaitableT]) -> Callable[_P, Future[_AwaitableT]]: ...
@overload
def coroutine(func: Callable[_P, _T]) -> Callable[_P, Future[_T]]: ...
def is_coroutine_function(func: object) -> bool: ...

class Return(Exception):
    value: Any
    def __init__(self, value: Any = None) -> None: ...

class WaitIterator:
    current_index: str | int | None
    current_future: Future[Any] | None
    def __init__(self, *args: Future[Any], **kwargs: Future[Any]) -> None: ...
    def done(self) -> bool: ...
    def next(self) -> Future[Any]: ...
    def __aiter__(self) -> Self: ...
    def __anext__(self) -> Future[Any]: ...

# ``multi`` runs every child and gathers their results: a sequence gives a
# list in the same order, a dict gives a dict with the same keys.
@overload
def multi(
    children: Sequence[_SingleYieldable[_T]], quiet_exceptions: _QuietExceptions = ()
) -> Future[list[_T]]: ...
@overload
def multi(
    children: Mapping[_K, _SingleYieldable[_T]], quiet_exceptions: _QuietExceptions = ()
) -> Future[dict[_K, _T]]: ...

# ``None`` and ``moment`` children resolve to ``None``. Only a container of
# them alone is accepted: an overload for futures mixed with them makes
# pyright answer ``Unknown`` for every literal mixing two future kinds.
@overload
def multi(
    children: Sequence[_NullFuture | None], quiet_exceptions: _QuietExceptions = ()
) -> Future[list[None]]: ...
@overload
def multi(
    children: Mapping[_K, _NullFuture | None], quiet_exceptions: _QuietExceptions = ()
) -> Future[dict[_K, None]]: ...

Multi = multi

@overload
def multi_future(
    children: Sequence[_SingleYieldable[_T]], quiet_exceptions: _QuietExceptions = ()
) -> Future[list[_T]]: ...
@overload
def multi_future(
    children: Mapping[_K, _SingleYieldable[_T]], quiet_exceptions: _QuietExceptions = ()
) -> Future[dict[_K, _T]]: ...

# ``None`` and ``moment`` children resolve to ``None``. Only a container of
# them alone is accepted: an overload for futures mixed with them makes
# pyright answer ``Unknown`` for every literal mixing two future kinds.
@overload
def multi_future(
    children: Sequence[_NullFuture | None], quiet_exceptions: _QuietExceptions = ()
) -> Future[list[None]]: ...
@overload
def multi_future(
    children: Mapping[_K, _NullFuture | None], quiet_exceptions: _QuietExceptions = ()
) -> Future[dict[_K, None]]: ...

# A future (of either kind) is returned unchanged; anything else becomes
# the result of a new, finished future. (The overlap mypy reports is the
# point: a concurrent future is not wrapped.)
@overload
def maybe_future(x: Future[_T]) -> Future[_T]: ...
@overload
def maybe_future(x: _ConcurrentFuture[_T]) -> _ConcurrentFuture[_T]: ...  # type: ignore[overload-overlap]  # pyright: ignore[reportOverlappingOverload]
@overload
def maybe_future(x: _T) -> Future[_T]: ...

# Like ``convert_yielded``: one future-like, or a real list or dict of them.
@overload
def with_timeout(
    timeout: float | datetime.timedelta,
    future: _SingleYieldable[_T],
    quiet_exceptions: _QuietExceptions = (),
    *,
    message: str | Callable[[], str] | None = None,
) -> Future[_T]: ...

# An optional future is accepted, as code passes what an unannotated helper
# returns; a ``None`` that really arrives fails at runtime.
@overload
def with_timeout(
    timeout: float | datetime.timedelta,
    future: _SingleYieldable[_T] | None,
    quiet_exceptions: _QuietExceptions = (),
    *,
    message: str | Callable[[], str] | None = None,
) -> Future[_T]: ...
@overload
def with_timeout(
    timeout: float | datetime.timedelta,
    future: list[_SingleYieldable[_T]],
    quiet_exceptions: _QuietExceptions = (),
    *,
    message: str | Callable[[], str] | None = None,
) -> Future[list[_T]]: ...
@overload
def with_timeout(
    timeout: float | datetime.timedelta,
    future: list[Any],
    quiet_exceptions: _QuietExceptions = (),
    *,
    message: str | Callable[[], str] | None = None,
) -> Future[list[Any]]: ...
@overload
def with_timeout(
    timeout: float | datetime.timedelta,
    future: dict[_K, _SingleYieldable[_T]],
    quiet_exceptions: _QuietExceptions = (),
    *,
    message: str | Callable[[], str] | None = None,
) -> Future[dict[_K, _T]]: ...
@overload
def with_timeout(
    timeout: float | datetime.timedelta,
    future: dict[_K, Any],
    quiet_exceptions: _QuietExceptions = (),
    *,
    message: str | Callable[[], str] | None = None,
) -> Future[dict[_K, Any]]: ...
def sleep(duration: float) -> Future[None]: ...

class _NullFuture:
    # What ``moment`` and ``convert_yielded(None)`` really are: not awaitable,
    # and always done (which tells it apart from a future by its shape).
    def result(self) -> None: ...
    def done(self) -> Literal[True]: ...

moment: _NullFuture

class Runner:
    ctx_run: Callable[..., Any]
    gen: Generator[Any, Any, Any]
    result_future: Future[Any] | None
    future: Future[Any] | _NullFuture | None
    running: bool
    finished: bool
    io_loop: IOLoop
    def __init__(
        self,
        ctx_run: Callable[..., Any],
        gen: Generator[Any, Any, Any],
        result_future: Future[Any],
        first_yielded: _Yieldable,
    ) -> None: ...
    def run(self) -> None: ...
    def handle_yield(self, yielded: _Yieldable) -> bool: ...
    def handle_exception(
        self, typ: type[Exception], value: Exception, tb: types.TracebackType
    ) -> bool: ...

@type_check_only
class _ConvertYielded(Protocol):
    # ``convert_yielded`` is a ``functools.singledispatch`` function: Twisted's
    # Deferred and other kinds are taught to it with ``register``.
    @overload
    def __call__(self, yielded: _NullFuture | None, /) -> _NullFuture: ...
    @overload
    def __call__(self, yielded: _ConcurrentFuture[_T], /) -> _ConcurrentFuture[_T]: ...
    @overload
    def __call__(self, yielded: Awaitable[_T], /) -> Future[_T]: ...
    # Only a real list or dict is gathered (a tuple is a BadYieldError). A
    # list or dict whose element type is not exactly one of these (lists are
    # invariant) still checks, with an ``Any`` result.
    @overload
    def __call__(self, yielded: list[Future[_T]], /) -> Future[list[_T]]: ...
    @overload
    def __call__(self, yielded: list[_SingleYieldable[_T]], /) -> Future[list[_T]]: ...
    @overload
    def __call__(self, yielded: list[Any], /) -> Future[list[Any]]: ...
    @overload
    def __call__(self, yielded: dict[_K, Future[_T]], /) -> Future[dict[_K, _T]]: ...
    @overload
    def __call__(self, yielded: dict[_K, _SingleYieldable[_T]], /) -> Future[dict[_K, _T]]: ...
    @overload
    def __call__(self, yielded: dict[_K, Any], /) -> Future[dict[_K, Any]]: ...
    def register(
        self, cls: type[Any], func: Callable[..., Any] | None = None
    ) -> Callable[..., Any]: ...
    def dispatch(self, cls: type[Any]) -> Callable[..., Any]: ...
    registry: types.MappingProxyType[Any, Callable[..., Any]]

convert_yielded: _ConvertYielded
