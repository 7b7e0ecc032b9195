"""Tests of ``legacy_sample``: they pass on the legacy module and on its migrated copy.

``tests/test_migrate_sample.py`` runs this file against both and compares.
Each test drives the sample from ``asyncio.run``; nothing here waits on a timer.
"""

from __future__ import annotations

import asyncio

import legacy_sample as sample
import pytest


@pytest.fixture(autouse=True)
def fresh_events() -> None:
    sample.EVENTS.clear()


def test_return_value() -> None:
    async def main() -> int:
        return await sample.double(4)

    assert asyncio.run(main()) == 8


def test_lists_and_comprehensions() -> None:
    async def main() -> int:
        return await sample.add_all([1, 2, 3])

    assert asyncio.run(main()) == 12 + 6


def test_every_yieldable() -> None:
    async def main() -> tuple[str, dict[str, int], list[int]]:
        return await sample.every_yieldable()

    done, mapping, listed = asyncio.run(main())
    assert done == "from a thread"
    assert mapping == {"a": 2, "b": 10}
    assert listed == [6, 8]


def test_bare_return() -> None:
    async def main() -> None:
        return await sample.bare_return()

    assert asyncio.run(main()) is None
    assert sample.EVENTS == ["bare_return"]


def test_typed() -> None:
    async def main() -> tuple[int, str, str]:
        return (
            await sample.typed_generator(),
            await sample.typed_future(),
            await sample.quoted_annotation(),
        )

    assert asyncio.run(main()) == (42, "typed", "quoted")


def test_fire_and_forget_still_starts_at_once() -> None:
    async def main() -> list[str]:
        sample.fire_and_forget()
        seen = list(sample.EVENTS)
        for _ in range(3):
            await asyncio.sleep(0)
        return seen

    assert asyncio.run(main()) == ["started forgotten", "after the call"]
    assert sample.EVENTS[-1] == "finished forgotten"


def test_result_used_as_a_future() -> None:
    async def main() -> str:
        done: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        sample.watch(done)
        return await done

    assert asyncio.run(main()) == "as a future"


def test_methods() -> None:
    counter = sample.Counter()

    async def main() -> tuple[int, str]:
        return await counter.steps(3), await counter.blocking()

    assert asyncio.run(main()) == (3, "blocking")


def test_flagged_functions_keep_their_meaning() -> None:
    called: list[str] = []

    async def main() -> list[object]:
        return [
            await sample.caught_return(),
            await sample.cleanup_with_yield(),
            await sample.absolute_deadline(),
            await sample.as_completed_values(),
            await sample.with_callback(called.append),
            await sample.finished_at_once(7),
        ]

    assert asyncio.run(main()) == ["caught Return", "cleanup", 8, [2, 4], None, 7]
    assert sample.EVENTS == ["cleaned up"]
    assert called == ["called back"]


def test_run_sync() -> None:
    assert sample.run_blocking() == "synchronously"
