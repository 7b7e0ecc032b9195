"""Which asyncio loop a thread has, found without creating one by accident.

This module owns the lookup that futurebridge's IOLoops and its patch of
``IOLoop.current`` share: the loop running on the thread, else the open loop
set for it with :func:`asyncio.set_event_loop`, else, only when the caller
asks, a new loop, created and set explicitly. It does not own the IOLoops
(``_ioloop``) nor the patch (``_tornado_patch``).

Rule: nothing here creates an asyncio loop implicitly through
``asyncio.get_event_loop()`` (deprecated, and a warning on 3.12 and 3.13):
the loop set for a thread is read without side effects (how, per Python
version, is ``_asyncio_internals``' business), and a loop is created only
when the caller asks for one, explicitly.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, cast

from ._asyncio_internals import running_loop, set_event_loop_of_thread

# For the rest of this package: private to it, listed so the checkers know
# they are meant to be imported.
__all__ = ("_set_event_loop", "_thread_loop", "set_thread_loop")

# futurebridge's own record of the loop it made current on each thread. asyncio
# answers first while it has a notion of a thread's current loop (3.11 to
# 3.15); the record is what remains when the policy system goes (3.16).
_record = threading.local()


def set_thread_loop(loop: asyncio.AbstractEventLoop | None) -> None:
    """Make *loop* (or none) the calling thread's current event loop.

    What :func:`asyncio.set_event_loop` does, also kept in futurebridge's
    own record.
    """
    _record.loop = loop
    asyncio.set_event_loop(loop)


def _set_event_loop() -> asyncio.AbstractEventLoop | None:
    """The loop set for this thread (by asyncio or futurebridge), if any; never creates one."""
    found: Any = set_event_loop_of_thread()
    if found is NotImplemented:
        recorded: asyncio.AbstractEventLoop | None = getattr(_record, "loop", None)
        return recorded
    return cast("asyncio.AbstractEventLoop | None", found)


def _thread_loop(*, create: bool) -> tuple[asyncio.AbstractEventLoop | None, bool]:
    """The running loop, else the open loop set for this thread.

    With *create*, a thread that has neither gets a new loop, set as its
    current loop (what ``asyncio.get_event_loop()`` did before 3.12, minus
    the warning). Returns the loop and whether it was created here.
    """
    loop = running_loop()
    if loop is not None:
        return loop, False
    loop = _set_event_loop()
    if loop is not None and not loop.is_closed():
        return loop, False
    if not create:
        return None, False
    loop = asyncio.new_event_loop()
    set_thread_loop(loop)
    return loop, True
