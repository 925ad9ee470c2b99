"""An incident's entities and alerts in a few lines, however many there are.

Entities are grouped by kind, in a fixed order of kinds; each kind shows its first few and
says how many more (`and 497 more accounts`). Alerts are counted by name, most frequent first.
Lookups that failed during enrichment are named too, so a reader knows which facts are
missing. Everything shown is untrusted text and goes through `plain`.
"""

from __future__ import annotations

from collections import Counter

from cards.summary import and_more, capped, noun
from cards.untrusted_text import plain
from core.models import Enrichment, Entity, EntityKind, Incident

_KIND_NAMES = {
    EntityKind.ACCOUNT: ("Accounts", "account", "accounts"),
    EntityKind.HOST: ("Hosts", "host", "hosts"),
    EntityKind.IP: ("IP addresses", "IP address", "IP addresses"),
    EntityKind.URL: ("URLs", "URL", "URLs"),
    EntityKind.DNS: ("Domains", "domain", "domains"),
    EntityKind.MAILBOX: ("Mailboxes", "mailbox", "mailboxes"),
    EntityKind.MAIL_MESSAGE: ("Mail messages", "mail message", "mail messages"),
    EntityKind.CLOUD_APPLICATION: ("Cloud apps", "cloud app", "cloud apps"),
    EntityKind.FILE_HASH: ("File hashes", "file hash", "file hashes"),
    EntityKind.FILE: ("Files", "file", "files"),
    EntityKind.PROCESS: ("Processes", "process", "processes"),
    EntityKind.OTHER: ("Other entities", "other entity", "other entities"),
}

_NAMED_BY_NAME = frozenset({EntityKind.MAIL_MESSAGE, EntityKind.FILE, EntityKind.PROCESS})


def entity_facts(incident: Incident, per_kind: int, chars: int) -> list[tuple[str, str]]:
    """(`Accounts (500)`, `a, b, c and 497 more accounts`) for each kind present."""
    pairs = []
    for kind, (title, singular, plural) in _KIND_NAMES.items():
        entities = incident.entities_of(kind)
        if not entities:
            continue
        kept, more = capped(_distinct(entities), per_kind)
        value = ", ".join(plain(label, chars) for label in kept)
        if more:
            value += f" {and_more(more, singular, plural)}"
        pairs.append((f"{title} ({len(entities)})", value))
    return pairs


def alert_fact(incident: Incident, names: int, chars: int) -> tuple[str, str] | None:
    """(`Alerts (200)`, `Impossible travel activity (×150), …`), or None without alerts."""
    total = max(incident.alert_count, len(incident.alerts))
    if not total:
        return None

    counts = Counter(alert.name for alert in incident.alerts).most_common()
    kept, more = capped(counts, names)
    parts = [plain(name, chars) + (f" (\u00d7{n})" if n > 1 else "") for name, n in kept]
    value = ", ".join(parts) or f"{total} {noun(total, 'alert')}"
    if more:
        value += f" {and_more(more, 'alert name')}"
    return f"Alerts ({total})", value


def lookup_gaps(enrichment: Enrichment, names: int, chars: int) -> tuple[str, str] | None:
    """(`Lookups failed (2)`, `graph.signIns for dana.rossi@…`): what the facts may lack."""
    failures = enrichment.failures
    if not failures:
        return None

    kept, more = capped(failures, names)
    value = ", ".join(plain(f"{f.lookup} for {f.entity}", chars) for f in kept)
    if more:
        value += f" {and_more(more, 'lookup')}"
    return f"Lookups failed ({len(failures)})", value


def _distinct(entities: list[Entity]) -> list[str]:
    seen: dict[str, None] = {}
    for entity in entities:
        label = entity.name if entity.kind in _NAMED_BY_NAME and entity.name else entity.key
        seen.setdefault(label or entity.name or "(unnamed)", None)
    return list(seen)
