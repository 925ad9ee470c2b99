"""The verdict on one proposed action, with the reasons that produced it.

`decide` applies DESIGN.md's order, and the first step that speaks wins:

1. the action is unknown or not in `allowed_actions` (an inverse counts as allowed when its
   forward action is) → `denied`;
2. any entity in the context is forbidden (`policy.context.entities` lists what is looked at:
   the target and the host of a URL target, every user's principal name and groups, every
   address, every device's tags) → `denied`, and the incident is escalated to humans;
3. confidence below `escalate_below` → `escalated`;
4. `mode: observe` → `observed` (its reasons say what the verdict would have been);
5. any `requires_approval` rule matches (all of them are evaluated and named; the most
   approvers any asks for is required), confidence below `min_confidence` or not given,
   automation paused, a limit or the cool-off tripped, or `mode: orchestrate` and the action is
   not low impact → `approval`;
6. otherwise → `auto`.

Rules and limits name actions exactly: a rule on `disable_user` does not cover its undo,
`enable_user`; a policy that wants undo gated names the inverse, or `"*"`.

Every reason is a sentence naming the rule it comes from (`requires_approval[0] (...) matched`,
`limits[0]: 10 disable_user per 24h reached (10 executed)`), and `rules` lists their ids. The
decision is pure: the same context, usage and time give the same verdict. `dry_run` is not
judged here; it changes how an `auto` or approved action executes, not whether it may.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from policy import context as ctx
from policy.breaker import Usage, tripped_breakers
from policy.catalog import ActionSpec, forward_of, resolve_action

if TYPE_CHECKING:
    from policy.model import Policy

VerdictKind = Literal["auto", "approval", "denied", "escalated", "observed"]


@dataclass(frozen=True)
class Decision:
    """The policy's answer for one action. `action` is its canonical id ("" if unknown)."""

    verdict: VerdictKind
    reasons: tuple[str, ...]
    rules: tuple[str, ...] = ()
    approvers_required: int = 0
    escalate_incident: bool = False
    action: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The fields of `core.models.Verdict`, as plain lists."""
        return {"verdict": self.verdict, "reasons": list(self.reasons),
                "rules": list(self.rules), "approvers_required": self.approvers_required,
                "escalate_incident": self.escalate_incident}


def decide(policy: Policy, context: Mapping[str, Any], usage: Usage) -> Decision:
    """The verdict for the action in `context` under `policy`, given the breakers' `usage`."""
    name = str(ctx.action_of(context).get("name", ""))
    spec = resolve_action(name)
    if spec is None:
        return Decision("denied", (f"{name or 'an unnamed action'} is not an action in "
                                   "Cordon's catalog",), ("allowed_actions",))

    if not policy.allows(spec):
        return Decision("denied", (_not_allowed(spec),), ("allowed_actions",), action=spec.id)

    forbidden = _forbidden(policy, context)
    if forbidden:
        return Decision("denied", tuple(reason for _, reason in forbidden),
                        tuple(dict.fromkeys(rule for rule, _ in forbidden)),
                        escalate_incident=True, action=spec.id)

    confidence = _confidence(context)
    if confidence is not None and confidence < policy.escalate_below:
        return Decision("escalated", (f"confidence {confidence:.2f} is below escalate_below "
                                      f"{policy.escalate_below:.2f}; humans take the incident",),
                        ("escalate_below",), escalate_incident=True, action=spec.id)

    now = ctx.moment(context)
    needs_approval, approvers = _approval(policy, spec, context, confidence, usage, now)
    if policy.mode == "observe":
        return _observed(spec, needs_approval)

    if needs_approval:
        return Decision("approval", tuple(reason for _, reason in needs_approval),
                        tuple(dict.fromkeys(rule for rule, _ in needs_approval)),
                        approvers_required=approvers, action=spec.id)

    return Decision("auto", (_auto_reason(policy, spec, confidence),), ("allowed_actions",),
                    action=spec.id)


def _not_allowed(spec: ActionSpec) -> str:
    if spec.is_inverse:
        return (f"{spec.id} undoes {spec.forward}, and neither is in allowed_actions")
    return f"{spec.id} is not in allowed_actions"


