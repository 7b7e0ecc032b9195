"""A mypy plugin: legacy generator functions keep their parameters under the decorators.

Turn it on in the mypy configuration::

    [tool.mypy]
    plugins = ["futurebridge.mypy"]

Legacy code writes ``@gen.coroutine`` generators without a return annotation
(``def fetch(x: int): yield ...``). mypy gives such a function the return type
``Any``, and an ``Any`` argument matches several overloads of
:func:`~futurebridge.as_asyncio` at once, so mypy answers ``Any`` for the
whole decorated function: ``fetch("wrong")`` passes. pyright, basedpyright,
pyrefly and ty infer the generator's type and need no plugin.

With the plugin, a function whose return type is left out keeps its
parameters: ``@as_asyncio`` gives ``def (x: int) -> Coroutine[Any, Any, Any]``
and ``@as_tornado`` gives ``def (x: int) -> Future[Any]``, so wrong arguments
are errors. The result type stays ``Any``, as mypy itself leaves it for an
unannotated function. Everything else is left to the overloads.

This module is imported by mypy only; :mod:`futurebridge` never imports it.

.. versionadded:: 0.1
"""

from __future__ import annotations

from collections.abc import Callable

from mypy.nodes import FuncDef
from mypy.plugin import FunctionContext, Plugin
from mypy.types import AnyType, CallableType, Type, TypeOfAny, get_proper_type

_RESULTS = {
    "futurebridge._decorators.as_asyncio": "typing.Coroutine",
    "futurebridge._decorators.as_tornado": "_asyncio.Future",
}


def _keep_parameters(ctx: FunctionContext, result_name: str) -> Type:
    """Give an unannotated-return function its parameters back under the decorator."""
    if len(ctx.arg_types) != 1 or len(ctx.arg_types[0]) != 1:
        return ctx.default_return_type
    fn = get_proper_type(ctx.arg_types[0][0])
    if not isinstance(fn, CallableType) or not isinstance(fn.definition, FuncDef):
        return ctx.default_return_type
    returns = get_proper_type(fn.ret_type)
    # Only a return type left out: an explicit "-> Any" is the author's choice.
    if not isinstance(returns, AnyType) or returns.type_of_any != TypeOfAny.unannotated:
        return ctx.default_return_type
    if not fn.definition.is_generator:
        return ctx.default_return_type
    unknown = AnyType(TypeOfAny.unannotated)
    arity = 3 if result_name == "typing.Coroutine" else 1
    result = ctx.api.named_generic_type(result_name, [unknown] * arity)
    # mypy types copy_modified with a private sentinel pyright and pyrefly cannot read.
    return fn.copy_modified(ret_type=result, implicit=False)  # pyright: ignore[reportUnknownMemberType]  # pyrefly: ignore[bad-argument-type]


class FuturebridgePlugin(Plugin):
    """Hooks :func:`~futurebridge.as_asyncio` and :func:`~futurebridge.as_tornado`."""

    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        """Return the hook for the two decorators, ``None`` for anything else."""
        if fullname in _RESULTS:
            return _HOOKS[fullname]
        return None


def _hook_for(fullname: str) -> Callable[[FunctionContext], Type]:
    def hook(ctx: FunctionContext) -> Type:
        return _keep_parameters(ctx, _RESULTS[fullname])

    return hook


_HOOKS = {name: _hook_for(name) for name in _RESULTS}


def plugin(version: str) -> type[Plugin]:
    """The entry point mypy calls with its version."""
    del version
    return FuturebridgePlugin
