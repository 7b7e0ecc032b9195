# Sharpened stub for ``tornado.platform.asyncio``.
#
# ``to_asyncio_future`` is ``tornado.gen.convert_yielded`` under another name
# and is typed the same way (so ``await to_asyncio_future(None)`` and ``await``
# on a converted ``concurrent.futures.Future`` are errors, as they fail at
# runtime); ``to_tornado_future`` returns its argument, with its type.

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future as _ConcurrentFuture
from typing import Any, Protocol, TypeAlias, TypeVar, TypeVarTuple, overload

from tornado.gen import _NullFuture  # pyright: ignore[reportPrivateUsage]
from tornado.ioloop import (
    IOLoop,
    _Selectable,  # pyright: ignore[reportPrivateUsage]
)

# Module-level state of the selector threads (private, but Tornado's own tests
# read it).
_selector_loops: set[SelectorThread]

def _atexit_callback() -> None: ...

class _HasFileno(Protocol):
    def fileno(self) -> int: ...

_FileDescriptorLike: TypeAlias = int | _HasFileno
_T = TypeVar("_T")
_K = TypeVar("_K")
_Ts = TypeVarTuple("_Ts")

class BaseAsyncIOLoop(IOLoop):
    asyncio_loop: asyncio.AbstractEventLoop
    selector_loop: asyncio.AbstractEventLoop
    handlers: dict[int, tuple[int | _Selectable, Callable[..., None]]]
    readers: set[int]
    writers: set[int]
    closing: bool
    # initialize() takes different keywords at each level of the hierarchy.
    def initialize(  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]
        self, asyncio_loop: asyncio.AbstractEventLoop, **kwargs: Any
    ) -> None: ...
    def _handle_events(self, fd: int, events: int) -> None: ...

class AsyncIOMainLoop(BaseAsyncIOLoop):
    def initialize(self, **kwargs: Any) -> None: ...  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]

class AsyncIOLoop(BaseAsyncIOLoop):
    is_current: bool
    old_asyncio: asyncio.AbstractEventLoop | None
    def initialize(self, **kwargs: Any) -> None: ...  # type: ignore[override]  # pyright: ignore[reportIncompatibleMethodOverride]

def to_tornado_future(asyncio_future: asyncio.Future[_T]) -> asyncio.Future[_T]: ...

# The same overloads as tornado.gen.convert_yielded, which it calls (but a
# plain function: no ``register``).
@overload
def to_asyncio_future(tornado_future: _NullFuture | None) -> _NullFuture: ...
@overload
def to_asyncio_future(tornado_future: _ConcurrentFuture[_T]) -> _ConcurrentFuture[_T]: ...
@overload
def to_asyncio_future(tornado_future: Awaitable[_T]) -> asyncio.Future[_T]: ...
@overload
def to_asyncio_future(tornado_future: list[asyncio.Future[_T]]) -> asyncio.Future[list[_T]]: ...
@overload
def to_asyncio_future(
    tornado_future: list[Awaitable[_T] | _ConcurrentFuture[_T]],
) -> asyncio.Future[list[_T]]: ...
@overload
def to_asyncio_future(tornado_future: list[Any]) -> asyncio.Future[list[Any]]: ...
@overload
def to_asyncio_future(
    tornado_future: dict[_K, asyncio.Future[_T]],
) -> asyncio.Future[dict[_K, _T]]: ...
@overload
def to_asyncio_future(
    tornado_future: dict[_K, Awaitable[_T] | _ConcurrentFuture[_T]],
) -> asyncio.Future[dict[_K, _T]]: ...
@overload
def to_asyncio_future(tornado_future: dict[_K, Any]) -> asyncio.Future[dict[_K, Any]]: ...

class AnyThreadEventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    # Created on first access (the runtime builds it in a module ``__getattr__``).
    def get_event_loop(self) -> asyncio.AbstractEventLoop: ...

class SelectorThread:
    _closed: bool
    _real_loop: asyncio.AbstractEventLoop
    _thread: threading.Thread | None
    _thread_manager_task: asyncio.Task[None] | None
    _waker_r: socket.socket
    _waker_w: socket.socket
    def __init__(self, real_loop: asyncio.AbstractEventLoop) -> None: ...
    def close(self) -> None: ...
    def add_reader(
        self, fd: _FileDescriptorLike, callback: Callable[..., None], *args: Any
    ) -> None: ...
    def add_writer(
        self, fd: _FileDescriptorLike, callback: Callable[..., None], *args: Any
    ) -> None: ...
    def remove_reader(self, fd: _FileDescriptorLike) -> bool: ...
    def remove_writer(self, fd: _FileDescriptorLike) -> bool: ...

# Every method not listed here is forwarded to the real loop by
# __getattribute__, which mypy cannot see: hence the abstract-class ignore.
class AddThreadSelectorEventLoop(asyncio.AbstractEventLoop):  # type: ignore[misc]
    MY_ATTRIBUTES: set[str]
    def __getattribute__(self, name: str) -> Any: ...
    def __init__(self, real_loop: asyncio.AbstractEventLoop) -> None: ...
    def close(self) -> None: ...
    def add_reader(
        self, fd: _FileDescriptorLike, callback: Callable[[*_Ts], Any], *args: *_Ts
    ) -> None: ...
    def add_writer(
        self, fd: _FileDescriptorLike, callback: Callable[[*_Ts], Any], *args: *_Ts
    ) -> None: ...
    def remove_reader(self, fd: _FileDescriptorLike) -> bool: ...
    def remove_writer(self, fd: _FileDescriptorLike) -> bool: ...
