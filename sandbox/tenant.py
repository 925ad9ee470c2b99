"""The sandbox tenant: the in-memory state every emulated API reads and changes.

`Tenant` loads the seed file (`sandbox/seed/fabrikam.json`, the project's copy of the shared
Fabrikam tenant, in the APIs' own shapes) and holds it as plain dictionaries, keyed the way the
APIs address them. The API modules (`graph`, `defender`, `arm`, `servicenow`, `ingest`,
`loganalytics`) implement each API's semantics on top of it; this module only promises lookups
that match the way the real services match (user principal names and device names are
case-insensitive, ARM ids too) and `reset()`, which restores the seed exactly.

The seed carries a few facts that are not part of any API shape and are kept out of answers:
`users[].managerId`, `groups[].members` and `azure.virtualMachines[].powerState`.

Security incidents (Graph `/security/incidents`) and Sentinel incidents are not in the seed:
tests register the ones they need with `add_security_incident` and `add_sentinel_incident`;
Sentinel incidents under the tenant's workspace are also created on first touch.

Limitation: the state lives in memory in one process. Two replicas each have their own tenant,
and a restart returns to the seed. It is an emulation for the offline default and tests, not a
store.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.sentinel import new_sentinel_incident

SEED_PATH = Path(__file__).resolve().parent / "seed" / "fabrikam.json"

Json = dict[str, Any]


@dataclass
class RecordedCall:
    """One mutating request an emulated API handled (not refused by auth or a fault)."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    status: int
    time: str

    def to_json(self) -> Json:
        return {"method": self.method, "path": self.path, "query": self.query,
                "json": self.json, "status": self.status, "time": self.time}


@dataclass
class IngestedRecord:
    """One log record that arrived through the Logs Ingestion API."""

    rule_id: str
    stream: str
    record: Any
    time: str

    def to_json(self) -> Json:
        return {"ruleId": self.rule_id, "stream": self.stream, "record": self.record,
                "time": self.time}


@dataclass
class Tenant:
    """The Fabrikam tenant as the emulated APIs see it; `reset()` restores the seed."""

    seed_path: Path = SEED_PATH
    seed: Json = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.seed = json.loads(self.seed_path.read_text(encoding="utf-8"))
        self.reset()

    def reset(self) -> None:
        """Forget every change, registration, recorded call and ingested record."""
        seed = copy.deepcopy(self.seed)
        graph, defender = seed.get("graph", {}), seed.get("defender", {})
        azure, sentinel = seed.get("azure", {}), seed.get("sentinel", {})

        self.info: Json = seed.get("tenant", {})
        self.users: dict[str, Json] = {u["id"]: u for u in graph.get("users", [])}
        self.groups: dict[str, Json] = {g["id"]: g for g in graph.get("groups", [])}
        self.sign_ins: list[Json] = list(graph.get("signIns", []))
        self.risky_users: dict[str, Json] = {r["id"]: r for r in graph.get("riskyUsers", [])}
        self.host_reputations: dict[str, Json] = {
            h["host"].lower(): h for h in graph.get("hostReputations", [])
        }
        self.analyzed_emails: dict[str, Json] = {
            m["id"]: m for m in graph.get("analyzedEmails", [])
        }
        self.service_principals: dict[str, Json] = {
            s["id"]: s for s in graph.get("servicePrincipals", [])
        }
        self.grants: dict[str, Json] = {
            g["id"]: g for g in graph.get("oauth2PermissionGrants", [])
        }
        self.security_incidents: dict[str, Json] = {}

        self.machines: dict[str, Json] = {m["id"]: m for m in defender.get("machines", [])}
        self.machine_actions: dict[str, Json] = {}
        self.indicators: dict[str, Json] = {
            str(i["id"]): i for i in defender.get("indicators", [])
        }

        self.nsgs: dict[str, Json] = {
            n["id"].lower(): n for n in azure.get("networkSecurityGroups", [])
        }
        self.ip_groups: dict[str, Json] = {g["id"].lower(): g for g in azure.get("ipGroups", [])}
        self.vms: dict[str, Json] = {v["id"].lower(): v for v in azure.get("virtualMachines", [])}
        self.sentinel_incidents: dict[str, Json] = {}
        self.incident_comments: dict[str, dict[str, Json]] = {}
        self.watchlists: dict[str, list[Json]] = sentinel.get("watchlists", {})

        self.tickets: list[Json] = []
        self.ingested: list[IngestedRecord] = []
        self.calls: list[RecordedCall] = []

    # Lookups, matched the way the real services match.

    def user(self, id_or_upn: str) -> Json | None:
        """A user by object id or by user principal name (case-insensitive)."""
        if id_or_upn in self.users:
            return self.users[id_or_upn]
        wanted = id_or_upn.lower()
        for user in self.users.values():
            if user.get("userPrincipalName", "").lower() == wanted or user["id"] == wanted:
                return user
        return None

    def machine(self, id_or_name: str) -> Json | None:
        """A Defender machine by id or computer DNS name (case-insensitive)."""
        wanted = id_or_name.lower()
        for machine in self.machines.values():
            if machine["id"].lower() == wanted:
                return machine
            if (machine.get("computerDnsName") or "").lower() == wanted:
                return machine
        return None

    def groups_of(self, member_id: str) -> list[Json]:
        """The groups that list `member_id` directly."""
        return [g for g in self.groups.values() if member_id in g.get("members", [])]

    def transitive_groups_of(self, member_id: str) -> list[Json]:
        """Every group `member_id` belongs to, directly or through nested groups."""
        found: dict[str, Json] = {}
        pending = [member_id]
        while pending:
            current = pending.pop()
            for group in self.groups_of(current):
                if group["id"] in found:
                    continue
                found[group["id"]] = group
                pending.append(group["id"])
        return list(found.values())

    def workspace_prefix(self) -> str:
        """The ARM id of the tenant's Sentinel workspace, in lower case."""
        ws = self.info.get("sentinelWorkspace", {})
        return (
            f"/subscriptions/{self.info.get('subscriptionId', '')}/resourcegroups/"
            f"{ws.get('resourceGroup', '')}/providers/microsoft.operationalinsights/"
            f"workspaces/{ws.get('name', '')}"
        ).lower()

    # Registrations for tests.

    def add_security_incident(self, incident: Json) -> Json:
        """Serve a Graph security incident (`/security/incidents/{id}`), alerts included."""
        if "id" not in incident:
            raise ValueError("a Graph security incident needs an id")
        stored = copy.deepcopy(incident)
        self.security_incidents[str(stored["id"])] = stored
        return stored

    def add_sentinel_incident(self, arm_id: str, properties: Json) -> Json:
        """Serve a Sentinel incident at `arm_id` with these properties (title, status, ...)."""
        incident = new_sentinel_incident(arm_id, properties)
        self.sentinel_incidents[arm_id.lower()] = incident
        return incident
