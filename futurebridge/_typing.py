"""Type aliases shared by the converters, the decorators and the loop core.

This module owns names only; it has no behaviour.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Awaitable
from typing import Protocol, TypeAlias, TypeVar

_T = TypeVar("_T")
_T_co = TypeVar("_T_co", covariant=True)

#: One future-like object whose outcome is a ``_T``: an asyncio or Tornado
#: future, a coroutine, any object with ``__await__``, or a
#: :class:`concurrent.futures.Future`.
SingleYieldable: TypeAlias = Awaitable[_T] | concurrent.futures.Future[_T]


class FutureLike(Protocol[_T_co]):
    """The shape of another library's future: ``done()`` and ``result() -> T``.

    The converters' overloads accept it (alone, or in a list or dict) and
    give ``asyncio.Future[T]``, so a kind taught with
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
