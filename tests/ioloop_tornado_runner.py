"""Run Tornado's own test suite (the installed ``tornado.test`` package) on
futurebridge's loops.

``python tests/ioloop_tornado_runner.py`` runs it all; module names given on
the command line narrow it to those modules, and ``--uvloop`` makes every
asyncio loop a uvloop one. ``IOLoop()`` creates
:class:`futurebridge.AsyncIOLoop` (every ``AsyncTestCase`` gets one) and
``IOLoop.current()`` creates :class:`futurebridge.AsyncIOMainLoop`. Tornado's
runner is strict: any log message at INFO or above, or any byte written to
stderr outside the test report, fails the run. ``EMULATION=1`` is set for it
(see :func:`main`).

Used by tests/test_tornado_suite.py.
"""

from __future__ import annotations

import asyncio
import os
import sys
import unittest
from collections.abc import Iterator

from tornado.ioloop import IOLoop
from tornado.test import runtests

import futurebridge

# Tests left out, each because it checks Tornado's own classes or private
# state rather than IOLoop behaviour.
EXCLUDED = {
    # These three read ``IOLoop.current().selector_loop``, an undocumented
    # attribute of Tornado's BaseAsyncIOLoop (the Windows selector-thread
    # shim), to decide whether to skip themselves.
    "tornado.test.iostream_test.TestIOStream.test_inline_read_error",
    "tornado.test.iostream_test.TestIOStreamSSL.test_inline_read_error",
    "tornado.test.iostream_test.TestIOStreamSSLContext.test_inline_read_error",
}


def _iter_tests(suite: unittest.TestSuite) -> Iterator[unittest.TestCase]:
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from _iter_tests(test)
        else:
            yield test


def all() -> unittest.TestSuite:  # the name tornado.testing.main looks for
    """Tornado's suite minus :data:`EXCLUDED`."""
    tests = runtests.all()  # type: ignore[no-untyped-call]  # Tornado leaves it untyped
    kept = [test for test in _iter_tests(tests) if test.id() not in EXCLUDED]
    return unittest.TestSuite(kept)


def main() -> None:
    """Configure futurebridge's loops, check they are used, and run the suite.

    Module names on the command line (``tornado.test.ioloop_test``...) narrow
    the run to those modules, still minus :data:`EXCLUDED`.
    """
    args = sys.argv[1:]
    # Tornado's own switch for slow machines (its CI sets it under emulation).
    # In Tornado 6.6 it does one thing: SimpleHTTPSClientTestCase's
    # test_request_timeout allows 0.5 s instead of 0.1 s for a TLS handshake
    # and a request to reach the handler, which a loaded 2-CPU machine missed
    # 19 times in 20, with either decorator. tests/test_tornado_suite.py checks
    # that it skips no test.
    os.environ["EMULATION"] = "1"
    on_uvloop = "--uvloop" in args
    modules = [arg for arg in args if not arg.startswith("-")]
    if modules:
        runtests.TEST_MODULES[:] = modules
    sys.argv[1:] = [arg for arg in args if arg.startswith("-") and arg != "--uvloop"]
    if on_uvloop:
        import uvloop

        # Every asyncio loop the suite makes (ours included) is a uvloop one.
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    IOLoop.configure("futurebridge.AsyncIOLoop")
    probe = IOLoop(make_current=False)
    assert type(probe) is futurebridge.AsyncIOLoop, type(probe)
    if on_uvloop:
        assert type(probe.asyncio_loop).__module__.startswith("uvloop"), probe.asyncio_loop
    probe.close()
    runtests.main()  # type: ignore[no-untyped-call]  # Tornado leaves it untyped


if __name__ == "__main__":
    main()
