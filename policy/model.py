"""The loaded policy: what the YAML file said, validated, with names resolved to catalog ids.

A `Policy` is immutable and only comes from `policy.loader`, which has already refused every
mistake, so nothing here validates again. It answers the questions the rest of Cordon asks:
`decide` (the verdict for one proposed action), `usage_windows` (what the caller must count for
the circuit breakers), `cool_off_tripped` (whether the caller should pause automation now) and
`allows` (whether an action is allowed at all).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property, lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from policy import breaker, verdict
from policy.catalog import ActionSpec, forward_of, resolve_action
from policy.condition import Condition

Mode = Literal["observe", "orchestrate", "automate"]
IpNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class ApprovalRule:
    """One `requires_approval` entry. `actions` is None for `"*"` (every action)."""

    index: int
    actions: frozenset[str] | None
    action_text: str
    condition: Condition
    approvers: int = 1

    @property
    def id(self) -> str:
        return f"requires_approval[{self.index}]"

    def applies_to(self, action_id: str) -> bool:
        return self.actions is None or action_id in self.actions

    def describe(self) -> str:
        """`Disable-AzureADUser when user.department == "Finance"`, as the author wrote it."""
        action = "any action" if self.action_text == "*" else self.action_text
        if self.condition.source.strip() == "true":
            return f"{action} always"
        return f"{action} when {self.condition.source}"


@dataclass(frozen=True)
class Limit:
    """A rolling-window circuit breaker: at most `max` executions of `action` ("*": any) per
    `per`."""

    index: int
    action: str
    max: int
    per: timedelta
    per_text: str

    @property
    def id(self) -> str:
        return f"limits[{self.index}]"


@dataclass(frozen=True)
class CoolOff:
    """After `after` executions of any action within `within`, pause automation for `pause`."""

    after: int
    within: timedelta
    pause: timedelta
    within_text: str
    pause_text: str


@dataclass(frozen=True)
class Approvals:
    """Who approves, who administers (pause, resume), how long approvals and undo last."""

    approver_groups: tuple[str, ...] = ()
    admin_groups: tuple[str, ...] = ()
    expires_after: timedelta = timedelta(hours=1)
    undo_window: timedelta = timedelta(hours=24)


@dataclass(frozen=True)
class ForbiddenEntities:
    """Entities no automation may touch, as written; names compare case-insensitively."""

    user_principal_names: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    ip_ranges: tuple[IpNetwork, ...] = ()
    device_tags: tuple[str, ...] = ()

    @cached_property
    def principals_lower(self) -> frozenset[str]:
        return frozenset(upn.lower() for upn in self.user_principal_names)

    @cached_property
    def groups_lower(self) -> frozenset[str]:
        return frozenset(group.lower() for group in self.groups)

    @cached_property
    def device_tags_lower(self) -> frozenset[str]:
        return frozenset(tag.lower() for tag in self.device_tags)

    def range_of(self, address: str) -> IpNetwork | None:
        """The forbidden range `address` touches, or None (also for a string that is no IP).

        `address` may be a prefix as well as an address: a prefix touches a forbidden range
        when the two overlap (blocking 10.0.0.0/16 blocks 10.0.1.0/24 with it). An IPv4-mapped
        IPv6 address (`::ffff:10.0.1.5`) is judged as the IPv4 address it carries.
        """
        text = address.strip() if isinstance(address, str) else ""
        if not self.ip_ranges or not text:
            return None
        network = _network_of(text)
        if network is None:
            return None
        return next((net for net in self.ip_ranges
                     if net.version == network.version and net.overlaps(network)), None)


_IP_CHARACTERS = frozenset("0123456789abcdefABCDEF.:/%")


@lru_cache(maxsize=4096)
def _network_of(text: str) -> IpNetwork | None:
    """`text` as an address or prefix (IPv4-mapped IPv6 unmapped), or None. Kept for the
    addresses an incident storm repeats; names and UPNs are told apart without parsing."""
    if not _IP_CHARACTERS.issuperset(text):
        return None
    try:
        return _unmapped(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return None


def _unmapped(network: IpNetwork) -> IpNetwork:
    """An IPv4-mapped IPv6 prefix (`::ffff:0:0/96` and narrower) as the IPv4 prefix it maps."""
    mapped = getattr(network.network_address, "ipv4_mapped", None)
    if mapped is None or network.prefixlen < 96:
        return network
    return ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}", strict=False)


@dataclass(frozen=True)
class Policy:
    """A validated policy. Build it with `policy.loader.load_policy`, not by hand."""

    allowed_actions: frozenset[str]
    allowed_as_written: tuple[str, ...]
    forbidden: ForbiddenEntities = field(default_factory=ForbiddenEntities)
    rules: tuple[ApprovalRule, ...] = ()
    mode: Mode = "automate"
    dry_run: bool = False
    timezone: str = "UTC"
    min_confidence: float = 0.85
    escalate_below: float = 0.5
    limits: tuple[Limit, ...] = ()
    cool_off: CoolOff | None = None
    approvals: Approvals = field(default_factory=Approvals)
    source: str = "policy"

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def allows(self, action: str | ActionSpec) -> bool:
        """Whether the action (an inverse: its forward action) is in `allowed_actions`."""
        spec = resolve_action(action) if isinstance(action, str) else action
        if spec is None:
            return False
        return spec.id in self.allowed_actions or forward_of(spec).id in self.allowed_actions

    def decide(self, context: Mapping[str, Any], usage: breaker.Usage) -> verdict.Decision:
        """The verdict for one proposed action; see `policy.verdict` for the order of checks."""
        return verdict.decide(self, context, usage)

    def usage_windows(self) -> list[breaker.UsageWindow]:
        """What the caller must count (executed or executing) for the circuit breakers."""
        return breaker.usage_windows(self)

    def cool_off_tripped(self, usage: breaker.Usage) -> bool:
        """True when the executions in `cool_off.within` reached `after`: pause for `pause`."""
        return breaker.cool_off_tripped(self, usage)
