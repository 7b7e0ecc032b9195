"""The patch of ``IOLoop.configure`` and ``IOLoop.current`` that importing futurebridge installs.

This module owns the patch that lets Tornado create futurebridge's IOLoops;
``futurebridge/__init__.py`` imports it, so ``import futurebridge`` (or of
any of its modules) installs it. It does not own the IOLoops (``_ioloop``)
nor the lookup of a thread's asyncio loop (``_current_loop``).

What importing futurebridge changes in Tornado (and nothing else):

* ``IOLoop.configure`` is wrapped. Tornado 6.6 only accepts subclasses of its
  own ``BaseAsyncIOLoop``; the wrapper also accepts futurebridge's classes
  (and their subclasses) and stores them through Tornado's own
  ``Configurable.configure``. Any other argument goes to Tornado's original
  method unchanged, with its checks.
* ``IOLoop.current`` is wrapped. A loop that is running and has an IOLoop
  still gets that IOLoop, whatever its class. Otherwise, while Tornado's
  default class is configured, Tornado's original method runs unchanged.
  While a futurebridge class is configured, the wrapper creates
  futurebridge's :class:`AsyncIOMainLoop` (instead of Tornado's) for the
  thread's asyncio loop, and finds that loop without asyncio's deprecated
  implicit creation: if the thread has no open loop, a new one is created
  and set as the thread's current loop, without a warning.
* Both wrappers are installed once per process (importing again, or
  reloading, does not stack them) and are marked with a
  ``__futurebridge_patch__`` attribute.
* Like Tornado's own loops, ours register in ``IOLoop._ioloop_for_asyncio``
  (Tornado's map from asyncio loops to IOLoops), which is how
  ``IOLoop.current()`` finds them.

Not touched: :mod:`tornado.platform.asyncio`, :mod:`tornado.testing` (whose
``AsyncTestCase`` closes the loop ``get_new_ioloop()`` returns unless it is
Tornado's ``AsyncIOMainLoop``; override ``tearDown`` if you return ours from
it), and asyncio's event-loop policy.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

from tornado.ioloop import IOLoop
from tornado.util import Configurable, import_object

from ._asyncio_internals import ioloop_registry, running_loop
from ._current_loop import _thread_loop
from ._ioloop import (
    AsyncIOMainLoop,
    _BridgeIOLoop,  # pyright: ignore[reportPrivateUsage]
)

__all__ = ()

_PATCH_MARK = "__futurebridge_patch__"


def _ours_configured() -> bool:
    return issubclass(IOLoop.configured_class(), _BridgeIOLoop)


def _install_patch() -> None:
    configure_attr: Any = IOLoop.__dict__["configure"]
    current_attr: Any = IOLoop.__dict__["current"]
    tornado_configure: Callable[..., None] = configure_attr.__func__
    tornado_current: Callable[[bool], IOLoop | None] = current_attr.__func__
    if getattr(tornado_configure, _PATCH_MARK, False):
        return  # Already installed (a reload of this module, say).
    configurable_configure: Callable[..., None] = Configurable.__dict__["configure"].__func__

    def configure(
        cls: type[IOLoop], /, impl: str | type[Configurable] | None, **kwargs: Any
    ) -> None:
        if isinstance(impl, str):
            impl = cast("type[Configurable]", import_object(impl))
        if isinstance(impl, type) and issubclass(impl, _BridgeIOLoop):
            # Tornado's own storage, minus its BaseAsyncIOLoop-only check.
            configurable_configure(cls, impl, **kwargs)
        else:
            tornado_configure(cls, impl, **kwargs)

    def current(instance: bool = True) -> IOLoop | None:
        loop = running_loop()
        registry = ioloop_registry()
        if loop is not None:
            found = registry.get(loop)
            if found is not None:
                return found
        if not _ours_configured():
            return tornado_current(instance)
        loop, _ = _thread_loop(create=instance)
        if loop is None:
            return None
        found = registry.get(loop)
        if found is None and instance:
            found = AsyncIOMainLoop()
        return found

    functools.update_wrapper(configure, tornado_configure)
    functools.update_wrapper(current, tornado_current)
    setattr(configure, _PATCH_MARK, True)
    setattr(current, _PATCH_MARK, True)
    configure.__doc__ = (
        f"{tornado_configure.__doc__}\n\n(futurebridge: also accepts futurebridge's loops.)"
    )
    current.__doc__ = (
        f"{tornado_current.__doc__}\n\n(futurebridge: creates futurebridge's "
        "AsyncIOMainLoop while a futurebridge class is configured.)"
    )
    # setattr: type checkers rightly refuse assignments to methods.
    setattr(IOLoop, "configure", classmethod(configure))  # noqa: B010
    setattr(IOLoop, "current", staticmethod(current))  # noqa: B010


_install_patch()
