# Sharpened stub for ``tornado.platform.asyncio``.
#
# ``to_asyncio_future`` is ``tornado.gen.convert_yielded`` under another name
# and is typed the same way (so ``await to_asyncio_future(None)`` and ``await``
# on a converted ``concurrent.futures.Future`` are errors, as they fail at
# runtime); ``to_tornado_future`` returns its argument, with its type.

import asyncio
from collections.abc import Callable
from typing import Any, Protocol, TypeAlias, TypeVar, TypeVarTuple

from tornado.gen import _ConvertYielded  # pyright: ignore[reportPrivateUsage]
from tornado.ioloop import (
    IOLoop,
    _Selectable,  # pyright: ignore[reportPrivateUsage]
)

class _HasFileno(Protocol):
    def fileno(self) -> int: ...

_FileDescriptorLike: TypeAlias = int | _HasFileno
_T = TypeVar("_T")
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

to_asyncio_future: _ConvertYielded

class AnyThreadEventLoopPolicy(asyncio.DefaultEventLoopPolicy):
    # Created on first access (the runtime builds it in a module ``__getattr__``).
    def get_event_loop(self) -> asyncio.AbstractEventLoop: ...

class SelectorThread:
    _closed: bool
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
