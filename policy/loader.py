"""Reading a policy file: every mistake found in one pass, each with its line, or a `Policy`.

`check_policy` parses the YAML with ruamel's round-trip loader (which remembers where every key
and value stood) and walks it against the format DESIGN.md describes: the seed keys
(`allowed_actions`, `forbidden_entities`, `requires_approval`) and the extensions (`mode`,
`dry_run`, `timezone`, `min_confidence`, `escalate_below`, `limits`, `cool_off`, `approvals`).
It does not stop at the first mistake: unknown keys, wrong types, action names the catalog does
not know (with the closest known name), CEL that does not compile (with the compiler's words)
or reads variables Cordon never provides, bad IP ranges, durations and timezones, approver
counts below one, `escalate_below` above `min_confidence`: each is one `Problem`.

`load_policy` and `load_policy_text` give the `Policy`, or raise one `PolicyError` listing every
problem. An empty list where a list is expected means "none" (`groups:` with nothing under it);
a missing `allowed_actions` is a mistake, since a policy that allows nothing by omission is
rarely what its author meant.
"""

from __future__ import annotations

import difflib
import ipaddress
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from policy.catalog import resolve_action, suggest_action
from policy.condition import Condition, ConditionError
from policy.duration import parse_duration
from policy.model import (
    ApprovalRule,
    Approvals,
    CoolOff,
    ForbiddenEntities,
    Limit,
    Policy,
)
from policy.problem import PolicyError, Problem

ROOT = "autonomous_response_policy"
_SECTIONS = ("allowed_actions", "forbidden_entities", "requires_approval", "mode", "dry_run",
             "timezone", "min_confidence", "escalate_below", "limits", "cool_off", "approvals")
_FORBIDDEN = ("user_principal_names", "groups", "ip_ranges", "device_tags")
_RULE = ("action", "condition", "approvers")
_LIMIT = ("action", "max", "per")
_COOL_OFF = ("after", "within", "pause")
_APPROVALS = ("approver_groups", "admin_groups", "expires_after", "undo_window")
_MODES = ("observe", "orchestrate", "automate")

Where = tuple[int, int]


def check_policy(source: str | Path, name: str | None = None) -> list[Problem]:
    """Every mistake in a policy, given as a path or as YAML text; empty when it is sound."""
    return _read_source(source, name)[1]


def load_policy(path: str | Path) -> Policy:
    """The policy in the file at `path`, or PolicyError listing every mistake in it."""
    policy, problems = _read_source(Path(path), None)
    if problems or policy is None:
        raise PolicyError(problems, str(path))
    return policy


def load_policy_text(text: str, name: str = "policy.yaml") -> Policy:
    """The policy in `text` (named `name` in errors), or PolicyError listing every mistake."""
    policy, problems = _Reader(name).read(text)
    if problems or policy is None:
        raise PolicyError(problems, name)
    return policy


def _read_source(source: str | Path, name: str | None) -> tuple[Policy | None, list[Problem]]:
    is_path = isinstance(source, Path) or ("\n" not in source and (
        source.endswith((".yaml", ".yml")) or Path(source).is_file()))
    if not is_path:
        return _Reader(name or "policy.yaml").read(str(source))

    path = Path(source)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(1, 1, "", f"cannot read the policy file: {exc}")]
    return _Reader(name or str(path)).read(text)


