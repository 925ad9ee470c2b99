"""A `requires_approval` condition: a CEL expression compiled once, checked, and evaluated.

`Condition.compile` parses the expression with the `cel` package and refuses one that does not
parse, with the compiler's own message. `lint` then names what would only fail at run time: a
variable Cordon never provides (`usr.department`), a field of a fixed-shape variable that does
not exist (`action.cout`), a function the evaluator does not have (`lowerAscii`).

`evaluate` answers whether the condition holds for a decision's variables. It never raises: an
expression that cannot be evaluated (a key the user record lacks, a type mismatch, a result
that is not true or false) counts as matched, so the action falls to a human, and the outcome
says why. Before evaluating, each variable is cut down to the fields the expression reads:
converting a whole Graph user into CEL values costs more than the evaluation itself.

Limitation: the fields read are found by a scan of the source (`user.department`), not by the
compiler. An expression that reaches a variable another way (`user["department"]`, or the
variable on its own) is given the whole variable, which is correct and merely slower.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

import cel

VARIABLES = ("action", "incident", "confidence", "risk", "user", "device", "ip", "now")

FIELDS_OF: dict[str, tuple[str, ...]] = {
    "action": ("name", "target", "impact", "reversible", "count"),
    "incident": ("severity", "title", "labels", "tactics", "provider", "alertCount"),
    "ip": ("address", "internal", "reputation", "score"),
    "now": ("hour", "minute", "weekday", "date"),
}

_TYPE_NAMES = {"int", "uint", "double", "string", "bool", "bytes", "list", "map", "null_type",
               "type", "dyn"}
_FUNCTIONS = {
    "size", "contains", "startsWith", "endsWith", "matches", "int", "uint", "double", "string",
    "bytes", "timestamp", "duration", "type", "dyn", "getFullYear", "getMonth", "getDate",
    "getDayOfMonth", "getDayOfWeek", "getDayOfYear", "getHours", "getMinutes", "getSeconds",
    "getMilliseconds",
}
_STRING_LITERAL = re.compile(
    r"""[rRbB]?(?:\"\"\"[\s\S]*?\"\"\"|'''[\s\S]*?'''|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')""")
_COMPREHENSION_VAR = re.compile(
    r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_]\w*)\s*,")


class ConditionError(ValueError):
    """The expression does not compile; the message is the compiler's."""


@dataclass(frozen=True)
class Outcome:
    """Whether a condition matched, and, when it could not be evaluated, why."""

    matched: bool
    error: str | None = None


class Condition:
    """One compiled CEL condition and the variables (and their fields) it reads."""

    def __init__(self, source: str, program: cel.Program) -> None:
        self.source = source
        self._program = program
        code = _STRING_LITERAL.sub('""', source)
        self._locals = set(_COMPREHENSION_VAR.findall(code))
        self._code = code
        names = set(program.variables()) - self._locals - _TYPE_NAMES
        self.variables = tuple(sorted(names))
        self._needs = {name: _fields_read(code, name) for name in names if name in VARIABLES}

    @classmethod
    def compile(cls, source: str) -> Condition:
        """Compile `source`, or raise ConditionError with the compiler's message."""
        try:
            program = cel.compile(source)
        except (ValueError, RuntimeError) as exc:
            raise ConditionError(_compiler_message(str(exc))) from exc
        return cls(source, program)

    def lint(self) -> list[str]:
        """Mistakes the compiler lets through but evaluation would trip on, one sentence each."""
        problems = []
        for name in self.variables:
            if name not in VARIABLES:
                problems.append(_unknown("variable", name, VARIABLES))

        for name, fields in self._needs.items():
            known = FIELDS_OF.get(name)
            if known is None or fields is None:
                continue
            problems.extend(_unknown("field", f"{name}.{field}", known,
                                     prefix=f"{name}.")
                            for field in sorted(fields) if field not in known)

        for name in self._program.functions():
            if name[0] in "_@!" or name in _FUNCTIONS:
                continue
            problems.append(
                f"unknown function {name}(); the functions are size, contains, startsWith, "
                "endsWith, matches, int, uint, double, string, timestamp, duration and the "
                "timestamp getters (getHours, getDayOfWeek, ...)")
        return problems

    def evaluate(self, variables: dict[str, Any]) -> Outcome:
        """Evaluate against a decision's variables; any failure is a match with its reason."""
        activation = {}
        for name, fields in self._needs.items():
            value = variables.get(name, {})
            if fields is not None and isinstance(value, dict):
                value = {f: value[f] for f in fields if f in value}
            activation[name] = value

        try:
            result = self._program.execute(activation)
        except Exception as exc:  # every evaluator failure fails closed
            return Outcome(True, _evaluation_message(exc))

        if result is True or result is False:
            return Outcome(result)
        return Outcome(True, f"it returned {result!r}, not true or false")


def _fields_read(code: str, name: str) -> frozenset[str] | None:
    """The fields of `name` that `code` reads, or None when it uses the variable otherwise."""
    fields = set()
    for match in re.finditer(rf"(?<![\w.]){re.escape(name)}\b", code):
        rest = re.match(r"\s*\.\s*([A-Za-z_]\w*)(\s*\()?", code[match.end():])
        if rest is None or rest.group(2):
            return None
        fields.add(rest.group(1))
    return frozenset(fields)


def _unknown(what: str, name: str, known: tuple[str, ...], prefix: str = "") -> str:
    candidates = [prefix + k for k in known]
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(candidates)}"
    return f"unknown {what} {name}{hint}"


def _compiler_message(text: str) -> str:
    """The compiler's complaints, each with its place in the expression, on one line."""
    errors = re.findall(r"ERROR: <input>:(\d+):(\d+): ([^\n]+)", text)
    if not errors:
        return f"does not compile: {text.strip().splitlines()[0]}"
    return "does not compile: " + "; ".join(
        f"{message.strip()} (at column {column} of the expression)"
        for _line, column, message in errors)


def _evaluation_message(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"no such key {exc.args[0]!r}"
    first = str(exc).split(". ")[0].rstrip(".")
    return first or type(exc).__name__
