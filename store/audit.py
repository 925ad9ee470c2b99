"""The audit trail: append-only, hash-chained, and checkable by anyone holding a copy.

Every event gets the next `seq` (1, 2, 3, … with no gap), the hash of the event before it as
`prev_hash` (`GENESIS_HASH` for the first) and its own `hash`: SHA-256 over the canonical JSON
(sorted keys, no spaces, ASCII) of `{"seq", "at", "kind", "actor", "incident_id", "data",
"prev_hash"}`, where `at` is the stored ISO 8601 text and `data` is the stored canonical JSON
text of the event's data, embedded as a string. The hash therefore covers the exact characters
kept in the database; no JSON or datetime round trip stands between what is stored and what is
hashed, and a change to any byte of any field is a mismatch.

Appends are serialized through the one-row chain head (`audit_head`), read `FOR UPDATE` on
PostgreSQL (SQLite has one writer): replicas appending at once each get their own seq, and the
chain stays linear. The same transaction writes the event's outbox rows, one per configured
destination (`incident_comment` only for events with an incident and, when `comment_kinds` is
given, of those kinds), so an event is never shipped without being stored nor stored without
being shipped. Pass `session=` to `append` to join a wider transaction.

`verify()` re-reads every event in seq order and names the first one whose stored content no
longer matches its hash, whose `prev_hash` is not its predecessor's hash, or whose seq is
missing; it also compares the last event with the chain head, which notices a cut-off tail.

This module has no statement that updates or deletes an audit event.

Limitation: the chain proves the store has not been edited piecemeal; someone who can write the
database can still rewrite every event from some seq on, with fresh hashes, and the head. The
copies shipped through the outbox (Log Analytics, incident comments) are the evidence against
that: compare an exported chain's hashes with theirs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Collection, Iterable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

import structlog
from pydantic import BaseModel
from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import AuditEvent
from store.database import Database
from store.outbox import Outbox
from store.tables import audit_events, audit_head
from store.timestamps import iso_utc, utc_now

log = structlog.get_logger(__name__)

GENESIS_HASH = "0" * 64
INCIDENT_COMMENT = "incident_comment"
BATCH = 1000

# (kind, actor, incident_id, data): one event to append.
Entry = tuple[str, str, str | None, dict[str, Any]]


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


def canonical_json(value: Any) -> str:
    """Sorted keys, no whitespace, ASCII only: one text for one value."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      default=_plain)


def chain_hash(seq: int, at_text: str, kind: str, actor: str, incident_id: str | None,
               data_text: str, prev_hash: str) -> str:
    body = canonical_json({
        "seq": seq, "at": at_text, "kind": kind, "actor": actor, "incident_id": incident_id,
        "data": data_text, "prev_hash": prev_hash,
    })
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _row_hash(row: Row[Any]) -> str:
    return chain_hash(row.seq, row.at_text, row.kind, row.actor, row.incident_id, row.data_text,
                      row.prev_hash)


def _event_of(row: Row[Any]) -> AuditEvent:
    return AuditEvent(seq=row.seq, at=datetime.fromisoformat(row.at_text), kind=row.kind,
                      actor=row.actor, incident_id=row.incident_id,
                      data=json.loads(row.data_text), prev_hash=row.prev_hash, hash=row.hash)


def exported(row: Row[Any]) -> dict[str, Any]:
    """An event as one JSON line: `at` and `data` as stored, the hashes to check them by."""
    return {"seq": row.seq, "at": row.at_text, "kind": row.kind, "actor": row.actor,
            "incident_id": row.incident_id, "data": json.loads(row.data_text),
            "prev_hash": row.prev_hash, "hash": row.hash}


class VerifyResult(BaseModel):
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str = ""


