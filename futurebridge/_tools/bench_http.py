"""Tornado hello-world HTTP throughput on loopback: futurebridge's loop against Tornado's own.

Used by ``python -m futurebridge bench`` for its HTTP row, and runnable alone::

    python -m futurebridge._tools.bench_http serve --loop futurebridge-uvloop
    python -m futurebridge._tools.bench_http profile --loop futurebridge  # where the time goes

Each server runs in a process of its own (``serve``), so that it has a core to
itself on a two-core machine, while the load client runs in the bench process
on its own event loop. The client keeps a few keep-alive connections busy, one
request in flight on each, sends exactly *n* requests and checks every
response (status 200, the exact body). Everything stays on 127.0.0.1, every
run is bounded by its request count and by a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import cProfile
import importlib.util
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from futurebridge import LoopThread

SERVERS = {
    # variant name -> the --loop of its server process
    "futurebridge AsyncIOMainLoop, asyncio": "futurebridge",
    "futurebridge AsyncIOMainLoop, uvloop": "futurebridge-uvloop",
    "Tornado's AsyncIOMainLoop, asyncio": "tornado",
}
EXPECTED_IOLOOP = {
    "futurebridge": "futurebridge._ioloop.AsyncIOMainLoop",
    "futurebridge-uvloop": "futurebridge._ioloop.AsyncIOMainLoop",
    "tornado": "tornado.platform.asyncio.AsyncIOMainLoop",
}
BODY = b"Hello, world"
REQUEST = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
CONNECTIONS = 8
TIMEOUT = 60.0


# --- the server ---------------------------------------------------------------------------


def serve(kind: str, profile_to: str | None = None) -> None:
    """Serve hello-world on 127.0.0.1 (an ephemeral port) until stdin closes.

    Prints ``PORT <port> <IOLoop class> <asyncio loop class>`` once listening.
    ``tornado`` does not import futurebridge at all: that is Tornado's own loop.
    With *profile_to*, the server runs under cProfile and writes its stats there.
    """
    # The bench process stops this server by closing stdin; a Ctrl-C in the
    # terminal reaches the bench alone, which reports it in one line.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    factory: Callable[[], asyncio.AbstractEventLoop] = asyncio.new_event_loop
    if kind == "futurebridge-uvloop":
        import uvloop

        factory = uvloop.new_event_loop
    profiler = cProfile.Profile() if profile_to else None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(_serve(kind, profiler))
    if profiler is not None and profile_to is not None:
        profiler.dump_stats(profile_to)


async def _serve(kind: str, profiler: cProfile.Profile | None) -> None:
    import tornado.httpserver
    import tornado.netutil
    import tornado.web
    from tornado.ioloop import IOLoop

    if kind.startswith("futurebridge"):
        import futurebridge

        futurebridge.AsyncIOMainLoop()

    class Hello(tornado.web.RequestHandler):
        def get(self) -> None:
            # getattr: Tornado types write()'s dict chunk as a bare dict, unknown to pyright.
            write: Callable[[bytes], None] = getattr(self, "write")
            write(BODY)

    app = tornado.web.Application([(r"/", Hello)])
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    loop = asyncio.get_running_loop()
    ioloop = IOLoop.current()
    port = sockets[0].getsockname()[1]
    print(f"PORT {port} {_qualname(ioloop)} {_qualname(loop)}", flush=True)
    if profiler is not None:
        # Only the serving is profiled: not the imports, not the start-up.
        profiler.enable()
    stdin_closed = loop.create_future()

    def on_stdin() -> None:
        if not os.read(sys.stdin.fileno(), 4096) and not stdin_closed.done():
            stdin_closed.set_result(None)

    loop.add_reader(sys.stdin.fileno(), on_stdin)
    try:
        await stdin_closed
    finally:
        if profiler is not None:
            profiler.disable()
        loop.remove_reader(sys.stdin.fileno())
        server.stop()
        await server.close_all_connections()


def _qualname(obj: object) -> str:
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


@contextlib.contextmanager
def server_process(kind: str, profile_to: str | None = None) -> Generator[int, None, None]:
    """Run ``serve(kind)`` in a child process; yield its port; stop it on exit."""
    extra = ["--profile-to", profile_to] if profile_to else []
    process = subprocess.Popen(
        # By path, not with -m: that would import the futurebridge package, and
        # Tornado's own server must run without it. -P: nothing beside this file
        # shadows a module.
        [sys.executable, "-P", __file__, "serve", "--loop", kind, *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().split()
        if len(line) != 4 or line[0] != "PORT":
            raise RuntimeError(f"the {kind} server did not start: {line!r}")
        if line[2] != EXPECTED_IOLOOP[kind]:
            raise RuntimeError(f"the {kind} server runs on {line[2]}, not {EXPECTED_IOLOOP[kind]}")
        if kind == "futurebridge-uvloop" and not line[3].startswith("uvloop."):
            raise RuntimeError(f"the {kind} server runs on {line[3]}, not uvloop")
        yield int(line[1])
    finally:
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


# --- the load client ----------------------------------------------------------------------


class _Load:
    """Sends *n* requests over several connections; counts the good responses."""

    def __init__(self, n: int, finished: asyncio.Future[None]) -> None:
        self.to_send = n
        self.to_receive = n
        self.bad = 0
        self.finished = finished

    def send(self, connection: _Connection) -> None:
        if self.to_send:
            self.to_send -= 1
            connection.transport.write(REQUEST)

    def received(self, connection: _Connection, ok: bool) -> None:
        self.bad += not ok
        self.to_receive -= 1
        if not self.to_receive:
            if not self.finished.done():
                self.finished.set_result(None)
        else:
            self.send(connection)

    def lost(self, exc: Exception | None) -> None:
        if not self.finished.done() and self.to_receive:
            self.finished.set_exception(ConnectionError(f"the server closed a connection: {exc}"))


class _Connection(asyncio.Protocol):
    transport: asyncio.Transport  # set by connection_made, before any other use

    def __init__(self, load: _Load) -> None:
        self.load = load
        self.buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport, but behave as one.
        self.transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end]).lower()
            start = head.find(b"content-length:")
            if start < 0:
                raise RuntimeError(f"a response without Content-Length: {head!r}")
            stop = head.find(b"\r\n", start)
            length = int(head[start + 15 : stop if stop >= 0 else len(head)])
            total = end + 4 + length
            if len(buffer) < total:
                return
            ok = buffer.startswith(b"HTTP/1.1 200 ") and bytes(buffer[end + 4 : total]) == BODY
            del buffer[:total]
            self.load.received(self, ok)

    def connection_lost(self, exc: Exception | None) -> None:
        self.load.lost(exc)


async def load(port: int, n: int) -> float:
    """Send *n* requests to 127.0.0.1:*port*; return the seconds they took.

    :raises RuntimeError: if any response was not the expected one.
    """
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[None] = loop.create_future()
    work = _Load(n, finished)
    connections: list[_Connection] = []
    try:
        for _ in range(min(CONNECTIONS, n)):
            _, protocol = await loop.create_connection(lambda: _Connection(work), "127.0.0.1", port)
            connections.append(protocol)
        start = time.perf_counter()
        for connection in connections:
            work.send(connection)
        await asyncio.wait_for(finished, TIMEOUT)
        elapsed = time.perf_counter() - start
    finally:
        for connection in connections:
            connection.transport.close()
        await asyncio.sleep(0)
    if work.bad:
        raise RuntimeError(f"{work.bad} of {n} responses were not '200 {BODY.decode()}'")
    return elapsed


def _client_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _client_thread() -> LoopThread:
    """The load generator's loop, on a thread of its own.

    Not on the main thread: a Ctrl-C landing while uvloop starts a loop there
    (it sets up its signal handling first) leaves that loop marked running, so
    it can no longer be closed. On its own thread uvloop touches no signals;
    the main thread waits in :meth:`LoopThread.run`, which a Ctrl-C ends
    cleanly, cancelling the load. ``load`` times itself, so the hop to the
    thread is not in the figures.
    """
    from futurebridge import LoopThread  # here: the "tornado" server must not import it

    return LoopThread(loop_factory=_client_loop, name="bench-http-client")


def variants(stack: contextlib.ExitStack) -> list[Any]:
    """The HTTP row's variants for ``futurebridge._tools.bench``: one server process each."""
    from .bench import Side, Variant

    client = stack.enter_context(_client_thread())
    result: list[Variant] = []
    for name, kind in SERVERS.items():
        if kind == "futurebridge-uvloop" and importlib.util.find_spec("uvloop") is None:
            print(
                "http row: uvloop is not installed (pip install 'futurebridge[uvloop]'), "
                "so its server is left out",
                file=sys.stderr,
            )
            continue
        port = stack.enter_context(server_process(kind))
        client.run(load, port, CONNECTIONS)  # checks the answers, warms up

        def timer(n: int, port: int = port) -> float:
            return client.run(load, port, n)

        side: Side = "tornado" if kind == "tornado" else "futurebridge"
        result.append(Variant(name, side, timer))
    return result


