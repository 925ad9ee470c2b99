"""An incident with thousands of entities costs a bounded number of lookups, a few at a time, and
says which entities were not looked up. Before, 1,900 entities meant some 5,000 requests at once:
the HTTP pools spent minutes sorting them and every lookup timed out."""

from __future__ import annotations

import asyncio

from core.models import Entity, EntityKind, Incident
from core.settings import Settings
from skills.enrichment import Enricher


class ThreatIntel:
    """Answers every address as neutral after a moment, counting the lookups in flight."""

    def __init__(self, delay: float = 0.01) -> None:
        self.delay = delay
        self.in_flight = 0
        self.most_in_flight = 0
        self.asked: list[str] = []

    async def ip_reputation(self, address):
        self.asked.append(address)
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(self.delay)
        self.in_flight -= 1
        return {"classification": "neutral", "score": 0}


class Watchlists:
    async def watchlist(self, name):
        return {"items": []}


def _spray_of(addresses: int) -> Incident:
    return Incident(id="spray", title="Password spray from many addresses", entities=[
        Entity(kind=EntityKind.IP, raw_kind="Ip", key=f"203.0.{i // 200}.{i % 200}")
        for i in range(addresses)])


async def test_a_huge_incident_is_looked_up_a_few_at_a_time_up_to_the_cap():
    intel = ThreatIntel()
    enricher = Enricher({"ThreatIntel": intel, "Watchlists": Watchlists()}, Settings(
        CORDON_ENRICHMENT_CACHE=0, CORDON_ENRICHMENT_CONCURRENCY=8,
        CORDON_ENRICHMENT_MAX_ENTITIES=50))

    enrichment = await enricher.enrich(_spray_of(400))

    assert len(intel.asked) == 50
    assert intel.most_in_flight <= 8
    assert len(enrichment.ips) == 50
    assert [(f.entity, f.error) for f in enrichment.failures] == [
        ("350 more Ip entities",
         "not looked up: Cordon looks up at most 50 Ip entities of one incident")]


async def test_waiting_for_a_turn_does_not_count_against_the_timeout():
    intel = ThreatIntel(delay=0.03)
    enricher = Enricher({"ThreatIntel": intel, "Watchlists": Watchlists()}, Settings(
        CORDON_ENRICHMENT_CACHE=0, CORDON_ENRICHMENT_CONCURRENCY=1,
        CORDON_ENRICHMENT_TIMEOUT=0.15))

    enrichment = await enricher.enrich(_spray_of(20))  # 20 × 30 ms one by one: 0.6 s in all

    assert enrichment.failures == []
    assert all(ip.reputation == "neutral" for ip in enrichment.ips.values())
