"""What one file holds: its legacy coroutines, its ``async def``s, and every use of them.

This module reads files and records facts; it decides nothing. The decisions
(convert, keep eager start, leave for a person) are ``_decide``'s, made once
the facts of every given file are in, since a function's callers may live in
another file.

Rules that hold across this module:

1. A function is named by a *key*, its module's dotted name and its
   ``__qualname__`` (``pkg.mod.Class.method``), so a call in one file and a
   definition in another meet. Methods are also matched by bare attribute
   name, since the receiver's type is unknown: that over-approximates their
   callers, which only ever keeps eager start where it may not be needed.
2. Only a function's own scope counts: a ``yield`` or ``raise gen.Return`` in
   a nested function or lambda belongs to that one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst
from libcst.metadata import (
    CodeRange,
    MetadataWrapper,
    ParentNodeProvider,
    PositionProvider,
    QualifiedNameProvider,
)

from . import _names


@dataclass
class Function:
    """A function definition the codemod cares about."""

    key: str
    qualname: str
    name: str
    path: Path
    line: int
    node: cst.FunctionDef
    class_key: str | None
    legacy: bool  # decorated with @gen.coroutine (else an ``async def``)
    public: bool
    flags: list[str] = field(default_factory=list["str"])
    generator: bool = False  # has a ``yield`` of its own


@dataclass(frozen=True)
class Use:
    """A use of a function: a call, or a reference that lets it escape."""

    path: Path
    line: int
    keys: frozenset[str]  # the keys it may resolve to
    attr: str | None  # the attribute name, when called as ``something.attr``
    awaited: bool
    how: str
    run_sync: bool = False


@dataclass
class FileFacts:
    """Everything the analysis found in one file."""

    path: Path
    module: str
    wrapper: MetadataWrapper
    functions: list[Function] = field(default_factory=list["Function"])
    uses: list[Use] = field(default_factory=list["Use"])
    # Findings outside any legacy function, reported as their own entries.
    notes: list[tuple[str, int, str]] = field(default_factory=list["tuple[str, int, str]"])


def module_name(path: Path) -> str:
    """The dotted module name of *path*, found by walking up its packages."""
    path = path.resolve()
    parts = [] if path.name == "__init__.py" else [path.stem]
    folder = path.parent
    while (folder / "__init__.py").is_file():
        parts.insert(0, folder.name)
        folder = folder.parent
    return ".".join(parts) or path.stem


def absolute(name: str, module: str, is_package: bool) -> str:
    """Resolve a relative qualified name (``..core.f``) against *module*."""
    if not name.startswith("."):
        return name
    dots = len(name) - len(name.lstrip("."))
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    if dots > 1:
        base = base[: len(base) - (dots - 1)]
    return ".".join([*base, name.lstrip(".")])


def analyse(path: Path, wrapper: MetadataWrapper) -> FileFacts:
    """Read one parsed file and return its facts."""
    facts = FileFacts(path=path, module=module_name(path), wrapper=wrapper)
    wrapper.visit(_Reader(facts))
    return facts


class _Reader(cst.CSTVisitor):
    METADATA_DEPENDENCIES = (QualifiedNameProvider, ParentNodeProvider, PositionProvider)

    def __init__(self, facts: FileFacts) -> None:
        super().__init__()
        self.facts = facts
        self.is_package = facts.path.name == "__init__.py"
        # The enclosing functions and lambdas, innermost last; None for a lambda.
        self.scopes: list[Function | None] = []
        self.classes: list[str] = []
        self.qualname_parts: list[str] = []
        self.in_finally: list[int] = []  # finally-depth per scope

    # -- names -------------------------------------------------------------

    def names(self, node: cst.CSTNode) -> set[str]:
        """The fully qualified names *node* may refer to."""
        found = self.get_metadata(QualifiedNameProvider, node, set())
        return {absolute(q.name, self.facts.module, self.is_package) for q in found}

    def line(self, node: cst.CSTNode) -> int:
        position = self.get_metadata(PositionProvider, node)
        assert isinstance(position, CodeRange)  # every node of a parsed module has one
        return position.start.line

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.get_metadata(ParentNodeProvider, node, None)

    def where(self) -> str:
        """The qualified name of the innermost enclosing function or class."""
        parts = self.qualname_parts
        if parts and parts[-1] == "<locals>":
            parts = parts[:-1]
        return ".".join(parts) or "<module>"

    def current(self) -> Function | None:
        return self.scopes[-1] if self.scopes else None

    def flag(self, node: cst.CSTNode, reason: str) -> None:
        function = self.current()
        text = f"line {self.line(node)}: {reason}"
        if function is not None and function.legacy and text not in function.flags:
            function.flags.append(text)

    # -- definitions -------------------------------------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.classes.append(".".join([*self.qualname_parts, node.name.value]))
        self.qualname_parts.append(node.name.value)

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.classes.pop()
        self.qualname_parts.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        parent = self.parent(node)
        grandparent = self.parent(parent) if parent is not None else None
        in_class = isinstance(grandparent, cst.ClassDef)
        qualname = ".".join([*self.qualname_parts, node.name.value])
        decorator_names = [self.names(d.decorator) for d in node.decorators]
        legacy_at = [
            i for i, names in enumerate(decorator_names) if names & _names.COROUTINE_DECORATORS
        ]
        function: Function | None = None
        nested = any(part == "<locals>" for part in self.qualname_parts)
        public = not nested and all(
            not part.startswith("_") or (part.startswith("__") and part.endswith("__"))
            for part in qualname.split(".")
        )
        key = f"{self.facts.module}.{qualname}"
        class_key = f"{self.facts.module}.{self.classes[-1]}" if in_class else None
        if legacy_at or node.asynchronous is not None:
            function = Function(
                key=key,
                qualname=qualname,
                name=node.name.value,
                path=self.facts.path,
                line=self.line(node),
                node=node,
                class_key=class_key,
                legacy=bool(legacy_at),
                public=public,
            )
            self.facts.functions.append(function)
        if function is not None and function.legacy:
            below = decorator_names[legacy_at[-1] + 1 :]
            if below:
                function.flags.append(
                    f"line {function.line}: a decorator below @gen.coroutine would see an "
                    "async def instead of a generator function"
                )
            for names in decorator_names:
                if _names.RUN_ON_EXECUTOR in names:
                    function.flags.append(
                        f"line {function.line}: run_on_executor together with @gen.coroutine"
                    )
        elif any(_names.RUN_ON_EXECUTOR in names for names in decorator_names):
            self.facts.notes.append(
                (
                    qualname,
                    self.line(node),
                    "run_on_executor runs the body on a thread pool: not a coroutine to "
                    "convert; its callers may yield or await its future unchanged",
                )
            )
        if function is not None and function.legacy:
            for param in (
                *node.params.params,
                *node.params.kwonly_params,
                *node.params.posonly_params,
            ):
                if param.name.value == "callback":
                    function.flags.append(
                        f"line {self.line(param)}: a callback parameter: a callback-style API"
                    )
        self.scopes.append(function)
        self.in_finally.append(0)
        self.qualname_parts.extend([node.name.value, "<locals>"])

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.scopes.pop()
        self.in_finally.pop()
        del self.qualname_parts[-2:]

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.scopes.append(None)
        self.in_finally.append(0)

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.scopes.pop()
        self.in_finally.pop()

    # -- constructs inside legacy functions ---------------------------------

    def visit_Finally(self, node: cst.Finally) -> None:
        if self.in_finally:
            self.in_finally[-1] += 1

    def leave_Finally(self, original_node: cst.Finally) -> None:
        if self.in_finally:
            self.in_finally[-1] -= 1

    def visit_Yield(self, node: cst.Yield) -> None:
        function = self.current()
        if function is not None:
            function.generator = True
        if isinstance(node.value, cst.From):
            self.flag(node, "yield from inside @gen.coroutine")
        if isinstance(node.value, cst.Tuple):
            self.flag(
                node,
                "yield of a tuple: Tornado raises BadYieldError for it, an await would not",
            )
        if self.in_finally and self.in_finally[-1]:
            self.flag(
                node,
                "yield inside finally: an await there runs on cancellation too, "
                "where the generator was closed instead",
            )

    def visit_Raise(self, node: cst.Raise) -> None:
        if node.exc is None or not self.is_return(node.exc):
            return
        function = self.current()
        if function is None or not function.legacy:
            self.facts.notes.append(
                (
                    self.where(),
                    self.line(node),
                    "raise gen.Return outside a @gen.coroutine function: a converted "
                    "caller would see an exception instead of a return",
                )
            )
            return
        catcher = self.catching_handler(node)
        if catcher is not None:
            self.flag(node, f"raise gen.Return inside a try whose handler catches {catcher}")

    def is_return(self, expr: cst.BaseExpression) -> bool:
        target = expr.func if isinstance(expr, cst.Call) else expr
        return _names.RETURN in self.names(target)

    def catching_handler(self, node: cst.CSTNode) -> str | None:
        """What would catch a gen.Return raised at *node*, within its function."""
        child: cst.CSTNode = node
        parent = self.parent(node)
        while parent is not None and not isinstance(parent, (cst.FunctionDef, cst.Lambda)):
            if isinstance(parent, (cst.Try, cst.TryStar)) and child is parent.body:
                for handler in parent.handlers:
                    if handler.type is None:
                        return "everything (a bare except)"
                    caught = self.caught_names(handler.type)
                    if caught & (_names.BROAD_EXCEPTIONS | {_names.RETURN}):
                        return cst.Module([]).code_for_node(handler.type)
            if isinstance(parent, cst.With):
                for item in parent.items:
                    call = item.item
                    if isinstance(call, cst.Call) and (
                        self.names(call.func) & _names.SWALLOWING_CONTEXTS
                    ):
                        return "a contextlib.suppress block"
            child = parent
            parent = self.parent(parent)
        return None

    def caught_names(self, expr: cst.BaseExpression) -> set[str]:
        if isinstance(expr, cst.Tuple):
            found: set[str] = set()
            for element in expr.elements:
                found |= self.caught_names(element.value)
            return found
        names = self.names(expr)
        code = cst.Module([]).code_for_node(expr)
        return names | {code, f"builtins.{code}"}

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> None:
        if node.type is not None and _names.RETURN in self.caught_names(node.type):
            self.flag(node, "gen.Return is caught here: the rewrite to return would bypass it")

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self.check_api(node)
        self.record_reference(node)

    def visit_Name(self, node: cst.Name) -> None:
        self.check_api(node)
        self.record_reference(node)

    def check_api(self, node: cst.Name | cst.Attribute) -> None:
        names = self.names(node)
        for name in names & _names.FLAGGED_APIS.keys():
            self.flag(node, _names.FLAGGED_APIS[name])
        if _names.RETURN in names:
            parent = self.parent(node)
            raised = isinstance(parent, cst.Raise) or (
                isinstance(parent, cst.Call) and isinstance(self.parent(parent), cst.Raise)
            )
            if not raised and not isinstance(parent, (cst.ExceptHandler, cst.Tuple, cst.Element)):
                self.flag(node, "gen.Return used other than in `raise gen.Return(...)`")

    def visit_Call(self, node: cst.Call) -> None:
        names = self.names(node.func)
        if _names.WITH_TIMEOUT in names and node.args:
            first = node.args[0].value
            is_timedelta = isinstance(first, cst.Call) and any(
                n.endswith("timedelta") for n in self.names(first.func)
            )
            if not is_timedelta:
                self.flag(
                    node,
                    "gen.with_timeout with a number (or a value not shown to be a "
                    "timedelta) takes an absolute IOLoop.time() deadline, not a duration",
                )
        for arg in node.args:
            if arg.keyword is not None and arg.keyword.value == "callback":
                self.flag(arg, "a callback= argument: a callback-style API")
        self.record_call(node)

    # -- uses --------------------------------------------------------------

    def record_call(self, node: cst.Call) -> None:
        keys, attr = self.target(node.func)
        if not keys and attr is None:
            return
        awaited, how = self.classify(node)
        self.facts.uses.append(
            Use(
                path=self.facts.path,
                line=self.line(node),
                keys=frozenset(keys),
                attr=attr,
                awaited=awaited,
                how=how,
                run_sync=self.inside_run_sync(node),
            )
        )

    def record_reference(self, node: cst.Name | cst.Attribute) -> None:
        parent = self.parent(node)
        if isinstance(parent, cst.Call) and parent.func is node:
            return  # a call: recorded by record_call
        if isinstance(parent, cst.Attribute) and parent.value is node:
            return  # the receiver of an attribute, not the function itself
        if isinstance(
            parent,
            (
                cst.FunctionDef,
                cst.ClassDef,
                cst.ImportAlias,
                cst.AsName,
                cst.Param,
                cst.Decorator,
                cst.AssignTarget,
                cst.Arg,
            ),
        ) and not (isinstance(parent, cst.Arg) and parent.value is node):
            return
        if isinstance(parent, cst.Attribute) and parent.attr is node:
            return  # the attribute's own name: the Attribute is the reference
        if isinstance(parent, cst.Arg) and parent.keyword is node:
            return
        keys, attr = self.target(node)
        if not keys and attr is None:
            return
        self.facts.uses.append(
            Use(
                path=self.facts.path,
                line=self.line(node),
                keys=frozenset(keys),
                attr=attr,
                awaited=False,
                how="passed or stored as a function, so its callers are unknown",
                run_sync=self.inside_run_sync(node),
            )
        )

    def target(self, func: cst.BaseExpression) -> tuple[set[str], str | None]:
        if isinstance(func, cst.Name):
            # A module's own top-level function is qualified by its bare name.
            names = self.names(func)
            return names | {f"{self.facts.module}.{n}" for n in names}, None
        if isinstance(func, cst.Attribute):
            return self.names(func), func.attr.value
        return set(), None

    def classify(self, node: cst.CSTNode) -> tuple[bool, str]:
        """Whether the value of *node* is awaited, and how it is used."""
        parent = self.parent(node)
        if isinstance(parent, cst.Await):
            return True, "awaited"
        if isinstance(parent, cst.Yield):
            if self.yields_are_awaited(parent):
                return True, "yielded in a coroutine"
            return False, "yielded by a plain generator"
        if isinstance(parent, (cst.Element, cst.DictElement)):
            container = self.parent(parent)
            if isinstance(container, (cst.List, cst.Tuple, cst.Dict)):
                return self.classify(container)
        if (isinstance(parent, cst.ListComp) and parent.elt is node) or (
            isinstance(parent, cst.DictComp) and parent.value is node
        ):
            return self.classify(parent)
        if isinstance(parent, cst.Arg):
            call = self.parent(parent)
            if isinstance(call, cst.Call) and self.names(call.func) & _names.AWAITING_WRAPPERS:
                return self.classify(call)
        if isinstance(parent, cst.Expr):
            return False, "called as a statement, nobody awaits it"
        return False, "its result is used as a future"

    def yields_are_awaited(self, node: cst.CSTNode) -> bool:
        """Whether a ``yield`` at *node* hands its value to Tornado's coroutine runner."""
        parent = self.parent(node)
        while parent is not None and not isinstance(parent, (cst.FunctionDef, cst.Lambda)):
            parent = self.parent(parent)
        if not isinstance(parent, cst.FunctionDef):
            return False
        for decorator in parent.decorators:
            expr = decorator.decorator
            target = expr.func if isinstance(expr, cst.Call) else expr
            names = self.names(target)
            if names & _names.COROUTINE_DECORATORS or any(n.endswith("gen_test") for n in names):
                return True
        return False

    def inside_run_sync(self, node: cst.CSTNode) -> bool:
        """Whether *node* is what an ``IOLoop.run_sync(...)`` call runs."""
        current = node
        for _ in range(6):
            parent = self.parent(current)
            if parent is None:
                return False
            if isinstance(parent, cst.Call) and parent.func is not current:
                func = parent.func
                if isinstance(func, cst.Attribute) and func.attr.value == "run_sync":
                    return True
            if isinstance(parent, (cst.FunctionDef, cst.SimpleStatementLine)):
                return False
            current = parent
        return False


def known_keys(all_facts: Sequence[FileFacts]) -> set[str]:
    """Keys of every function known to return an awaitable (legacy or async def)."""
    return {f.key for facts in all_facts for f in facts.functions}
