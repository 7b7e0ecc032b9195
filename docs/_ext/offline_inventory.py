"""Sphinx inventories for Python and Tornado, written from a list kept here.

intersphinx normally downloads ``objects.inv`` from docs.python.org and
tornadoweb.org. The machines that build these docs reach package registries
only, so that download would fail (and ``-W`` makes it fatal). Instead, this
module lists every Python and Tornado object the docs link to, with the page
it lives on, and writes the two inventory files from that list before the
build starts. intersphinx then reads them like downloaded ones:

* links in the built pages go to the real upstream documentation;
* a reference to an object *not* listed here stays unresolved, and the
  nitpicky build (``-n -W``) fails, naming it: add it below with its page;
* each listed name is checked to exist in the installed Python or Tornado
  (see :func:`check`, run by ``tests/test_docs.py``), so a typo cannot hide.

Only the anchors cannot be checked offline; they follow the upstream docs'
scheme (the object's full name), which both projects have kept for years.
"""

from __future__ import annotations

import importlib
import zlib
from pathlib import Path

PYTHON_URL = "https://docs.python.org/3/"
TORNADO_URL = "https://www.tornadoweb.org/en/stable/"

# role -> {full name: page}. For the Python docs, "library/" is prepended.
PYTHON: dict[str, dict[str, str]] = {
    "module": {
        "asyncio": "asyncio",
        "contextvars": "contextvars",
        "concurrent.futures": "concurrent.futures",
        "multiprocessing": "multiprocessing",
        "unittest": "unittest",
    },
    "class": {
        "asyncio.AbstractEventLoop": "asyncio-eventloop",
        "asyncio.Future": "asyncio-future",
        "asyncio.Runner": "asyncio-runner",
        "asyncio.Task": "asyncio-task",
        "collections.abc.Awaitable": "collections.abc",
        "collections.abc.Callable": "collections.abc",
        "collections.abc.Coroutine": "collections.abc",
        "collections.abc.Generator": "collections.abc",
        "collections.abc.Mapping": "collections.abc",
        "collections.abc.Sequence": "collections.abc",
        "concurrent.futures.Executor": "concurrent.futures",
        "concurrent.futures.Future": "concurrent.futures",
        "concurrent.futures.ThreadPoolExecutor": "concurrent.futures",
        "contextvars.Context": "contextvars",
        "contextvars.ContextVar": "contextvars",
        "functools.partial": "functools",
        "typing.Any": "typing",
        "typing.ParamSpec": "typing",
        "typing.Self": "typing",
        "typing.TypeVar": "typing",
        "staticmethod": "functions",
        "classmethod": "functions",
        "float": "functions",
        "int": "functions",
        "str": "stdtypes",
        "list": "stdtypes",
        "dict": "stdtypes",
        "tuple": "stdtypes",
        "bool": "functions",
        "object": "functions",
        "type": "functions",
    },
    "function": {
        "asyncio.create_task": "asyncio-task",
        "asyncio.current_task": "asyncio-task",
        "asyncio.gather": "asyncio-task",
        "asyncio.get_event_loop": "asyncio-eventloop",
        "asyncio.get_running_loop": "asyncio-eventloop",
        "asyncio.new_event_loop": "asyncio-eventloop",
        "asyncio.run": "asyncio-runner",
        "asyncio.run_coroutine_threadsafe": "asyncio-task",
        "asyncio.set_event_loop": "asyncio-eventloop",
        "asyncio.shield": "asyncio-task",
        "asyncio.sleep": "asyncio-task",
        "asyncio.to_thread": "asyncio-task",
        "asyncio.wait_for": "asyncio-task",
        "asyncio.wrap_future": "asyncio-future",
        "concurrent.futures.as_completed": "concurrent.futures",
        "concurrent.futures.wait": "concurrent.futures",
        "contextvars.copy_context": "contextvars",
        "functools.partial": "functools",
        "functools.wraps": "functools",
        "inspect.iscoroutinefunction": "inspect",
        "inspect.signature": "inspect",
        "time.time": "time",
        "typing.assert_type": "typing",
        "typing.reveal_type": "typing",
    },
    "method": {
        "asyncio.Future.cancel": "asyncio-future",
        "asyncio.loop.add_signal_handler": "asyncio-eventloop",
        "asyncio.loop.call_soon_threadsafe": "asyncio-eventloop",
        "asyncio.loop.run_in_executor": "asyncio-eventloop",
        "concurrent.futures.Future.cancel": "concurrent.futures",
        "concurrent.futures.Future.result": "concurrent.futures",
        "threading.Thread.join": "threading",
    },
    "exception": {
        "asyncio.CancelledError": "asyncio-exceptions",
        "concurrent.futures.CancelledError": "concurrent.futures",
        "KeyError": "exceptions",
        "KeyboardInterrupt": "exceptions",
        "RuntimeError": "exceptions",
        "TimeoutError": "exceptions",
        "TypeError": "exceptions",
        "ValueError": "exceptions",
    },
    "data": {
        "typing.Any": "typing",
    },
}

