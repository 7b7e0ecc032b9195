"""A forked child starts clean (issue 17, item 15).

``os.fork()`` from inside a running loop, with a LoopThread running and
bridges pending: in the child, conversions on a new loop work, an error with
no loop running names no loop of the parent, and the parent's LoopThread says
it belongs to the parent instead of hanging. Each case runs in a fresh
interpreter (``subprocess``), so the fork never copies pytest's own threads.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() is POSIX only"),
]

CHILD_CHECKS = textwrap.dedent(
    """
    import asyncio, os, sys, traceback

    from futurebridge import LoopThread, _outcome, to_asyncio_future

    async def value(n):
        await asyncio.sleep(0)
        return n

    def child(lt, parent_loop):
        # No loop runs here: the error says so, and names no loop of the parent.
        coro = value(1)
        try:
            to_asyncio_future(coro)
        except RuntimeError as exc:
            message = str(exc)
            assert "no running event loop" in message, message
            assert repr(parent_loop) not in message, message
        else:
            raise AssertionError("to_asyncio_future() found a loop in the child")
        finally:
            coro.close()

        # A new loop converts as in any fresh process.
        async def fresh():
            return await asyncio.wait_for(to_asyncio_future(value(42)), 5)

        assert asyncio.run(fresh()) == 42

        # The parent's LoopThread has no thread here: it says so, at once.
        try:
            lt.run(value, 2)
        except RuntimeError as exc:
            assert "forked child" in str(exc), str(exc)
        else:
            raise AssertionError("the parent's LoopThread took a call in the child")
        lt.close()
        assert not _outcome.live_bridges(), _outcome.live_bridges()

        # A LoopThread of the child's own works.
        with LoopThread(name="child-loop") as mine:
            assert mine.run(value, 3) == 3

    async def make_future():
        return asyncio.get_running_loop().create_future()

    async def main():
        loop = asyncio.get_running_loop()
        # The converters have seen this loop, and a bridge from the
        # LoopThread to it is pending at the fork.
        assert await to_asyncio_future(value(0)) == 0
        pending = await lt.call(make_future)
        bridged = to_asyncio_future(pending)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                child(lt, loop)
            except BaseException:
                traceback.print_exc()
                code = 1
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
        _, status = os.waitpid(pid, 0)
        bridged.cancel()
        return os.waitstatus_to_exitcode(status)

    with LoopThread(name="parent-loop") as lt:
        sys.exit(asyncio.run(main()))
    """
)


def test_a_child_forked_in_a_running_loop_starts_clean() -> None:
    done = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", CHILD_CHECKS],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
