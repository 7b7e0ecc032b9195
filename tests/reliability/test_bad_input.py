"""Bad input: every public entry point fed wrong types, wrong arities, closed
loops, non-callables and misbehaving awaitables gets a clear TypeError or
RuntimeError (or, for user code that raises, exactly what plain asyncio
gives), fuzzed with hypothesis over arbitrary objects, and nothing hangs:
every test here runs under a short pytest-timeout."""

from __future__ import annotations

import asyncio
import concurrent.futures
import subprocess
import sys
import types
from collections.abc import Awaitable, Callable, Coroutine, Generator, Iterator, Mapping
from typing import Any

import pytest
import tornado.gen
import uvloop
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from futurebridge import (
    AsyncIOLoop,
    LoopThread,
    as_asyncio,
    as_tornado,
    register_adapter,
    to_asyncio_future,
    to_tornado_future,
)

from ._support import SOAK

pytestmark = pytest.mark.timeout(60)

FUZZ = settings(
    max_examples=1000 if SOAK else 150,
    deadline=None,  # a shared, noisy machine
    suppress_health_check=[HealthCheck.too_slow],
)

LOOP_FACTORIES: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
    "asyncio": asyncio.new_event_loop,
    "uvloop": uvloop.new_event_loop,
}


# --- arbitrary objects ------------------------------------------------------------


class NotIterAwait:
    def __await__(self) -> Any:
        return 42


class RaisingAwait:
    def __await__(self) -> Generator[Any, None, int]:
        raise ValueError("__await__ raised")


class JunkYieldAwait:
    def __await__(self) -> Generator[Any, None, int]:
        yield "junk"
        return 1


class NonCallableAwait:
    __await__ = 5


class IterableNotIteratorAwait:
    def __await__(self) -> Any:
        return [None]


class NoneAwait:
    """``__await__ = None`` declares the class not awaitable (PEP 492)."""

    __await__ = None


class BadMapping(Mapping[str, Any]):
    """A mapping whose values cannot be converted."""

    def __getitem__(self, key: str) -> Any:
        return object()

    def __iter__(self) -> Iterator[str]:
        return iter(["a"])

    def __len__(self) -> int:
        return 1


def _misbehaving() -> st.SearchStrategy[object]:
    return st.sampled_from(
        [NotIterAwait, RaisingAwait, JunkYieldAwait, NonCallableAwait, IterableNotIteratorAwait]
    ).map(lambda cls: cls())


_builtin_types = st.sampled_from(
    [
        int,
        str,
        bytes,
        float,
        complex,
        bool,
        list,
        dict,
        tuple,
        set,
        frozenset,
        range,
        slice,
        bytearray,
        type,
        object,
        Exception,
        ValueError,
        memoryview,
    ]
)

#: Objects that are not yieldables, of many kinds.
non_yieldables: st.SearchStrategy[object] = st.one_of(
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.complex_numbers(allow_nan=False),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.sets(st.integers(), max_size=3),
    st.frozensets(st.text(max_size=2), max_size=3),
    st.builds(object),
    st.builds(NoneAwait),
    st.builds(BadMapping),
    st.builds(range, st.integers(0, 5)),
    st.sampled_from([int, str, object, len, print, NotImplemented, Ellipsis, types]),
    st.functions(),
    _builtin_types.flatmap(st.from_type).filter(lambda o: not isinstance(o, list | dict | tuple)),
)


class _DoneFutures:
    """Future-like leaves that are valid and cost no cleanup: done concurrent
    futures and ``None``; asyncio futures are made per loop in the test."""

    @staticmethod
    def concurrent(value: int) -> concurrent.futures.Future[int]:
        future: concurrent.futures.Future[int] = concurrent.futures.Future()
        future.set_result(value)
        return future


valid_leaves: st.SearchStrategy[object] = st.one_of(
    st.none(),
    st.just(tornado.gen.moment),
    st.integers(0, 9).map(_DoneFutures.concurrent),
)

#: Arbitrary nestings of lists, tuples and dicts mixing valid and invalid leaves.
nested: st.SearchStrategy[object] = st.recursive(
    st.one_of(valid_leaves, non_yieldables),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(st.text(max_size=3), children, max_size=3),
    ),
    max_leaves=12,
)


