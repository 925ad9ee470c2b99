"""Action runs: each proposed action of an incident, its verdict and its execution state.

The one promise that matters here is exactly-once execution across replicas. `transition` is a
single conditional UPDATE (`… WHERE id = ? AND status IN (…) RETURNING …`): of any number of
callers racing to move a run from `pending` to `executing`, one gets the updated run back and
every other gets None. On PostgreSQL a racing UPDATE waits for the winner's row lock and then
re-checks the status; on SQLite writers are serialized.

Entering `executing` stamps `executed_at` with the current time and adds one to `attempts`
unless the caller passes either itself; every transition stamps `updated_at`. Those stamps feed
`count_executed` (the policy's circuit breakers: runs `executing` or `succeeded` whose
`executed_at` falls in the window) and `stuck` (runs a crashed process left `pending` or
`executing`, found at start by how long they have not moved).

Idempotency keys are unique: adding a run whose key is already stored raises `Conflict`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Row, and_, case, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Conflict
from core.models import ActionRun, ProposedAction, RunStatus, Verdict
from store.database import Database
from store.tables import action_runs
from store.timestamps import utc_now

EXECUTED_STATUSES = (RunStatus.EXECUTING, RunStatus.SUCCEEDED)
RECOVERABLE_STATUSES = (RunStatus.PENDING, RunStatus.EXECUTING)

# What `transition(**fields)` may change besides the status.
UPDATABLE_FIELDS = frozenset({
    "attempts", "request", "result", "error", "inverse_of", "executed_at", "updated_at",
    "verdict", "proposed",
})


def _json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return value


def _row_of(run: ActionRun, created_at: datetime, position: int) -> dict[str, Any]:
    return {
        "id": run.id,
        "incident_id": run.incident_id,
        "action": run.proposed.action,
        "target": run.proposed.target,
        "status": RunStatus(run.status).value,
        "idempotency_key": run.idempotency_key,
        "attempts": run.attempts,
        "proposed": _json(run.proposed),
        "verdict": _json(run.verdict),
        "request": run.request,
        "result": run.result,
        "error": run.error,
        "inverse_of": run.inverse_of,
        "executed_at": run.executed_at,
        "created_at": created_at,
        "position": position,
        "updated_at": run.updated_at or created_at,
    }


def run_of(row: Row[Any]) -> ActionRun:
    return ActionRun(
        id=row.id,
        incident_id=row.incident_id,
        proposed=ProposedAction.model_validate(row.proposed),
        verdict=Verdict.model_validate(row.verdict),
        status=RunStatus(row.status),
        idempotency_key=row.idempotency_key,
        attempts=row.attempts,
        request=row.request,
        result=row.result,
        error=row.error,
        inverse_of=row.inverse_of,
        executed_at=row.executed_at,
        updated_at=row.updated_at,
    )


def _statuses(statuses: Iterable[RunStatus | str] | RunStatus | str) -> list[str]:
    if isinstance(statuses, str):  # one status (RunStatus is a str too), not its characters
        return [RunStatus(statuses).value]
    return [RunStatus(status).value for status in statuses]


class RunRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add_many(self, runs: Sequence[ActionRun], *,
                       session: AsyncSession | None = None) -> None:
        """Store new runs; Conflict if an id or idempotency key is already stored.

        With `session` the insert joins the caller's transaction (a Conflict then leaves that
        transaction unusable on PostgreSQL: roll it back).
        """
        if not runs:
            return
        now = utc_now()
        rows = [_row_of(run, now, position) for position, run in enumerate(runs)]
        try:
            if session is not None:
                await session.execute(action_runs.insert(), rows)
                return
            async with self._db.transaction() as own:
                await own.execute(action_runs.insert(), rows)
        except IntegrityError as error:
            raise Conflict(
                "an action run with this id or idempotency key is already stored",
                run_ids=[run.id for run in runs],
                idempotency_keys=[run.idempotency_key for run in runs],
            ) from error

    async def get(self, run_id: str) -> ActionRun | None:
        return await self._one(select(action_runs).where(action_runs.c.id == run_id))

    async def by_idempotency_key(self, key: str) -> ActionRun | None:
        return await self._one(select(action_runs).where(action_runs.c.idempotency_key == key))

    async def for_incident(self, incident_id: str) -> list[ActionRun]:
        return await self.for_incidents([incident_id])

    async def for_incidents(self, incident_ids: Collection[str]) -> list[ActionRun]:
        """Runs of these incidents, each incident's in the order they were added."""
        if not incident_ids:
            return []
        return await self._all(
            select(action_runs).where(action_runs.c.incident_id.in_(list(incident_ids)))
            .order_by(action_runs.c.created_at, action_runs.c.position, action_runs.c.id)
        )

    async def transition(self, run_id: str,
                         from_statuses: Collection[RunStatus | str] | RunStatus | str,
                         to: RunStatus | str, *, session: AsyncSession | None = None,
                         **fields: Any) -> ActionRun | None:
        """Move the run to `to` if its status is one of `from_statuses`; None if it was not.

        With `session` the update joins the caller's transaction (say, with its audit event).

        Returns the updated run to the one caller whose UPDATE matched. `fields` set other
        columns in the same statement (`result=…`, `error=…`, `request=…`, `executed_at=…`).
        """
        unknown = set(fields) - UPDATABLE_FIELDS
        if unknown:
            raise ValueError(f"cannot set {sorted(unknown)} on a run; "
                             f"settable: {sorted(UPDATABLE_FIELDS)}")
        to = RunStatus(to)
        now = utc_now()
        values: dict[str, Any] = {k: _json(v) for k, v in fields.items()}
        values["status"] = to.value
        values.setdefault("updated_at", now)
        if to is RunStatus.EXECUTING:
            values.setdefault("executed_at", now)
            values.setdefault("attempts", action_runs.c.attempts + 1)

        statement = (
            update(action_runs)
            .where(action_runs.c.id == run_id,
                   action_runs.c.status.in_(_statuses(from_statuses)))
            .values(**values)
            .returning(*action_runs.c)
        )
        if session is not None:
            row = (await session.execute(statement)).first()
        else:
            async with self._db.transaction() as own:
                row = (await own.execute(statement)).first()
        return run_of(row) if row is not None else None

    async def count_executed(self, action: str | None, since: datetime) -> int:
        """Runs executing or succeeded with `executed_at` at or after `since` (None: all)."""
        query = select(func.count()).select_from(action_runs).where(
            action_runs.c.executed_at >= since,
            action_runs.c.status.in_(_statuses(EXECUTED_STATUSES)),
        )
        if action is not None:
            query = query.where(action_runs.c.action == action)
        async with self._db.read() as session:
            return int(await session.scalar(query) or 0)

    async def count_executed_windows(
            self, windows: Sequence[tuple[str | None, datetime]], *,
            session: AsyncSession | None = None) -> list[int]:
        """`count_executed` for several (action or None, since) windows, in one query; in
        `session`'s transaction when given."""
        if not windows:
            return []
        executed_at, action = action_runs.c.executed_at, action_runs.c.action
        columns = []
        for name, since in windows:
            inside = executed_at >= since if name is None else and_(executed_at >= since,
                                                                     action == name)
            columns.append(func.coalesce(func.sum(case((inside, 1), else_=0)), 0))
        query = select(*columns).where(
            executed_at >= min(since for _, since in windows),
            action_runs.c.status.in_(_statuses(EXECUTED_STATUSES)),
        )
        async with self._db.reading(session) as reader:
            row = (await reader.execute(query)).one()
        return [int(value or 0) for value in row]

    async def stuck(self, older_than: datetime) -> list[ActionRun]:
        """Runs still `pending` or `executing` that have not moved since `older_than`."""
        return await self._all(
            select(action_runs)
            .where(action_runs.c.status.in_(_statuses(RECOVERABLE_STATUSES)),
                   action_runs.c.updated_at < older_than)
            .order_by(action_runs.c.updated_at)
        )

    async def _one(self, query: Any) -> ActionRun | None:
        found = await self._all(query)
        return found[0] if found else None

    async def _all(self, query: Any) -> list[ActionRun]:
        async with self._db.read() as session:
            rows = (await session.execute(query)).all()
        return [run_of(row) for row in rows]
