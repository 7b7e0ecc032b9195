"""The errors a newcomer meets first: each names the mistake and what to do instead."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import textwrap
from collections.abc import Coroutine
from typing import Any

import pytest

from futurebridge import AsyncIOLoop, LoopThread, register_adapter, to_asyncio_future

# What an untyped caller may pass: these tests are about the run-time errors.
_untyped_convert: Any = to_asyncio_future


def _untyped(value: object) -> Any:
    return value


def _run_fresh(source: str) -> subprocess.CompletedProcess[str]:
    """Run *source* in a new interpreter (futurebridge not yet imported there)."""
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(source)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_configure_by_name_before_import_says_to_import_first() -> None:
    result = _run_fresh(
        """
        from tornado.ioloop import IOLoop
        for attempt in range(2):
            try:
                IOLoop.configure("futurebridge.AsyncIOLoop")
            except RuntimeError as exc:
                print("refused:", exc)
        import futurebridge
        IOLoop.configure("futurebridge.AsyncIOLoop")
        loop = IOLoop()
        print("made:", type(loop).__module__, type(loop).__qualname__)
        loop.close()
        """
    )
    assert result.returncode == 0, result.stderr
    refused = [line for line in result.stdout.splitlines() if line.startswith("refused:")]
    # Every attempt before the import fails alike, not only the first one.
    assert len(refused) == 2
    for line in refused:
        assert "before `import futurebridge`" in line
        assert "only AsyncIOLoop is allowed" not in line
    assert "made: futurebridge._ioloop AsyncIOLoop" in result.stdout


def test_configure_of_another_module_that_imports_futurebridge_is_untouched() -> None:
    # Only a string naming futurebridge is refused: Tornado's own loop, named by a
    # string while futurebridge is imported for the first time, still works.
    result = _run_fresh(
        """
        from tornado.ioloop import IOLoop
        IOLoop.configure("tornado.platform.asyncio.AsyncIOLoop")
        import futurebridge
        # make_current=False: Tornado's own class asks asyncio.get_event_loop()
        # otherwise, which warns on 3.12 and 3.13 (Tornado's doing, not ours).
        loop = IOLoop(make_current=False)
        print(type(loop).__module__)
        loop.close()
        """
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "tornado.platform.asyncio"


async def _answer() -> int:
    return 42


def test_run_sync_of_a_coroutine_object_hints_at_passing_the_function() -> None:
    loop = AsyncIOLoop()
    coro = _answer()
    try:
        with pytest.raises(TypeError) as raised:
            loop.run_sync(_untyped(coro))
        message = str(raised.value)
        assert "got a coroutine" in message
        assert "run_sync(main)" in message
        assert "not ioloop.run_sync(main())" in message
        # The loop is still usable: nothing started.
        assert loop.run_sync(_answer) == 42
    finally:
        coro.close()
        loop.close()


def test_run_sync_of_a_plain_value_names_it() -> None:
    loop = AsyncIOLoop()
    try:
        with pytest.raises(TypeError, match=r"run_sync\(\) needs a function .*got an int$"):
            loop.run_sync(_untyped(3))
    finally:
        loop.close()


def test_loop_factory_given_by_name_fails_at_construction() -> None:
    with pytest.raises(TypeError) as raised:
        LoopThread(loop_factory=_untyped("uvloop"))
    message = str(raised.value)
    assert "got a str" in message
    assert "uvloop.new_event_loop" in message
    with pytest.raises(TypeError, match="got an int"):
        LoopThread(loop_factory=_untyped(1))


class _Ticket:
    """A kind whose adapter is wrong: it returns a plain value."""


def _bad_adapter(ticket: _Ticket) -> Any:
    return 7


def test_adapter_returning_a_non_awaitable_is_named() -> None:
    register_adapter(_Ticket, _bad_adapter)

    async def main() -> None:
        with pytest.raises(TypeError) as raised:
            await _untyped_convert(_Ticket())
        message = str(raised.value)
        assert re.search(r"the adapter _bad_adapter registered for \S*\._Ticket ", message)
        assert "returned an int, which is not awaitable" in message

    asyncio.run(main())


@pytest.mark.parametrize(
    ("aggregate", "where"),
    [
        ([None, 3], "item [1] of the list: cannot convert an int"),
        ({"a": [None, {"b": "x"}]}, "item ['a'][1]['b'] of the dict: cannot convert a str"),
        ((None, [None, object()]), "item [1][1] of the tuple: cannot convert an object"),
    ],
)
def test_bad_element_deep_in_an_aggregate_is_located(aggregate: object, where: str) -> None:
    async def main() -> None:
        with pytest.raises(TypeError) as raised:
            _untyped_convert(aggregate)
        assert str(raised.value).startswith(where), str(raised.value)

    asyncio.run(main())


def test_aggregate_errors_leave_no_task_behind() -> None:
    async def main() -> None:
        started: list[Coroutine[Any, Any, int]] = [_answer()]
        with pytest.raises(TypeError, match=r"item \[1\] of the list"):
            _untyped_convert([started[0], 1])
        started[0].close()  # checked up front: the coroutine never started
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(main())


def test_contrib_twisted_without_twisted_names_the_extra() -> None:
    result = _run_fresh(
        """
        import sys
        sys.modules["twisted"] = None  # as if Twisted were not installed
        try:
            import futurebridge.contrib.twisted
        except ModuleNotFoundError as exc:
            print(exc)
        """
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'futurebridge[twisted]'" in result.stdout


@pytest.mark.parametrize(
    ("value", "expected"),
    [(1, "an int"), ("s", "a str"), (object(), "an object"), (1.5, "a float"), ({1}, "a set")],
)
def test_messages_use_the_right_article(value: object, expected: str) -> None:
    async def main() -> None:
        with pytest.raises(TypeError, match=f"^cannot convert {expected} to a future"):
            _untyped_convert(value)

    asyncio.run(main())
