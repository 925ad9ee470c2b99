"""Questions in chat ("why block 203.0.113.77?", "who approved 4521?"), answered in the
context of one incident, naming the evidence each answer rests on.

The incident is, in this order: the one whose card the message replies to (`replyToId`, or
the root of the channel thread it was written in); the one it names by number; the one it names
by an entity (an address, a principal name, a host: `engine.find`); the newest incident naming
a person it mentions by first or last name (`Dana`); else the incident of the newest card in
this conversation. The answer is the engine's reasoner's (`engine.answer(question, record)`),
followed by the evidence it cites (id, source, fact) and the records it read. Answering reads;
it never approves, executes or changes anything, whatever the question says.
"""

from __future__ import annotations

import re

import structlog

from bot.commands import incident_number
from cards.untrusted_text import plain
from core.models import EntityKind, IncidentRecord

log = structlog.get_logger(__name__)

RECENT_INCIDENTS = 30
EVIDENCE_LISTED = 8

_ENTITY_TOKENS = re.compile(
    r"[\w.+-]+@[\w.-]+\w"                 # principal names and mail addresses
    r"|\b\d{1,3}(?:\.\d{1,3}){3}\b"       # IPv4 addresses
    r"|\b[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7}\b"  # IPv6 addresses
    r"|\b[\w-]+(?:\.[\w-]+)+\b",          # host and domain names
    re.IGNORECASE,
)
_WORDS = re.compile(r"[A-Za-z][A-Za-z'-]{2,}")


class IncidentQuestions:
    def __init__(self, *, engine, store, posted_cards) -> None:
        self._engine = engine
        self._store = store
        self._posted = posted_cards

    async def incident_for(self, text: str, conversation_id: str, reply_to: list[str]
                           ) -> IncidentRecord | None:
        for activity_id in reply_to:
            incident_id = await self._posted.incident_of(conversation_id, activity_id)
            if incident_id:
                return await self._engine.record(incident_id)

        number = incident_number(_without_entities(text))
        if number is not None:
            record = await self._engine.find(str(number))
            if record is not None:
                return record

        for token in _ENTITY_TOKENS.findall(text):
            record = await self._engine.find(token.rstrip(".").lower())
            if record is not None:
                return record

        record = await self._by_name(text)
        if record is not None:
            return record

        incident_id = await self._posted.latest_incident(conversation_id)
        return await self._engine.record(incident_id) if incident_id else None

    async def answer(self, question: str, record: IncidentRecord) -> str:
        answer = await self._engine.answer(question, record)
        number = record.incident.number
        lines = [f"**Incident {number if number is not None else '?'}**: "
                 f"{plain(record.incident.title, 160)}", ""]
        lines.append(plain(answer.text, 3000) or "I have no answer to that from this "
                     "incident's record.")

        cited = [e for e in record.recommendation.evidence if e.id in set(answer.evidence)]
        if cited:
            lines.append("")
            lines.append("Evidence:")
            lines.extend(f"- {plain(e.id, 12)} ({plain(e.source, 60)}): {plain(e.fact, 240)}"
                         for e in cited[:EVIDENCE_LISTED])
            if len(cited) > EVIDENCE_LISTED:
                lines.append(f"- and {len(cited) - EVIDENCE_LISTED} more")
        sources = [s for s in answer.sources if s]
        if sources:
            lines.append("")
            lines.append("Read from: " + ", ".join(plain(s, 60) for s in sources[:12]))
        if not cited and not sources:
            lines.append("")
            lines.append("This answer rests on the incident's record only: its alerts, "
                         "entities and the policy's verdicts.")
        log.info("question answered", incident_id=record.incident.id,
                 evidence=[e.id for e in cited], answered_by=answer.answered_by)
        return "\n".join(lines)

    async def _by_name(self, text: str) -> IncidentRecord | None:
        words = {w.lower().strip("'").removesuffix("'s") for w in _WORDS.findall(text)}
        if not words:
            return None
        for record in await self._store.incidents.recent(RECENT_INCIDENTS):
            if words & _names_in(record):
                return await self._engine.record(record.incident.id)
        return None


def _names_in(record: IncidentRecord) -> set[str]:
    """First and last names of the accounts an incident names (`dana`, `rossi`)."""
    names: set[str] = set()
    for entity in record.incident.entities_of(EntityKind.ACCOUNT):
        local = entity.key.split("@", 1)[0]
        names.update(part for part in re.split(r"[._-]", local.lower()) if len(part) > 2)
        names.update(part.lower() for part in entity.name.split() if len(part) > 2)
    for facts in record.enrichment.users.values():
        display = str(facts.user.get("displayName") or "")
        names.update(part.lower() for part in display.split() if len(part) > 2)
    return names


def _without_entities(text: str) -> str:
    return _ENTITY_TOKENS.sub(" ", text)
