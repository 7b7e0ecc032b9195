"""futurebridge.contrib.dask on a real LocalCluster: 2 worker processes on 127.0.0.1.

The cluster (no dashboard) and a synchronous client are started once for the
module and stopped at its end. Whatever must happen while a conversion is
pending (a worker dying, a client closing, a cancel) is ordered with a Dask
``Event`` that the remote task waits on, never with a sleep. Every wait is
bounded; nothing here measures speed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

distributed = pytest.importorskip("distributed")

import cloudpickle  # noqa: E402  # comes with distributed
import dask  # noqa: E402
from distributed import Client, Event, Future, KilledWorker, LocalCluster  # noqa: E402
from distributed.client import FutureCancelledError  # noqa: E402

from futurebridge import LoopThread, to_asyncio_future, to_tornado_future  # noqa: E402
from futurebridge.contrib.dask import CANCEL_REASON, DaskAwaitable, dask_future  # noqa: E402

# Workers import nothing from this test tree: the remote functions travel by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

Run = Callable[[Coroutine[Any, Any, Any]], Any]

# Generous: the test machine may be heavily shared; a hang still fails in bounded time.
TIMEOUT = 45.0
pytestmark = pytest.mark.timeout(120)


# Exceptions raised on a worker come back as the class the worker raised: a
# builtin one, since classes of this module travel by value (as copies).
RemoteBoom = LookupError


def inc(x: int) -> int:
    return x + 1


def fail_remotely(x: int) -> int:
    raise RemoteBoom(f"remote boom {x}")


def hold(event: str, x: int) -> int:
    """Wait on the worker until the test sets *event* (bounded), then answer."""
    Event(event).wait(TIMEOUT)
    return x


def die_when(event: str) -> None:
    """Kill the worker process running this task once *event* is set."""
    Event(event).wait(TIMEOUT)
    os._exit(1)


@pytest.fixture(scope="module")
def cluster() -> Iterator[LocalCluster]:
    # allowed-failures 0: the first worker death under a task fails it with
    # KilledWorker, instead of retrying it on the other worker. The worker
    # processes fork from a server that imported Dask once (Python 3.14's own
    # default start method), instead of each importing it afresh: a quarter of
    # this file's CPU time. They are still separate processes.
    config = {
        "distributed.scheduler.allowed-failures": 0,
        "distributed.worker.multiprocessing-method": "forkserver",
    }
    with (
        dask.config.set(config),
        LocalCluster(
            n_workers=2,
            threads_per_worker=2,
            processes=True,
            host="127.0.0.1",
            silence_logs=logging.CRITICAL,  # the remote errors raised on purpose
            dashboard_address=None,
            # With no dashboard, the scheduler still serves its health routes over
            # HTTP, by default on port 8787 of every interface: an ephemeral loopback
            # port instead, so nothing clashes with another cluster on the machine.
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        ) as cluster,
    ):
        yield cluster


@pytest.fixture(scope="module")
def client(cluster: LocalCluster) -> Iterator[Client]:
    with Client(cluster) as client:
        yield client


def _set(client: Client, name: str) -> None:
    Event(name, client=client).set()


async def _set_soon(client: Client, name: str) -> None:
    # Event.set on a synchronous client blocks for a round trip: not on our loop.
    await asyncio.to_thread(_set, client, name)


def _scheduler_has(cluster: LocalCluster, key: str) -> bool:
    return key in cluster.scheduler.tasks


async def _until(check: Callable[[], bool], what: str) -> None:
    """Wait (bounded) for the cluster to reach a state it is known to be heading to."""
    deadline = time.monotonic() + TIMEOUT
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


# --- results, from every kind of client --------------------------------------------


def test_sync_client_result_on_another_loop(client: Client, run: Run) -> None:
    async def main() -> None:
        future = client.submit(inc, 41)
        async with asyncio.timeout(TIMEOUT):
            converted = to_asyncio_future(future)
            assert converted.get_loop() is asyncio.get_running_loop()
            assert await converted == 42
            assert await to_tornado_future(client.submit(inc, 1)) == 2
            assert await dask_future(client.submit(inc, 2)) == 3

    run(main())


def test_the_waiting_loop_keeps_running(client: Client, cluster: LocalCluster) -> None:
    """While a conversion waits on the cluster, the waiting loop serves other work."""

    async def main() -> None:
        name = "keeps-running"
        converted = to_asyncio_future(client.submit(hold, name, 7))
        ticks = 0
        async with asyncio.timeout(TIMEOUT):
            while ticks < 50:
                await asyncio.sleep(0)
                ticks += 1
            assert not converted.done()
            await _set_soon(client, name)
            assert await converted == 7

    asyncio.run(main())


def test_async_client_on_the_same_loop(cluster: LocalCluster, run: Run) -> None:
    async def main() -> None:
        async with (
            asyncio.timeout(TIMEOUT),
            Client(cluster.scheduler_address, asynchronous=True) as client,
        ):
            assert await to_asyncio_future(client.submit(inc, 1)) == 2
            assert await to_asyncio_future(client.map(inc, [1, 2, 3])) == [2, 3, 4]
            with pytest.raises(RemoteBoom):
                await to_asyncio_future(client.submit(fail_remotely, 1))

    run(main())


def test_async_client_on_another_loop_thread(cluster: LocalCluster) -> None:
    with LoopThread() as thread:

        async def connect() -> Client:
            return await Client(cluster.scheduler_address, asynchronous=True)

        async def submit(client: Client, x: int) -> tuple[Future[int], ...]:
            # In a tuple: a returned Dask future would be awaited by LoopThread.
            return (client.submit(inc, x), client.submit(fail_remotely, x))

        client = thread.run(connect)
        try:
            ok, failing = thread.run(submit, client, 10)

            async def main() -> None:
                async with asyncio.timeout(TIMEOUT):
                    assert await to_asyncio_future(ok) == 11
                    assert await to_asyncio_future({"a": ok, "b": ok}) == {"a": 11, "b": 11}
                    with pytest.raises(RemoteBoom):
                        await to_asyncio_future(failing)

            asyncio.run(main())
        finally:
            thread.run(client.close)


# --- remote exceptions ----------------------------------------------------------------


def test_remote_exception_keeps_its_remote_traceback(client: Client, run: Run) -> None:
    async def main() -> None:
        async with asyncio.timeout(TIMEOUT):
            with pytest.raises(RemoteBoom, match="remote boom 3") as info:
                await to_asyncio_future(client.submit(fail_remotely, 3))
            names = [frame.name for frame in traceback.extract_tb(info.value.__traceback__)]
            assert "fail_remotely" in names, names  # the frame that ran on the worker
            # ... and in a list, the aggregate fails with the same.
            with pytest.raises(RemoteBoom, match="remote boom 4"):
                await to_asyncio_future([client.submit(inc, 1), client.submit(fail_remotely, 4)])

    run(main())


# --- aggregates: one round trip --------------------------------------------------------


@pytest.fixture
def gather_requests(cluster: LocalCluster) -> Iterator[list[int]]:
    """The number of keys in each gather request the scheduler serves, while the test runs."""
    scheduler = cluster.scheduler
    original = scheduler.handlers["gather"]
    requests: list[int] = []

    async def counting(*args: Any, **kwargs: Any) -> Any:
        requests.append(len(kwargs.get("keys", ())))
        return await original(*args, **kwargs)

    scheduler.handlers["gather"] = counting
    try:
        yield requests
    finally:
        scheduler.handlers["gather"] = original


@pytest.mark.slow  # scattering 3,000 values takes Dask about 6 s
def test_thousands_of_futures_in_one_aggregate_one_round_trip(
    client: Client, gather_requests: list[int]
) -> None:
    values = list(range(3000))
    futures: list[Future[int]] = client.scatter(values)
    distributed.wait(futures)

    async def main() -> tuple[list[int], dict[int, int]]:
        async with asyncio.timeout(TIMEOUT):
            as_list = await to_asyncio_future(futures)
            as_dict = await to_asyncio_future(dict(enumerate(futures[:1000])))
            return as_list, as_dict

    as_list, as_dict = asyncio.run(main())
    assert as_list == values
    assert as_dict == {i: i for i in range(1000)}
    assert gather_requests == [3000, 1000]
    gather_requests.clear()
    assert client.gather(futures) == values  # Dask's own: one request too
    assert gather_requests == [3000]


def test_an_aggregate_waits_then_fetches_once(
    client: Client, gather_requests: list[int], run: Run
) -> None:
    """Children still computing: the aggregate still costs one request, made at the end."""

    async def main() -> None:
        name = f"aggregate-{id(gather_requests)}"
        futures = [client.submit(hold, name, i) for i in range(3)] + client.map(inc, range(20))
        async with asyncio.timeout(TIMEOUT):
            converted = to_asyncio_future(futures)
            await _until(lambda: all(f.done() for f in futures[3:]), "the quick children to finish")
            assert gather_requests == []
            await _set_soon(client, name)
            assert await converted == [0, 1, 2, *range(1, 21)]
        assert gather_requests == [23]

    run(main())


def test_mixed_aggregate_and_clients(client: Client, cluster: LocalCluster) -> None:
    """Dask futures of two clients, plain awaitables and a wrapper in one dict."""

    async def main() -> None:
        async with (
            asyncio.timeout(TIMEOUT),
            Client(cluster.scheduler_address, asynchronous=True) as other,
        ):

            async def local() -> str:
                return "local"

            result = await to_asyncio_future(
                {
                    "sync": client.submit(inc, 1),
                    "async": other.submit(inc, 2),
                    "wrapped": dask_future(client.submit(inc, 3), cancel="cluster"),
                    "coroutine": local(),
                    "nested": [client.submit(inc, 4), other.submit(inc, 5)],
                }
            )
            assert result == {
                "sync": 2,
                "async": 3,
                "wrapped": 4,
                "coroutine": "local",
                "nested": [5, 6],
            }

    asyncio.run(main())


# --- cancellation: release (default) versus cluster -------------------------------------


def test_cancel_releases_and_other_holders_are_served(
    client: Client, cluster: LocalCluster
) -> None:
    async def main() -> None:
        name = key = "release-shared"
        mine = client.submit(hold, name, 5, key=key)
        theirs = client.submit(hold, name, 5, key=key)  # another holder of the key
        converted = to_asyncio_future(mine)
        async with asyncio.timeout(TIMEOUT):
            await _until(lambda: _scheduler_has(cluster, key), "the key on the scheduler")
            converted.cancel()
            with pytest.raises(asyncio.CancelledError):
                await converted
            await _set_soon(client, name)
            # The key ran on and serves its other holder.
            assert await to_asyncio_future(theirs) == 5
            assert _scheduler_has(cluster, key)
        del theirs

    asyncio.run(main())


def test_cancel_releases_the_only_holder_and_the_scheduler_forgets(
    client: Client, cluster: LocalCluster
) -> None:
    async def main() -> None:
        name = key = "release-only"
        converted = to_asyncio_future(client.submit(hold, name, 1, key=key))
        async with asyncio.timeout(TIMEOUT):
            await _until(lambda: _scheduler_has(cluster, key), "the key on the scheduler")
            converted.cancel()
            await _until(lambda: not _scheduler_has(cluster, key), "the scheduler to forget it")
            await _set_soon(client, name)  # frees the worker thread

    asyncio.run(main())


def test_cluster_cancel_cancels_every_holder(client: Client, cluster: LocalCluster) -> None:
    async def main() -> None:
        name = key = "cluster-cancel"
        mine = client.submit(hold, name, 5, key=key)
        theirs = client.submit(hold, name, 5, key=key)
        converted = to_asyncio_future(dask_future(mine, cancel="cluster"))
        async with asyncio.timeout(TIMEOUT):
            await _until(lambda: _scheduler_has(cluster, key), "the key on the scheduler")
            converted.cancel()
            with pytest.raises(FutureCancelledError, match=CANCEL_REASON):
                await to_asyncio_future(theirs)
            await _until(lambda: not _scheduler_has(cluster, key), "the scheduler to forget it")
            await _set_soon(client, name)

    asyncio.run(main())


def test_cluster_cancel_before_the_loop_ran_the_adapter(
    client: Client, cluster: LocalCluster
) -> None:
    async def main() -> None:
        name = key = "cluster-cancel-early"
        theirs = client.submit(hold, name, 5, key=key)
        await _until(lambda: _scheduler_has(cluster, key), "the key on the scheduler")
        # Cancelled in the same iteration: the adapter's coroutine never runs.
        to_asyncio_future(dask_future(theirs, cancel="cluster")).cancel()
        async with asyncio.timeout(TIMEOUT):
            with pytest.raises(FutureCancelledError):
                await to_asyncio_future(theirs)
            await _set_soon(client, name)

    asyncio.run(main())


def test_cancelling_an_aggregate_releases_each_child(client: Client, cluster: LocalCluster) -> None:
    async def main() -> None:
        name = "aggregate-release"
        keys = [f"{name}-{i}" for i in range(3)]
        converted = to_asyncio_future([client.submit(hold, name, 1, key=key) for key in keys])
        async with asyncio.timeout(TIMEOUT):
            await _until(
                lambda: all(_scheduler_has(cluster, k) for k in keys), "the keys to be known"
            )
            converted.cancel()
            await _until(
                lambda: not any(_scheduler_has(cluster, k) for k in keys),
                "the scheduler to forget them",
            )
            await _set_soon(client, name)

    asyncio.run(main())


def test_a_key_cancelled_elsewhere_gives_dasks_error(client: Client) -> None:
    async def main() -> None:
        name = "cancelled-elsewhere"
        future = client.submit(hold, name, 1)
        converted = to_asyncio_future(future)
        async with asyncio.timeout(TIMEOUT):
            await asyncio.to_thread(future.cancel, reason="someone else")
            with pytest.raises(FutureCancelledError, match="someone else"):
                await converted
            await _set_soon(client, name)

    asyncio.run(main())


# --- failures under a pending conversion ------------------------------------------------


def test_worker_killed_under_a_pending_conversion(client: Client, cluster: LocalCluster) -> None:
    async def main() -> None:
        name = key = "kill-worker"
        converted = to_asyncio_future(client.submit(die_when, name, key=key))
        async with asyncio.timeout(TIMEOUT):
            await _until(lambda: _scheduler_has(cluster, key), "the key on the scheduler")
            assert not converted.done()
            await _set_soon(client, name)
            with pytest.raises(KilledWorker):
                await converted

    asyncio.run(main())
    # The nanny restarts the worker: wait for it, bounded, so later tests have two.
    client.wait_for_workers(2, timeout=TIMEOUT)


def test_client_closed_under_a_pending_conversion(cluster: LocalCluster) -> None:
    async def main() -> None:
        name = "client-closed"
        closing = Client(cluster)
        done = closing.submit(inc, 1)
        converted = to_asyncio_future(closing.submit(hold, name, 1))
        await asyncio.sleep(0)  # the conversion starts: the close comes while it waits
        async with asyncio.timeout(TIMEOUT):
            await asyncio.to_thread(closing.close)
            with pytest.raises(FutureCancelledError):
                await converted
            # A future of a closed client is refused at once, with what to do.
            with pytest.raises(RuntimeError, match="its Dask client is closing or closed"):
                await to_asyncio_future(done)
            with Client(cluster) as other:
                await _set_soon(other, name)

    asyncio.run(main())


# --- bad input, laziness ------------------------------------------------------------------


def test_dask_future_refuses_bad_input(client: Client) -> None:
    with pytest.raises(TypeError, match=r"needs a distributed\.Future, got int"):
        dask_future(1)  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    future = client.submit(inc, 1)
    with pytest.raises(ValueError, match=r"cancel='everything'.*'release' or 'cluster'"):
        dask_future(future, cancel="everything")  # type: ignore[arg-type]  # pyright: ignore[reportArgumentType]
    wrapped = dask_future(future, cancel="cluster")
    assert isinstance(wrapped, DaskAwaitable)
    assert "cancel='cluster'" in repr(wrapped)


def test_import_futurebridge_does_not_import_distributed() -> None:
    code = (
        "import sys, futurebridge\n"
        "assert 'distributed' not in sys.modules, 'imported distributed'\n"
        "import distributed\n"
        "assert 'futurebridge.contrib.dask' not in sys.modules\n"
        "from futurebridge._convert import _resolve\n"
        "_resolve(distributed.Future)\n"
        "assert 'futurebridge.contrib.dask' in sys.modules, 'adapter not found'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.mark.slow  # a cluster of its own, about 9 s
@pytest.mark.timeout(300)
def test_demo_dask_passes_every_check_and_shuts_down_clean() -> None:
    process = subprocess.run(
        [sys.executable, "-W", "error", "-m", "futurebridge", "demo", "--dask"],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    out = process.stdout
    assert process.returncode == 0, out + process.stderr
    assert process.stderr == ""
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith("  /")}
    assert {"/dask-legacy", "/dask-async"} <= set(rows)
    for path, line in rows.items():
        assert " ok " in line, (path, line)
    assert "shutdown: clean" in out