def first_invalid(obj: object) -> object | None:
    """The first element (depth first, in order) that is not a yieldable."""
    if obj is None or obj is tornado.gen.moment:
        return None
    if isinstance(obj, asyncio.Future | concurrent.futures.Future):
        return None
    if type(obj) in (list, tuple):
        for child in obj:  # type: ignore[attr-defined]
            if (bad := first_invalid(child)) is not None:
                return bad
        return None
    if type(obj) is dict:
        for child in obj.values():
            if (bad := first_invalid(child)) is not None:
                return bad
        return None
    if isinstance(obj, Mapping):
        for child in obj.values():
            if (bad := first_invalid(child)) is not None:
                return bad
        return None
    return obj


def expected_value(obj: object) -> object:
    if obj is None or obj is tornado.gen.moment:
        return None
    if isinstance(obj, concurrent.futures.Future):
        return obj.result()
    if type(obj) in (list, tuple):
        return [expected_value(child) for child in obj]  # type: ignore[attr-defined]
    assert isinstance(obj, Mapping)
    return {key: expected_value(child) for key, child in obj.items()}


def untyped(obj: object) -> Any:
    """*obj* as code without annotations would pass it: bad input on purpose."""
    return obj


def type_name(obj: object) -> str:
    """The type of *obj* as errors name it, with its article ("an int", "a str")."""
    cls = type(obj)
    name = (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )
    return f"an {name}" if name[0].lower() in "aeio" else f"a {name}"


def _tasks_besides_current() -> set[asyncio.Task[Any]]:
    return asyncio.all_tasks() - {asyncio.current_task()}


@pytest.fixture(params=sorted(LOOP_FACTORIES))
def factory(request: pytest.FixtureRequest) -> Callable[[], asyncio.AbstractEventLoop]:
    return LOOP_FACTORIES[request.param]


# --- the converters ---------------------------------------------------------------


@pytest.mark.parametrize("convert", ["to_asyncio_future", "to_tornado_future"])
def test_fuzz_converters_accept_yieldables_and_name_the_first_bad_element(
    factory: Callable[[], asyncio.AbstractEventLoop], convert: str
) -> None:
    """Every arbitrary nesting either converts to the right value, or raises a
    TypeError naming the type of its first bad element, having started nothing."""
    checked = 0

    async def check(obj: object) -> None:
        nonlocal checked
        bad = first_invalid(obj)
        fn = to_asyncio_future if convert == "to_asyncio_future" else to_tornado_future
        if bad is None:
            assert await fn(obj) == expected_value(obj)  # type: ignore[call-overload]
        else:
            with pytest.raises(TypeError) as raised:
                fn(obj)  # type: ignore[call-overload]
            message = str(raised.value)
            assert f"cannot convert {type_name(bad)} to a future" in message, message
            assert "expected" in message
            assert not _tasks_besides_current()
        checked += 1

    with asyncio.Runner(loop_factory=factory) as runner:

        @FUZZ
        @given(nested)
        def fuzz(obj: object) -> None:
            runner.run(check(obj))

        fuzz()
    print(f"bad input: {checked} arbitrary nestings fuzzed through {convert}")
    assert checked > 0


def test_fuzz_loop_argument() -> None:
    """loop= anything but an event loop (or None) is a TypeError naming it."""
    checked = 0

    @FUZZ
    @given(non_yieldables.filter(lambda o: o is not None))
    def fuzz(loop: object) -> None:
        nonlocal checked
        with pytest.raises(TypeError, match="loop= must be an asyncio event loop"):
            to_asyncio_future(None, loop=untyped(loop))
        checked += 1

    fuzz()
    assert checked > 0


def test_wrong_arities_of_the_converters() -> None:
    with pytest.raises(TypeError):
        to_asyncio_future()  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        to_asyncio_future(None, None)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        to_asyncio_future(None, lop=None)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        to_tornado_future()  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        to_tornado_future(None, None)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        register_adapter(int)  # type: ignore[call-arg]


def test_no_running_loop_and_closed_loops(factory: Callable[[], asyncio.AbstractEventLoop]) -> None:
    with pytest.raises(RuntimeError, match="pass loop="):
        to_asyncio_future(None)
    with pytest.raises(RuntimeError, match="no running event loop"):
        to_tornado_future(None)
    closed = factory()
    closed.close()
    coro = asyncio.sleep(0)
    try:
        objs: tuple[Any, ...] = (None, coro, [None], {"k": None}, concurrent.futures.Future())
        for obj in objs:
            with pytest.raises(RuntimeError, match="closed event loop"):
                to_asyncio_future(obj, loop=closed)
    finally:
        coro.close()


