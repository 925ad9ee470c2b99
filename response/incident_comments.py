"""What Cordon writes on the Sentinel incident: one short comment per decision that matters.

`COMMENT_KINDS` are the audit events worth a comment; `comment_text(event)` turns one audit
payload into the comment's text (plain, no markup), or None when there is nothing to say.
Comments go out through the outbox, so a restart loses none; Graph incidents get none (they
have no ARM id to comment on).
"""

from __future__ import annotations

from typing import Any

COMMENT_KINDS = frozenset({
    "incident triaged", "action succeeded", "action failed", "action dry run",
    "approval approve", "approval reject", "approval expired", "action rolled back",
    "action interrupted",
})


def comment_text(event: dict[str, Any]) -> str | None:
    kind = event.get("kind", "")
    data = event.get("data") or {}
    actor = event.get("actor", "")
    if kind == "incident triaged":
        lines = [f"Cordon triaged this incident: outcome {data.get('outcome')}, "
                 f"risk {data.get('risk_score')}."]
        for run in data.get("runs", [])[:20]:
            lines.append(f"- {run.get('action')} {run.get('target')}: {run.get('verdict')}")
        return "\n".join(lines)
    what = f"{data.get('action', '')} {data.get('target', '')}".strip()
    if kind == "action succeeded":
        return f"Cordon executed {what} ({actor})."
    if kind == "action dry run":
        return f"Cordon simulated {what} (dry run: nothing was changed)."
    if kind == "action failed":
        return f"Cordon could not execute {what}: {data.get('error')}"
    if kind == "action interrupted":
        return f"Cordon was interrupted while executing {what}; check it by hand."
    if kind == "approval approve":
        return f"{actor} approved {what}."
    if kind == "approval reject":
        return f"{actor} rejected {what}."
    if kind == "approval expired":
        return "An approval expired; its action was not executed."
    if kind == "action rolled back":
        return f"{actor} undid an action Cordon had executed."
    return None


def is_sentinel_incident(incident_id: str | None) -> bool:
    return bool(incident_id) and "/providers/microsoft.securityinsights/incidents/" in (
        incident_id or "").lower()
