"""register_adapter's cancel= and gather=, on a kind of our own (no third-party library).

A Ticket stands for another library's future: its outcome is set by the test.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import pytest

from futurebridge import register_adapter, to_asyncio_future

Run = Callable[[Coroutine[Any, Any, Any]], Any]


class Boom(Exception):
    pass


class Ticket:
    """A future-like object of some other library, resolved by the test."""

    def __init__(self, value: int) -> None:
        self.value = value
        self.ready = asyncio.Event()
        self.cancels = 0
        self.released = 0

    def cancel(self) -> None:
        self.cancels += 1


async def _wait_ticket(ticket: Ticket) -> int:
    await ticket.ready.wait()
    return ticket.value


class Released(Ticket):
    """Registered with a cancel= of its own."""


class Grouped(Ticket):
    """Registered with gather=: the children of one aggregate are fetched together."""


class Untouched(Ticket):
    """Registered with cancel=None: its cancel() must never be called."""


gather_calls: list[list[int]] = []


gathers_cancelled: list[asyncio.Event] = []


async def _gather_grouped(tickets: Sequence[Grouped]) -> list[int]:
    gather_calls.append([t.value for t in tickets])
    cancelled = asyncio.Event()
    gathers_cancelled.append(cancelled)
    try:
        for ticket in tickets:
            await ticket.ready.wait()
            if ticket.value < 0:
                raise Boom(f"ticket {ticket.value}")
    except asyncio.CancelledError:
        cancelled.set()
        raise
    return [t.value * 10 for t in tickets]


def _release(ticket: Released) -> None:
    ticket.released += 1


register_adapter(Released, _wait_ticket, cancel=_release)
register_adapter(Untouched, _wait_ticket, cancel=None)
register_adapter(Grouped, _wait_ticket, gather=_gather_grouped)


@pytest.fixture(autouse=True)
def _fresh_calls() -> None:
    gather_calls.clear()
    gathers_cancelled.clear()


def test_cancel_hook_replaces_the_cancel_method(run: Run) -> None:
    async def main() -> None:
        released, untouched = Released(1), Untouched(2)
        for ticket in (released, untouched):
            converted = to_asyncio_future(ticket)
            await asyncio.sleep(0)
            converted.cancel()
            with pytest.raises(asyncio.CancelledError):
                await converted
        assert (released.released, released.cancels) == (1, 0)
        assert (untouched.released, untouched.cancels) == (0, 0)
        # Cancelled before the adapter's coroutine ever ran: the hook still runs.
        early = Released(3)
        converted = to_asyncio_future(early)
        converted.cancel()
        with pytest.raises(asyncio.CancelledError):
            await converted
        assert early.released == 1

    run(main())


def test_gather_converts_the_children_of_one_aggregate_together(run: Run) -> None:
    async def main() -> None:
        a, b, c = Grouped(1), Grouped(2), Grouped(3)
        for ticket in (a, b, c):
            ticket.ready.set()

        async def plain() -> str:
            return "plain"

        result = await to_asyncio_future({"x": [a, b, a], "y": c, "z": plain()})
        # The nested list is its own aggregate: a (once) and b together; c alone.
        assert result == {"x": [10, 20, 10], "y": 3, "z": "plain"}
        assert gather_calls == [[1, 2]]
        assert await to_asyncio_future([c, b]) == [30, 20]
        assert gather_calls == [[1, 2], [3, 2]]

    run(main())


def test_a_failed_group_fails_the_aggregate_once(
    run: Run, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        good, bad = Grouped(1), Grouped(-1)
        good.ready.set()
        bad.ready.set()
        with pytest.raises(Boom, match="ticket -1"):
            await to_asyncio_future([good, bad, good])
        await asyncio.sleep(0)

    with caplog.at_level(logging.ERROR, logger="futurebridge"):
        run(main())
    assert caplog.records == []  # reported once, to the waiter, not logged again


def test_cancelling_the_aggregate_cancels_the_group(run: Run) -> None:
    async def main() -> None:
        a, b = Grouped(1), Grouped(2)
        converted = to_asyncio_future([a, b])
        await asyncio.sleep(0)
        assert gather_calls == [[1, 2]]
        converted.cancel()
        with pytest.raises(asyncio.CancelledError):
            await converted
        # The cancellation reaches the group's own coroutine...
        await asyncio.wait_for(gathers_cancelled[0].wait(), 5)
        # ... after the default cancel hook called each object's cancel(), once.
        assert (a.cancels, b.cancels) == (1, 1)

    run(main())


def test_a_gather_returning_the_wrong_number_of_results_is_named(run: Run) -> None:
    class Short(Ticket):
        pass

    async def short(tickets: Sequence[Short]) -> list[int]:
        return [1]

    register_adapter(Short, _wait_ticket, gather=short)

    async def main() -> None:
        with pytest.raises(
            TypeError, match=r"gather= registered for .*Short must return a sequence of 2"
        ):
            await to_asyncio_future([Short(1), Short(2)])

    run(main())


def test_register_adapter_refuses_bad_hooks() -> None:
    with pytest.raises(TypeError, match="cancel= to be a callable or None, got int"):
        register_adapter(Ticket, _wait_ticket, cancel=1)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="gather= to be a callable or None, got str"):
        register_adapter(Ticket, _wait_ticket, gather="all")  # type: ignore[arg-type]