def _forbidden(policy: Policy, context: Mapping[str, Any]) -> list[tuple[str, str]]:
    """`(rule id, reason)` for every forbidden entity the context names."""
    forbidden = policy.forbidden
    target = str(ctx.action_of(context).get("target", "")).strip()
    users, devices, addresses = ctx.entities(context)
    found: dict[str, str] = {}

    principals = {target.lower()} | {str(u.get("userPrincipalName", "")).lower() for u in users}
    for upn in sorted(principals & forbidden.principals_lower):
        found[f"{upn} is in forbidden_entities.user_principal_names"] = (
            "forbidden_entities.user_principal_names")

    for user in users:
        for group in ctx.group_names(user.get("groups")):
            if group.lower() in forbidden.groups_lower:
                who = user.get("userPrincipalName") or "the user"
                found[f"{who} is a member of {group}, in forbidden_entities.groups"] = (
                    "forbidden_entities.groups")

    for address in sorted({target, _url_host(target), *addresses} - {""}):
        network = forbidden.range_of(address)
        if network is not None:
            where = "overlaps" if "/" in address else "is inside"
            found[f"{address} {where} {network}, in forbidden_entities.ip_ranges"] = (
                "forbidden_entities.ip_ranges")

    for device in devices:
        for tag in device.get("machineTags") or ():
            if isinstance(tag, str) and tag.lower() in forbidden.device_tags_lower:
                name = device.get("computerDnsName") or "the device"
                found[f"{name} is tagged {tag}, in forbidden_entities.device_tags"] = (
                    "forbidden_entities.device_tags")

    hits = [(rule, reason) for reason, rule in found.items()]
    if hits:
        rule, reason = hits[0]
        hits[0] = (rule, f"{reason}: no automation may touch it, and humans take the incident")
    return hits


def _url_host(value: str) -> str:
    """The host of a URL (`http://10.0.1.20:8080/x` → `10.0.1.20`), or "" for anything else."""
    if "://" not in value:
        return ""
    try:
        return urlsplit(value).hostname or ""
    except ValueError:
        return ""


def _confidence(context: Mapping[str, Any]) -> float | None:
    """The context's confidence as a number; anything else is no confidence at all."""
    value = context.get("confidence")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _approval(
    policy: Policy, spec: ActionSpec, context: Mapping[str, Any], confidence: float | None,
    usage: Usage, now: datetime,
) -> tuple[list[tuple[str, str]], int]:
    """Every reason the action needs a human, and how many distinct approvers it needs."""
    reasons: list[tuple[str, str]] = []
    approvers = 1
    rules = [rule for rule in policy.rules if rule.applies_to(spec.id)]
    if rules:
        variables = ctx.variables(context, spec, policy.zone, now)
    for rule in rules:
        outcome = rule.condition.evaluate(variables)
        if not outcome.matched:
            continue
        approvers = max(approvers, rule.approvers)
        asks = f"; it asks for {rule.approvers} approvers" if rule.approvers > 1 else ""
        if outcome.error:
            reasons.append((rule.id, f"{rule.id} ({rule.describe()}) could not be evaluated "
                                     f"({outcome.error}), so it counts as matched{asks}"))
        else:
            reasons.append((rule.id, f"{rule.id} ({rule.describe()}) matched{asks}"))

    if confidence is None:
        reasons.append(("min_confidence", "no confidence was given, so min_confidence "
                                          f"{policy.min_confidence:.2f} is not met"))
    elif confidence < policy.min_confidence:
        reasons.append(("min_confidence", f"confidence {confidence:.2f} is below "
                                          f"min_confidence {policy.min_confidence:.2f}"))

    reasons.extend(tripped_breakers(policy, spec.id, usage, now))

    if policy.mode == "orchestrate" and spec.impact != "low":
        reasons.append(("mode", f"mode orchestrate: {spec.id} is {spec.impact} impact, and only "
                                "low-impact actions run on their own"))
    return reasons, approvers


def _observed(spec: ActionSpec, needs_approval: list[tuple[str, str]]) -> Decision:
    head = "mode observe: shown, never executed"
    if not needs_approval:
        return Decision("observed", (f"{head}; in automate mode it would run on its own",),
                        ("mode",), action=spec.id)
    would = tuple(f"in automate mode it would need approval: {reason}"
                  for _, reason in needs_approval)
    return Decision("observed", (head, *would), ("mode",), action=spec.id)


def _auto_reason(policy: Policy, spec: ActionSpec, confidence: float) -> str:
    allowed = spec.id if spec.id in policy.allowed_actions else forward_of(spec).id
    return (f"{allowed} is in allowed_actions, no requires_approval rule matched, confidence "
            f"{confidence:.2f} meets min_confidence {policy.min_confidence:.2f} and no "
            "breaker has tripped")
