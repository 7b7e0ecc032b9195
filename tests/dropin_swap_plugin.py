"""A pytest plugin for running another project's test suite with futurebridge
in place, loaded with ``-p dropin_swap_plugin`` (``tests/`` on ``PYTHONPATH``).

At import, before any test module of the suite is imported, it makes
``IOLoop()`` create :class:`futurebridge.AsyncIOLoop` and, unless the
environment variable ``FUTUREBRIDGE_SWAP`` is ``0``, replaces
``tornado.gen.coroutine`` with :func:`futurebridge.as_tornado`. With
``FUTUREBRIDGE_UVLOOP=1`` every asyncio loop is a uvloop one.

Used by tests/test_dropin_suites.py for pytest-tornado 0.8.1's own suite.
"""

from __future__ import annotations

import asyncio
import os

import tornado.gen
from tornado.ioloop import IOLoop

import futurebridge

if os.environ.get("FUTUREBRIDGE_UVLOOP") == "1":
    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
IOLoop.configure("futurebridge.AsyncIOLoop")
if os.environ.get("FUTUREBRIDGE_SWAP", "1") != "0":
    tornado.gen.coroutine = futurebridge.as_tornado  # type: ignore[assignment]
