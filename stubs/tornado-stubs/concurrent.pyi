# Sharpened stub for ``tornado.concurrent``.
#
# ``Future`` is ``asyncio.Future``. Every helper that accepts "a future" takes
# both an asyncio future and a :class:`concurrent.futures.Future`, as the
# runtime does, with the result type carried through. ``run_on_executor``
# keeps the decorated method's parameters (``ParamSpec``) and returns
# ``Future[T]``.

from asyncio import Future as Future
from collections.abc import Callable
from concurrent import futures
from types import TracebackType
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, overload, type_check_only

_T = TypeVar("_T")
_S = TypeVar("_S")
_P = ParamSpec("_P")

class ReturnValueIgnoredError(Exception): ...

FUTURES: tuple[type[futures.Future[Any]], type[Future[Any]]]

# A plain bool, as Tornado declares it: a ``TypeIs`` would narrow an ``Any``
# argument to the union of both kinds, which Tornado's own callers (and
# streamz) then return where one kind is declared.
def is_future(x: Any) -> bool: ...

class DummyExecutor(futures.Executor):
    def submit(
        self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
    ) -> futures.Future[_T]: ...
    # As at runtime, cancel_futures may be passed by position too.
    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None: ...  # pyright: ignore[reportIncompatibleMethodOverride]

dummy_executor: DummyExecutor

@type_check_only
class _RunOnExecutorDecorator(Protocol):
    def __call__(
        self, fn: Callable[Concatenate[_S, _P], _T], /
    ) -> Callable[Concatenate[_S, _P], Future[_T]]: ...

# Bare ``@run_on_executor`` runs the method on ``self.executor``;
# ``@run_on_executor(executor="_pool")`` names another attribute of ``self``.
@overload
def run_on_executor(
    fn: Callable[Concatenate[_S, _P], _T], /
) -> Callable[Concatenate[_S, _P], Future[_T]]: ...
@overload
def run_on_executor(*, executor: str = "executor") -> _RunOnExecutorDecorator: ...
def chain_future(
    a: Future[_T] | futures.Future[_T], b: Future[_T] | futures.Future[_T]
) -> None: ...
def future_set_result_unless_cancelled(
    future: futures.Future[_T] | Future[_T], value: _T
) -> None: ...
def future_set_exception_unless_cancelled(
    future: futures.Future[Any] | Future[Any], exc: BaseException
) -> None: ...
def future_set_exc_info(
    future: futures.Future[Any] | Future[Any],
    exc_info: tuple[type[BaseException] | None, BaseException | None, TracebackType | None],
) -> None: ...
@overload
def future_add_done_callback(
    future: futures.Future[_T], callback: Callable[[futures.Future[_T]], object]
) -> None: ...
@overload
def future_add_done_callback(
    future: Future[_T], callback: Callable[[Future[_T]], object]
) -> None: ...