def test_self_containing_aggregates_are_a_clear_error() -> None:
    """A list or dict that contains itself can never be resolved: a clear
    error, not a RecursionError from deep inside the converter."""
    cycle: list[object] = [None]
    cycle.append(cycle)
    cyclic_dict: dict[str, object] = {}
    cyclic_dict["self"] = [cyclic_dict]

    async def main() -> None:
        for obj in (cycle, cyclic_dict):
            with pytest.raises(TypeError, match="contains itself"):
                to_asyncio_future(untyped(obj))
            assert not _tasks_besides_current()

    asyncio.run(main())


# --- misbehaving awaitables: the same outcome as plain asyncio ---------------------


async def _plain(obj: Any) -> Any:
    return await obj


@pytest.mark.parametrize(
    "cls",
    [NotIterAwait, RaisingAwait, JunkYieldAwait, NonCallableAwait, IterableNotIteratorAwait],
)
def test_misbehaving_await_fails_like_plain_asyncio(
    factory: Callable[[], asyncio.AbstractEventLoop], cls: type
) -> None:
    async def outcome(convert: Callable[[Any], Awaitable[Any]]) -> tuple[type, str]:
        try:
            await convert(cls())
        except BaseException as exc:
            return type(exc), str(exc)
        raise AssertionError("a misbehaving awaitable succeeded")

    async def main() -> None:
        plain = await outcome(lambda obj: asyncio.ensure_future(_plain(obj)))
        bridged = await outcome(to_asyncio_future)
        assert bridged == plain
        assert issubclass(bridged[0], TypeError | RuntimeError | ValueError)
        # The same through the decorators and across a LoopThread.
        assert await outcome(as_asyncio(lambda obj: obj)) == plain
        assert await outcome(as_tornado(lambda obj: obj)) == plain
        with LoopThread(loop_factory=factory) as lt:
            assert await outcome(lambda obj: lt.call(lambda: obj)) == plain

    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main())


def test_awaiting_a_misbehaving_awaitable_on_another_loop(
    factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    """The error reaches the waiter across threads too, and nothing hangs."""

    async def main() -> None:
        with LoopThread(loop_factory=factory) as lt:
            for cls in (NotIterAwait, RaisingAwait, JunkYieldAwait):
                remote = to_asyncio_future(cls(), loop=lt.asyncio_loop)
                with pytest.raises((TypeError, RuntimeError, ValueError)):
                    await to_asyncio_future(remote)

    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main())


# --- register_adapter ------------------------------------------------------------


def test_fuzz_register_adapter_rejects_non_classes_and_non_callables() -> None:
    checked = 0

    @FUZZ
    @given(non_yieldables, non_yieldables)
    def fuzz(kind: object, adapter: object) -> None:
        nonlocal checked
        if isinstance(kind, type) and callable(adapter):
            return  # a valid registration: not what this test is about
        with pytest.raises(TypeError, match="register_adapter"):
            register_adapter(kind, adapter)  # type: ignore[arg-type]
        checked += 1

    fuzz()
    assert checked > 0


def test_adapters_that_misbehave() -> None:
    class ReturnsJunk:
        pass

    class Raises:
        pass

    def raising_adapter(obj: Raises) -> Awaitable[Any]:
        raise LookupError("adapter failed")

    register_adapter(ReturnsJunk, lambda obj: 42)  # type: ignore[arg-type,return-value]
    register_adapter(Raises, raising_adapter)

    async def main() -> None:
        with pytest.raises(TypeError, match="returned an int, which is not awaitable"):
            to_asyncio_future(ReturnsJunk())  # type: ignore[call-overload]
        with pytest.raises(LookupError, match="adapter failed"):
            to_asyncio_future(Raises())  # type: ignore[call-overload]
        assert not _tasks_besides_current()

    asyncio.run(main())


# --- the decorators ----------------------------------------------------------------


