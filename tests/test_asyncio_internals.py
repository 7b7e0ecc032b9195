"""The one door to asyncio's and Tornado's privates (``futurebridge._asyncio_internals``)."""

from __future__ import annotations

import ast
import asyncio
import asyncio.base_events
import asyncio.events
import asyncio.tasks
import os
import pathlib
import subprocess
import sys
import textwrap
import types
from collections.abc import Coroutine
from typing import Any

import pytest
import tornado.concurrent
import tornado.gen
import tornado.ioloop
import tornado.platform.asyncio

import futurebridge
from futurebridge import AsyncIOLoop, LoopThread, as_tornado, to_asyncio_future
from futurebridge import _asyncio_internals as internals

PACKAGE = pathlib.Path(futurebridge.__file__).parent
DOOR = PACKAGE / "_asyncio_internals.py"


def _private_names_of(*owners: object) -> set[str]:
    names: set[str] = set()
    for owner in owners:
        for klass in owner.__mro__ if isinstance(owner, type) else (owner,):
            names.update(n for n in vars(klass) if n.startswith("_") and not n.startswith("__"))
    return names


def _own_names() -> set[str]:
    """Underscore names futurebridge defines itself: its own attributes, functions, modules."""
    own: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        own.add(path.stem)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                    own.add(node.attr)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                own.add(node.name)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                own.add(node.target.id)
            elif isinstance(node, ast.Assign):
                own.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return own


OWN = _own_names()
# Every underscore name asyncio's and Tornado's loops, handles, futures, tasks
# and modules define, minus the names futurebridge uses for its own things.
PRIVATE = (
    _private_names_of(
        asyncio.BaseEventLoop,
        asyncio.base_events.BaseEventLoop,
        asyncio.Handle,
        asyncio.TimerHandle,
        asyncio.Future,
        asyncio.Task,
        # The policy classes are deprecated from 3.14 (and renamed there):
        # the events module's base class carries the thread-local slot.
        vars(asyncio.events).get("_BaseDefaultEventLoopPolicy")
        or vars(asyncio.events)["BaseDefaultEventLoopPolicy"],
        tornado.ioloop.IOLoop,
        tornado.platform.asyncio.BaseAsyncIOLoop,
        tornado.platform.asyncio.AsyncIOMainLoop,
        asyncio.events,
        asyncio.tasks,
        asyncio.base_events,
        tornado.gen,
        tornado.concurrent,
    )
    | {"_thread_id", "_ready", "_scheduled", "_current_tasks", "_local", "_log_destroy_pending"}
) - (OWN - {"_thread_id", "_ready", "_scheduled", "_current_tasks", "_local"})


def _uses_of_privates(path: pathlib.Path) -> list[str]:
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        name: str | None = None
        if isinstance(node, ast.Attribute) and node.attr in PRIVATE:
            # self._thread_id of futurebridge's own class is not asyncio's.
            on_self = isinstance(node.value, ast.Name) and node.value.id == "self"
            name = None if on_self and node.attr in OWN else node.attr
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
            ("asyncio", "tornado")
        ):
            name = next((a.name for a in node.names if a.name.startswith("_")), None)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("getattr", "setattr", "hasattr")
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in PRIVATE
        ):
            name = str(node.args[1].value)
        if name is not None:
            found.append(
                f"{path.relative_to(PACKAGE.parent)}:{getattr(node, 'lineno', '?')} {name}"
            )
    return found


def test_no_module_but_the_door_names_a_private_of_asyncio_or_tornado() -> None:
    # The scan must see the door's own accesses, or it could not fail.
    assert any(" _ready" in use for use in _uses_of_privates(DOOR))
    assert any(" _current_tasks" in use for use in _uses_of_privates(DOOR))
    others = [
        use
        for path in sorted(PACKAGE.rglob("*.py"))
        if path != DOOR
        for use in _uses_of_privates(path)
    ]
    assert others == []


def _run(code: str, **env: str) -> str:
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", textwrap.dedent(code)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_the_environment_switch_turns_every_private_path_off() -> None:
    code = """
        import asyncio
        from futurebridge import AsyncIOLoop, _asyncio_internals as internals
        io_loop = AsyncIOLoop(make_current=False)
        print(internals.PRIVATE_PATHS, internals.running_loop is internals._running_loop_public,
              internals.base_loop_paths(io_loop.asyncio_loop) is None)
        io_loop.close()
    """
    assert _run(code, FUTUREBRIDGE_PRIVATE_PATHS="0").split() == ["False", "True", "True"]
    # Switched on, the private paths are used unless the GIL is off.
    gil: Any = getattr(sys, "_is_gil_enabled", lambda: True)
    expected = ["True", "False", "False"] if gil() else ["False", "True", "True"]
    assert _run(code, FUTUREBRIDGE_PRIVATE_PATHS="1").split() == expected


def _loops() -> list[str]:
    return ["asyncio", "uvloop"]


def _new_loop(kind: str) -> asyncio.AbstractEventLoop:
    if kind == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
        return loop
    return asyncio.new_event_loop()


