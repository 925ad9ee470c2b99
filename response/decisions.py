"""Asking the policy for a verdict on one proposed action, with breaker counts from the store.

The policy judges plain contexts; this module supplies them. It reads the rolling-window counts
the policy declares (`usage_windows`) from the shared store, so every replica sees the same
limits, and persists a cool-off when the policy says one tripped. Inverse actions (undo) are
judged like any other action.

A proposed action whose target is not one of the incident's entities (or a fact enrichment
found about them) is denied here, before the policy: targets come from what Sentinel and the
tenant's APIs said, never from the text of an incident or a model's imagination. An action on
an account or a machine that enrichment could not find, or whose ids in the incident disagree
(see `skills.enrichment`), is never `auto`: it waits for a human.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import structlog

from core.models import Enrichment, Incident, ProposedAction, Recommendation, Verdict
from policy import Usage, resolve_action
from response.context import build_context

log = structlog.get_logger(__name__)


def known_targets(incident: Incident, enrichment: Enrichment) -> set[str]:
    """Every key an action may be aimed at for this incident."""
    keys = {e.key.lower() for e in incident.entities if e.key}
    keys.update(k.lower() for k in enrichment.users)
    keys.update(k.lower() for k in enrichment.devices)
    keys.update(k.lower() for k in enrichment.ips)
    keys.update(k.lower() for k in enrichment.hosts)
    keys.update(k.lower() for k in enrichment.mails)
    keys.update(k.lower() for k in enrichment.apps)
    for entity in incident.entities:
        sender = entity.properties.get("p1Sender") if entity.properties else None
        if isinstance(sender, str) and sender:
            keys.add(sender.lower())
            keys.add(sender.rpartition("@")[2].lower())
        subject = entity.properties.get("subject") if entity.properties else None
        if isinstance(subject, str) and subject:
            keys.add(subject.lower())
    if incident.id:
        keys.add(incident.id.lower())
    return keys


class Decider:
    def __init__(self, *, store, policy_source) -> None:
        self._store = store
        self._policy_source = policy_source

    @property
    def policy(self):
        return self._policy_source()

    async def usage(self, session=None) -> Usage:
        """The breaker counts, pause and cool-off as they stand; read (and a tripped cool-off
        written) in `session`'s transaction when given."""
        policy = self.policy
        now = datetime.now(UTC)
        windows = policy.usage_windows()
        counts = await self._store.runs.count_executed_windows([
            (None if w.action == "*" else w.action, now - timedelta(seconds=w.seconds))
            for w in windows], session=session)
        executed = {(w.action, w.seconds): n for w, n in zip(windows, counts, strict=True)}
        paused, paused_by, cool_off_until = await self._store.state.snapshot(session=session)
        usage = Usage(executed=executed, paused=paused, paused_by=paused_by or "",
                      cool_off_until=cool_off_until)
        if policy.cool_off_tripped(usage) and not (cool_off_until and cool_off_until > now):
            until = now + policy.cool_off.pause
            await self._store.state.set_cool_off_until(until, session=session)
            await self._store.audit.append("automation cool-off", "cordon", None, {
                "until": until.isoformat(), "after": policy.cool_off.after,
                "within_s": policy.cool_off.within.total_seconds(),
            }, session=session)
            log.warning("automation cool-off", until=until.isoformat())
            usage = Usage(executed=executed, paused=paused, paused_by=paused_by or "",
                          cool_off_until=until)
        return usage

    def decide(self, incident: Incident, enrichment: Enrichment, recommendation: Recommendation,
               proposed: ProposedAction, usage: Usage, targets: set[str]) -> Verdict:
        spec = resolve_action(proposed.action)
        if spec is None:
            return Verdict(verdict="denied", reasons=[
                f"{proposed.action!r} is not an action Cordon knows; nothing was done"],
                rules=["catalog"])
        if spec.target_kind != "none" and proposed.target.lower() not in targets:
            return Verdict(verdict="denied", escalate_incident=True, reasons=[
                f"target {proposed.target!r} is not an entity of this incident; actions are only "
                "aimed at entities Sentinel reported"], rules=["targets"])

        context = build_context(incident, enrichment, recommendation, proposed,
                                target_kind=spec.target_kind, impact=spec.impact,
                                reversible=spec.reversible)
        decision = self.policy.decide(context, usage)
        verdict = Verdict(verdict=decision.verdict, reasons=list(decision.reasons),
                          approvers_required=decision.approvers_required,
                          rules=list(decision.rules), escalate_incident=decision.escalate_incident)
        doubt = _target_in_doubt(spec.target_kind, proposed.target, enrichment)
        if verdict.verdict != "auto" or doubt is None:
            return verdict
        return Verdict(verdict="approval", approvers_required=1, rules=["targets"], reasons=[
            f"{doubt}; the policy judged facts Cordon could not tie to the target, so a human "
            "confirms it first"])


def _target_in_doubt(kind: str, target: str, enrichment: Enrichment) -> str | None:
    """Why the facts about an account or machine target cannot be trusted, or None."""
    if kind == "user":
        facts, source = enrichment.users.get(target.lower()), "Entra ID"
    elif kind == "device":
        facts, source = enrichment.devices.get(target.lower()), "Defender for Endpoint"
    else:
        return None
    if facts is None or not facts.found:
        return f"{source} did not return {target} when Cordon looked it up"
    if facts.conflict:
        return f"the incident's ids for {target} disagree: {facts.conflict}"
    return None
