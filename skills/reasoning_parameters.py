"""What each proposed action needs beyond its target, taken from the enrichment.

`action_for` builds a `ProposedAction` for a canonical action id and a target, filling in the
parameters the action plugin needs (a user's object id, a machine id, a campaign's messages, an
app's service principal and grant ids) and `count`, the number of objects touched. It returns
None when the enrichment does not back the target (an account Graph does not know, a device
Defender does not know, an app without grants): such a target is never proposed. Both
reasoners use it, so an LLM's proposal carries the same parameters as the built-in one's and
never parameters the model made up. Names follow the APIs' camelCase (`userId`, `machineId`,
`grantIds`, `servicePrincipalId`, `indicatorType`); the kernel maps them to the plugins'
argument names.

`stop_and_quarantine_file` is only proposed for a SHA-1, the one hash Defender's
StopAndQuarantineFile takes; a SHA-256 is blocked with `block_indicator` (FileSha256) instead.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from core.models import Enrichment, EntityKind, Incident, ProposedAction
from skills.reasoning_targets import (
    campaign_mails,
    entity_keys,
    normalized,
    recipient_of,
)

REMOVED_LOCATIONS = {"deletedfolder", "quarantine", "junkfolder", "failed", "dropped"}

Built = tuple[dict[str, Any], int] | None


def _user(target: str, _: Incident, enrichment: Enrichment) -> Built:
    facts = enrichment.users.get(target)
    if facts is None or not facts.found or not facts.id:
        return None
    return {"userId": facts.id}, 1


def _device(target: str, _: Incident, enrichment: Enrichment) -> Built:
    facts = enrichment.devices.get(target)
    if facts is None or not facts.found or not facts.id:
        return None
    return {"machineId": facts.id, "isolationType": "Full"}, 1


def _file(target: str, incident: Incident, enrichment: Enrichment) -> Built:
    hashes = {normalized(e.key): e for e in incident.entities_of(EntityKind.FILE_HASH)}
    entity = hashes.get(target)
    devices = [facts for key, facts in enrichment.devices.items()
               if facts.found and facts.id and key in entity_keys(incident)]
    if entity is None or len(devices) != 1:
        return None
    algorithm = str(entity.properties.get("algorithm") or "").upper()
    return {"machineId": devices[0].id, "device": devices[0].name, "algorithm": algorithm}, 1


def _address(target: str, _: Incident, enrichment: Enrichment) -> Built:
    if target not in enrichment.ips:
        return None
    return {"direction": "Inbound"}, 1


def _indicator(target: str, incident: Incident, enrichment: Enrichment) -> Built:
    if target in enrichment.hosts:
        kind = "DomainName"
    elif target in enrichment.ips:
        kind = "IpAddress"
    elif target in {normalized(e.key) for e in incident.entities_of(EntityKind.FILE_HASH)}:
        kind = "FileSha256"
    else:
        return None
    return {"indicatorType": kind, "indicatorValue": target, "action": "AlertAndBlock"}, 1


def still_delivered(network_message_id: str, enrichment: Enrichment) -> bool:
    facts = enrichment.mails.get(network_message_id)
    if facts is None or not facts.found:
        return True
    latest = facts.message.get("latestDelivery") or {}
    location = normalized(str(latest.get("location") or "")).replace("_", "")
    return location not in REMOVED_LOCATIONS


def campaign_messages(sender: str, incident: Incident, enrichment: Enrichment) -> list[dict]:
    """The sender's messages in this incident that are still in a mailbox."""
    messages = []
    for mail in campaign_mails(incident).get(sender, []):
        if not still_delivered(mail.key, enrichment):
            continue
        facts = enrichment.mails.get(mail.key)
        recipient = recipient_of(mail)
        if facts is not None and facts.found:
            recipient = normalized(str(facts.message.get("recipientEmailAddress") or recipient))
        messages.append({"networkMessageId": mail.key, "recipientEmailAddress": recipient})
    return messages


def _purge(target: str, incident: Incident, enrichment: Enrichment) -> Built:
    if target in campaign_mails(incident):
        messages = campaign_messages(target, incident, enrichment)
    else:
        mails = {normalized(e.key): e for e in incident.entities_of(EntityKind.MAIL_MESSAGE)}
        mail = mails.get(target)
        if mail is None or not still_delivered(mail.key, enrichment):
            return None
        messages = [{"networkMessageId": mail.key, "recipientEmailAddress": recipient_of(mail)}]
    if not messages:
        return None
    return {"messages": messages, "action": "softDelete"}, len(messages)


def _consent(target: str, _: Incident, enrichment: Enrichment) -> Built:
    facts = enrichment.apps.get(target)
    if facts is None or not facts.found or not facts.grants:
        return None
    grant_ids = [str(grant["id"]) for grant in facts.grants if grant.get("id")]
    parameters = {
        "servicePrincipalId": str(facts.service_principal.get("id", "")),
        "grantIds": grant_ids,
    }
    return parameters, len(grant_ids)


_BUILDERS: dict[str, Callable[[str, Incident, Enrichment], Built]] = {
    "disable_user": _user,
    "revoke_sessions": _user,
    "confirm_compromised": _user,
    "isolate_device": _device,
    "stop_and_quarantine_file": _file,
    "block_ip": _address,
    "block_indicator": _indicator,
    "purge_email": _purge,
    "revoke_app_consent": _consent,
}


def action_for(action: str, target: str, incident: Incident, enrichment: Enrichment, *,
               rationale: str = "", evidence: list[str] | None = None) -> ProposedAction | None:
    """A fully parameterised proposal, or None when the enrichment does not back the target."""
    builder = _BUILDERS.get(action)
    key = normalized(target)
    if builder is None:
        return None

    built = builder(key, incident, enrichment)
    if built is None:
        return None
    parameters, count = built
    return ProposedAction(action=action, target=key, parameters=parameters, count=count,
                          rationale=rationale, evidence=list(evidence or []))


def proposable_actions() -> frozenset[str]:
    """The canonical ids the reasoners know how to parameterise."""
    return frozenset(_BUILDERS)
