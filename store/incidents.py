"""Incidents as Cordon has seen them: first-delivery claims and the stored incident records.

`claim(incident, payload_hash)` is how redelivery is recognised: it inserts the pair
(incident id, revision) and answers True only to the one call that inserted it. The pair is
the primary key, so two replicas receiving the same delivery at once get one True between them.

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
from typing import Any

from sqlalchemy import Select, delete, select
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


class IncidentRepository:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._runs = RunRepository(db)
        self._approvals = ApprovalRepository(db)

    async def claim(self, incident: Incident, payload_hash: str) -> bool:
        """True for the first delivery of (incident.id, incident.revision), False after."""
        statement = self._db.insert(incident_deliveries).values(
            incident_id=incident.id, revision=incident.revision, payload_hash=payload_hash,
            received_at=utc_now(),
        ).on_conflict_do_nothing(index_elements=["incident_id", "revision"])
        async with self._db.transaction() as session:
            result = await session.execute(statement)
        return result.rowcount == 1

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
