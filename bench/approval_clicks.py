"""Click-to-answer: how long Teams waits for Cordon's answer to an approval click.

The SOC channel is subscribed (so cards are posted and, after each decision, updated for
everyone, as in a real deployment), finance-impossible-travel incidents arrive through intake
(their `disable_user` on Priya needs approval), and Alex Wilber, a SOC approver, clicks
`approve` on each: an `invoke` activity `adaptiveCard/action` posted to `/api/messages`, timed
until its HTTP answer. The approval ids are read from the database, where the cards' buttons
get them. A local fake Bot Connector accepts whatever the bot posts or updates.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from typing import Any

import aiohttp
from aiohttp import web

from bench.incidents import APPROVAL_SCENARIO, IncidentFeed
from bench.latency import summary
from bench.load import post_all
from bench.processes import free_port

ALEX = {"id": "29:1alex", "name": "Alex Wilber",
        "aadObjectId": "00000000-0000-0000-0000-0000000000020"}
TENANT_ID = "f4b1c0de-5a1e-4c3b-9e7d-2b8a6c4d0e11"
CHANNEL = "19:soc-bench@thread.tacv2"
BOT = {"id": "28:cordon-bot", "name": "Cordon"}


class FakeConnector:
    """A Bot Connector that accepts every POST and PUT and answers with an activity id."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.received = 0
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None

    async def _accept(self, request: web.Request) -> web.Response:
        await request.read()
        self.received += 1
        return web.json_response({"id": f"activity-{next(self._ids)}"})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._accept)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def activity(kind: str, service_url: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": kind, "id": f"m-{uuid.uuid4().hex[:12]}", "channelId": "msteams",
        "serviceUrl": service_url, "timestamp": "2026-12-03T10:00:00.000Z",
        "from": ALEX, "recipient": BOT,
        "conversation": {"id": CHANNEL, "tenantId": TENANT_ID, "conversationType": "channel",
                         "isGroup": True},
        "channelData": {"tenant": {"id": TENANT_ID}},
        **extra,
    }


def approve_click(service_url: str, approval_id: str, action_hash: str) -> dict[str, Any]:
    return activity("invoke", service_url, name="adaptiveCard/action", value={
        "action": {"type": "Action.Execute", "verb": "approve",
                   "data": {"approval_id": approval_id, "action_hash": action_hash}},
        "trigger": "manual"})


async def pending_approvals(database_url: str, incident_ids: list[str]) -> list[Any]:
    from store.approvals import ApprovalRepository
    from store.database import Database

    db = await Database.open(database_url, migrate=False)
    try:
        found = await ApprovalRepository(db).for_incidents(incident_ids)
    finally:
        await db.close()
    return [a for a in found if a.status == "pending"]


async def measure_clicks(base: str, token: str, database_url: str, *, clicks: int,
                         concurrency: int, first_number: int) -> dict[str, Any]:
    connector = FakeConnector()
    await connector.start()
    try:
        async with aiohttp.ClientSession() as session:
            subscribe = activity(
                "message", connector.url, text="<at>Cordon</at> subscribe",
                entities=[{"type": "mention", "text": "<at>Cordon</at>", "mentioned": BOT}])
            async with session.post(f"{base}/api/messages", json=subscribe) as resp:
                await resp.read()
                if resp.status >= 300:
                    raise RuntimeError(f"subscribe answered {resp.status}")

            feed = IncidentFeed((APPROVAL_SCENARIO,), first_number=first_number)
            arrived = await post_all(f"{base}/api/incidents", feed.take(clicks),
                                     concurrency=concurrency, token=token)
            ids = [s.answer["incident_id"] for s in arrived.ok]
            approvals = await pending_approvals(database_url, ids)
            latencies, answers = await _click_all(session, base, connector.url, approvals,
                                                  concurrency)
    finally:
        await connector.stop()
    approved = sum(1 for a in answers if a == "approved")
    return {"clicks": len(approvals), "approved": approved,
            "other_answers": [a for a in answers if a != "approved"][:5],
            "connector_requests": connector.received,
            "latency_ms": summary(latencies)}


async def _click_all(session: aiohttp.ClientSession, base: str, service_url: str,
                     approvals: list[Any], concurrency: int) -> tuple[list[float], list[str]]:
    queue = list(approvals)
    latencies: list[float] = []
    answers: list[str] = []

    async def clicker() -> None:
        while queue:
            approval = queue.pop(0)
            body = approve_click(service_url, approval.id, approval.action_hash)
            started = time.perf_counter()
            async with session.post(f"{base}/api/messages", json=body) as resp:
                text = await resp.text()
                status = resp.status
            latencies.append((time.perf_counter() - started) * 1000)
            answers.append("approved" if status == 200 and "Approved by Alex Wilber" in text
                           else f"{status}: {text[:200]}")

    await asyncio.gather(*(clicker() for _ in range(concurrency)))
    return latencies, answers
