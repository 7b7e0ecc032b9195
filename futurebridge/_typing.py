"""Type aliases shared by the converters, the decorators and the loop core.

This module owns names only; it has no behaviour.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Literal, Never, Protocol, TypeAlias

from typing_extensions import TypeVar

_T = TypeVar("_T")
_T_co = TypeVar("_T_co", covariant=True)

#: One future-like object whose outcome is a ``_T``: an asyncio or Tornado
#: future, a coroutine, any object with ``__await__``, or a
#: :class:`concurrent.futures.Future`.
SingleYieldable: TypeAlias = Awaitable[_T] | concurrent.futures.Future[_T]


class FutureLike(Protocol[_T_co]):
    """The shape of another library's future: ``done()`` and ``result() -> T``.

    The converters' overloads accept it alone and give ``asyncio.Future[T]``, so a kind taught with
    :func:`~futurebridge.register_adapter` that has this shape is typed, not
    only accepted at run time: Dask's ``distributed.Future[T]`` is one. Type
    checkers cannot know whether such a kind was registered: one that was not
    still fails at run time, with a TypeError naming it.

    .. versionadded:: 0.1
    """

    def done(self) -> bool:
        """Whether the outcome is there."""
        ...

    def result(self) -> _T_co:
        """The result, or raise the exception (the converters never call it)."""
        ...


class _ConcurrentFutureOf(Protocol[_T_co]):
    """A :class:`concurrent.futures.Future`, read covariantly in its result.

    ``concurrent.futures.Future[T]`` is invariant in ``T``: in a list that
    mixes one with a coroutine of another result type, no ``T`` fits both, and
    pyright and pyrefly refuse the list. Matched by shape, ``T`` widens to the
    union of the results. The two methods are those of
    :class:`concurrent.futures.Future` that other futures lack.
    """

    def set_running_or_notify_cancel(self) -> bool:
        """Mark the future running, or report that it was cancelled."""
        ...

    def result(self, timeout: float | None = None) -> _T_co:
        """The result, or raise the exception (the converters never call it)."""
        ...


_None_co = TypeVar("_None_co", bound=None, covariant=True)


class NoneResult(Protocol[_None_co]):
    """``tornado.gen.moment`` as futurebridge-tornado-stubs types it.

    The stubs type ``gen.moment`` as what it is, a ``_NullFuture``, which is
    not awaitable; its ``done()`` is always true and its ``result()`` is
    ``None``. Matched by that shape, so a future (whose ``done()`` is any
    ``bool``) or an object with another result type is not taken for it. In
    a list or dict it adds ``None`` to the result type, as ``None`` does.
    """

    def done(self) -> Literal[True]:
        """Always true."""
        ...

    def result(self) -> _None_co:
        """``None`` (the converters never call it)."""
        ...


#: One child of a list or dict given to a converter: what
#: :data:`SingleYieldable` is, with the :class:`concurrent.futures.Future`
#: read covariantly, so children of several result types give a union.
ChildYieldable: TypeAlias = Awaitable[_T] | _ConcurrentFutureOf[_T]


if TYPE_CHECKING:
    # The class of tornado.gen.moment, for the converters' overloads only.
    # Tornado types gen.moment as a Future[None]; futurebridge-tornado-stubs
    # types it as this class, which is not awaitable. Never used at run time.
    from ._asyncio_internals import NullFuture

    Moment: TypeAlias = NullFuture

#: ``None`` when a list or dict given to a converter holds ``None`` (which
#: resolves to ``None``), else nothing (``Never``, the default). One overload
#: with this variable, not two (with and without ``None``): two overloads that
#: both match make pyright answer ``Any`` for a literal mixing future kinds.
NoneChild = TypeVar("NoneChild", bound=None, default=Never)
