"""Cordon in a Teams client: `python app.py` driven through the Agents Playground in headless
Chromium, as the SOC would use it.

Alex subscribes the SOC group chat; an incident posted to `/api/incidents` appears there as a
card; Adele's click on Approve is refused with the reason; Alex approves, the card says so and
then shows the result, and the sandbox tenant shows the account disabled; a "why" question is
answered with the evidence it rests on.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.playground import REPO_ROOT, PlaygroundPage, free_port, wait_for_http

pytestmark = pytest.mark.e2e

SCENARIOS = REPO_ROOT.parent / "shared" / "scenarios"
TOKEN = "e2e-intake-token"
LOGS = REPO_ROOT / "build" / "e2e"


class Cordon:
    def __init__(self, base: str) -> None:
        self.base = base

    def post_incident(self, name: str) -> dict:
        request = urllib.request.Request(
            f"{self.base}/api/incidents", data=(SCENARIOS / f"{name}.json").read_bytes(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.loads(answer.read())

    def tenant(self, path: str) -> dict:
        request = urllib.request.Request(f"{self.base}/sandbox{path}",
                                         headers={"Authorization": "Bearer e2e"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.loads(answer.read())


@pytest.fixture(scope="module")
def cordon(e2e_tools: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cordon]:
    port = free_port()
    data = tmp_path_factory.mktemp("cordon-e2e")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CORDON_", "AZURE_", "Microsoft", "DATABASE_URL"))}
    env.update({"PORT": str(port), "CORDON_POLICY": str(SCENARIOS / "policy.yaml"),
                "CORDON_INTAKE_TOKEN": TOKEN, "CORDON_DATA_DIR": str(data),
                "DATABASE_URL": f"sqlite+aiosqlite:///{data / 'cordon.db'}",
                "PYTHONUNBUFFERED": "1"})
    LOGS.mkdir(parents=True, exist_ok=True)
    log = (LOGS / "cordon.log").open("w")
    process = subprocess.Popen([sys.executable, "app.py"], cwd=REPO_ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/readyz", timeout=60)
        yield Cordon(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def bot_url(cordon: Cordon) -> str:
    return f"{cordon.base}/api/messages"


def _until(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def test_an_incident_card_is_approved_by_alex_after_adele_is_refused(
        teams: PlaygroundPage, cordon: Cordon, tmp_path: Path) -> None:
    teams.open_chat("group").as_user("Alex Wilber").send("subscribe")
    teams.wait_for_text("incident cards")

    result = cordon.post_incident("finance-impossible-travel")
    assert result["outcome"] == "awaiting_approval"
    card_text = "Impossible travel: Finance controller"
    teams.card(card_text, timeout=20)

    refused = teams.as_user("Adele Vance").click_card_button(
        "Approve", within_card_containing=card_text)
    assert refused.status == 200 and refused.seconds < 1
    assert refused.kind == "application/vnd.microsoft.error"
    note = teams.invoke_note(card_text)
    assert "Adele Vance is not a member of an approver group" in note, note
    teams.screenshot(LOGS / "refused-click.png")
    user = cordon.tenant("/graph/v1.0/users/priya.natarajan@fabrikam.example"
                         "?$select=accountEnabled")
    assert user["accountEnabled"] is True

    approved = teams.as_user("Alex Wilber").click_card_button(
        "Approve", within_card_containing=card_text)
    assert approved.status == 200 and approved.seconds < 1
    assert approved.kind == "application/vnd.microsoft.card.adaptive"
    teams.card("approved by Alex Wilber")
    teams.card("Executed", timeout=20)
    teams.screenshot(LOGS / "approved-card.png")

    disabled = _until(lambda: cordon.tenant(
        "/graph/v1.0/users/priya.natarajan@fabrikam.example?$select=accountEnabled"
    )["accountEnabled"] is False)
    assert disabled, "the sandbox tenant shows Priya's account disabled"


def test_a_why_question_is_answered_with_its_evidence(teams: PlaygroundPage,
                                                      cordon: Cordon) -> None:
    cordon.post_incident("password-spray-ip")
    teams.open_chat("group").as_user("Adele Vance").send("why block 203.0.113.45?")

    answer = teams.wait_for_text("Incident 4524", timeout=20)
    text = answer.inner_text()
    assert "203.0.113.45" in text
    assert re.search(r"\bE\d+\b", text), f"the answer names its evidence: {text}"
    assert "threatIntelligence" in text or "threat intelligence" in text.lower(), text
