"""Which addresses are Fabrikam's own: never sent to threat intelligence, never proposed for a
block, however they are written."""

from __future__ import annotations

import pytest

from core.models import Enrichment, MailFacts
from skills.lookups.threat_intel import is_internal_address
from skills.reasoning_addresses import is_internal_address as reasoner_internal
from skills.reasoning_parameters import still_delivered


@pytest.mark.parametrize("address", ["10.0.1.20", "::ffff:10.0.1.20", " 192.168.4.2 ",
                                     "fe80::1", "100.64.3.3"])
def test_private_addresses_are_internal_however_written(address):
    assert is_internal_address(address)
    assert reasoner_internal(address)


@pytest.mark.parametrize("address", ["203.0.113.45", "::ffff:203.0.113.45", "198.51.100.23"])
def test_public_addresses_are_not(address):
    assert not is_internal_address(address)
    assert not reasoner_internal(address)


def test_the_reasoner_never_treats_an_unreadable_address_as_external():
    assert reasoner_internal("not-an-address")


@pytest.mark.parametrize(("location", "delivered"), [
    ("inbox_folder", True), ("inboxFolder", True), ("deletedFolder", False),
    ("deleted_folder", False), ("junk_folder", False), ("quarantine", False)])
def test_removed_mail_is_not_purged_again_whatever_the_spelling(location, delivered):
    enrichment = Enrichment(mails={"m1": MailFacts(
        network_message_id="m1", recipient="sara.kim@fabrikam.example", found=True,
        message={"latestDelivery": {"location": location}})})
    assert still_delivered("m1", enrichment) is delivered


async def test_a_malformed_answer_spoils_one_entity_not_the_enrichment():
    from core.models import Entity, EntityKind, Incident
    from core.settings import Settings
    from skills.enrichment import Enricher

    class ThreatIntel:
        async def ip_reputation(self, address):
            return {"classification": "malicious", "score": "very high"}  # not a number

        async def host_reputation(self, host):
            return {"classification": "neutral", "score": 0}

    class Watchlists:
        async def watchlist(self, name):
            return {"items": []}

    incident = Incident(id="i", title="t", entities=[
        Entity(kind=EntityKind.IP, raw_kind="Ip", key="203.0.113.45"),
        Entity(kind=EntityKind.URL, raw_kind="Url", key="contoso-pay.example"),
    ])
    enricher = Enricher({"ThreatIntel": ThreatIntel(), "Watchlists": Watchlists()},
                        Settings(CORDON_ENRICHMENT_CACHE=0))
    enrichment = await enricher.enrich(incident)

    assert [f.entity for f in enrichment.failures] == ["203.0.113.45"]
    assert enrichment.hosts["contoso-pay.example"].reputation == "neutral"
