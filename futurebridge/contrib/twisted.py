"""Twisted's :class:`~twisted.internet.defer.Deferred` as a yieldable.

Importing this module registers an adapter with
:func:`futurebridge.register_adapter`. futurebridge imports it by itself the
first time it meets an unknown type while ``twisted.internet.defer`` is
loaded, so users never need to import it.

A Deferred is bridged with :meth:`Deferred.asFuture
<twisted.internet.defer.Deferred.asFuture>` on the target loop: its result or
failure arrives as the future's outcome, and cancelling the future cancels
the Deferred.
"""

from __future__ import annotations

import asyncio
from typing import TypeVar

try:
    from twisted.internet.defer import Deferred
except ModuleNotFoundError as _missing:
    if _missing.name is None or _missing.name.split(".")[0] != "twisted":
        raise
    raise ModuleNotFoundError(
        "futurebridge.contrib.twisted needs Twisted, which is not installed: "
        "pip install 'futurebridge[twisted]'",
        name=_missing.name,
    ) from _missing

from .._convert import register_adapter

_T = TypeVar("_T")


async def deferred_to_awaitable(deferred: Deferred[_T], /) -> _T:
    """Wait for *deferred* on the running asyncio loop and return its result."""
    return await deferred.asFuture(asyncio.get_running_loop())


register_adapter(Deferred, deferred_to_awaitable)
