"""The decision for each legacy coroutine, made from the facts of every given file.

A legacy function is *flagged* (left exactly as it is, for a person) when it
holds a construct whose meaning the rewrite would change, or when
``IOLoop.run_sync`` runs it. Otherwise it is converted to ``async def``, and
keeps eager start through ``@as_tornado`` when some use of it is not awaited:
a call nobody awaits, a result used as a future, the function passed on as a
value (its callers are then unknown), or, with ``--assume-external-callers``,
any public function. Every decision carries the reasons a reader needs to
check it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import libcst as cst

from ._analysis import FileFacts, Function, Use

Verdict = Literal["async", "as_tornado", "flagged"]

# Enough call sites for a reader to check a decision; the count says the rest.
_SHOWN_USES = 3


@dataclass
class Decision:
    """What happens to one function (or one finding outside a function), and why."""

    path: Path
    line: int
    name: str
    verdict: Verdict
    reasons: list[str] = field(default_factory=list["str"])
    node: cst.FunctionDef | None = None
    function: Function | None = None


def decide(all_facts: Sequence[FileFacts], *, assume_external_callers: bool) -> list[Decision]:
    """Decide every legacy function of *all_facts*, in file and line order."""
    by_key: dict[str, list[Function]] = defaultdict(list)
    methods_by_name: dict[str, list[Function]] = defaultdict(list)
    legacy = [f for facts in all_facts for f in facts.functions if f.legacy]
    for function in legacy:
        by_key[function.key].append(function)
        if function.class_key is not None:
            methods_by_name[function.name].append(function)
    uses: dict[int, list[Use]] = defaultdict(list)
    for facts in all_facts:
        for use in facts.uses:
            matched = {id(f): f for key in use.keys for f in by_key.get(key, ())}
            if use.attr is not None:
                matched.update((id(f), f) for f in methods_by_name.get(use.attr, ()))
            for function in matched.values():
                uses[id(function)].append(use)

    decisions: list[Decision] = []
    for function in legacy:
        decisions.append(_decide_one(function, uses[id(function)], assume_external_callers))
    for facts in all_facts:
        for name, line, reason in facts.notes:
            decisions.append(Decision(facts.path, line, name, "flagged", [reason]))
    decisions.sort(key=lambda d: (str(d.path), d.line))
    return decisions


def _decide_one(function: Function, uses: list[Use], assume_external_callers: bool) -> Decision:
    decision = Decision(
        function.path,
        function.line,
        function.qualname,
        "async",
        node=function.node,
        function=function,
    )
    run_sync = [u for u in uses if u.run_sync]
    flags = list(function.flags)
    if not function.generator:
        flags.append(
            f"line {function.line}: not a generator: @gen.coroutine returns its finished "
            "future at the call, even with no loop running, which an async def cannot"
        )
    if flags or run_sync:
        decision.verdict = "flagged"
        decision.reasons = flags
        decision.reasons += [
            f"{_where(u)}: IOLoop.run_sync runs it; check that caller by hand" for u in run_sync
        ]
        return decision
    eager = [u for u in uses if not u.awaited]
    if eager:
        decision.verdict = "as_tornado"
        decision.reasons = [f"{_where(u)}: {u.how}" for u in eager[:_SHOWN_USES]]
        if len(eager) > _SHOWN_USES:
            decision.reasons.append(f"and {len(eager) - _SHOWN_USES} more such uses")
    elif assume_external_callers and function.public:
        decision.verdict = "as_tornado"
        decision.reasons = ["public, and --assume-external-callers says outside code may call it"]
    elif uses:
        decision.reasons = [f"every use in the given paths ({len(uses)}) awaits it"]
    else:
        decision.reasons = ["no use in the given paths"]
    return decision


def _where(use: Use) -> str:
    return f"{use.path.name}:{use.line}"
