"""The plain context the policy judges one proposed action by.

It is built only from structured facts: the incident's severity, labels, tactics and provider,
the enrichment the skills looked up, and the proposed action. The incident's title is passed
as data for conditions that want it, never interpreted here. The variables are the ones
DESIGN.md names: `action`, `incident`, `confidence`, `risk`, `user`, `device`, `ip`; the policy
adds `now` itself.

Which user, device and IP an action concerns is decided by its target: a user action's user is
its target; a device action's user is the device's primary user when enrichment knows it. Every
entity of the incident that the action touches is listed in `entities` so forbidden-entity
checks see all of them.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from core.models import Enrichment, Incident, ProposedAction, Recommendation


def _user(enrichment: Enrichment, key: str) -> dict[str, Any]:
    facts = enrichment.users.get(key.lower())
    if facts is None:
        return {}
    user = dict(facts.user)
    user.setdefault("userPrincipalName", facts.upn)
    user.update({
        "groups": list(facts.groups),
        "isVip": facts.is_vip,
        "isAdmin": facts.is_admin,
        "riskLevel": facts.risk_level,
    })
    return user


def _device(enrichment: Enrichment, key: str) -> dict[str, Any]:
    facts = enrichment.devices.get(key.lower())
    if facts is None:
        return {}
    device = dict(facts.machine)
    device.update({"machineTags": list(facts.machine_tags), "isCritical": facts.is_critical,
                   "computerDnsName": device.get("computerDnsName", facts.name)})
    return device


def _is_private(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return ip.is_private or ip.is_loopback or ip.is_link_local


def _ip(enrichment: Enrichment, address: str) -> dict[str, Any]:
    facts = enrichment.ips.get(address)
    if facts is None:
        return {"address": address, "internal": _is_private(address), "reputation": "unknown",
                "score": 0}
    return {"address": facts.address, "internal": facts.internal,
            "reputation": facts.reputation, "score": facts.score,
            "watchlists": list(facts.watchlists), "isCritical": facts.is_critical}


def build_context(
    incident: Incident,
    enrichment: Enrichment,
    recommendation: Recommendation,
    proposed: ProposedAction,
    *,
    target_kind: str,
    impact: str,
    reversible: bool,
) -> dict[str, Any]:
    """The CEL variables for one proposed action (the policy adds `now`)."""
    target = proposed.target
    user: dict[str, Any] = {}
    device: dict[str, Any] = {}
    ip: dict[str, Any] = {}

    if target_kind == "user":
        user = _user(enrichment, target)
    elif target_kind == "device":
        device = _device(enrichment, target)
        primary = str(device.get("primaryUser") or "")
        if primary:
            user = _user(enrichment, primary)
        last_ip = str(device.get("lastIpAddress") or "")
        if last_ip:
            ip = _ip(enrichment, last_ip)
    elif target_kind == "ip" or target_kind == "indicator" and _looks_like_ip(target):
        ip = _ip(enrichment, target)

    affected_users = [target] if target_kind == "user" else []
    for message in proposed.parameters.get("messages", []) or []:
        if isinstance(message, dict) and message.get("recipientEmailAddress"):
            affected_users.append(str(message["recipientEmailAddress"]).lower())

    return {
        "action": {
            "name": proposed.action,
            "target": target,
            "impact": impact,
            "reversible": reversible,
            "count": proposed.count,
        },
        "incident": {
            "severity": incident.severity,
            "title": incident.title,
            "labels": list(incident.labels),
            "tactics": list(incident.tactics),
            "provider": incident.provider,
            "alertCount": incident.alert_count,
            "number": incident.number or 0,
        },
        "confidence": recommendation.confidence,
        "risk": recommendation.risk_score,
        "user": user,
        "device": device,
        "ip": ip,
        "entities": {
            "users": [_user(enrichment, u) or {"userPrincipalName": u} for u in affected_users],
            "ips": [ip["address"]] if ip.get("address") else [],
            "devices": [device] if device else [],
        },
    }


def _looks_like_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True
