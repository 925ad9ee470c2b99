"""How one proposed action appears on a card: what it is, its verdict, where it stands, buttons.

The status line says what a person needs to know without opening anything: awaiting approval
with who has approved so far (`1 of 2 approvals: Alex Wilber`) and when the request expires;
executed, and until when it can be undone; failed with the reason; rejected by whom; expired.

Buttons are `Action.Execute`, and their `data` carries identifiers only: `approval_id` and
`action_hash` for Approve and Reject, `run_id` for Undo and Why. The server looks everything
else up and authorizes on the clicker's Entra ID object id, never on the card. Approve and
Reject appear on a pending, unexpired approval; for a known viewer, only when they are an
approver who has not already decided and the action is not aimed at their own account. Undo
appears on a reversible action that succeeded for real inside the undo window and has not been
undone; for a known viewer, only when they are an approver. Why is for everyone.

The shared view (no viewer: the card posted to a conversation) carries Approve, Reject and Undo
too: a client that cannot ask for a per-user view (the Agents Playground, or a Teams user beyond
the 60 `refresh.userIds`) must still be able to act, and a click by someone who may not is
refused by the server with its reason. People the bot knows get their own view by `refresh`.
"""

from __future__ import annotations

from datetime import datetime

from cards import adaptive
from cards.adaptive import Color, Element
from cards.context import CardContext
from cards.summary import capped, shorten
from cards.time_phrases import aware, clock, remaining
from cards.untrusted_text import plain
from core.models import ActionRun, Approval, IncidentRecord, RunStatus, Verdict

_LABELS = {
    "block_ip": "Block IP", "unblock_ip": "Unblock IP", "purge_email": "Purge email",
    "restore_email": "Restore email", "deallocate_vm": "Deallocate VM", "start_vm": "Start VM",
}

_VERDICTS = {
    "auto": "Automatic",
    "approval": "Needs approval",
    "denied": "Denied by policy",
    "escalated": "Escalated to the SOC",
    "observed": "Observed only",
}

_UNDONE_BY = frozenset({RunStatus.PENDING, RunStatus.EXECUTING, RunStatus.SUCCEEDED})


def action_label(action: str) -> str:
    """`disable_user` as `Disable user`, `block_ip` as `Block IP`."""
    if action in _LABELS:
        return _LABELS[action]
    words = action.replace("_", " ").strip()
    return plain(words[:1].upper() + words[1:], 60)


def headline(run: ActionRun, limit: int) -> str:
    """`**Disable user** · dana.rossi@fabrikam.example`, or `**Undo: Enable user** · …`."""
    label = action_label(run.proposed.action)
    if run.inverse_of:
        label = f"Undo: {label}"
    target = plain(run.proposed.target, limit)
    count = f" ({run.proposed.count} items)" if run.proposed.count > 1 else ""
    return f"**{label}** \u00b7 {target}{count}"


def verdict_line(verdict: Verdict, reasons: int, limit: int) -> str:
    """`Needs approval (2 approvers): rule …; rule …`."""
    label = _VERDICTS.get(verdict.verdict, plain(verdict.verdict, 30))
    if verdict.verdict == "approval" and verdict.approvers_required > 1:
        label = f"{label} ({verdict.approvers_required} approvers)"
    if reasons <= 0:
        return label
    kept, more = capped(verdict.reasons, reasons)
    shown = "; ".join(plain(reason, limit) for reason in kept)
    if more:
        shown += f"; and {more} more"
    return f"{label}: {shown}" if shown else label


def approval_of(record: IncidentRecord, run: ActionRun) -> Approval | None:
    """The latest approval asked for this run, if any."""
    found = [a for a in record.approvals if a.run_id == run.id]
    return found[-1] if found else None


def status_line(
    record: IncidentRecord, run: ActionRun, ctx: CardContext, limit: int
) -> tuple[str, Color]:
    """Where the run stands, in words, and the colour to say it in."""
    approval = approval_of(record, run)
    status = run.status

    if status == RunStatus.PENDING_APPROVAL:
        return _awaiting(run, approval, ctx)
    if status == RunStatus.EXPIRED or (approval and approval.status == "expired"):
        return _expired(approval, ctx), "attention"
    if status == RunStatus.REJECTED:
        return _rejected(approval), "attention"
    if status == RunStatus.FAILED:
        reason = plain(run.error or "no reason recorded", limit)
        return f"Failed: {reason}", "attention"
    if status == RunStatus.SUCCEEDED:
        return _executed(record, run, approval, ctx), "good"
    return _other(record, run, approval, ctx)


def buttons(
    record: IncidentRecord, run: ActionRun, ctx: CardContext, *, why: bool, tooltips: bool
) -> list[Element]:
    """The buttons this viewer may use on this run, in the order Approve, Reject, Undo, Why."""
    found: list[Element] = []
    target = shorten(plain(run.proposed.target, 60), 60)
    approval = approval_of(record, run)

    if approval and may_decide(record, run, approval, ctx):
        data = {"approval_id": approval.id, "action_hash": approval.action_hash}
        found.append(adaptive.execute(
            "Approve", "approve", dict(data), style="positive",
            tooltip=f"Approve {run.proposed.action} on {target}" if tooltips else ""))
        found.append(adaptive.execute(
            "Reject", "reject", dict(data), style="destructive",
            tooltip=f"Reject {run.proposed.action} on {target}" if tooltips else ""))

    if (ctx.viewer is None or ctx.viewer_approves) and undo_deadline(record, run, ctx):
        found.append(adaptive.execute(
            "Undo", "undo", {"run_id": run.id},
            tooltip=f"Undo {run.proposed.action} on {target}" if tooltips else ""))

    if why:
        found.append(adaptive.execute(
            "Why?", "why", {"run_id": run.id},
            tooltip=f"Why {run.proposed.action} on {target}?" if tooltips else ""))
    return found


