"""Type aliases shared by the converters, the decorators and the loop core.

This module owns names only; it has no behaviour.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Awaitable
from typing import TypeAlias, TypeVar

_T = TypeVar("_T")

#: One future-like object whose outcome is a ``_T``: an asyncio or Tornado
#: future, a coroutine, any object with ``__await__``, or a
#: :class:`concurrent.futures.Future`.
SingleYieldable: TypeAlias = Awaitable[_T] | concurrent.futures.Future[_T]
