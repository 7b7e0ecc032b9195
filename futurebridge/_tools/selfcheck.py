"""The self-check printed by ``python -m futurebridge``: one conversion of each kind."""

from __future__ import annotations

import asyncio
import concurrent.futures
import platform
import threading
from collections.abc import Awaitable, Callable
from typing import Any, cast

import tornado
import tornado.gen

from futurebridge import __version__, to_asyncio_future, to_tornado_future

# Tornado types gen.moment as Future[Any] although it is a _NullFuture.
_MOMENT: Any = getattr(tornado.gen, "moment")


@tornado.gen.coroutine
def _legacy_double(x: int) -> Any:
    yield _MOMENT
    return x * 2


async def _triple(x: int) -> int:
    await asyncio.sleep(0)
    return x * 3


class _Awaitable:
    def __await__(self) -> Any:
        return _triple(5).__await__()


def _convert_moment() -> asyncio.Future[None]:
    return cast("asyncio.Future[None]", to_asyncio_future(_MOMENT))


async def _cases() -> list[tuple[str, object, object]]:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[str] = loop.create_future()
    ready.set_result("same object")
    other_loop = asyncio.new_event_loop()
    other_thread = threading.Thread(target=other_loop.run_forever, daemon=True)
    other_thread.start()

    async def on_other_loop() -> str:
        return f"from {threading.current_thread().name}"

    cases: list[tuple[str, Callable[[], Awaitable[object]], object]] = [
        ("asyncio future on this loop", lambda: to_asyncio_future(ready), "same object"),
        ("coroutine", lambda: to_asyncio_future(_triple(2)), 6),
        ("object with __await__", lambda: to_asyncio_future(_Awaitable()), 15),
        ("@gen.coroutine future", lambda: to_asyncio_future(_legacy_double(21)), 42),
        (
            "concurrent.futures.Future",
            lambda: to_asyncio_future(executor.submit(sum, [1, 2, 3])),
            6,
        ),
        ("None", lambda: to_asyncio_future(None), None),
        ("tornado.gen.moment", _convert_moment, None),
        ("list", lambda: to_asyncio_future([_triple(1), _triple(2)]), [3, 6]),
        ("dict", lambda: to_asyncio_future({"a": _triple(1)}), {"a": 3}),
        (
            "future of a loop on another thread",
            lambda: to_asyncio_future(
                asyncio.run_coroutine_threadsafe(on_other_loop(), other_loop)
            ),
            f"from {other_thread.name}",
        ),
        ("to_tornado_future(coroutine)", lambda: to_tornado_future(_triple(7)), 21),
    ]
    results: list[tuple[str, object, object]] = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as executor:
        try:
            for name, make, expected in cases:
                results.append((name, await make(), expected))
        finally:
            other_loop.call_soon_threadsafe(other_loop.stop)
            other_thread.join()
            other_loop.close()
    return results


def run() -> int:
    """Print the self-check; return 0 if every conversion gave its expected result."""
    loop = asyncio.new_event_loop()
    try:
        results = loop.run_until_complete(_cases())
        loop_name = f"{type(loop).__module__}.{type(loop).__qualname__}"
    finally:
        loop.close()
    print(
        f"futurebridge {__version__} self-check: Python {platform.python_version()}, "
        f"Tornado {tornado.version}"
    )
    print(f"event loop: {loop_name}")
    failures = 0
    for name, got, expected in results:
        ok = got == expected
        failures += not ok
        print(f"  {'ok ' if ok else 'BAD'} {name:<36} -> {got!r}")
    print("all conversions ok" if not failures else f"{failures} conversion(s) FAILED")
    return 1 if failures else 0