def may_decide(
    record: IncidentRecord, run: ActionRun, approval: Approval, ctx: CardContext
) -> bool:
    """Whether to offer Approve and Reject: hide what would be refused to a known viewer."""
    if run.status != RunStatus.PENDING_APPROVAL or approval.status != "pending":
        return False
    if aware(approval.expires_at) <= aware(ctx.now):
        return False
    if ctx.viewer is None:
        return True
    if not ctx.viewer_approves:
        return False
    if any(d.approver_id == ctx.viewer.aad_object_id for d in approval.decisions):
        return False
    return not _aimed_at_viewer(record, run, ctx)


def undo_deadline(record: IncidentRecord, run: ActionRun, ctx: CardContext) -> datetime | None:
    """Until when the run can be undone, or None when it cannot (any more)."""
    if run.status != RunStatus.SUCCEEDED or run.inverse_of or record.dry_run:
        return None
    if run.proposed.action not in ctx.reversible_actions or run.executed_at is None:
        return None
    if any(r.inverse_of == run.id and r.status in _UNDONE_BY for r in record.runs):
        return None

    deadline = aware(run.executed_at) + ctx.undo_window
    return deadline if deadline > aware(ctx.now) else None


def _aimed_at_viewer(record: IncidentRecord, run: ActionRun, ctx: CardContext) -> bool:
    if ctx.viewer is None:
        return False
    facts = record.enrichment.users.get(run.proposed.target.lower())
    return bool(facts and facts.id and facts.id == ctx.viewer.aad_object_id)


def _awaiting(
    run: ActionRun, approval: Approval | None, ctx: CardContext
) -> tuple[str, Color]:
    if approval is None:
        return "Awaiting approval", "warning"
    if approval.status == "rejected":
        return _rejected(approval), "attention"
    if approval.status == "granted":
        return f"Approved by {', '.join(_names(approval, 'approve'))}; executing", "accent"
    if approval.status == "expired" or aware(approval.expires_at) <= aware(ctx.now):
        return _expired(approval, ctx), "attention"

    required = max(approval.approvers_required, run.verdict.approvers_required, 1)
    names = _names(approval, "approve")
    line = f"Awaiting approval: {len(names)} of {required} approvals"
    if names:
        line += f": {', '.join(names)}"
    line += f"; expires {remaining(approval.expires_at, ctx.now)}"
    return line + _viewer_note(run, approval, ctx), "warning"


def _viewer_note(run: ActionRun, approval: Approval, ctx: CardContext) -> str:
    if not ctx.viewer_approves or ctx.viewer is None:
        return ""
    if any(d.approver_id == ctx.viewer.aad_object_id for d in approval.decisions):
        return " (you approved; another approver is needed)"
    return ""


def _expired(approval: Approval | None, ctx: CardContext) -> str:
    if approval is None:
        return "Approval expired; not executed"
    return f"Approval expired at {clock(approval.expires_at, ctx.now)}; not executed"


def _rejected(approval: Approval | None) -> str:
    names = _names(approval, "reject") if approval else []
    return f"Rejected by {', '.join(names)}" if names else "Rejected; not executed"


def _executed(
    record: IncidentRecord, run: ActionRun, approval: Approval | None, ctx: CardContext
) -> str:
    line = "Executed"
    if run.executed_at:
        line += f" at {clock(run.executed_at, ctx.now)}"
    approvers = _names(approval, "approve") if approval else []
    if approvers:
        line += f", approved by {', '.join(approvers)}"
    deadline = undo_deadline(record, run, ctx)
    if deadline:
        line += f"; can be undone until {clock(deadline, ctx.now)}"
    return line


def _other(
    record: IncidentRecord, run: ActionRun, approval: Approval | None, ctx: CardContext
) -> tuple[str, Color]:
    approvers = _names(approval, "approve") if approval else []
    by = f", approved by {', '.join(approvers)}" if approvers else ""
    when = _undone_at(record, run)
    at = f" at {clock(when, ctx.now)}" if when else ""
    lines: dict[RunStatus, tuple[str, Color]] = {
        RunStatus.PENDING: (f"Queued{by}", "default"),
        RunStatus.EXECUTING: (f"Executing{by}", "accent"),
        RunStatus.DENIED: ("Denied by policy; not executed", "attention"),
        RunStatus.ESCALATED: ("Escalated to the SOC; not executed", "warning"),
        RunStatus.OBSERVED: ("Observe mode: would have run; not executed", "warning"),
        RunStatus.DRY_RUN: ("Dry run: simulated, nothing was changed", "warning"),
        RunStatus.ROLLED_BACK: (f"Undone{at}", "default"),
    }
    return lines.get(run.status, (plain(str(run.status), 40), "default"))


def _undone_at(record: IncidentRecord, run: ActionRun) -> datetime | None:
    """When the inverse ran, or, without one on record, when the run last changed."""
    inverses = [r.executed_at for r in record.runs if r.inverse_of == run.id and r.executed_at]
    return max(inverses) if inverses else run.updated_at


def _names(approval: Approval | None, decision: str) -> list[str]:
    if approval is None:
        return []
    return [plain(d.approver_name or d.approver_id, 40)
            for d in approval.decisions if d.decision == decision]
