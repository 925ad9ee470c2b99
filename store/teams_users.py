"""Teams users the bot has seen: their Teams id (`29:…`), Entra ID object id and name.

A card's `refresh.userIds` must list Teams ids, while approvers are known by their Entra ID
object ids; this table joins the two from the activities the bot receives (`seen`). `recent`
lists the users most recently seen first, for the bot to keep the approvers among them.
Defined on the store's metadata, created by migration 0002.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Index, String, Table, select

from store.database import Database
from store.tables import metadata
from store.timestamps import UtcDateTime, utc_now

teams_users = Table(
    "teams_users", metadata,
    Column("teams_id", String, primary_key=True),
    Column("aad_object_id", String, nullable=False),
    Column("name", String, nullable=False),
    Column("seen_at", UtcDateTime, nullable=False),
    Index(None, "aad_object_id"),
    Index(None, "seen_at"),
)


@dataclass(frozen=True)
class TeamsUser:
    teams_id: str
    aad_object_id: str
    name: str
    seen_at: datetime


class TeamsUserRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def seen(self, teams_id: str, aad_object_id: str, name: str = "") -> None:
        """Record (or refresh) a user; ignored without both ids."""
        if not teams_id or not aad_object_id:
            return
        statement = self._db.insert(teams_users).values(
            teams_id=teams_id, aad_object_id=aad_object_id, name=name or "", seen_at=utc_now())
        statement = statement.on_conflict_do_update(index_elements=["teams_id"], set_={
            "aad_object_id": statement.excluded.aad_object_id,
            "name": statement.excluded.name, "seen_at": statement.excluded.seen_at,
        })
        async with self._db.transaction() as session:
            await session.execute(statement)

    async def recent(self, limit: int = 500) -> list[TeamsUser]:
        async with self._db.read() as session:
            rows = (await session.execute(
                select(teams_users).order_by(teams_users.c.seen_at.desc()).limit(limit)
            )).all()
        return [TeamsUser(r.teams_id, r.aad_object_id, r.name, r.seen_at) for r in rows]
