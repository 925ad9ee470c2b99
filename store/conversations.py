"""Teams conversations the bot has seen, with the reference it needs to post into them later.

The bot saves a conversation's serialized `ConversationReference` whenever a message arrives
(`save`), and marks the ones that asked for incident cards with `subscribe` (`set_subscribed`).
`subscribed()` lists the references cards are posted to. Saving a reference again replaces it
and keeps the subscription unless `subscribed` is given.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from store.database import Database
from store.tables import conversations
from store.timestamps import utc_now


class ConversationRepository:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def save(self, conversation_id: str, reference: dict[str, Any],
                   subscribed: bool | None = None) -> None:
        row = {"id": conversation_id, "reference": reference,
               "subscribed": bool(subscribed), "updated_at": utc_now()}
        statement = self._db.insert(conversations).values(**row)
        changes = {"reference": statement.excluded.reference,
                   "updated_at": statement.excluded.updated_at}
        if subscribed is not None:
            changes["subscribed"] = statement.excluded.subscribed
        statement = statement.on_conflict_do_update(index_elements=["id"], set_=changes)
        async with self._db.transaction() as session:
            await session.execute(statement)

    async def get(self, conversation_id: str) -> dict[str, Any] | None:
        """`{"id", "reference", "subscribed", "updated_at"}`, or None if never seen."""
        async with self._db.read() as session:
            row = (await session.execute(
                select(conversations).where(conversations.c.id == conversation_id)
            )).first()
        if row is None:
            return None
        return {"id": row.id, "reference": row.reference, "subscribed": row.subscribed,
                "updated_at": row.updated_at}

    async def subscribed(self) -> list[dict[str, Any]]:
        """The references of conversations subscribed to incident cards, oldest first."""
        async with self._db.read() as session:
            rows = (await session.scalars(
                select(conversations.c.reference).where(conversations.c.subscribed.is_(True))
                .order_by(conversations.c.updated_at)
            )).all()
        return list(rows)

    async def set_subscribed(self, conversation_id: str, subscribed: bool) -> bool:
        """True if the conversation was known (and is now set), False if never saved."""
        async with self._db.transaction() as session:
            result = await session.execute(
                update(conversations).where(conversations.c.id == conversation_id)
                .values(subscribed=subscribed, updated_at=utc_now())
            )
        return result.rowcount == 1