def profile(kind: str, requests: int) -> None:
    """Load a profiled ``kind`` server with *requests* requests; print where its time went."""
    with tempfile.TemporaryDirectory() as tmp:
        stats_path = os.path.join(tmp, "server.prof")
        with _client_thread() as client, server_process(kind, stats_path) as port:
            elapsed = client.run(load, port, requests)
        stats = pstats.Stats(stats_path)
        calls: int = getattr(stats, "total_calls")
        print(
            f"{kind}: {requests} requests in {elapsed:.2f} s under cProfile; "
            f"{calls / requests:.1f} Python function calls per request"
        )
        stats.sort_stats("tottime").print_stats(25)


def main(argv: list[str] | None = None) -> None:
    """``serve --loop KIND``: run one server (what the bench starts in a child process).

    ``profile --loop KIND``: profile one server under load and print the result.
    """
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve")
    serve_parser.add_argument("--loop", choices=sorted(EXPECTED_IOLOOP), required=True)
    serve_parser.add_argument("--profile-to", metavar="PATH")
    profile_parser = commands.add_parser("profile")
    profile_parser.add_argument("--loop", choices=sorted(EXPECTED_IOLOOP), required=True)
    profile_parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.loop, args.profile_to)
    else:
        profile(args.loop, args.requests)


if __name__ == "__main__":
    main()
