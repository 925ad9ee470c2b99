"""Control state shared by every replica: whether automation is paused, and the cool-off.

`pause(actor, reason)` and `resume(actor)` flip one row that every replica reads before acting,
so a pause typed in Teams stops automatic actions everywhere at once. `paused()` answers
`(paused, by, at)`; `pause_details()` adds the reason. The cool-off is the time until which the
policy's cool-off rule holds automation back; `None` means none is in force.

The store records; the policy decides what a pause or a cool-off means for a verdict.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from store.database import Database
from store.tables import control_state
from store.timestamps import as_utc, iso_utc, utc_now

AUTOMATION = "automation"
COOL_OFF = "cool_off"


class ControlState:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def pause(self, actor: str, reason: str = "") -> None:
        await self._set(AUTOMATION, {"paused": True, "by": actor, "at": iso_utc(utc_now()),
                                     "reason": reason})

    async def resume(self, actor: str) -> None:
        await self._set(AUTOMATION, {"paused": False, "by": actor, "at": iso_utc(utc_now()),
                                     "reason": ""})

    async def paused(self) -> tuple[bool, str | None, datetime | None]:
        details = await self.pause_details()
        return details["paused"], details["by"], details["at"]

    async def pause_details(self) -> dict[str, Any]:
        """`paused`, `by`, `at` and `reason` of the last pause or resume (all empty if none)."""
        value = await self._get(AUTOMATION)
        if value is None:
            return {"paused": False, "by": None, "at": None, "reason": ""}
        return {"paused": bool(value["paused"]), "by": value["by"],
                "at": datetime.fromisoformat(value["at"]), "reason": value.get("reason", "")}

    async def set_cool_off_until(self, until: datetime | None, *,
                                 session: AsyncSession | None = None) -> None:
        await self._set(COOL_OFF, {"until": iso_utc(until) if until is not None else None},
                        session=session)

    async def cool_off_until(self) -> datetime | None:
        value = await self._get(COOL_OFF)
        if value is None or value.get("until") is None:
            return None
        return as_utc(datetime.fromisoformat(value["until"]))

    async def snapshot(self, *, session: AsyncSession | None = None
                       ) -> tuple[bool, str | None, datetime | None]:
        """(paused, paused by, cool-off until) in one read: what every verdict needs."""
        async with self._db.reading(session) as reader:
            rows = (await reader.execute(
                select(control_state.c.key, control_state.c.value)
                .where(control_state.c.key.in_((AUTOMATION, COOL_OFF)))
            )).all()
        values = {key: value for key, value in rows}
        automation = values.get(AUTOMATION) or {}
        until = (values.get(COOL_OFF) or {}).get("until")
        return (bool(automation.get("paused")), automation.get("by"),
                as_utc(datetime.fromisoformat(until)) if until else None)

    async def _get(self, key: str) -> dict[str, Any] | None:
        async with self._db.read() as session:
            return await session.scalar(
                select(control_state.c.value).where(control_state.c.key == key)
            )

    async def _set(self, key: str, value: dict[str, Any], *,
                   session: AsyncSession | None = None) -> None:
        statement = self._db.insert(control_state).values(key=key, value=value,
                                                          updated_at=utc_now())
        statement = statement.on_conflict_do_update(
            index_elements=["key"],
            set_={"value": statement.excluded.value, "updated_at": statement.excluded.updated_at},
        )
        async with self._db.writing(session) as writer:
            await writer.execute(statement)