class AuditLog:
    def __init__(self, db: Database, outbox_destinations: Iterable[str] = (),
                 comment_kinds: Collection[str] | None = None,
                 outbox: Outbox | None = None) -> None:
        self._db = db
        self._destinations = tuple(outbox_destinations)
        self._comment_kinds = frozenset(comment_kinds) if comment_kinds is not None else None
        self._outbox = outbox or Outbox(db)

    async def append(self, kind: str, actor: str, incident_id: str | None,
                     data: dict[str, Any], *, session: AsyncSession | None = None) -> AuditEvent:
        events = await self.append_many([(kind, actor, incident_id, data)], session=session)
        return events[0]

    async def append_many(self, entries: Sequence[Entry], *,
                          session: AsyncSession | None = None) -> list[AuditEvent]:
        """Append `(kind, actor, incident_id, data)` entries in order, in one transaction."""
        if not entries:
            return []
        if session is not None:
            return await self._append(session, entries)
        async with self._db.transaction() as own:
            return await self._append(own, entries)

    async def _append(self, session: AsyncSession, entries: Sequence[Entry]) -> list[AuditEvent]:
        head = (await session.execute(
            select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)
            .with_for_update()
        )).one()
        seq, prev_hash = head.seq, head.hash
        at_text = iso_utc(utc_now())
        rows: list[dict[str, Any]] = []
        deliveries: list[tuple[str, dict[str, Any]]] = []
        events: list[AuditEvent] = []

        for kind, actor, incident_id, data in entries:
            seq += 1
            data_text = canonical_json(data)
            digest = chain_hash(seq, at_text, kind, actor, incident_id, data_text, prev_hash)
            rows.append({"seq": seq, "at_text": at_text, "kind": kind, "actor": actor,
                         "incident_id": incident_id, "data_text": data_text,
                         "prev_hash": prev_hash, "hash": digest})
            plain = json.loads(data_text)
            events.append(AuditEvent(seq=seq, at=datetime.fromisoformat(at_text), kind=kind,
                                     actor=actor, incident_id=incident_id, data=plain,
                                     prev_hash=prev_hash, hash=digest))
            payload = {"seq": seq, "at": at_text, "kind": kind, "actor": actor,
                       "incident_id": incident_id, "data": plain, "prev_hash": prev_hash,
                       "hash": digest}
            deliveries += [(d, payload) for d in self._destinations_for(events[-1])]
            prev_hash = digest

        await session.execute(audit_events.insert(), rows)
        await session.execute(
            update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=prev_hash)
        )
        await self._outbox.enqueue_many(deliveries, session=session)
        return events

    def _destinations_for(self, event: AuditEvent) -> list[str]:
        chosen = []
        for destination in self._destinations:
            if destination == INCIDENT_COMMENT and not self._worth_commenting(event):
                continue
            chosen.append(destination)
        return chosen

    def _worth_commenting(self, event: AuditEvent) -> bool:
        if event.incident_id is None:
            return False
        return self._comment_kinds is None or event.kind in self._comment_kinds

    async def head(self) -> tuple[int, str]:
        """The seq and hash of the newest event; (0, GENESIS_HASH) while the log is empty."""
        async with self._db.transaction() as session:
            row = (await session.execute(select(audit_head.c.seq, audit_head.c.hash))).one()
        return row.seq, row.hash

    async def verify(self) -> VerifyResult:
        """Recompute every hash and link, in seq order; name the first record that fails."""
        head_seq, head_hash = await self.head()
        checked = 0
        expected_seq = 1
        prev_hash = GENESIS_HASH

        async for row in self._rows():
            if row.seq != expected_seq:
                return self._broken(checked, expected_seq,
                                    f"record {expected_seq} is missing "
                                    f"(the next stored record is {row.seq})")
            if _row_hash(row) != row.hash:
                return self._broken(checked, row.seq,
                                    f"record {row.seq}'s stored content no longer matches "
                                    "its hash")
            if row.prev_hash != prev_hash:
                return self._broken(checked, row.seq,
                                    f"record {row.seq}'s prev_hash does not match the hash "
                                    f"of record {row.seq - 1}")
            checked += 1
            expected_seq += 1
            prev_hash = row.hash

        last_seq = expected_seq - 1
        if last_seq < head_seq:
            return self._broken(checked, last_seq + 1,
                                f"the chain head says {head_seq} records were written, "
                                f"but the log ends at {last_seq}")
        current_seq, current_hash = await self.head()
        if last_seq > current_seq:
            return self._broken(checked, current_seq + 1,
                                f"record {current_seq + 1} and later were not written "
                                "through the log (they lie beyond the chain head)")
        if last_seq == head_seq and head_seq > 0 and prev_hash != head_hash:
            return self._broken(checked, last_seq,
                                f"record {last_seq}'s hash does not match the chain head")
        return VerifyResult(ok=True, checked=checked)

    @staticmethod
    def _broken(checked: int, seq: int, reason: str) -> VerifyResult:
        log.warning("audit chain broken", first_broken_seq=seq, reason=reason)
        return VerifyResult(ok=False, checked=checked, first_broken_seq=seq, reason=reason)

    async def export(self, since: datetime | None = None) -> AsyncIterator[dict[str, Any]]:
        """Events at or after `since` (all when None) in seq order, as JSON-ready dicts."""
        where = [] if since is None else [audit_events.c.at_text >= iso_utc(since)]
        async for row in self._rows(*where):
            yield exported(row)

    async def for_incident(self, incident_id: str) -> list[AuditEvent]:
        async with self._db.read() as session:
            rows = (await session.execute(
                select(audit_events).where(audit_events.c.incident_id == incident_id)
                .order_by(audit_events.c.seq)
            )).all()
        return [_event_of(row) for row in rows]

    async def recent(self, limit: int = 50) -> list[AuditEvent]:
        """The newest events, oldest of them first."""
        async with self._db.read() as session:
            rows = (await session.execute(
                select(audit_events).order_by(audit_events.c.seq.desc()).limit(limit)
            )).all()
        return [_event_of(row) for row in reversed(rows)]

    async def _rows(self, *where: Any) -> AsyncIterator[Row[Any]]:
        """Events in seq order, read in short batches so no long transaction blocks appends."""
        after = 0
        while True:
            async with self._db.transaction() as session:
                rows = (await session.execute(
                    select(audit_events).where(audit_events.c.seq > after, *where)
                    .order_by(audit_events.c.seq).limit(BATCH)
                )).all()
            for row in rows:
                yield row
            if len(rows) < BATCH:
                return
            after = rows[-1].seq
