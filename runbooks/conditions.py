"""Step conditions: `health is unhealthy`, `rollback is not succeeded`, `revisions.ready_count > 1`.

A condition is one or more clauses joined by `and` or by `or` (not both). A clause is either
`<step> is [not] <status>` or `<step>.<field> <op> <value>` with op one of == != > >= < <=.
Steps that did not run have status `skipped`.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_IS = re.compile(r"^([a-z][a-z0-9_]*)\s+is\s+(not\s+)?([a-z_]+)$")
_CMP = re.compile(r"^([a-z][a-z0-9_]*)\.([a-z_]+)\s*(==|!=|>=|<=|>|<)\s*(\S+)$")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class ConditionError(ValueError):
    """A condition does not parse or refers to something unknown."""


@dataclass(frozen=True)
class Clause:
    """One comparison against an earlier step's result."""

    step: str
    field: str | None
    op: str
    value: str
    negate: bool = False


@dataclass(frozen=True)
class Condition:
    """Clauses joined by `all` (and) or `any` (or)."""

    clauses: tuple[Clause, ...]
    join: str = "and"


@dataclass(frozen=True)
class Outcome:
    """What a condition can see of an earlier step: its status and numeric/text fields."""

    status: str
    fields: Mapping[str, Any]


def parse(text: str) -> Condition:
    """Parse a condition; ConditionError explains what is wrong."""
    words = text.strip().lower().split()
    if not words:
        raise ConditionError("the condition is empty")
    has_and, has_or = "and" in words, "or" in words
    if has_and and has_or:
        raise ConditionError("use either 'and' or 'or' in one condition, not both")
    join = "or" if has_or else "and"
    parts = [p.strip() for p in re.split(rf"\s+{join}\s+", text.strip().lower())]
    clauses = []
    for part in parts:
        m = _IS.match(part)
        if m:
            clauses.append(Clause(m.group(1), None, "is", m.group(3), negate=bool(m.group(2))))
            continue
        m = _CMP.match(part)
        if m:
            clauses.append(Clause(m.group(1), m.group(2), m.group(3), m.group(4)))
            continue
        raise ConditionError(
            f"cannot read '{part[:80]}': write '<step> is [not] <status>' or '<step>.<field> > <number>'"
        )
    return Condition(tuple(clauses), join)


def check(
    condition: Condition,
    earlier: Mapping[str, tuple[frozenset[str], frozenset[str]]],
) -> list[str]:
    """Problems with a condition given earlier steps' (statuses, fields); empty when it is sound."""
    problems = []
    for clause in condition.clauses:
        known = earlier.get(clause.step)
        if known is None:
            names = ", ".join(earlier) or "none"
            problems.append(f"'{clause.step}' is not an earlier step (earlier steps: {names})")
            continue
        statuses, fields = known
        if clause.field is None and clause.value not in statuses:
            can_be = ", ".join(sorted(statuses))
            problems.append(f"step '{clause.step}' never has status '{clause.value}' (it can be: {can_be})")
        if clause.field is not None and clause.field not in fields:
            have = ", ".join(sorted(fields)) or "none"
            problems.append(f"step '{clause.step}' has no field '{clause.field}' (fields: {have})")
    return problems


def _coerce(value: str) -> Any:
    try:
        return float(value)
    except ValueError:
        return value.strip("'\"")


def evaluate(condition: Condition, results: Mapping[str, Outcome]) -> bool:
    """True when the condition holds for the results so far."""
    verdicts = []
    for clause in condition.clauses:
        outcome = results.get(clause.step, Outcome("skipped", {}))
        if clause.field is None:
            verdict = (outcome.status == clause.value) != clause.negate
        else:
            actual = outcome.fields.get(clause.field)
            expected = _coerce(clause.value)
            numeric = (
                isinstance(expected, float)
                and isinstance(actual, int | float)
                and not isinstance(actual, bool)
            )
            if actual is None:
                verdict = False  # the step did not run or did not report this field
            elif numeric:
                verdict = _OPS[clause.op](float(actual), expected)
            elif clause.op in ("==", "!="):
                verdict = _OPS[clause.op](str(actual), str(clause.value).strip("'\""))
            else:
                verdict = False  # ordering only makes sense between numbers
        verdicts.append(verdict)
    return all(verdicts) if condition.join == "and" else any(verdicts)
