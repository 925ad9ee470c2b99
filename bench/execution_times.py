"""Arrival-to-executed: from the start of an incident's POST until its last `auto` action
succeeded in the sandbox, read from the times Cordon stamped on the runs.

The runs' `updated_at` is stamped when a run becomes `succeeded`, on the same machine's clock
the client read when it started the POST, so nothing polls Cordon while it is under load. The
client waits for the stragglers afterwards (through `GET /api/incidents/{id}`, one at a time)
and then reads every run at once from the database.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from bench.latency import summary
from bench.load import Sample

UNSETTLED = ("pending", "executing")


def auto_actions(sample: Sample) -> list[dict[str, Any]]:
    return [a for a in sample.answer.get("actions", []) if a.get("verdict") == "auto"]


async def wait_settled(base: str, token: str, samples: list[Sample],
                       timeout: float = 120.0) -> bool:
    """True once no auto action of these incidents is pending or executing."""
    deadline = asyncio.get_running_loop().time() + timeout
    headers = {"Authorization": f"Bearer {token}"}
    waiting = [s for s in samples if auto_actions(s)]
    async with aiohttp.ClientSession() as session:
        while waiting:
            if asyncio.get_running_loop().time() > deadline:
                return False
            url = f"{base}/api/incidents/{quote(waiting[0].answer['incident_id'], safe='/')}"
            async with session.get(url, headers=headers) as resp:
                body = await resp.json()
            if any(a["status"] in UNSETTLED for a in body.get("actions", [])
                   if a.get("verdict") == "auto"):
                await asyncio.sleep(0.1)
                continue
            waiting.pop(0)
    return True


async def await_results(base: str, token: str, samples: list[Sample],
                        timeout: float = 120.0) -> bool:
    """For each delivery answered 202, poll its result (as Logic Apps would, but only after the
    load, so polling does not load the server being timed) and keep it as the sample's answer.
    True once every one has its result."""
    deadline = asyncio.get_running_loop().time() + timeout
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession() as session:
        for sample in samples:
            if sample.status != 202:
                continue
            url = (f"{base}/api/incidents/{quote(sample.answer['incident_id'], safe='/')}"
                   f"?revision={quote(sample.answer['revision'], safe='')}")
            while True:
                async with session.get(url, headers=headers) as resp:
                    body = await resp.json()
                    status = resp.status
                if status == 200:
                    sample.answer = body
                    break
                if asyncio.get_running_loop().time() > deadline:
                    return False
                await asyncio.sleep(0.05)
    return True


async def outbox_drained(db, timeout: float = 10.0) -> bool:
    """True once Cordon has delivered every audit record it had queued (to Log Analytics and
    as incident comments); read straight from its database, so the wait costs Cordon nothing."""
    from sqlalchemy import func, select

    from store.tables import outbox

    deadline = asyncio.get_running_loop().time() + timeout
    query = select(func.count()).where(outbox.c.status == "pending")
    while True:
        async with db.read() as session:
            if not await session.scalar(query):
                return True
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.02)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def arrival_to_executed(database_url: str, samples: list[Sample]) -> dict[str, Any]:
    from store.database import Database
    from store.runs import RunRepository

    with_auto = {s.answer["incident_id"]: s for s in samples if auto_actions(s)}
    db = await Database.open(database_url, migrate=False)
    try:
        runs = await RunRepository(db).for_incidents(list(with_auto))
    finally:
        await db.close()

    by_incident: dict[str, list] = {}
    for run in runs:
        if run.verdict.verdict == "auto" and not run.inverse_of:
            by_incident.setdefault(run.incident_id, []).append(run)

    seconds: list[float] = []
    statuses: dict[str, int] = {}
    for incident_id, sample in with_auto.items():
        auto_runs = by_incident.get(incident_id, [])
        for run in auto_runs:
            statuses[run.status.value] = statuses.get(run.status.value, 0) + 1
        if not auto_runs or any(r.status.value != "succeeded" for r in auto_runs):
            continue
        finished = max(_utc(r.updated_at) for r in auto_runs)
        seconds.append(finished.timestamp() - sample.started_wall)
    return {"incidents": len(with_auto), "run_statuses": statuses,
            "latency_ms": summary([s * 1000 for s in seconds])}
