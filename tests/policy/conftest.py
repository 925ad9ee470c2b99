"""The Fabrikam tenant as the policy sees it, and the shared scenario policy.

`facts.context(...)` builds the plain context response's triage would pass for one proposed
action: the Graph user with its group names, VIP and admin flags and Identity Protection risk,
the Defender machine with its tags, and the IP facts, all read from ../shared/tenant.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from policy import Policy, Usage, load_policy

SHARED = Path(__file__).resolve().parents[3] / "shared"
if not SHARED.is_dir():
    SHARED = Path("/work/shared")
SHARED_POLICY = SHARED / "scenarios" / "policy.yaml"
TENANT = json.loads((SHARED / "tenant" / "fabrikam.json").read_text())

# A Monday at 10:00 UTC: inside any office-hours window the tests write.
MONDAY_MORNING = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)


class Fabrikam:
    """Lookups in the tenant file, shaped like the enrichment the policy is given."""

    def user(self, upn: str) -> dict[str, Any]:
        graph = TENANT["graph"]
        user = next(u for u in graph["users"] if u["userPrincipalName"] == upn)
        groups = [g["displayName"] for g in graph["groups"] if user["id"] in g["members"]]
        risky = next((r for r in graph["riskyUsers"] if r["id"] == user["id"]), {})
        vips = {v["UserPrincipalName"] for v in TENANT["sentinel"]["watchlists"]["VIPUsers"]}
        return {**user, "groups": groups, "isVip": upn in vips,
                "isAdmin": "Domain Admins" in groups, "riskLevel": risky.get("riskLevel", "none")}

    def device(self, dns_name: str) -> dict[str, Any]:
        machine = next(m for m in TENANT["defender"]["machines"]
                       if m["computerDnsName"] == dns_name)
        return {**machine, "isCritical": "Tier0" in machine["machineTags"]}

    def context(self, action: str, target: str, *, confidence: float = 0.93, count: int = 1,
                user: str | None = None, device: str | None = None, ip: str | None = None,
                now: datetime = MONDAY_MORNING, **extra: Any) -> dict[str, Any]:
        context: dict[str, Any] = {
            "action": {"name": action, "target": target, "count": count},
            "incident": {"severity": "High", "title": "Fabrikam incident", "labels": [],
                         "tactics": ["InitialAccess"], "provider": "Azure Sentinel",
                         "alertCount": 1},
            "confidence": confidence, "risk": 80, "now": now,
        }
        if user:
            context["user"] = self.user(user)
        if device:
            context["device"] = self.device(device)
        if ip:
            context["ip"] = {"address": ip, "internal": ip.startswith("10."),
                             "reputation": "malicious", "score": 90}
        context.update(extra)
        return context


@pytest.fixture
def fabrikam() -> Fabrikam:
    return Fabrikam()


@pytest.fixture(scope="session")
def shared_policy() -> Policy:
    return load_policy(SHARED_POLICY)


@pytest.fixture
def quiet(shared_policy: Policy) -> Usage:
    """Nothing executed yet in any window the shared policy counts."""
    return Usage.nothing_executed(shared_policy)
