"""What a proposed action may be aimed at: the incident's own entities, nothing its text names.

A target is an entity key of the incident (lower-case UPN, device DNS name, IP address, URL
host, network message id, app id, file hash), or, for a phishing campaign, the sender address
of its mail entities (one `purge_email` per sender, the messages in its parameters), or the
domain of such a sender. Titles, descriptions and subjects are never read here: an address
that appears only in free text is not a target, whatever the text says.
"""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import urlsplit

from core.models import Enrichment, Entity, EntityKind, Incident


def normalized(key: str) -> str:
    return key.strip().lower()


def entity_keys(incident: Incident) -> set[str]:
    return {normalized(entity.key) for entity in incident.entities if entity.key}


def sender_of(mail: Entity) -> str:
    properties = mail.properties
    return normalized(str(properties.get("p1Sender") or properties.get("sender") or ""))


def recipient_of(mail: Entity) -> str:
    return normalized(str(mail.properties.get("recipient") or ""))


def campaign_mails(incident: Incident) -> dict[str, list[Entity]]:
    """The incident's mail entities grouped by sender address."""
    by_sender: dict[str, list[Entity]] = defaultdict(list)
    for mail in incident.entities_of(EntityKind.MAIL_MESSAGE):
        sender = sender_of(mail)
        if sender:
            by_sender[sender].append(mail)
    return dict(by_sender)


def host_of(value: str) -> str:
    """The host of a URL, or the value itself when it is already a host name."""
    text = value.strip()
    if "://" in text:
        return normalized(urlsplit(text).hostname or "")
    return normalized(text.split("/")[0])


def sender_domain(sender: str) -> str:
    return normalized(sender.rpartition("@")[2]) if "@" in sender else ""


def incident_hosts(incident: Incident, enrichment: Enrichment) -> set[str]:
    """Domains and URL hosts the incident's entities and their analyzed mails point at."""
    hosts = {host_of(e.key) for e in incident.entities
             if e.kind in (EntityKind.URL, EntityKind.DNS) and e.key}
    hosts |= {sender_domain(sender) for sender in campaign_mails(incident)}

    mail_ids = entity_keys(incident)
    for network_message_id, facts in enrichment.mails.items():
        if normalized(network_message_id) not in mail_ids:
            continue
        for url in facts.message.get("urls") or []:
            hosts.add(host_of(str(url.get("url", ""))))
    return {host for host in hosts if host}


def allowed_targets(incident: Incident, enrichment: Enrichment) -> set[str]:
    """Every key an action of this incident may name as its target."""
    return entity_keys(incident) | set(campaign_mails(incident)) | incident_hosts(
        incident, enrichment)
