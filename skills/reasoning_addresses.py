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

_INTERNAL_NETWORKS = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
        "127.0.0.0/8", "169.254.0.0/16", "::1/128", "fc00::/7", "fe80::/10",
    )
)

VPN_WATCHLIST = "KnownVPNEgress"


def is_internal_address(address: str, facts: IpFacts | None = None) -> bool:
    """True for Fabrikam's own address space; an unparsable address counts as internal."""
    if facts is not None and facts.internal:
        return True

    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return True
    return any(parsed in network for network in _INTERNAL_NETWORKS
               if network.version == parsed.version)


def vpn_egress_row(address: str, enrichment: Enrichment) -> dict | None:
    """The KnownVPNEgress watchlist row of `address`, if the address is a known VPN egress."""
    for row in enrichment.watchlists.get(VPN_WATCHLIST, []):
        if str(row.get("IPAddress", "")).strip() == address:
            return row

    facts = enrichment.ips.get(address)
    if facts is not None and VPN_WATCHLIST in facts.watchlists:
        return {"IPAddress": address}
    return None
