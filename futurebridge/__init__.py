"""futurebridge: typed interop between asyncio and Tornado futures, coroutines and loops.

Every public name is re-exported here and listed in ``__all__``.
"""

# Imported for its effect: it patches Tornado's IOLoop.configure and IOLoop.current.
from . import _tornado_patch as _tornado_patch
from ._convert import register_adapter as register_adapter
from ._convert import to_asyncio_future as to_asyncio_future
from ._convert import to_tornado_future as to_tornado_future
from ._decorators import as_asyncio as as_asyncio
from ._decorators import as_tornado as as_tornado
from ._ioloop import AsyncIOLoop as AsyncIOLoop
from ._ioloop import AsyncIOMainLoop as AsyncIOMainLoop
from ._thread import LoopThread as LoopThread
from ._typing import FutureLike as FutureLike

__version__ = "0.1.0"

__all__ = (
    "AsyncIOLoop",
    "AsyncIOMainLoop",
    "FutureLike",
    "LoopThread",
    "as_asyncio",
    "as_tornado",
    "register_adapter",
    "to_asyncio_future",
    "to_tornado_future",
)
