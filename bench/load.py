"""The client: posts deliveries to an intake endpoint at a fixed concurrency and times each.

Every server under measurement gets the same client, the same bodies' shapes and the same
concurrency. A sample keeps the wall-clock time the POST started (to compare with the times
Cordon stamps on its runs), the latency, the status and the answer. The run stops by itself:
after the last delivery, or when `max_seconds` have passed (what was not sent is not counted).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bench.incidents import Delivery
from bench.latency import summary


@dataclass
class Sample:
    delivery: Delivery
    started_wall: float
    latency_s: float
    status: int
    answer: dict[str, Any] = field(default_factory=dict)


@dataclass
class LoadResult:
    samples: list[Sample]
    elapsed_s: float

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.status in (200, 201, 202)]

    def report(self) -> dict[str, Any]:
        latencies = [s.latency_s * 1000 for s in self.ok]
        statuses: dict[str, int] = {}
        for sample in self.samples:
            statuses[str(sample.status)] = statuses.get(str(sample.status), 0) + 1
        return {"requests": len(self.samples), "statuses": statuses,
                "elapsed_s": round(self.elapsed_s, 3),
                "throughput_rps": round(len(self.ok) / self.elapsed_s, 1) if self.elapsed_s else 0,
                "latency_ms": summary(latencies)}


async def post_all(url: str, deliveries: list[Delivery], *, concurrency: int, token: str = "",
                   max_seconds: float = 300.0, prefer: str = "",
                   after: Callable[[Sample], Awaitable[None]] | None = None) -> LoadResult:
    """POST every delivery; `prefer` is sent as the `Prefer` header (`respond-async`).
    `after(sample)` is awaited once a delivery is answered, before that worker sends its next
    one (to let the server settle); its time is not counted in any latency."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if prefer:
        headers["Prefer"] = prefer
    queue: asyncio.Queue[Delivery] = asyncio.Queue()
    for delivery in deliveries:
        queue.put_nowait(delivery)
    samples: list[Sample] = []
    deadline = time.perf_counter() + max_seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        while not queue.empty() and time.perf_counter() < deadline:
            delivery = queue.get_nowait()
            started_wall = time.time()
            started = time.perf_counter()
            try:
                async with session.post(url, data=delivery.body, headers=headers) as resp:
                    text = await resp.text()
                    status = resp.status
            except aiohttp.ClientError as exc:
                text, status = json.dumps({"error": repr(exc)}), 0
            latency = time.perf_counter() - started
            try:
                answer = json.loads(text) if text else {}
            except ValueError:
                answer = {"text": text[:500]}
            sample = Sample(delivery, started_wall, latency, status,
                            answer if isinstance(answer, dict) else {})
            samples.append(sample)
            if after is not None:
                await after(sample)

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        began = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - began
    return LoadResult(samples, elapsed)
