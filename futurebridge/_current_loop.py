"""Which asyncio loop a thread has, found without creating one by accident.

This module owns the lookup that futurebridge's IOLoops and its patch of
``IOLoop.current`` share: the loop running on the thread, else the open loop
set for it with :func:`asyncio.set_event_loop`, else, only when the caller
asks, a new loop, created and set explicitly. It does not own the IOLoops
(``_ioloop``) nor the patch (``_tornado_patch``).

Rule: nothing here creates an asyncio loop implicitly through
``asyncio.get_event_loop()`` (deprecated, and a warning on 3.12 and 3.13):
the loop set for a thread is read without side effects, and a loop is
created only when the caller asks for one, explicitly.
"""

from __future__ import annotations

import asyncio
import warnings
from asyncio.events import _get_running_loop  # pyright: ignore[reportPrivateUsage]

# For the rest of this package: private to it, listed so the checkers know
# they are meant to be imported.
__all__ = ("_set_event_loop", "_thread_loop")


def _set_event_loop() -> asyncio.AbstractEventLoop | None:
    """The loop set for this thread by ``asyncio.set_event_loop()``, if any.

    Never creates one. asyncio has no public query without side effects before
    3.14 (``get_event_loop()`` may create a loop, and warns on 3.12-3.13), so
    the default policy's thread-local slot is read; the check that it is a
    loop keeps this safe if a future asyncio renames it.
    """
    # Deprecated in 3.14, after the Pythons futurebridge supports (3.11-3.13).
    policy = asyncio.get_event_loop_policy()  # pyright: ignore[reportDeprecated]
    local = getattr(policy, "_local", None)
    if local is not None:
        loop = getattr(local, "_loop", None)
        return loop if isinstance(loop, asyncio.AbstractEventLoop) else None
    # A policy not derived from asyncio's: ask it, without letting a
    # deprecation warning about implicit creation escape.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return policy.get_event_loop()
        except RuntimeError:
            return None


def _thread_loop(*, create: bool) -> tuple[asyncio.AbstractEventLoop | None, bool]:
    """The running loop, else the open loop set for this thread.

    With *create*, a thread that has neither gets a new loop, set as its
    current loop (what ``asyncio.get_event_loop()`` did before 3.12, minus
    the warning). Returns the loop and whether it was created here.
    """
    loop = _get_running_loop()
    if loop is not None:
        return loop, False
    loop = _set_event_loop()
    if loop is not None and not loop.is_closed():
        return loop, False
    if not create:
        return None, False
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    return loop, True
