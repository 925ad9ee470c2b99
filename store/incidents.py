"""Incidents as Cordon has seen them: deliveries, their claims, and the stored incident records.

`claim(incident, payload_hash, payload=…)` is how redelivery is recognised: it inserts the pair
(incident id, revision) and answers True only to the one call that inserted it. The pair is
the primary key, so two replicas receiving the same delivery at once get one True between them.

A delivery is a small work queue of its own. The claim keeps the body and a lease (the time by
which the claimer is presumed gone); the triage's own transaction marks it triaged with
`mark_triaged`, which only one transaction can do. A delivery left untriaged past its lease (its
process died, or gave it back with `release`) is listed by `untriaged` and taken by one replica
with `take_over`, which renews the lease only if it had run out.

A record is stored whole, as JSON, beside the columns it is looked up and listed by (id, number,
revision, received_at, outcome) and the lower-cased keys of its entities and action targets, so
`find_by_entity("203.0.113.45")` finds every incident that named that address. Saving a record
again replaces it. `save_record(…, session=…)`, `RunRepository.add_many(…, session=…)` and
`AuditLog.append_many(…, session=…)` can share one transaction: the intake's hot path then
commits once. Reading a record overlays the current rows of its action runs and approvals,
which change after the record was saved (a run executes, an approver decides), so a reader never
sees a stale status.

Limitation: `get_by_number` answers the newest record with that number; Sentinel numbers are
unique per workspace, so two workspaces feeding one Cordon could shadow each other's numbers.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import ActionRun, Approval, Incident, IncidentRecord
from store.approvals import ApprovalRepository
from store.database import Database
from store.runs import RunRepository
from store.tables import incident_deliveries, incident_entities, incidents
from store.timestamps import utc_now


def _entity_keys(record: IncidentRecord) -> set[str]:
    keys = {entity.key for entity in record.incident.entities}
    keys.update(run.proposed.target for run in record.runs)
    return {key.strip().lower() for key in keys if key and key.strip()}


DEFAULT_LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class Delivery:
    """One received revision of an incident, and whether its triage is done."""

    incident_id: str
    revision: str
    payload_hash: str
    received_at: datetime
    triaged: bool
    payload: str | None = None


class IncidentRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._runs = RunRepository(db)
        self._approvals = ApprovalRepository(db)

    async def claim(self, incident: Incident, payload_hash: str, *, payload: str | None = None,
                    lease: timedelta = DEFAULT_LEASE) -> bool:
        """True for the first delivery of (incident.id, incident.revision), False after. The
        claimer holds the delivery for `lease`; `payload` is kept so that another replica can
        triage it if the claimer dies first."""
        now = utc_now()
        statement = self._db.insert(incident_deliveries).values(
            incident_id=incident.id, revision=incident.revision, payload_hash=payload_hash,
            received_at=now, payload=payload, lease_until=now + lease,
        ).on_conflict_do_nothing(index_elements=["incident_id", "revision"])
        async with self._db.transaction() as session:
            result = await session.execute(statement)
        return result.rowcount == 1

    async def take_over(self, incident_id: str, revision: str, *,
                        lease: timedelta = DEFAULT_LEASE) -> bool:
        """Take an untriaged delivery whose lease ran out; True for the one caller that did."""
        now = utc_now()
        statement = update(incident_deliveries).where(
            self._is(incident_id, revision), incident_deliveries.c.triaged_at.is_(None),
            or_(incident_deliveries.c.lease_until.is_(None),
                incident_deliveries.c.lease_until <= now),
        ).values(lease_until=now + lease)
        async with self._db.transaction() as session:
            result = await session.execute(statement)
        return result.rowcount == 1

    async def release(self, incident_id: str, revision: str) -> None:
        """Give an untriaged delivery back at once, for whoever comes next."""
        statement = update(incident_deliveries).where(
            self._is(incident_id, revision), incident_deliveries.c.triaged_at.is_(None),
        ).values(lease_until=utc_now())
        async with self._db.transaction() as session:
            await session.execute(statement)

    async def mark_triaged(self, incident_id: str, revision: str, *,
                           session: AsyncSession) -> bool:
        """In the triage's transaction: True if this triage is the one that finished it."""
        result = await session.execute(update(incident_deliveries).where(
            self._is(incident_id, revision), incident_deliveries.c.triaged_at.is_(None),
        ).values(triaged_at=utc_now()))
        return result.rowcount == 1

    async def delivery(self, incident_id: str, revision: str | None = None) -> Delivery | None:
        """That revision's delivery, or the incident's latest when `revision` is None."""
        query = select(*_DELIVERY_COLUMNS).where(incident_deliveries.c.incident_id == incident_id)
        if revision is not None:
            query = query.where(incident_deliveries.c.revision == revision)
        query = query.order_by(incident_deliveries.c.received_at.desc()).limit(1)
        async with self._db.read() as session:
            row = (await session.execute(query)).first()
        return _delivery(row) if row else None

    async def untriaged(self, limit: int = 50) -> list[Delivery]:
        """Deliveries with a body that nobody is triaging: their lease ran out, oldest first."""
        c = incident_deliveries.c
        query = select(*_DELIVERY_COLUMNS, c.payload).where(
            c.triaged_at.is_(None), c.payload.is_not(None),
            or_(c.lease_until.is_(None), c.lease_until <= utc_now()),
        ).order_by(c.received_at).limit(limit)
        async with self._db.read() as session:
            rows = (await session.execute(query)).all()
        return [_delivery(row) for row in rows]

    @staticmethod
    def _is(incident_id: str, revision: str):
        return and_(incident_deliveries.c.incident_id == incident_id,
                    incident_deliveries.c.revision == revision)

    async def save_record(self, record: IncidentRecord, *,
                          session: AsyncSession | None = None) -> None:
        """Insert or replace the record; in `session`'s transaction when given."""
        if session is not None:
            await self._save(session, record)
            return
        async with self._db.transaction() as own:
            await self._save(own, record)

    async def _save(self, session: AsyncSession, record: IncidentRecord) -> None:
        now = utc_now()
        row = {
            "id": record.incident.id,
            "number": record.incident.number,
            "revision": record.incident.revision,
            "received_at": record.received_at or now,
            "outcome": record.outcome,
            "record": record.model_dump(mode="json"),
            "updated_at": now,
        }
        upsert = self._db.insert(incidents).values(**row)
        upsert = upsert.on_conflict_do_update(
            index_elements=["id"], set_={k: upsert.excluded[k] for k in row if k != "id"}
        )
        keys = sorted(_entity_keys(record))
        await session.execute(upsert)
        await session.execute(delete(incident_entities).where(
            incident_entities.c.incident_id == row["id"], incident_entities.c.key.not_in(keys)
        ))
        if keys:
            await session.execute(
                self._db.insert(incident_entities).on_conflict_do_nothing(),
                [{"key": key, "incident_id": row["id"]} for key in keys],
            )

    async def get_record(self, incident_id: str) -> IncidentRecord | None:
        return await self._first(select(incidents.c.record).where(incidents.c.id == incident_id))

    async def get_by_number(self, number: int) -> IncidentRecord | None:
        return await self._first(
            select(incidents.c.record).where(incidents.c.number == number)
            .order_by(incidents.c.received_at.desc()).limit(1)
        )

    async def find_by_entity(self, key: str) -> list[IncidentRecord]:
        """Records naming `key` (any case) as an entity or action target, newest first."""
        return await self._all(
            select(incidents.c.record)
            .join(incident_entities, incident_entities.c.incident_id == incidents.c.id)
            .where(incident_entities.c.key == key.strip().lower())
            .order_by(incidents.c.received_at.desc())
        )

    async def recent(self, limit: int = 20) -> list[IncidentRecord]:
        return await self._all(
            select(incidents.c.record).order_by(incidents.c.received_at.desc()).limit(limit)
        )

    async def _first(self, query: Select[tuple[Any]]) -> IncidentRecord | None:
        found = await self._all(query)
        return found[0] if found else None

    async def _all(self, query: Select[tuple[Any]]) -> list[IncidentRecord]:
        async with self._db.read() as session:
            stored = (await session.scalars(query)).all()
        records = [IncidentRecord.model_validate(s) for s in stored]
        if not records:
            return []
        return await self._current(records)

    async def _current(self, records: list[IncidentRecord]) -> list[IncidentRecord]:
        """The records with their runs and approvals replaced by the rows as they stand."""
        ids = [record.incident.id for record in records]
        runs_by_incident: dict[str, dict[str, ActionRun]] = defaultdict(dict)
        for run in await self._runs.for_incidents(ids):
            runs_by_incident[run.incident_id][run.id] = run
        approvals_by_incident: dict[str, dict[str, Approval]] = defaultdict(dict)
        for approval in await self._approvals.for_incidents(ids):
            approvals_by_incident[approval.incident_id][approval.id] = approval

        return [self._overlay(record, runs_by_incident[record.incident.id],
                              approvals_by_incident[record.incident.id]) for record in records]

    @staticmethod
    def _overlay(record: IncidentRecord, runs: dict[str, ActionRun],
                 approvals: dict[str, Approval]) -> IncidentRecord:
        if not runs and not approvals:
            return record
        merged_runs = [runs.pop(run.id, run) for run in record.runs] + list(runs.values())
        merged_approvals = [
            approvals.pop(a.id, a) for a in record.approvals
        ] + list(approvals.values())
        return record.model_copy(update={"runs": merged_runs, "approvals": merged_approvals})


_DELIVERY_COLUMNS = (
    incident_deliveries.c.incident_id, incident_deliveries.c.revision,
    incident_deliveries.c.payload_hash, incident_deliveries.c.received_at,
    incident_deliveries.c.triaged_at,
)


def _delivery(row: Any) -> Delivery:
    return Delivery(incident_id=row.incident_id, revision=row.revision,
                    payload_hash=row.payload_hash, received_at=row.received_at,
                    triaged=row.triaged_at is not None,
                    payload=getattr(row, "payload", None))