class _Reader:
    """One pass over one document, collecting problems as it builds the policy."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[Problem] = []

    def report(self, where: Where, path: str, message: str) -> None:
        self.problems.append(Problem(where[0], where[1], path, message))

    def read(self, text: str) -> tuple[Policy | None, list[Problem]]:
        try:
            document = YAML(typ="rt").load(text)
        except MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            where = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            message = " ".join(str(part) for part in (exc.context, exc.problem) if part)
            return None, [Problem(*where, "", f"not valid YAML: {message}")]
        except YAMLError as exc:
            return None, [Problem(1, 1, "", f"not valid YAML: {exc}")]

        root = self._root(document)
        if root is None:
            return None, self.problems
        policy = self._policy(root)
        self.problems.sort(key=lambda p: (p.line, p.column))
        return (None if self.problems else policy), self.problems

    def _root(self, document: Any) -> CommentedMap | None:
        if not isinstance(document, CommentedMap):
            self.report((1, 1), "", f"the policy must be a mapping with the key {ROOT}")
            return None

        self._unknown_keys(document, (ROOT,), "")
        if ROOT not in document:
            self.report((1, 1), "", f"{ROOT} is missing: the policy goes under that key")
            return None

        root = document[ROOT]
        if not isinstance(root, CommentedMap):
            self.report(_value_at(document, ROOT), ROOT,
                        "must be a mapping of allowed_actions, forbidden_entities, ...")
            return None
        return root

    def _policy(self, root: CommentedMap) -> Policy:
        self._unknown_keys(root, _SECTIONS, "")
        allowed = self._allowed_actions(root)
        min_confidence = self._fraction(root, "min_confidence", 0.85)
        escalate_below = self._fraction(root, "escalate_below", 0.5)
        if escalate_below > min_confidence:
            self.report(_value_at(root, "escalate_below"), "escalate_below",
                        f"{escalate_below} is above min_confidence {min_confidence}: an action "
                        "would be escalated before it could ever need approval")

        return Policy(
            allowed_actions=frozenset(spec_id for spec_id, _ in allowed),
            allowed_as_written=tuple(text for _, text in allowed),
            forbidden=self._forbidden(root),
            rules=self._rules(root),
            mode=self._choice(root, "mode", _MODES, "automate"),
            dry_run=self._boolean(root, "dry_run", False),
            timezone=self._timezone(root),
            min_confidence=min_confidence,
            escalate_below=escalate_below,
            limits=self._limits(root),
            cool_off=self._cool_off(root),
            approvals=self._approvals(root),
            source=self.name,
        )

    # sections

    def _allowed_actions(self, root: CommentedMap) -> list[tuple[str, str]]:
        if "allowed_actions" not in root:
            self.report((root.lc.line + 1, root.lc.col + 1), "allowed_actions",
                        "allowed_actions is missing: list the actions Cordon may take "
                        "(an empty list allows none)")
            return []

        allowed = []
        for index, item, where in self._list(root, "allowed_actions", "action names"):
            spec = self._action(item, where, f"allowed_actions[{index}]")
            if spec is not None:
                allowed.append((spec, str(item)))
        return allowed

    def _forbidden(self, root: CommentedMap) -> ForbiddenEntities:
        section = self._mapping(root, "forbidden_entities", _FORBIDDEN)
        if section is None:
            return ForbiddenEntities()

        path = "forbidden_entities"
        upns = []
        for index, item, where in self._strings(section, "user_principal_names", path):
            if "@" not in item:
                self.report(where, f"{path}.user_principal_names[{index}]",
                            f"{item!r} is not a user principal name (name@domain)")
            upns.append(item)

        ranges = []
        for index, item, where in self._strings(section, "ip_ranges", path):
            network = self._network(item, where, f"{path}.ip_ranges[{index}]")
            if network is not None:
                ranges.append(network)

        return ForbiddenEntities(
            user_principal_names=tuple(upns),
            groups=tuple(g for _, g, _ in self._strings(section, "groups", path)),
            ip_ranges=tuple(ranges),
            device_tags=tuple(t for _, t, _ in self._strings(section, "device_tags", path)),
        )

    def _rules(self, root: CommentedMap) -> tuple[ApprovalRule, ...]:
        rules = []
        for index, item, where in self._list(root, "requires_approval", "rules"):
            path = f"requires_approval[{index}]"
            if not isinstance(item, CommentedMap):
                self.report(where, path, "a rule must be a mapping with action and condition")
                continue
            self._unknown_keys(item, _RULE, path)
            actions, text = self._rule_actions(item, where, path)
            condition = self._condition(item, path)
            approvers = self._count(item, "approvers", path, default=1,
                                    meaning="distinct approvers")
            if condition is not None and text:
                rules.append(ApprovalRule(index, actions, text, condition, approvers))
        return tuple(rules)

    def _rule_actions(
        self, rule: CommentedMap, where: Where, path: str,
    ) -> tuple[frozenset[str] | None, str]:
        if "action" not in rule:
            self.report(where, path, "the rule has no action (a name, a list of names or \"*\")")
            return frozenset(), ""

        value = rule["action"]
        if value == "*":
            return None, "*"
        if isinstance(value, str):
            spec = self._action(value, _value_at(rule, "action"), f"{path}.action")
            return frozenset({spec}) if spec else frozenset(), str(value)
        if not isinstance(value, CommentedSeq) or not value:
            self.report(_value_at(rule, "action"), f"{path}.action",
                        "must be an action name, a list of action names or \"*\"")
            return frozenset(), ""

        ids: set[str] = set()
        for index, item in enumerate(value):
            if item == "*":
                return None, "*"
            spec = self._action(item, _item_at(value, index), f"{path}.action[{index}]")
            if spec is not None:
                ids.add(spec)
        return frozenset(ids), " or ".join(str(item) for item in value)

    def _condition(self, rule: CommentedMap, path: str) -> Condition | None:
        value = rule.get("condition", "true")
        where = _value_at(rule, "condition") if "condition" in rule else (1, 1)
        if isinstance(value, bool):
            value = "true" if value else "false"
        if not isinstance(value, str) or not value.strip():
            self.report(where, f"{path}.condition", "must be a CEL expression, written as text")
            return None

        try:
            condition = Condition.compile(str(value))
        except ConditionError as exc:
            self.report(where, f"{path}.condition", str(exc))
            return None

        for message in condition.lint():
            self.report(where, f"{path}.condition", message)
        return condition

    def _limits(self, root: CommentedMap) -> tuple[Limit, ...]:
        limits = []
        for index, item, where in self._list(root, "limits", "limits"):
            path = f"limits[{index}]"
            if not isinstance(item, CommentedMap):
                self.report(where, path, "a limit must be a mapping with action, max and per")
                continue
            self._unknown_keys(item, _LIMIT, path)
            self._require(item, _LIMIT, where, path)
            action = self._limit_action(item, path)
            most = self._count(item, "max", path, default=1, meaning="executions")
            per = self._duration(item, "per", path, default=0)
            if action and per:
                limits.append(Limit(index, action, most, timedelta(seconds=per),
                                    str(item["per"])))
        return tuple(limits)

    def _limit_action(self, limit: CommentedMap, path: str) -> str | None:
        value = limit.get("action")
        if value is None or value == "*":
            return "*" if value == "*" else None
        if not isinstance(value, str):
            self.report(_value_at(limit, "action"), f"{path}.action",
                        "must be one action name or \"*\" (every action)")
            return None
        return self._action(value, _value_at(limit, "action"), f"{path}.action")

    def _cool_off(self, root: CommentedMap) -> CoolOff | None:
        section = self._mapping(root, "cool_off", _COOL_OFF)
        if section is None:
            return None
        self._require(section, _COOL_OFF, _value_at(root, "cool_off"), "cool_off")
        after = self._count(section, "after", "cool_off", default=1, meaning="executions")
        within = self._duration(section, "within", "cool_off", default=0)
        pause = self._duration(section, "pause", "cool_off", default=0)
        if not (within and pause):
            return None
        return CoolOff(after, timedelta(seconds=within), timedelta(seconds=pause),
                       str(section["within"]), str(section["pause"]))

    def _approvals(self, root: CommentedMap) -> Approvals:
        section = self._mapping(root, "approvals", _APPROVALS)
        if section is None:
            return Approvals()
        return Approvals(
            approver_groups=tuple(g for _, g, _ in
                                  self._strings(section, "approver_groups", "approvals")),
            admin_groups=tuple(g for _, g, _ in
                               self._strings(section, "admin_groups", "approvals")),
            expires_after=timedelta(seconds=self._duration(
                section, "expires_after", "approvals", default=3600)),
            undo_window=timedelta(seconds=self._duration(
                section, "undo_window", "approvals", default=86400)),
        )

    def _timezone(self, root: CommentedMap) -> str:
        if "timezone" not in root:
            return "UTC"
        value = root["timezone"]
        where = _value_at(root, "timezone")
        if not isinstance(value, str):
            self.report(where, "timezone", "must be an IANA timezone name like Europe/Berlin")
            return "UTC"

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            close = difflib.get_close_matches(value, sorted(available_timezones()), n=1)
            hint = f"; did you mean {close[0]}?" if close else " (like Europe/Berlin or UTC)"
            self.report(where, "timezone", f"{value!r} is not an IANA timezone{hint}")
            return "UTC"
        return value

    # values

    def _action(self, name: Any, where: Where, path: str) -> str | None:
        """The canonical id `name` stands for, or None after reporting it."""
        if not isinstance(name, str):
            self.report(where, path, f"expected an action name, got {name!r}")
            return None
        spec = resolve_action(name)
        if spec is not None:
            return spec.id

        suggestion = suggest_action(name)
        hint = f"; did you mean {suggestion}?" if suggestion else ""
        self.report(where, path, f"unknown action {name!r}: the catalog does not know it{hint}")
        return None

    def _network(self, text: str, where: Where, path: str) -> Any:
        try:
            return ipaddress.ip_network(text.strip(), strict=True)
        except ValueError as exc:
            try:
                loose = ipaddress.ip_network(text.strip(), strict=False)
            except ValueError:
                self.report(where, path, f"{text!r} is not an IP range in CIDR form ({exc})")
                return None
            self.report(where, path, f"{text} has host bits set; did you mean {loose}?")
            return None

    def _fraction(self, section: CommentedMap, key: str, default: float) -> float:
        if key not in section:
            return default
        value = section[key]
        where = _value_at(section, key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.report(where, key, f"must be a number between 0 and 1, got {value!r}")
            return default
        if not 0 <= value <= 1:
            self.report(where, key, f"must be between 0 and 1, got {value}")
            return default
        return float(value)

    def _count(
        self, section: CommentedMap, key: str, path: str, default: int, meaning: str,
    ) -> int:
        if key not in section:
            return default
        value = section[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.report(_value_at(section, key), f"{path}.{key}",
                        f"must be a whole number of {meaning}, at least 1, got {value!r}")
            return default
        return value

    def _duration(self, section: CommentedMap, key: str, path: str, default: int) -> int:
        if key not in section:
            return default
        try:
            return parse_duration(section[key])
        except ValueError as exc:
            self.report(_value_at(section, key), f"{path}.{key}", str(exc))
            return default

    def _boolean(self, section: CommentedMap, key: str, default: bool) -> bool:
        if key not in section:
            return default
        value = section[key]
        if not isinstance(value, bool):
            self.report(_value_at(section, key), key, f"must be true or false, got {value!r}")
            return default
        return value

    def _choice(self, section: CommentedMap, key: str, choices: tuple[str, ...], default: str):
        if key not in section:
            return default
        value = section[key]
        if value not in choices:
            self.report(_value_at(section, key), key,
                        f"must be one of {', '.join(choices)}, got {value!r}")
            return default
        return value

    # shapes

    def _mapping(
        self, parent: CommentedMap, key: str, known: tuple[str, ...],
    ) -> CommentedMap | None:
        if key not in parent or parent[key] is None:
            return None
        section = parent[key]
        if not isinstance(section, CommentedMap):
            self.report(_value_at(parent, key), key,
                        f"must be a mapping with {', '.join(known)}")
            return None
        self._unknown_keys(section, known, key)
        return section

    def _list(self, parent: CommentedMap, key: str, what: str):
        """`(index, item, where)` for each item of the list under `key` (None: no items)."""
        value = parent.get(key)
        if value is None:
            return
        if not isinstance(value, CommentedSeq):
            self.report(_value_at(parent, key), key, f"must be a list of {what}")
            return
        for index, item in enumerate(value):
            yield index, item, _item_at(value, index)

    def _strings(self, section: CommentedMap, key: str, path: str):
        """`(index, text, where)` for each string in the list under `key`."""
        full = f"{path}.{key}"
        value = section.get(key)
        if value is None:
            return
        if not isinstance(value, CommentedSeq):
            self.report(_value_at(section, key), full, "must be a list of names")
            return
        for index, item in enumerate(value):
            if isinstance(item, str) and item.strip():
                yield index, str(item).strip(), _item_at(value, index)
            else:
                self.report(_item_at(value, index), f"{full}[{index}]",
                            f"expected a name, got {item!r}")

    def _require(self, section: CommentedMap, keys: tuple[str, ...], where: Where, path: str):
        for key in keys:
            if key not in section:
                self.report(where, path, f"{key} is missing (needs {', '.join(keys)})")

    def _unknown_keys(self, section: CommentedMap, known: tuple[str, ...], path: str) -> None:
        for key in section:
            if key in known:
                continue
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; known: {', '.join(known)}"
            self.report(_key_at(section, key), f"{path}.{key}" if path else str(key),
                        f"unknown key {key!r}{hint}")


def _key_at(section: CommentedMap, key: Any) -> Where:
    line, column = section.lc.key(key)
    return line + 1, column + 1


def _value_at(section: CommentedMap, key: Any) -> Where:
    line, column = section.lc.value(key)
    return line + 1, column + 1


def _item_at(seq: CommentedSeq, index: int) -> Where:
    line, column = seq.lc.item(index)
    return line + 1, column + 1
