"""A few plain lines saying what a loaded policy allows, for the bot's `policy` command.

The lines name actions by canonical id and rules as the author wrote them; they describe, they
do not judge (a condition is shown, not evaluated).
"""

from __future__ import annotations

from policy.catalog import CATALOG
from policy.duration import format_duration
from policy.model import Policy

_MODE = {
    "observe": "observe: verdicts are shown, nothing is executed",
    "orchestrate": "orchestrate: only low-impact actions run on their own",
    "automate": "automate: allowed actions run on their own unless a rule asks for approval",
}


def summary(policy: Policy) -> list[str]:
    """Mode, dry run, what runs alone, what needs approval, what is never touched, limits."""
    lines = [f"Mode {_MODE[policy.mode]}."]
    if policy.dry_run:
        lines.append("Dry run: executions are simulated and record what would have been sent.")

    automatic = ", ".join(_automatic(policy))
    alone = "Would run on its own in automate mode" if policy.mode == "observe" else (
        "Runs on its own")
    lines.append(f"{alone}: {automatic}, unless a rule below applies." if automatic
                 else f"{alone}: nothing.")
    needs = [rule.describe() + (f" ({rule.approvers} approvers)" if rule.approvers > 1 else "")
             for rule in policy.rules]
    needs.append(f"confidence below {policy.min_confidence:.2f}")
    lines.append("Needs approval: " + "; ".join(needs) + ".")
    lines.append(f"Escalated to humans: confidence below {policy.escalate_below:.2f}.")

    never = _forbidden(policy)
    if never:
        lines.append("Never touched: " + "; ".join(never) + ".")

    breakers = _breakers(policy)
    if breakers:
        lines.append("Limits: " + "; ".join(breakers) + ".")

    approvals = policy.approvals
    lines.append(
        f"Approvers: {', '.join(approvals.approver_groups) or 'nobody'}; admins: "
        f"{', '.join(approvals.admin_groups) or 'nobody'}; approvals expire after "
        f"{format_duration(int(approvals.expires_after.total_seconds()))}; undo for "
        f"{format_duration(int(approvals.undo_window.total_seconds()))}.")
    return lines


def _automatic(policy: Policy) -> list[str]:
    """Allowed actions that no unconditional rule sends to approval (and low ones only when
    orchestrating)."""
    always_gated = {action for rule in policy.rules if rule.condition.source.strip() == "true"
                    for action in (rule.actions or CATALOG)}
    actions = []
    for action_id in sorted(policy.allowed_actions - always_gated):
        if policy.mode == "orchestrate" and CATALOG[action_id].impact != "low":
            continue
        actions.append(action_id)
    return actions


def _forbidden(policy: Policy) -> list[str]:
    forbidden = policy.forbidden
    never = []
    if forbidden.user_principal_names:
        never.append("accounts " + ", ".join(forbidden.user_principal_names))
    if forbidden.groups:
        never.append("members of " + ", ".join(forbidden.groups))
    if forbidden.ip_ranges:
        never.append("addresses in " + ", ".join(str(net) for net in forbidden.ip_ranges))
    if forbidden.device_tags:
        never.append("devices tagged " + ", ".join(forbidden.device_tags))
    return never


def _breakers(policy: Policy) -> list[str]:
    breakers = [f"{limit.max} {'actions' if limit.action == '*' else limit.action} per "
                f"{limit.per_text}" for limit in policy.limits]
    if policy.cool_off is not None:
        cool = policy.cool_off
        breakers.append(f"after {cool.after} actions within {cool.within_text}, automation "
                        f"pauses for {cool.pause_text}")
    return breakers
