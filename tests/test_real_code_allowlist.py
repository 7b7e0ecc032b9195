"""The stub-only errors that stay on Tornado's tree are true reports: shown here.

``stubs/real-code-allowlist.txt`` lists the errors the Tornado stubs cause on
Tornado 6.6.1's own code that the ``realcode`` session lets pass. Each entry
must be a true report about that code, and each is shown below on the
installed Tornado, so that the list cannot hide a false positive of the
stubs: if Tornado fixes the code, the test fails and the entry goes.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from pathlib import Path

import pytest
import tornado.test.web_test
import tornado.web
from tornado import gen
from tornado.platform.asyncio import to_asyncio_future

ALLOWLIST = Path(__file__).resolve().parent.parent / "stubs" / "real-code-allowlist.txt"


def _entries() -> set[str]:
    """The ``FILE:LINE`` of every entry of the allowlist."""
    lines = ALLOWLIST.read_text().splitlines()
    return {line.split()[1] for line in lines if line.strip() and not line.startswith("#")}


def test_every_allowlisted_line_is_shown_here() -> None:
    assert _entries() == {
        "tornado_sdist/platform/asyncio.py:379",
        "tornado_sdist/test/web_test.py:3303",
        "tornado_sdist/test/web_test.py:1893",
    }


def test_to_asyncio_future_of_none_is_not_awaitable() -> None:
    # platform/asyncio.py:379: declared to return an asyncio.Future, it
    # returns convert_yielded(None), which is gen.moment.
    result = to_asyncio_future(None)
    assert result is gen.moment
    assert not isinstance(result, asyncio.Future)

    async def main() -> None:
        await result

    # 3.11-3.13 and 3.14+ word it differently.
    with pytest.raises(TypeError, match=r"can't be (used in 'await' expression|awaited)"):
        asyncio.run(main())


def test_the_decorated_flow_control_handler_renames_the_overridden_parameter() -> None:
    # web_test.py:3303: RequestHandler.data_received(chunk) is overridden as
    # data_received(data), so a caller that passes chunk= fails.
    case = tornado.test.web_test.DecoratedStreamingRequestFlowControlTest()
    ((_, handler, *_),) = case.get_handlers()
    assert issubclass(handler, tornado.web.RequestHandler)
    inspect.signature(tornado.web.RequestHandler.data_received).bind(None, chunk=b"")
    with pytest.raises(TypeError, match="missing a required argument: 'data'"):
        inspect.signature(handler.data_received).bind(None, chunk=b"")


def test_the_static_file_handler_root_override_is_marked_by_tornado_itself() -> None:
    # web_test.py:1893: a subclass declares StaticFileHandler.root a tuple,
    # and Tornado silences mypy there with its own coded ignore, which ty
    # does not read.
    source = inspect.getsource(tornado.test.web_test).splitlines()
    assert re.fullmatch(r"\s+root: tuple  # type: ignore\[assignment\]", source[1893 - 1])
    assert tornado.web.StaticFileHandler.initialize.__annotations__["path"] in (str, "str")
