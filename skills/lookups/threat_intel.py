"""The `ThreatIntel` plugin: reputation of addresses and hosts from Microsoft threat intelligence.

Reads Graph `GET /security/threatIntelligence/hosts/{host}/reputation` (classification
malicious | suspicious | neutral | unknown, a score, the rules behind it). Internal addresses
(RFC 1918, loopback, link-local, carrier-grade NAT, IPv6 unique-local) are answered `internal`
here and never sent out: an internal address says nothing to an outside reputation service,
and naming it there would leak the network's layout.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any
from urllib.parse import urlsplit

from semantic_kernel.functions import kernel_function

from core.errors import UpstreamError
from skills.graph import GraphClient
from skills.lookups import is_not_found

INTERNAL_NETWORKS = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
    "100.64.0.0/10", "::1/128", "fc00::/7", "fe80::/10",
))


def is_internal_address(address: str) -> bool:
    """True for private, loopback, link-local and CGNAT addresses.

    Not `ipaddress.is_private`: that also counts the documentation ranges (192.0.2.0/24,
    198.51.100.0/24, 203.0.113.0/24), which are public addresses as far as Cordon is concerned.
    """
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:10.0.1.20 is 10.0.1.20
    return any(ip in network for network in INTERNAL_NETWORKS if network.version == ip.version)


def host_of(value: str) -> str:
    """The host name of a URL, or the value itself when it is already a host."""
    if "://" in value:
        return (urlsplit(value).hostname or value).lower()
    return value.split("/", 1)[0].lower()


class ThreatIntelLookups:
    """Reputation of IP addresses, domains and URL hosts."""

    def __init__(self, graph: GraphClient) -> None:
        self._graph = graph

    @kernel_function(name="ip_reputation",
                     description="Reputation of an IP address; internal addresses are not sent.")
    async def ip_reputation(
        self, address: Annotated[str, "An IPv4 or IPv6 address"],
    ) -> dict[str, Any]:
        if is_internal_address(address):
            return {"host": address, "internal": True, "classification": "internal",
                    "score": 0, "rules": []}
        return {"internal": False, **await self._reputation(address)}

    @kernel_function(name="host_reputation",
                     description="Reputation of a domain, or of the host of a URL.")
    async def host_reputation(
        self, host: Annotated[str, "A domain name or a URL"],
    ) -> dict[str, Any]:
        return await self._reputation(host_of(host))

    async def _reputation(self, host: str) -> dict[str, Any]:
        builder = self._graph.service.security.threat_intelligence.hosts.by_host_id(host)
        try:
            found = await self._graph.send(builder.reputation.to_get_request_information())
        except UpstreamError as exc:
            if is_not_found(exc):
                return {"host": host, "classification": "unknown", "score": 0, "rules": []}
            raise
        found = found or {}
        return {
            "host": host,
            "classification": str(found.get("classification") or "unknown").lower(),
            "score": int(found.get("score") or 0),
            "rules": [rule.get("name", "") for rule in found.get("rules") or []],
        }