# role -> {full name: page}; Tornado's pages are named after its modules.
TORNADO: dict[str, dict[str, str]] = {
    "module": {
        "tornado.gen": "gen",
        "tornado.concurrent": "concurrent",
        "tornado.ioloop": "ioloop",
        "tornado.platform.asyncio": "asyncio",
        "tornado.testing": "testing",
        "tornado.web": "web",
    },
    "class": {
        "tornado.concurrent.Future": "concurrent",
        "tornado.ioloop.IOLoop": "ioloop",
        "tornado.ioloop.PeriodicCallback": "ioloop",
        "tornado.platform.asyncio.AsyncIOMainLoop": "asyncio",
        "tornado.platform.asyncio.AsyncIOLoop": "asyncio",
        "tornado.testing.AsyncTestCase": "testing",
        "tornado.testing.AsyncHTTPTestCase": "testing",
        "tornado.web.Application": "web",
        "tornado.web.RequestHandler": "web",
        "tornado.httpserver.HTTPServer": "httpserver",
        "tornado.httpclient.AsyncHTTPClient": "httpclient",
        "tornado.util.Configurable": "util",
    },
    "function": {
        "tornado.gen.coroutine": "gen",
        "tornado.gen.convert_yielded": "gen",
        "tornado.gen.is_coroutine_function": "gen",
        "tornado.gen.multi": "gen",
        "tornado.gen.with_timeout": "gen",
        "tornado.gen.sleep": "gen",
        "tornado.concurrent.run_on_executor": "concurrent",
        "tornado.concurrent.chain_future": "concurrent",
        "tornado.platform.asyncio.to_asyncio_future": "asyncio",
        "tornado.platform.asyncio.to_tornado_future": "asyncio",
        "tornado.testing.gen_test": "testing",
        "tornado.testing.bind_unused_port": "testing",
    },
    "method": {
        "tornado.ioloop.IOLoop.add_future": "ioloop",
        "tornado.ioloop.IOLoop.add_callback": "ioloop",
        "tornado.ioloop.IOLoop.configure": "ioloop",
        "tornado.ioloop.IOLoop.current": "ioloop",
        "tornado.ioloop.IOLoop.install": "ioloop",
        "tornado.ioloop.IOLoop.run_in_executor": "ioloop",
        "tornado.ioloop.IOLoop.run_sync": "ioloop",
        "tornado.ioloop.IOLoop.start": "ioloop",
        "tornado.testing.AsyncTestCase.get_new_ioloop": "testing",
    },
    "data": {
        "tornado.gen.moment": "gen",
    },
    "exception": {
        "tornado.gen.BadYieldError": "gen",
        "tornado.gen.Return": "gen",
    },
}

# Where an object is defined is not where it is documented: type hints that
# autodoc reads give these private paths. Each is listed under the same page
# and anchor as its public name.
ALIASES: dict[str, str] = {
    "_asyncio.Future": "asyncio.Future",
    "_asyncio.Task": "asyncio.Task",
    "asyncio.events.AbstractEventLoop": "asyncio.AbstractEventLoop",
    "concurrent.futures._base.Executor": "concurrent.futures.Executor",
    "concurrent.futures._base.Future": "concurrent.futures.Future",
}

_ROLE_OF = {
    "module": "py:module",
    "class": "py:class",
    "function": "py:function",
    "method": "py:method",
    "exception": "py:exception",
    "data": "py:data",
}


def _lines(table: dict[str, dict[str, str]], prefix: str) -> list[str]:
    lines = []
    for role, names in table.items():
        for name, page in sorted(names.items()):
            anchor = f"module-{name}" if role == "module" else name
            lines.append(f"{name} {_ROLE_OF[role]} 1 {prefix}{page}.html#{anchor} -")
            for alias, public in ALIASES.items():
                if public == name:
                    lines.append(f"{alias} {_ROLE_OF[role]} 1 {prefix}{page}.html#{anchor} -")
    return lines


def _write(path: Path, project: str, lines: list[str]) -> None:
    header = (
        "# Sphinx inventory version 2\n"
        f"# Project: {project}\n"
        "# Version: \n"
        "# The remainder of this file is compressed using zlib.\n"
    ).encode()
    body = zlib.compress(("\n".join(lines) + "\n").encode())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + body)


def write_inventories(directory: Path) -> dict[str, Path]:
    """Write ``python.inv`` and ``tornado.inv`` into *directory*; return their paths."""
    paths = {"python": directory / "python.inv", "tornado": directory / "tornado.inv"}
    _write(paths["python"], "Python", _lines(PYTHON, "library/"))
    _write(paths["tornado"], "Tornado", _lines(TORNADO, ""))
    return paths


def _resolve(name: str) -> object:
    """Import the longest module prefix of *name*, then follow attributes."""
    if name.startswith("asyncio.loop."):
        # The docs' name for the methods of every event loop.
        name = "asyncio.AbstractEventLoop." + name.removeprefix("asyncio.loop.")
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    return getattr(importlib.import_module("builtins"), name)


def check() -> list[str]:
    """Return the listed names that do not exist in the installed Python or Tornado.

    An alias must also be the very object its public name is.
    """
    missing = []
    listed = [name for table in (PYTHON, TORNADO) for names in table.values() for name in names]
    for name in listed:
        try:
            _resolve(name)
        except (AttributeError, ImportError):
            missing.append(name)
    for alias, public in ALIASES.items():
        try:
            if _resolve(alias) is not _resolve(public):
                missing.append(alias)
        except (AttributeError, ImportError):
            missing.append(alias)
    return missing