@pytest.mark.parametrize("kind", _loops())
def test_fast_paths_raise_no_exception_per_call(kind: str) -> None:
    # uvloop loops have no _thread_id: a fast path that reads it raises and
    # catches an AttributeError on every call, which a tracer sees.
    loop = _new_loop(kind)
    raised: list[str] = []

    def tracer(frame: types.FrameType, event: str, arg: Any) -> Any:
        if event == "exception":
            raised.append(f"{frame.f_code.co_filename}:{frame.f_lineno} {arg[0].__name__}")
        return tracer

    async def body() -> None:
        done: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        done.set_result(1)
        sys.settrace(tracer)
        try:
            for _ in range(3):
                assert to_asyncio_future(done) is done
                task = to_asyncio_future(asyncio.sleep(0, 2))
                assert await task == 2
        finally:
            sys.settrace(None)

    try:
        loop.run_until_complete(body())
    finally:
        loop.close()
    ours = [r for r in raised if str(PACKAGE) in r]
    assert ours == []


@pytest.mark.parametrize("kind", _loops())
def test_running_loop_answers_for_every_loop_kind(kind: str) -> None:
    loop = _new_loop(kind)
    other = asyncio.new_event_loop()

    async def seen() -> asyncio.AbstractEventLoop | None:
        return internals.running_loop()

    try:
        assert internals.running_loop() is None
        assert loop.run_until_complete(seen()) is loop
        # A loop seen last on this thread, now stopped, is not the answer.
        assert internals.running_loop() is None
        assert other.run_until_complete(seen()) is other
        assert loop.run_until_complete(seen()) is loop
    finally:
        loop.close()
        other.close()


def test_base_loop_paths_only_for_asyncios_own_loops() -> None:
    loop = asyncio.new_event_loop()
    try:
        expected = internals.PRIVATE_PATHS
        assert (internals.base_loop_paths(loop) is not None) is expected
    finally:
        loop.close()
    uvloop = pytest.importorskip("uvloop")
    uv = uvloop.new_event_loop()
    try:
        assert internals.base_loop_paths(uv) is None
    finally:
        uv.close()


def _recording_factory(seen: list[asyncio.Task[Any]]) -> Any:
    def factory(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.Task(coro, loop=loop, **kwargs)
        seen.append(task)
        return task

    return factory


@pytest.mark.parametrize("kind", _loops())
def test_as_tornado_and_loop_thread_honour_the_loops_task_factory(kind: str) -> None:
    seen: list[asyncio.Task[Any]] = []
    steps: list[str] = []

    @as_tornado
    async def child() -> int:
        steps.append("child started")
        await asyncio.sleep(0)
        return 7

    async def main() -> int:
        future = child()
        steps.append("call returned")
        return await future

    loop = _new_loop(kind)
    loop.set_task_factory(_recording_factory(seen))
    try:
        assert loop.run_until_complete(main()) == 7
    finally:
        loop.close()
    # asyncio names a task after the factory made it (3.11 to 3.13).
    assert "as_tornado:" + child.__qualname__ in [t.get_name() for t in seen]
    if internals.EAGER_TASKS and seen and internals._create_task_takes_eager_start(loop):
        # The factory got eager_start and honoured it: the body ran first.
        assert steps == ["child started", "call returned"]
    else:
        # A factory that cannot start eagerly wins over eagerness (3.11 to
        # 3.13 on asyncio's loops): the body runs on the next iteration.
        assert sorted(steps) == ["call returned", "child started"]

    calls: list[asyncio.Task[Any]] = []
    with LoopThread(
        loop_factory=lambda: _with_factory(_new_loop(kind), _recording_factory(calls))
    ) as thread:
        assert thread.run(_plain, 5) == 5
    assert any(t.get_name().startswith("LoopThread call:") for t in calls)


async def _plain(x: int) -> int:
    await asyncio.sleep(0)
    return x


def _with_factory(loop: asyncio.AbstractEventLoop, factory: Any) -> asyncio.AbstractEventLoop:
    loop.set_task_factory(factory)
    return loop


def test_without_a_factory_as_tornado_starts_eagerly_where_asyncio_can() -> None:
    steps: list[str] = []

    @as_tornado
    async def child() -> None:
        steps.append("child started")

    async def main() -> None:
        future = child()
        steps.append("call returned")
        await future

    asyncio.run(main())
    # 3.11 runs the first step by hand (private paths) and 3.12+ eagerly.
    assert steps == ["child started", "call returned"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_sees_no_running_loop_of_its_parent() -> None:
    code = """
        import asyncio, os
        from futurebridge import to_asyncio_future, _asyncio_internals as internals

        async def main():
            assert internals.running_loop() is asyncio.get_running_loop()
            pid = os.fork()
            if pid == 0:
                ok = internals.running_loop() is None
                async def child():
                    return await to_asyncio_future(asyncio.sleep(0, 3))
                new = asyncio.new_event_loop()
                ok = ok and new.run_until_complete(child()) == 3
                new.close()
                os._exit(0 if ok else 1)
            _, status = os.waitpid(pid, 0)
            print(os.waitstatus_to_exitcode(status))

        asyncio.run(main())
    """
    assert _run(code).strip() == "0"


def test_ioloop_registry_is_tornados_map() -> None:
    io_loop = AsyncIOLoop(make_current=False)
    try:
        assert internals.ioloop_registry()[io_loop.asyncio_loop] is io_loop
    finally:
        io_loop.close()
