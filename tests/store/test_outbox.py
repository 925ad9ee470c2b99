"""The outbox: what the audit trail promises Log Analytics and Sentinel is delivered once per
lease, survives a restart, and is retried with backoff when the destination fails."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from store import Database, Outbox, OutboxDispatcher, Store


async def until(condition: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    """Wait for a condition that lives in the database, checking every 20 ms."""
    async with asyncio.timeout(within):
        while not await condition():  # noqa: ASYNC110 - the condition is a query, not an event
            await asyncio.sleep(0.02)


class Destination:
    """A stand-in for Log Analytics: records every batch; can be told to fail a few times."""

    def __init__(self, failures: int = 0) -> None:
        self.received: list[dict[str, Any]] = []
        self.failures = failures

    async def send(self, batch: list[dict[str, Any]]) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("503 Service Unavailable from the ingestion endpoint")
        self.received.extend(batch)


async def test_events_written_before_a_restart_are_delivered_after_it(db_url: str) -> None:
    before = await Store.open(db_url, outbox_destinations=("log_analytics",))
    await before.audit.append("incident_received", "sentinel", "inc-4524", {"number": 4524})
    await before.audit.append("verdict", "policy", "inc-4524", {"action": "block_ip"})
    await before.close()

    after = await Store.open(db_url)
    analytics = Destination()
    dispatcher = OutboxDispatcher(after.outbox, {"log_analytics": analytics.send}, interval=0.05)
    dispatcher.start()
    try:
        await until(lambda: _has(analytics, 2))
        assert await after.outbox.counts("log_analytics") == {"done": 2}
    finally:
        await dispatcher.stop()
        await after.close()
    assert [e["kind"] for e in analytics.received] == ["incident_received", "verdict"]


async def _has(destination: Destination, count: int) -> bool:
    return len(destination.received) >= count


async def test_two_replicas_claiming_at_once_never_take_the_same_item(db_url: str) -> None:
    replicas = await asyncio.gather(Database.open(db_url), Database.open(db_url))
    outboxes = [Outbox(db) for db in replicas]
    try:
        for n in range(30):
            await outboxes[0].enqueue("incident_comment", {"seq": n})
        claims = await asyncio.gather(*[
            box.claim("incident_comment", 4, lease_seconds=60) for box in outboxes
            for _ in range(5)
        ])
        claimed = [item.id for batch in claims for item in batch]
        assert len(claimed) == len(set(claimed)) == 30
        assert await outboxes[1].claim("incident_comment", 50, 60) == []
    finally:
        for db in replicas:
            await db.close()


async def test_a_lapsed_lease_lets_another_replica_send_the_item(store: Store) -> None:
    await store.outbox.enqueue("incident_comment", {"seq": 1, "kind": "action_succeeded"})
    first = await store.outbox.claim("incident_comment", 10, lease_seconds=0.2)
    assert len(first) == 1
    assert await store.outbox.claim("incident_comment", 10, 60) == []

    async def claimable_again() -> bool:
        again = await store.outbox.claim("incident_comment", 10, 60)
        return [item.id for item in again] == [first[0].id]

    await until(claimable_again, within=5)


async def test_a_failing_destination_is_retried_with_backoff_until_it_answers(
        store: Store) -> None:
    await store.outbox.enqueue("log_analytics", {"seq": 1})
    analytics = Destination(failures=2)
    dispatcher = OutboxDispatcher(store.outbox, {"log_analytics": analytics.send},
                                  interval=0.05, backoff_base=0.05)
    dispatcher.start()

    async def delivered() -> bool:
        return await store.outbox.counts() == {"done": 1}

    try:
        await until(delivered)
    finally:
        await dispatcher.stop()
    assert analytics.received == [{"seq": 1}]


async def test_an_item_that_never_goes_through_is_given_up_after_its_attempts(
        store: Store) -> None:
    await store.outbox.enqueue("incident_comment", {"seq": 1})
    comments = Destination(failures=100)
    dispatcher = OutboxDispatcher(store.outbox, {"incident_comment": comments.send},
                                  interval=0.02, backoff_base=0.01, max_attempts=3)
    dispatcher.start()

    async def dead() -> bool:
        return await store.outbox.counts() == {"dead": 1}

    try:
        await until(dead)
    finally:
        await dispatcher.stop()
    assert comments.failures == 97


async def test_a_woken_dispatcher_delivers_without_waiting_for_its_interval(
        store: Store) -> None:
    analytics = Destination()
    dispatcher = OutboxDispatcher(store.outbox, {"log_analytics": analytics.send}, interval=60)
    dispatcher.start()
    try:
        await asyncio.sleep(0)
        await store.outbox.enqueue("log_analytics", {"seq": 7})
        dispatcher.wake()
        await until(lambda: _has(analytics, 1), within=5)
    finally:
        await dispatcher.stop()