def test_fuzz_decorators_reject_non_callables() -> None:
    checked = 0

    @FUZZ
    # classmethod and staticmethod objects are decorated on purpose (stacked
    # as @as_asyncio over @classmethod), callable or not.
    @given(
        non_yieldables.filter(
            lambda o: not callable(o) and not isinstance(o, classmethod | staticmethod)
        )
    )
    def fuzz(obj: object) -> None:
        nonlocal checked
        for decorator in (as_asyncio, as_tornado):
            with pytest.raises(TypeError, match=f"@{decorator.__name__} decorates a function"):
                decorator(obj)  # type: ignore[call-overload]
        checked += 1

    fuzz()
    assert checked > 0


def test_fuzz_decorated_functions_returning_anything() -> None:
    """A decorated function returning a yieldable gives its outcome; one
    returning anything else (an aggregate with one non-yieldable in it too)
    gives that very object, as @gen.coroutine does (issue 13)."""
    checked = 0

    async def check(obj: object) -> None:
        nonlocal checked
        bad = first_invalid(obj)
        for decorator in (as_asyncio, as_tornado):
            fn: Any = untyped(decorator)(lambda: obj)
            if bad is None:
                assert await fn() == expected_value(obj)
            else:
                assert await fn() is obj
        checked += 1

    with asyncio.Runner() as runner:

        @FUZZ
        @given(nested)
        def fuzz(obj: object) -> None:
            runner.run(check(obj))

        fuzz()
    assert checked > 0


def test_wrong_arities_of_the_decorators_and_the_decorated() -> None:
    with pytest.raises(TypeError):
        as_asyncio()  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        as_asyncio(print, print)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        as_tornado()  # type: ignore[call-overload]

    @as_asyncio
    async def one(x: int) -> int:
        return x

    @as_tornado
    async def two(x: int) -> int:
        return x

    async def main() -> None:
        with pytest.raises(TypeError):
            await one()  # type: ignore[call-arg]
        with pytest.raises(TypeError):
            await two(1, 2)  # type: ignore[call-arg]

    asyncio.run(main())


def test_legacy_generator_yielding_junk_gets_type_error_at_the_yield() -> None:
    seen: list[BaseException] = []

    @as_asyncio
    def legacy() -> Generator[Any, Any, int]:
        try:
            yield {"a": object()}
        except TypeError as exc:
            seen.append(exc)
            raise
        return 1

    async def main() -> None:
        with pytest.raises(TypeError, match="cannot convert an object"):
            await legacy()

    asyncio.run(main())
    assert len(seen) == 1, "the TypeError was thrown into the generator at its yield"


# --- the loops ---------------------------------------------------------------------


def test_fuzz_asyncio_loop_argument() -> None:
    checked = 0

    @FUZZ
    @given(non_yieldables.filter(lambda o: o is not None))
    def fuzz(obj: object) -> None:
        nonlocal checked
        with pytest.raises(TypeError, match="asyncio_loop= must be an asyncio event loop"):
            AsyncIOLoop(asyncio_loop=obj)  # type: ignore[arg-type]
        checked += 1

    fuzz()
    assert checked > 0


def test_asyncio_loop_on_a_closed_loop(factory: Callable[[], asyncio.AbstractEventLoop]) -> None:
    closed = factory()
    closed.close()
    with pytest.raises(RuntimeError, match="closed"):
        AsyncIOLoop(asyncio_loop=closed)
    with pytest.raises(TypeError):
        untyped(AsyncIOLoop)(closed)


# --- LoopThread ---------------------------------------------------------------------


def test_fuzz_loop_thread_entry_points(factory: Callable[[], asyncio.AbstractEventLoop]) -> None:
    """submit/run/call with a non-callable: TypeError; with a callable that
    returns anything: its value if it is a yieldable, else a TypeError."""
    checked = 0
    with LoopThread(loop_factory=factory) as lt:

        async def call(fn: Any) -> Any:
            return await lt.call(fn)

        @FUZZ
        @given(st.one_of(non_yieldables, nested))
        def fuzz(obj: object) -> None:
            nonlocal checked
            if not callable(obj):
                for method in (lt.submit, lt.run):
                    with pytest.raises(TypeError, match="needs a callable"):
                        untyped(method)(obj)
                with pytest.raises(TypeError, match="needs a callable"):
                    asyncio.run(call(obj))
            bad = first_invalid(obj)

            def returns_obj() -> Any:
                return obj

            if bad is None:
                want = expected_value(obj)
                assert lt.run(returns_obj) == want
                assert lt.submit(returns_obj).result(10) == want
                assert asyncio.run(call(returns_obj)) == want
            else:
                with pytest.raises(TypeError, match=type_name(bad)):
                    lt.run(returns_obj)
                with pytest.raises(TypeError, match=type_name(bad)):
                    lt.submit(returns_obj).result(10)
                with pytest.raises(TypeError, match=type_name(bad)):
                    asyncio.run(call(returns_obj))
            checked += 1

        fuzz()
    assert checked > 0


