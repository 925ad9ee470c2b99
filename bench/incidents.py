"""Unique incidents made from the shared scenarios, as Sentinel's automation rule posts them.

Each payload is one scenario with a fresh incident GUID (in `object.id`, `object.name` and the
portal URL) and a fresh `incidentNumber`, so no delivery is a redelivery and every one is
triaged in full. `IncidentFeed.next()` cycles through the scenarios in a fixed order.
"""

from __future__ import annotations

import itertools
import json
import uuid
from dataclasses import dataclass
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
SCENARIOS = SHARED / "scenarios"
SHARED_POLICY = SCENARIOS / "policy.yaml"

# Those whose verdicts include `auto` first, then the rest (approval, denied, escalated, none).
SCENARIO_ORDER = (
    "impossible-travel-powershell", "password-spray-ip", "malware-workstation",
    "phishing-campaign", "finance-impossible-travel", "prompt-injection-in-title",
    "oauth-consent-phish", "breakglass-signin", "c2-from-sql-server", "benign-vpn-signin",
)
APPROVAL_SCENARIO = "finance-impossible-travel"


@dataclass(frozen=True)
class Delivery:
    scenario: str
    incident_id: str
    number: int
    body: bytes


class Template:
    def __init__(self, name: str) -> None:
        self.name = name
        self.text = (SCENARIOS / f"{name}.json").read_text()
        self.guid = json.loads(self.text)["object"]["name"]

    def make(self, number: int) -> Delivery:
        guid = str(uuid.uuid4())
        payload = json.loads(self.text.replace(self.guid, guid))
        properties = payload["object"]["properties"]
        properties["incidentNumber"] = number
        properties["providerIncidentId"] = str(number)
        return Delivery(self.name, payload["object"]["id"], number,
                        json.dumps(payload).encode())


class IncidentFeed:
    """An endless supply of never-seen incidents; numbers start at `first_number`."""

    def __init__(self, names: tuple[str, ...] = SCENARIO_ORDER, first_number: int = 100_000):
        self._templates = itertools.cycle([Template(name) for name in names])
        self._numbers = itertools.count(first_number)

    def next(self) -> Delivery:
        return next(self._templates).make(next(self._numbers))

    def take(self, count: int) -> list[Delivery]:
        return [self.next() for _ in range(count)]
