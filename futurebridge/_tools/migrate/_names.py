"""What the codemod knows about Tornado's and asyncio's names.

Every name here is fully qualified, the way libcst's ``QualifiedNameProvider``
spells it, so ``from tornado import gen as g; g.coroutine`` and
``import tornado.gen; tornado.gen.coroutine`` both read as
``tornado.gen.coroutine``. This module owns the tables only; the analysis and
the rewrite read them.
"""

from __future__ import annotations

from typing import Final

COROUTINE_DECORATORS: Final = frozenset({"tornado.gen.coroutine"})
RETURN: Final = "tornado.gen.Return"
MOMENT: Final = "tornado.gen.moment"
RUN_ON_EXECUTOR: Final = "tornado.concurrent.run_on_executor"
WITH_TIMEOUT: Final = "tornado.gen.with_timeout"

# Calls whose result can be awaited as it is.
AWAITABLE_APIS: Final = frozenset(
    {
        "asyncio.sleep",
        "asyncio.gather",
        "asyncio.wait",
        "asyncio.wait_for",
        "asyncio.shield",
        "asyncio.ensure_future",
        "asyncio.create_task",
        "asyncio.to_thread",
        "asyncio.wrap_future",
        "asyncio.open_connection",
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
        "tornado.gen.sleep",
        "tornado.gen.multi",
        "tornado.gen.multi_future",
        "tornado.gen.convert_yielded",
        "tornado.platform.asyncio.to_asyncio_future",
        "futurebridge.to_asyncio_future",
        "futurebridge.to_tornado_future",
    }
)

# Calls that hand their arguments on to be awaited: a coroutine passed to one
# of them is awaited when the outer call is.
AWAITING_WRAPPERS: Final = frozenset(
    {
        "asyncio.gather",
        "asyncio.wait_for",
        "asyncio.shield",
        "asyncio.ensure_future",
        "asyncio.create_task",
        "tornado.gen.multi",
        "tornado.gen.multi_future",
        "tornado.gen.convert_yielded",
        "tornado.gen.with_timeout",
        "tornado.platform.asyncio.to_asyncio_future",
        "futurebridge.to_asyncio_future",
        "futurebridge.to_tornado_future",
    }
)

# Legacy APIs whose meaning a rewrite cannot keep: the function is left alone.
FLAGGED_APIS: Final = {
    "tornado.gen.Task": "gen.Task wraps a callback-style API: port it to a future by hand",
    "tornado.gen.Callback": "gen.Callback is a callback-style API: port it by hand",
    "tornado.gen.Wait": "gen.Wait is a callback-style API: port it by hand",
    "tornado.gen.WaitAll": "gen.WaitAll is a callback-style API: port it by hand",
    "tornado.gen.WaitIterator": (
        "gen.WaitIterator yields futures as they finish: port it to asyncio.as_completed by hand"
    ),
}

# Return annotations whose last type argument is the coroutine's result.
GENERATOR_TYPES: Final = frozenset(
    {"typing.Generator", "collections.abc.Generator", "typing_extensions.Generator"}
)
FUTURE_TYPES: Final = frozenset(
    {
        "tornado.concurrent.Future",
        "tornado.gen.Future",
        "asyncio.Future",
        "asyncio.futures.Future",
        "typing.Awaitable",
        "collections.abc.Awaitable",
    }
)

SWALLOWING_CONTEXTS: Final = frozenset({"contextlib.suppress"})
BROAD_EXCEPTIONS: Final = frozenset(
    {"Exception", "BaseException", "builtins.Exception", "builtins.BaseException"}
)
