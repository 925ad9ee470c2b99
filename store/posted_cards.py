"""Incident cards the Teams bot has posted: which activity in which conversation shows which
incident.

The bot records every card it posts (`add`); when an incident's record changes it updates each
of them (`for_incident`), and a message replying to a card is read in that card's incident
(`incident_of`). `latest_incident` is the incident of the newest card in a conversation, the
context of a question that names none. The table is defined here, on the store's metadata, and
created by migration 0002.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, Index, PrimaryKeyConstraint, String, Table, select

from store.database import Database
from store.tables import metadata
from store.timestamps import UtcDateTime, utc_now

posted_cards = Table(
    "posted_cards", metadata,
    Column("conversation_id", String, nullable=False),
    Column("activity_id", String, nullable=False),
    Column("incident_id", String, nullable=False),
    Column("posted_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("conversation_id", "activity_id"),
    Index(None, "incident_id"),
)


@dataclass(frozen=True)
class PostedCard:
    conversation_id: str
    activity_id: str
    incident_id: str
    posted_at: datetime


class PostedCardRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, incident_id: str, conversation_id: str, activity_id: str) -> None:
        """Remember a posted card; posting the same activity twice keeps one row."""
        statement = self._db.insert(posted_cards).values(
            conversation_id=conversation_id, activity_id=activity_id,
            incident_id=incident_id, posted_at=utc_now(),
        ).on_conflict_do_nothing(index_elements=["conversation_id", "activity_id"])
        async with self._db.transaction() as session:
            await session.execute(statement)

    async def for_incident(self, incident_id: str) -> list[PostedCard]:
        """Every card showing the incident, oldest first."""
        async with self._db.read() as session:
            rows = (await session.execute(
                select(posted_cards).where(posted_cards.c.incident_id == incident_id)
                .order_by(posted_cards.c.posted_at)
            )).all()
        return [PostedCard(r.conversation_id, r.activity_id, r.incident_id, r.posted_at)
                for r in rows]

    async def incident_of(self, conversation_id: str, activity_id: str) -> str | None:
        """The incident a card shows, or None when the activity is not one of ours."""
        async with self._db.read() as session:
            return (await session.scalars(
                select(posted_cards.c.incident_id).where(
                    posted_cards.c.conversation_id == conversation_id,
                    posted_cards.c.activity_id == activity_id)
            )).first()

    async def latest_incident(self, conversation_id: str) -> str | None:
        """The incident of the newest card posted in the conversation."""
        async with self._db.read() as session:
            return (await session.scalars(
                select(posted_cards.c.incident_id)
                .where(posted_cards.c.conversation_id == conversation_id)
                .order_by(posted_cards.c.posted_at.desc()).limit(1)
            )).first()
