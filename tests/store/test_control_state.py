"""Shared control state and bot conversations: what one replica sets, every replica sees."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from store import ControlState, ConversationRepository, Database, Store

GENERAL = "19:general@thread.tacv2"
REFERENCE = {
    "conversation": {"id": GENERAL, "conversationType": "channel", "tenantId": "fabrikam"},
    "serviceUrl": "http://localhost:56150/_connector",
    "bot": {"id": "28:cordon", "name": "Cordon"},
    "channelId": "msteams",
}


async def test_a_pause_typed_on_one_replica_holds_every_replica(db_url: str) -> None:
    replicas = await asyncio.gather(Database.open(db_url), Database.open(db_url))
    first, second = (ControlState(db) for db in replicas)
    try:
        assert (await second.paused())[0] is False

        await first.pause("Megan Bowen", "change freeze until Monday")
        paused, by, at = await second.paused()
        assert (paused, by) == (True, "Megan Bowen")
        assert at is not None and at.tzinfo is not None
        assert (await second.pause_details())["reason"] == "change freeze until Monday"

        await second.resume("Megan Bowen")
        assert (await first.paused())[0] is False
    finally:
        for db in replicas:
            await db.close()


async def test_a_cool_off_is_kept_as_an_instant_and_can_be_lifted(store: Store) -> None:
    assert await store.state.cool_off_until() is None
    until = datetime.now(UTC) + timedelta(minutes=30)

    await store.state.set_cool_off_until(until)
    assert await store.state.cool_off_until() == until

    await store.state.set_cool_off_until(None)
    assert await store.state.cool_off_until() is None


async def test_a_subscribed_channel_gets_cards_and_keeps_its_subscription_when_seen_again(
        db_url: str) -> None:
    store = await Store.open(db_url)
    await store.conversations.save("a:personal-megan", {"conversation": {"id": "a:megan"}})
    await store.conversations.save(GENERAL, REFERENCE, subscribed=True)
    await store.conversations.save(GENERAL, {**REFERENCE, "activityId": "1733230000001"})
    await store.close()

    restarted = await Store.open(db_url)
    conversations = ConversationRepository(restarted.db)
    try:
        assert await conversations.subscribed() == [{**REFERENCE,
                                                     "activityId": "1733230000001"}]
        saved = await conversations.get(GENERAL)
        assert saved is not None and saved["subscribed"] is True

        assert await conversations.set_subscribed(GENERAL, False) is True
        assert await conversations.subscribed() == []
        assert await conversations.set_subscribed("19:never-seen", True) is False
        assert await conversations.get("19:never-seen") is None
    finally:
        await restarted.close()
