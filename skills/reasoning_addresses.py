"""Which IP addresses are Fabrikam's own, and which watchlists vouch for an address.

An address is internal when enrichment says so or when it lies in a private or local range
(RFC 1918, RFC 6598 shared space, loopback, link-local, IPv6 unique-local). The documentation
ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) count as external here even though
Python's `is_private` calls them private: they stand for the internet in the Fabrikam tenant.
The reasoners never propose blocking an internal address; the policy has the last word anyway.
"""

from __future__ import annotations

import ipaddress

from core.models import Enrichment, IpFacts
from skills.lookups.threat_intel import is_internal_address as private_address

VPN_WATCHLIST = "KnownVPNEgress"


def is_internal_address(address: str, facts: IpFacts | None = None) -> bool:
    """True for Fabrikam's own address space; an unparsable address counts as internal."""
    if facts is not None and facts.internal:
        return True

    try:
        ipaddress.ip_address(address.strip())
    except ValueError:
        return True
    return private_address(address)


def vpn_egress_row(address: str, enrichment: Enrichment) -> dict | None:
    """The KnownVPNEgress watchlist row of `address`, if the address is a known VPN egress."""
    for row in enrichment.watchlists.get(VPN_WATCHLIST, []):
        if str(row.get("IPAddress", "")).strip() == address:
            return row

    facts = enrichment.ips.get(address)
    if facts is not None and VPN_WATCHLIST in facts.watchlists:
        return {"IPAddress": address}
    return None