def test_loop_thread_misuse_is_a_runtime_error() -> None:
    lt = LoopThread()
    with pytest.raises(RuntimeError, match="before the LoopThread was started"):
        lt.submit(print)
    with pytest.raises(RuntimeError, match="before the LoopThread was started"):
        lt.run(print)
    with lt:
        with pytest.raises(RuntimeError, match="deadlock"):
            lt.run(lambda: lt.run(print))
        with pytest.raises(RuntimeError, match="deadlock"):
            lt.run(lambda: lt.submit(asyncio.sleep, 0.01).result())
        with pytest.raises(RuntimeError, match="runs only once"):
            lt.start()
        with pytest.raises(TypeError):
            lt.run()  # type: ignore[call-overload]
    with pytest.raises(RuntimeError, match="closed"):
        lt.submit(print)
    with pytest.raises(RuntimeError, match="closed"):
        lt.run(print)
    with pytest.raises(RuntimeError, match="runs only once"):
        lt.start()
    lt.close()  # closing twice is harmless
    with pytest.raises(TypeError):
        untyped(LoopThread)(asyncio.new_event_loop)


def test_loop_thread_calls_with_wrong_arities(
    factory: Callable[[], asyncio.AbstractEventLoop],
) -> None:
    """A function called with the wrong arguments on the loop thread: its
    TypeError reaches the caller of run/submit/call, and the loop lives on."""

    async def needs_one(x: int) -> int:
        return x

    with LoopThread(loop_factory=factory) as lt:
        for args, kwargs in (((), {}), ((1, 2), {}), ((1,), {"y": 2})):
            with pytest.raises(TypeError, match="needs_one"):
                untyped(lt.run)(needs_one, *args, **kwargs)
            with pytest.raises(TypeError, match="needs_one"):
                untyped(lt.submit)(needs_one, *args, **kwargs).result(10)

            async def call() -> Any:
                return await untyped(lt.call)(needs_one, *args, **kwargs)  # noqa: B023

            with pytest.raises(TypeError, match="needs_one"):
                asyncio.run(call())
        assert lt.run(needs_one, 5) == 5


def _coroutine(value: int) -> Coroutine[Any, Any, int]:
    async def body() -> int:
        return value

    return body()


_JUNK_FACTORY_SCRIPT = """
import asyncio, sys
import tornado.gen
from futurebridge import LoopThread

def closed_loop():
    loop = asyncio.new_event_loop()
    loop.close()
    return loop

factories = {"int": lambda: 5, "str": lambda: "loop", "closed-loop": closed_loop}
lt = LoopThread(loop_factory=factories[sys.argv[1]])
try:
    lt.start()
except (TypeError, RuntimeError) as exc:
    assert "loop" in str(exc), exc
else:
    raise AssertionError("start() accepted a junk loop_factory")

async def body():
    await tornado.gen.sleep(0)
    return 7

# Nothing is left behind: a good LoopThread works, and so does Tornado.
with LoopThread() as good:
    assert good.run(body) == 7
assert asyncio.run(body()) == 7
print("ok")
"""


@pytest.mark.parametrize("bad_factory", ["int", "str", "closed-loop"])
def test_loop_thread_factory_returning_junk(bad_factory: str) -> None:
    """A loop_factory returning something that is not an open event loop is
    a clear error at start(), and leaves nothing behind. Run in a subprocess:
    a failure here can corrupt Tornado's process-wide state."""
    try:
        result = subprocess.run(
            [sys.executable, "-W", "error", "-c", _JUNK_FACTORY_SCRIPT, bad_factory],
            capture_output=True,
            text=True,
            timeout=6,  # the script takes well under a second
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"LoopThread.start() hung: {exc.stderr!r}") from None
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == "ok"
