"""Memory held by ``@as_tornado`` calls that return without suspending
(issue 17, item 8): awaited in one step, 5,000 of them (100,000 in the issue) must not leave a
queued task step each behind until the loop next iterates."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

import pytest

from futurebridge import as_tornado

pytestmark = pytest.mark.timeout(600)  # tracemalloc, slower still in asyncio debug mode


@as_tornado
async def _quick(n: int) -> int:
    return n


async def _held_per_call(count: int) -> float:
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        total = 0
        for n in range(count):
            # A done future: the await does not suspend, the loop never iterates.
            total += await _quick(n)
        held = tracemalloc.get_traced_memory()[0] - base
    finally:
        tracemalloc.stop()
    assert total == count * (count - 1) // 2
    return held / count


def test_calls_that_never_suspend_hold_no_memory_until_the_next_iteration() -> None:
    per_call = asyncio.run(_held_per_call(5_000))
    # A handful of bytes of slack per call for allocator noise; a queued task
    # step with its task, context and coroutine is several hundred.
    assert per_call < 64, f"{per_call:.0f} bytes held per call"
