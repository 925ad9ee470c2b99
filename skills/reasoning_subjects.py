"""What a question is about: the entities and actions of an incident record it names.

People ask "why block 203.0.113.77?", "what evidence is there against Dana?", "is FAB-SQL-01
isolated?". `subjects_in` finds the entity keys a question names, by key (address, UPN, DNS
name, host, app id, hash, message id) or by a name people use (a user's display name, first
name or account name, a machine's short name, an app's display name), longest match first.
`actions_in` finds the canonical actions its verbs name. Neither reads anything but the
question and the record, and a name shared by two entities matches both.
"""

from __future__ import annotations

import re
from collections import defaultdict

from core.models import EntityKind, IncidentRecord

ACTION_WORDS: dict[str, tuple[str, ...]] = {
    "block": ("block_ip", "block_indicator"),
    "unblock": ("unblock_ip", "delete_indicator"),
    "disable": ("disable_user",),
    "enable": ("enable_user",),
    "revoke": ("revoke_sessions", "revoke_app_consent"),
    "sessions": ("revoke_sessions",),
    "consent": ("revoke_app_consent",),
    "isolate": ("isolate_device",),
    "isolation": ("isolate_device",),
    "quarantine": ("stop_and_quarantine_file",),
    "purge": ("purge_email",),
    "delete": ("purge_email",),
    "remove": ("purge_email",),
    "confirm": ("confirm_compromised",),
    "ticket": ("create_ticket",),
    "close": ("close_incident",),
    "deallocate": ("deallocate_vm",),
}


def _aliases(record: IncidentRecord) -> dict[str, set[str]]:
    """Lower-case names → the entity keys they may stand for."""
    aliases: dict[str, set[str]] = defaultdict(set)

    def add(name: object, key: str) -> None:
        text = str(name or "").strip().lower()
        if len(text) >= 3:
            aliases[text].add(key)

    for entity in record.incident.entities:
        key = entity.key.lower()
        add(key, key)
        if entity.kind == EntityKind.HOST:
            add(key.split(".")[0], key)
        if entity.kind in (EntityKind.HOST, EntityKind.CLOUD_APPLICATION):
            add(entity.name, key)
        if entity.kind == EntityKind.ACCOUNT:
            add(key.partition("@")[0], key)
    for upn, facts in record.enrichment.users.items():
        name = str(facts.user.get("displayName") or "")
        add(name, upn)
        add(name.split(" ")[0] if name else "", upn)
        add(upn.partition("@")[0].split(".")[0], upn)
    for app_id, facts in record.enrichment.apps.items():
        add(facts.service_principal.get("displayName"), app_id)
    for run in record.runs:
        add(run.proposed.target, run.proposed.target.lower())
    for action in record.recommendation.actions:
        add(action.target, action.target.lower())
    return aliases


def subjects_in(question: str, record: IncidentRecord) -> list[str]:
    """Entity keys the question names, in the order it names them."""
    text = question.lower()
    found: list[tuple[int, str]] = []
    taken: list[tuple[int, int]] = []
    for alias, keys in sorted(_aliases(record).items(), key=lambda item: -len(item[0])):
        pattern = r"(?<![\w.@-])" + re.escape(alias) + r"(?![\w@-]|\.\w)"
        for match in re.finditer(pattern, text):
            span = (match.start(), match.end())
            if any(s < span[1] and span[0] < e for s, e in taken):
                continue
            taken.append(span)
            found.extend((match.start(), key) for key in sorted(keys))

    ordered: list[str] = []
    for _, key in sorted(found):
        if key not in ordered:
            ordered.append(key)
    return ordered


def actions_in(question: str) -> set[str]:
    """Canonical actions the question's verbs name ("block" → block_ip, block_indicator)."""
    words = set(re.findall(r"[a-z_]+", question.lower()))
    named = {word for word in words if "_" in word}
    for word, actions in ACTION_WORDS.items():
        if word in words or f"{word}ed" in words or f"{word}d" in words or f"{word}ing" in words:
            named.update(actions)
    return named
