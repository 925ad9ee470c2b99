"""Circuit breakers: the policy's `limits` and `cool_off`, judged on counts the caller keeps.

The policy never counts. Executions live in the database, where every replica sees them, so
the caller asks `usage_windows()` what to count (executions of an action id, or of `"*"` any
action, in a rolling window of so many seconds), counts actions executed or executing in each,
and hands the counts back in a `Usage` with the admin's pause and any cool-off it persisted.

A breaker only ever takes automation away: a tripped limit, an active cool-off or a pause turns
`auto` into `approval` with a reason that names it, never the reverse. A window the caller did
not count is judged as reached (fail closed), and the reason says the count was missing.
`cool_off_tripped` tells the caller when to persist `cool_off_until = now + pause`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policy.model import Policy


@dataclass(frozen=True)
class UsageWindow:
    """Count executions of `action` (a canonical id, or "*" for any) in the last `seconds`."""

    action: str
    seconds: int

    @property
    def key(self) -> tuple[str, int]:
        return (self.action, self.seconds)


@dataclass(frozen=True)
class Usage:
    """The counts for `usage_windows()`, keyed `(action or "*", seconds)`, and pause state."""

    executed: Mapping[tuple[str, int], int] = field(default_factory=dict)
    paused: bool = False
    paused_by: str = ""
    cool_off_until: datetime | None = None

    @classmethod
    def nothing_executed(cls, policy: Policy) -> Usage:
        """Zero in every window the policy counts: a fresh deployment, or a test."""
        return cls(executed={window.key: 0 for window in usage_windows(policy)})


def usage_windows(policy: Policy) -> list[UsageWindow]:
    """Every window the breakers need counted, each once, limits first."""
    windows = [UsageWindow(limit.action, _seconds(limit.per)) for limit in policy.limits]
    if policy.cool_off is not None:
        windows.append(UsageWindow("*", _seconds(policy.cool_off.within)))
    return list(dict.fromkeys(windows))


def cool_off_tripped(policy: Policy, usage: Usage) -> bool:
    """True when the executions within `cool_off.within` reached `cool_off.after`."""
    if policy.cool_off is None:
        return False
    count = usage.executed.get(("*", _seconds(policy.cool_off.within)))
    return count is not None and count >= policy.cool_off.after


def tripped_breakers(
    policy: Policy, action_id: str, usage: Usage, now: datetime,
) -> list[tuple[str, str]]:
    """`(rule id, reason)` for every breaker that keeps `action_id` from running on its own."""
    tripped = []
    if usage.paused:
        who = f" by {usage.paused_by}" if usage.paused_by else ""
        tripped.append(("paused", f"automation is paused{who}; every action needs approval"))

    for limit in policy.limits:
        if limit.action not in ("*", action_id):
            continue
        what = "actions" if limit.action == "*" else limit.action
        rule = f"{limit.id}: {limit.max} {what} per {limit.per_text}"
        count = usage.executed.get((limit.action, _seconds(limit.per)))
        if count is None:
            tripped.append((limit.id, f"{rule}: no count was given, so it counts as reached"))
        elif count >= limit.max:
            tripped.append((limit.id, f"{rule} reached ({count} executed)"))

    cool_off = _cool_off_reason(policy, usage, now)
    if cool_off:
        tripped.append(("cool_off", cool_off))
    return tripped


def _cool_off_reason(policy: Policy, usage: Usage, now: datetime) -> str | None:
    cool = policy.cool_off
    if cool is None:
        return None

    rule = f"cool_off: {cool.after} actions within {cool.within_text}"
    until = usage.cool_off_until
    if until is not None:
        until = until if until.tzinfo else until.replace(tzinfo=UTC)
        if now < until:
            local = until.astimezone(policy.zone).strftime("%Y-%m-%d %H:%M %Z")
            return f"{rule} tripped; automation paused until {local}"

    count = usage.executed.get(("*", _seconds(cool.within)))
    if count is None:
        return f"{rule}: no count was given, so it counts as reached"
    if count >= cool.after:
        return f"{rule} reached ({count} executed); automation pauses for {cool.pause_text}"
    return None


def _seconds(window: timedelta) -> int:
    return int(window.total_seconds())
