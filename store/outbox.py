"""The outbox: deliveries to other systems, written as rows in the same transaction as the fact
they report, and sent later by a dispatcher, so neither a crash nor a slow API loses one.

`Outbox.enqueue(destination, payload, session=…)` joins the caller's transaction when given
one: the audit log writes each event and its outbox rows together. `claim(destination, limit,
lease_seconds)` hands out due items and leases them: their `available_at` moves past the lease,
so no other replica (nor this one) claims them again until the lease runs out. On PostgreSQL the
claim reads with `FOR UPDATE SKIP LOCKED`, so replicas claiming at once take different items
instead of waiting on each other; on SQLite the claim is one write transaction. `done` marks an
item delivered; `failed` puts it back for `retry_at`, or gives it up (status `dead`) when
`retry_at` is None.

`OutboxDispatcher` is the background task that drains the outbox: every `interval` seconds (or
at once after `wake()`), for each destination it has a sender for, it claims a batch, hands the
payloads to the sender, and marks them done, or failed with exponential backoff when the sender
raises. Items are rows, so whatever was pending when a process stopped is sent by the next one.

Limitation: delivery is at least once, not exactly once. A sender that succeeds but whose
process dies before `done` is recorded, or that outlives its lease, has its items sent again;
destinations should tolerate a repeat (audit events carry their `seq` for that).
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import structlog
from pydantic import BaseModel
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from store.database import Database
from store.tables import outbox
from store.timestamps import utc_now

log = structlog.get_logger(__name__)

Sender = Callable[[list[dict[str, Any]]], Awaitable[None]]


class OutboxItem(BaseModel):
    id: int
    destination: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime


class Outbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue(self, destination: str, payload: dict[str, Any],
                      session: AsyncSession | None = None) -> None:
        await self.enqueue_many([(destination, payload)], session=session)

    async def enqueue_many(self, deliveries: list[tuple[str, dict[str, Any]]],
                           session: AsyncSession | None = None) -> None:
        """Enqueue `(destination, payload)` pairs; in `session`'s transaction when given."""
        if not deliveries:
            return
        now = utc_now()
        rows = [{"destination": destination, "payload": payload, "status": "pending",
                 "attempts": 0, "available_at": now, "created_at": now}
                for destination, payload in deliveries]
        if session is not None:
            await session.execute(outbox.insert(), rows)
            return
        async with self._db.transaction() as own:
            await own.execute(outbox.insert(), rows)

    async def claim(self, destination: str, limit: int = 50,
                    lease_seconds: float = 60.0) -> list[OutboxItem]:
        """Due items of `destination`, leased to the caller for `lease_seconds`."""
        now = utc_now()
        due = (
            select(outbox.c.id)
            .where(outbox.c.destination == destination, outbox.c.status == "pending",
                   outbox.c.available_at <= now)
            .order_by(outbox.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        async with self._db.transaction() as session:
            ids = list((await session.scalars(due)).all())
            if not ids:
                return []
            rows = (await session.execute(
                update(outbox).where(outbox.c.id.in_(ids))
                .values(available_at=now + timedelta(seconds=lease_seconds),
                        attempts=outbox.c.attempts + 1)
                .returning(outbox.c.id, outbox.c.destination, outbox.c.payload,
                           outbox.c.attempts, outbox.c.created_at)
            )).all()

        items = [OutboxItem(id=r.id, destination=r.destination, payload=r.payload,
                            attempts=r.attempts, created_at=r.created_at) for r in rows]
        return sorted(items, key=lambda item: item.id)

    async def done(self, item_id: int) -> None:
        await self.done_many([item_id])

    async def done_many(self, item_ids: list[int]) -> None:
        async with self._db.transaction() as session:
            await session.execute(
                update(outbox).where(outbox.c.id.in_(item_ids))
                .values(status="done", last_error=None)
            )

    async def failed(self, item_id: int, error: str, retry_at: datetime | None) -> None:
        """Retry the item at `retry_at`; None gives it up for good (status `dead`)."""
        values: dict[str, Any] = {"last_error": error[:2000]}
        if retry_at is None:
            values["status"] = "dead"
        else:
            values["available_at"] = retry_at
        async with self._db.transaction() as session:
            await session.execute(update(outbox).where(outbox.c.id == item_id).values(**values))

    async def counts(self, destination: str | None = None) -> dict[str, int]:
        """How many items are in each status (`pending`, `done`, `dead`)."""
        query = select(outbox.c.status, func.count()).group_by(outbox.c.status)
        if destination is not None:
            query = query.where(outbox.c.destination == destination)
        async with self._db.transaction() as session:
            rows = (await session.execute(query)).all()
        return {status: int(count) for status, count in rows}

    async def purge_done(self, older_than: datetime) -> int:
        """Delete delivered items created before `older_than`; how many went."""
        async with self._db.transaction() as session:
            result = await session.execute(
                delete(outbox).where(outbox.c.status == "done",
                                     outbox.c.created_at < older_than)
            )
        return result.rowcount


class OutboxDispatcher:
    """Delivers outbox items to their senders in the background, with backoff on failure."""

    def __init__(self, outbox: Outbox, senders: Mapping[str, Sender], interval: float = 2.0,
                 *, batch_size: int = 50, lease_seconds: float = 60.0, max_attempts: int = 12,
                 backoff_base: float = 2.0, backoff_max: float = 300.0) -> None:
        self._outbox = outbox
        self._senders = dict(senders)
        self._interval = interval
        self._batch_size = batch_size
        self._lease_seconds = lease_seconds
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    def wake(self) -> None:
        """Deliver now rather than at the next interval."""
        self._wakeup.set()

    async def deliver_once(self) -> int:
        """One pass over every destination; how many items were delivered."""
        delivered = 0
        for destination, sender in self._senders.items():
            while True:
                items = await self._outbox.claim(destination, self._batch_size,
                                                 self._lease_seconds)
                if not items:
                    break
                delivered += await self._deliver(destination, sender, items)
                if len(items) < self._batch_size:
                    break
        return delivered

    async def _deliver(self, destination: str, sender: Sender, items: list[OutboxItem]) -> int:
        try:
            await sender([item.payload for item in items])
        except Exception as error:  # any sender failure is retried, then given up
            for item in items:
                await self._outbox.failed(item.id, repr(error), self._retry_at(item.attempts))
            log.warning("outbox delivery failed", destination=destination, items=len(items),
                        attempts=max(item.attempts for item in items), error=repr(error))
            return 0

        await self._outbox.done_many([item.id for item in items])
        log.debug("outbox delivered", destination=destination, items=len(items))
        return len(items)

    def _retry_at(self, attempts: int) -> datetime | None:
        if attempts >= self._max_attempts:
            return None
        delay = min(self._backoff_max, self._backoff_base * 2 ** (attempts - 1))
        return utc_now() + timedelta(seconds=delay * random.uniform(0.8, 1.2))

    async def _run(self) -> None:
        while True:
            self._wakeup.clear()
            try:
                await self.deliver_once()
            except Exception as error:  # the loop outlives a database hiccup
                log.error("outbox dispatch failed", error=repr(error))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._interval)
