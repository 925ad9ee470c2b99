"""The OData query options the sandbox understands: `$filter`, `$select`, `$top`, `$skiptoken`,
`$orderby`, as Graph and Defender for Endpoint receive them.

`$filter` accepts comparisons joined by `and` or by `or` (not both in one expression):
`field eq 'text'`, `field ne 'text'`, `field eq 3`, `field eq true`, `field ge 2026-11-30T00:00:00Z`
(also `gt`, `lt`, `le`), `startswith(field, 'text')` and `field in ('a', 'b')`. A field may be a
path (`senderDetail/fromAddress`). Text comparisons ignore case, as directory properties do in
Graph. Anything else is refused with `InvalidFilter`, which the API modules turn into their
400: a filter the sandbox cannot evaluate must never silently match everything.

Limitation: no parentheses, no `not`, no lambda operators (`any`, `all`), no functions other
than `startswith`. Cordon's clients do not send them; a client that does gets a 400 here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]
Predicate = Callable[[Json], bool]

_COMPARISON = re.compile(
    r"^\s*(?P<field>[A-Za-z_][\w/]*)\s+(?P<op>eq|ne|ge|gt|le|lt)\s+(?P<value>.+?)\s*$"
)
_STARTSWITH = re.compile(
    r"^\s*startswith\(\s*(?P<field>[A-Za-z_][\w/]*)\s*,\s*'(?P<value>(?:[^']|'')*)'\s*\)\s*$"
)
_IN = re.compile(r"^\s*(?P<field>[A-Za-z_][\w/]*)\s+in\s+\((?P<values>.*)\)\s*$")
_SPLIT = re.compile(r"\s+(and|or)\s+(?=(?:[^']*'[^']*')*[^']*$)")


class InvalidFilter(ValueError):
    """The `$filter` is outside what the sandbox evaluates; the message says what was not."""


def field_value(item: Json, path: str) -> Any:
    """The value at a `/`-separated path in `item`, or None."""
    current: Any = item
    for part in path.split("/"):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


def parse_literal(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == "'" and text[-1] == "'":
        return text[1:-1].replace("''", "'")
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    if re.fullmatch(r"-?\d+\.\d+", text):
        return float(text)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}(T[\d:.]+Z?)?", text):
        return text
    raise InvalidFilter(f"cannot read the value {text!r}; quote text as 'text'")


def _normal(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _compare(op: str, actual: Any, expected: Any) -> bool:
    actual, expected = _normal(actual), _normal(expected)
    if op == "eq":
        return actual == expected
    if op == "ne":
        return actual != expected
    if actual is None or expected is None:
        return False
    try:
        if op == "ge":
            return actual >= expected
        if op == "gt":
            return actual > expected
        if op == "le":
            return actual <= expected
        return actual < expected
    except TypeError:
        return False


def _clause(text: str) -> Predicate:
    if match := _STARTSWITH.match(text):
        path, prefix = match["field"], match["value"].replace("''", "'").lower()
        return lambda item: str(field_value(item, path) or "").lower().startswith(prefix)

    if match := _IN.match(text):
        path = match["field"]
        values = {_normal(parse_literal(v)) for v in match["values"].split(",") if v.strip()}
        return lambda item: _normal(field_value(item, path)) in values

    if match := _COMPARISON.match(text):
        path, op, expected = match["field"], match["op"], parse_literal(match["value"])
        return lambda item: _compare(op, field_value(item, path), expected)

    raise InvalidFilter(f"unsupported filter clause {text.strip()!r}")


def parse_filter(expression: str) -> Predicate:
    """A predicate for a `$filter` expression; raises `InvalidFilter` when it cannot."""
    if not expression.strip():
        raise InvalidFilter("the $filter is empty")
    if "(" in _strip_strings(expression).replace("startswith(", "").replace(" in (", ""):
        raise InvalidFilter("parentheses are not supported in $filter")

    parts = _SPLIT.split(expression)
    clauses = [_clause(p) for p in parts[::2]]
    joiners = set(parts[1::2])
    if len(joiners) > 1:
        raise InvalidFilter("mixing 'and' with 'or' needs parentheses, which are not supported")
    if joiners == {"or"}:
        return lambda item: any(c(item) for c in clauses)
    return lambda item: all(c(item) for c in clauses)


def _strip_strings(text: str) -> str:
    return re.sub(r"'(?:[^']|'')*'", "''", text)


@dataclass(frozen=True)
class QueryOptions:
    """The OData options of one request, parsed and checked."""

    predicate: Predicate | None
    select: tuple[str, ...]
    top: int | None
    skip: int
    order_by: tuple[str, bool] | None

    def apply(self, items: Iterable[Json]) -> tuple[list[Json], int | None]:
        """Filter, order and page `items`; returns the page and the next offset, if any."""
        rows = [i for i in items if self.predicate is None or self.predicate(i)]
        if self.order_by:
            path, descending = self.order_by
            rows.sort(key=lambda i: str(field_value(i, path) or ""), reverse=descending)
        end = None if self.top is None else self.skip + self.top
        page = rows[self.skip:end]
        more = end is not None and end < len(rows)
        return page, (end if more else None)

    def project(self, item: Json) -> Json:
        """`item` reduced to the `$select`ed properties (plus OData annotations and id)."""
        if not self.select:
            return item
        keep = set(self.select) | {"id"}
        return {k: v for k, v in item.items() if k in keep or k.startswith("@odata.")}


def query_options(query: dict[str, str], max_top: int = 999) -> QueryOptions:
    """Parse `$filter`, `$select`, `$top`, `$skiptoken`/`$skip` and `$orderby` from a query."""
    predicate = parse_filter(query["$filter"]) if "$filter" in query else None
    select = tuple(s.strip() for s in query.get("$select", "").split(",") if s.strip())
    top = _number(query, "$top")
    if top is not None and not 1 <= top <= max_top:
        raise InvalidFilter(f"$top must be between 1 and {max_top}, got {top}")
    skip = _number(query, "$skiptoken") or _number(query, "$skip") or 0
    if skip < 0:
        raise InvalidFilter(f"$skip and $skiptoken cannot be negative, got {skip}")
    order_by = None
    if order := query.get("$orderby", "").strip():
        field, _, direction = order.partition(" ")
        if direction.strip().lower() not in ("", "asc", "desc"):
            raise InvalidFilter(f"$orderby direction must be asc or desc, got {direction!r}")
        order_by = (field, direction.strip().lower() == "desc")
    return QueryOptions(predicate, select, top, skip, order_by)


def _number(query: dict[str, str], name: str) -> int | None:
    if name not in query:
        return None
    try:
        return int(query[name])
    except ValueError:
        raise InvalidFilter(f"{name} must be a whole number, got {query[name]!r}") from None
