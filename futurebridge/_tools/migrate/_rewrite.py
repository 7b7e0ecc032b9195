"""The rewrite of one file, once every decision is made.

For each converted function: ``def`` becomes ``async def``; ``@gen.coroutine``
goes, or becomes ``@as_tornado`` where eager start is kept; ``raise
gen.Return(x)`` becomes ``return x``; each ``yield X`` becomes an ``await``:

* ``await X`` when X is provably awaitable: a call of a known coroutine
  function (one this run converts, a legacy one it leaves, an ``async def``)
  or of an asyncio or Tornado API that returns an awaitable;
* ``await asyncio.sleep(0)`` for ``yield``, ``yield None`` and
  ``yield gen.moment`` (one loop iteration, as Tornado gives them);
* ``await asyncio.gather(a, b)`` for a list whose every element is provably
  awaitable;
* ``await to_asyncio_future(X)`` for everything else, which is correct for
  every yieldable (futurebridge accepts all of them).

Return annotations ``Generator[Any, Any, T]`` and ``Future[T]`` become ``T``.
Formatting and comments are libcst's to keep: only the nodes named above are
replaced.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import QualifiedNameProvider, Scope, ScopeProvider

from . import _names
from ._analysis import FileFacts, absolute
from ._decide import Decision


def rewrite(
    facts: FileFacts,
    decisions: Mapping[int, Decision],
    coroutine_keys: Collection[str],
    *,
    infer_returns: bool,
) -> cst.Module:
    """Return *facts*' module with its converted functions rewritten.

    *decisions* maps ``id(FunctionDef)`` to the decision for that definition.
    """
    rewriter = _Rewriter(facts, decisions, coroutine_keys, infer_returns)
    module = facts.wrapper.visit(rewriter)
    if not rewriter.imports:
        return module
    context = CodemodContext()
    for module_name, obj, asname in sorted(rewriter.imports, key=str):
        AddImportsVisitor.add_needed_import(context, module_name, obj, asname)
    return AddImportsVisitor(context).transform_module(module)


@dataclass
class _Frame:
    decision: Decision
    returns: list[cst.BaseExpression | None] = field(
        default_factory=list["cst.BaseExpression | None"]
    )


class _Rewriter(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (QualifiedNameProvider, ScopeProvider)

    def __init__(
        self,
        facts: FileFacts,
        decisions: Mapping[int, Decision],
        coroutine_keys: Collection[str],
        infer_returns: bool,
    ) -> None:
        super().__init__()
        self.facts = facts
        self.decisions = decisions
        self.coroutine_keys = coroutine_keys
        self.infer_returns = infer_returns
        self.is_package = facts.path.name == "__init__.py"
        self.frames: list[_Frame | None] = []
        self.imports: set[tuple[str, str | None, str | None]] = set()
        self.local_names: dict[str, str] = {}

    # -- names -------------------------------------------------------------

    def names(self, node: cst.CSTNode) -> set[str]:
        found = self.get_metadata(QualifiedNameProvider, node, set())
        return {absolute(q.name, self.facts.module, self.is_package) for q in found}

    def imported(self, obj: str) -> str:
        """The local name for ``futurebridge.<obj>``, importing it if needed.

        A module that already binds the name to something else (say Tornado's
        own ``to_asyncio_future``) gets it under an ``fb_`` alias instead.
        """
        if obj in self.local_names:
            return self.local_names[obj]
        scope = self.get_metadata(ScopeProvider, self.facts.wrapper.module)
        local = obj
        if isinstance(scope, Scope) and obj in scope:
            bound = {q.name for q in scope.get_qualified_names_for(obj)}
            if bound != {f"futurebridge.{obj}"}:
                local = f"fb_{obj}"
        self.imports.add(("futurebridge", obj, None if local == obj else local))
        self.local_names[obj] = local
        return local

    def asyncio_attr(self, attr: str) -> cst.Attribute:
        self.imports.add(("asyncio", None, None))
        return cst.Attribute(value=cst.Name("asyncio"), attr=cst.Name(attr))

    def converting(self) -> _Frame | None:
        return self.frames[-1] if self.frames else None

    # -- scopes ------------------------------------------------------------

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        decision = self.decisions.get(id(node))
        convert = decision is not None and decision.verdict != "flagged"
        self.frames.append(_Frame(decision) if convert and decision is not None else None)

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.frames.append(None)

    def leave_Lambda(self, original_node: cst.Lambda, updated_node: cst.Lambda) -> cst.Lambda:
        self.frames.pop()
        return updated_node

    def leave_FunctionDef(
        self, original_node: cst.FunctionDef, updated_node: cst.FunctionDef
    ) -> cst.FunctionDef:
        frame = self.frames.pop()
        if frame is None:
            return updated_node
        eager = frame.decision.verdict == "as_tornado"
        decorators: list[cst.Decorator] = []
        carried: list[cst.EmptyLine] = []
        for original, updated in zip(
            original_node.decorators, updated_node.decorators, strict=True
        ):
            target = original.decorator
            if not self.names(target) & _names.COROUTINE_DECORATORS:
                decorators.append(
                    updated.with_changes(leading_lines=[*carried, *updated.leading_lines])
                )
                carried = []
            elif eager:
                decorators.append(
                    updated.with_changes(
                        decorator=cst.Name(self.imported("as_tornado")),
                        leading_lines=[*carried, *updated.leading_lines],
                    )
                )
                carried = []
            else:
                carried.extend(updated.leading_lines)
        return updated_node.with_changes(
            decorators=decorators,
            lines_after_decorators=[*carried, *updated_node.lines_after_decorators],
            asynchronous=cst.Asynchronous(),
            returns=self.new_returns(original_node, updated_node.returns, frame),
        )

    # -- annotations -------------------------------------------------------

    def new_returns(
        self, original: cst.FunctionDef, returns: cst.Annotation | None, frame: _Frame
    ) -> cst.Annotation | None:
        if original.returns is None:
            if not self.infer_returns:
                return None
            inferred = _literal_type(frame.returns, original.body)
            return None if inferred is None else cst.Annotation(cst.Name(inferred))
        annotation = original.returns.annotation
        if returns is None or not isinstance(annotation, cst.Subscript):
            return returns
        names = self.names(annotation.value)
        index = None
        if names & _names.GENERATOR_TYPES and len(annotation.slice) == 3:
            index = 2
        elif names & _names.FUTURE_TYPES and len(annotation.slice) == 1:
            index = 0
        if index is None:
            return returns
        element = annotation.slice[index].slice
        if not isinstance(element, cst.Index):
            return returns
        return returns.with_changes(annotation=element.value)

    # -- statements and expressions -----------------------------------------

    def leave_Return(self, original_node: cst.Return, updated_node: cst.Return) -> cst.Return:
        frame = self.converting()
        if frame is not None:
            frame.returns.append(original_node.value)
        return updated_node

    def leave_Raise(
        self, original_node: cst.Raise, updated_node: cst.Raise
    ) -> cst.Raise | cst.Return:
        frame = self.converting()
        exc = original_node.exc
        if frame is None or exc is None:
            return updated_node
        target = exc.func if isinstance(exc, cst.Call) else exc
        if _names.RETURN not in self.names(target):
            return updated_node
        value: cst.BaseExpression | None = None
        new_exc = updated_node.exc
        if isinstance(new_exc, cst.Call) and new_exc.args:
            value = new_exc.args[0].value
        frame.returns.append(
            original_node.exc.args[0].value
            if isinstance(original_node.exc, cst.Call) and original_node.exc.args
            else None
        )
        return cst.Return(value=value, semicolon=updated_node.semicolon)

    def leave_Yield(
        self, original_node: cst.Yield, updated_node: cst.Yield
    ) -> cst.Yield | cst.Await:
        frame = self.converting()
        if frame is None:
            return updated_node
        original = original_node.value
        value = updated_node.value
        if isinstance(original, cst.From) or isinstance(value, cst.From):
            return updated_node  # flagged by the analysis: never reached
        if original is None or self.is_sleep_zero(original):
            awaited: cst.BaseExpression = cst.Call(
                func=self.asyncio_attr("sleep"), args=[cst.Arg(cst.Integer("0"))]
            )
        elif value is None:
            return updated_node
        elif self.provably_awaitable(original, frame):
            awaited = value
        elif (
            isinstance(original, cst.List)
            and isinstance(value, cst.List)
            and original.elements
            and all(
                isinstance(e, cst.Element) and self.provably_awaitable(e.value, frame)
                for e in original.elements
            )
        ):
            awaited = _gather(self.asyncio_attr("gather"), value)
        else:
            awaited = cst.Call(
                func=cst.Name(self.imported("to_asyncio_future")), args=[cst.Arg(value)]
            )
        return cst.Await(expression=awaited, lpar=updated_node.lpar, rpar=updated_node.rpar)

    def is_sleep_zero(self, value: cst.BaseExpression) -> bool:
        if isinstance(value, cst.Name) and value.value == "None":
            return True
        return _names.MOMENT in self.names(value)

    def provably_awaitable(self, value: cst.BaseExpression, frame: _Frame) -> bool:
        if not isinstance(value, cst.Call):
            return False
        func = value.func
        names = self.names(func)
        if names & _names.AWAITABLE_APIS:
            return True
        if isinstance(func, cst.Name):
            names |= {f"{self.facts.module}.{n}" for n in names}
        if names & set(self.coroutine_keys):
            return True
        function = frame.decision.function
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and func.value.value in ("self", "cls")
            and function is not None
            and function.class_key is not None
        ):
            return f"{function.class_key}.{func.attr.value}" in self.coroutine_keys
        return False


def _gather(gather: cst.Attribute, value: cst.List) -> cst.Call:
    """``asyncio.gather(a, b)`` from ``[a, b]``, keeping the comments between elements."""
    args: list[cst.Arg] = []
    for element in value.elements:
        assert isinstance(element, cst.Element)  # checked by the caller
        args.append(cst.Arg(value=element.value, comma=element.comma))
    last = args[-1].with_changes(whitespace_after_arg=value.rbracket.whitespace_before)
    args[-1] = last
    return cst.Call(func=gather, args=args, whitespace_before_args=value.lbracket.whitespace_after)


_LITERAL_TYPES: dict[type[cst.CSTNode], str] = {
    cst.Integer: "int",
    cst.Float: "float",
    cst.SimpleString: "str",
}


def _literal_type(returns: list[cst.BaseExpression | None], body: cst.BaseSuite) -> str | None:
    """The one literal type of every returned value, or None when there is not one."""
    kinds: set[str] = set()
    for value in returns:
        if value is None or (isinstance(value, cst.Name) and value.value == "None"):
            kinds.add("None")
        elif isinstance(value, cst.Name) and value.value in ("True", "False"):
            kinds.add("bool")
        elif isinstance(value, cst.SimpleString) and value.prefix.lower().count("b"):
            kinds.add("bytes")
        elif type(value) in _LITERAL_TYPES:
            kinds.add(_LITERAL_TYPES[type(value)])
        else:
            return None
    falls_off = True
    if isinstance(body, cst.IndentedBlock) and body.body:
        last = body.body[-1]
        if isinstance(last, cst.SimpleStatementLine) and isinstance(
            last.body[-1], (cst.Return, cst.Raise)
        ):
            falls_off = False
    if falls_off:
        kinds.add("None")
    return kinds.pop() if len(kinds) == 1 else None
