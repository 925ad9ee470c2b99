"""The whole Cordon app in-process, a fake Bot Connector, and Teams people who talk to the bot.

`cordon` runs `app.build_web_app(settings)` on a real port (the embedded sandbox at /sandbox
answers on it) with a temporary SQLite database and the shared scenarios' policy (or a variant
written to a temporary file). `connector` is a local Bot Connector recording what the bot posts
(`POST /v3/conversations/{id}/activities[/{replyTo}]`) and updates (`PUT …/activities/{id}`).
`Teams` builds the activities Teams would send for Alex, Megan and Adele, in a channel (with an
@mention) or a personal chat, with `serviceUrl` pointing at the fake connector.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from cards import MAX_CARD_BYTES, card_size, validate_card
from core.settings import Settings
from tests.pg import drop_postgres_database, fresh_postgres_url

SCENARIOS = Path(__file__).resolve().parents[3] / "shared" / "scenarios"
POLICY = SCENARIOS / "policy.yaml"
INTAKE_TOKEN = "intake-test-token"
ERROR_TYPE = "application/vnd.microsoft.error"
CARD_TYPE = "application/vnd.microsoft.card.adaptive"
TENANT_ID = "f4b1c0de-5a1e-4c3b-9e7d-2b8a6c4d0e11"
BOT_ID = "28:cordon-bot"


@dataclass(frozen=True)
class Person:
    teams_id: str
    aad_object_id: str
    name: str


ALEX = Person("29:1alex", "00000000-0000-0000-0000-0000000000020", "Alex Wilber")
MEGAN = Person("29:1megan", "00000000-0000-0000-0000-0000000000021", "Megan Bowen")
ADELE = Person("29:1adele", "00000000-0000-0000-0000-0000000000022", "Adele Vance")

CHANNEL = "19:soc-general@thread.tacv2"


def scenario(name: str) -> dict[str, Any]:
    return json.loads((SCENARIOS / f"{name}.json").read_text())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cards_in(activity: dict[str, Any]) -> list[dict[str, Any]]:
    return [a["content"] for a in activity.get("attachments") or []
            if a.get("contentType") == CARD_TYPE]


def card_text(card: dict[str, Any]) -> str:
    """Every text a card shows, joined: what a person would read."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in ("text", "title", "value"):
                if isinstance(node.get(key), str):
                    found.append(node[key])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(card)
    return "\n".join(found)


def card_actions(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Action.Execute on the card, wherever it sits."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "Action.Execute":
                found.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk({k: v for k, v in card.items() if k != "refresh"})
    return found


def assert_sendable(card: dict[str, Any]) -> None:
    errors = validate_card(card)
    assert not errors, errors
    assert card_size(card) < MAX_CARD_BYTES


@dataclass
class Posted:
    method: str
    conversation_id: str
    activity_id: str
    activity: dict[str, Any]

    @property
    def cards(self) -> list[dict[str, Any]]:
        return cards_in(self.activity)

    @property
    def text(self) -> str:
        return (self.activity.get("text") or "") + "\n" + "\n".join(
            card_text(c) for c in self.cards)


@dataclass
class FakeConnector:
    """The Bot Connector service: records every activity the bot sends or updates."""

    url: str = ""
    received: list[Posted] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v3/conversations/{conversation}/activities", self._post)
        app.router.add_post("/v3/conversations/{conversation}/activities/{reply_to}",
                            self._post)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._put)
        return app

    async def _post(self, request: web.Request) -> web.Response:
        activity = await request.json()
        activity_id = f"activity-{next(self._ids)}"
        self._record("POST", request.match_info["conversation"], activity_id, activity)
        return web.json_response({"id": activity_id})

    async def _put(self, request: web.Request) -> web.Response:
        activity = await request.json()
        activity_id = request.match_info["activity"]
        self._record("PUT", request.match_info["conversation"], activity_id, activity)
        return web.json_response({"id": activity_id})

    def _record(self, method: str, conversation: str, activity_id: str,
                activity: dict[str, Any]) -> None:
        for card in cards_in(activity):
            assert_sendable(card)
        self.received.append(Posted(method, conversation, activity_id, activity))
        self.changed.set()

    def posts(self, conversation: str | None = None) -> list[Posted]:
        return [p for p in self.received if p.method == "POST"
                and (conversation is None or p.conversation_id.startswith(conversation))]

    def updates(self, activity_id: str) -> list[Posted]:
        return [p for p in self.received if p.method == "PUT" and p.activity_id == activity_id]

    async def wait_for(self, condition: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until `condition()` is truthy (re-checked on every recorded activity)."""
        async with asyncio.timeout(timeout):
            while True:
                found = condition()
                if found:
                    return found
                self.changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), 0.2)


class Teams:
    """Activities as Teams sends them, posted to the app's /api/messages."""

    def __init__(self, http: aiohttp.ClientSession, base: str, connector: FakeConnector) -> None:
        self.http = http
        self.base = base
        self.connector = connector

    def activity(self, kind: str, person: Person, *, conversation: str = CHANNEL,
                 **extra: Any) -> dict[str, Any]:
        channel = conversation.startswith("19:")
        return {
            "type": kind, "id": f"m-{uuid.uuid4().hex[:12]}", "channelId": "msteams",
            "serviceUrl": self.connector.url, "timestamp": "2026-12-03T10:00:00.000Z",
            "from": {"id": person.teams_id, "name": person.name,
                     "aadObjectId": person.aad_object_id},
            "recipient": {"id": BOT_ID, "name": "Cordon"},
            "conversation": {"id": conversation, "tenantId": TENANT_ID,
                             "conversationType": "channel" if channel else "personal",
                             "isGroup": channel},
            "channelData": {"tenant": {"id": TENANT_ID}},
            **extra,
        }

    async def say(self, person: Person, text: str, *, conversation: str = CHANNEL,
                  reply_to: str | None = None, headers: dict[str, str] | None = None
                  ) -> aiohttp.ClientResponse:
        extra: dict[str, Any] = {"text": text}
        if conversation.startswith("19:"):
            extra["text"] = f"<at>Cordon</at> {text}"
            extra["entities"] = [{"type": "mention", "text": "<at>Cordon</at>",
                                  "mentioned": {"id": BOT_ID, "name": "Cordon"}}]
        if reply_to:
            extra["replyToId"] = reply_to
        body = self.activity("message", person, conversation=conversation, **extra)
        self.last_message_id = body["id"]
        return await self.post(body, headers=headers)

    async def ask(self, person: Person, text: str, **kwargs: Any) -> Posted:
        """Say something and return the bot's reply in that conversation."""
        conversation = kwargs.get("conversation", CHANNEL)
        response = await self.say(person, text, **kwargs)
        assert response.status in (200, 201), await response.text()
        message_id = self.last_message_id
        replies = await self.connector.wait_for(lambda: [
            p for p in self.connector.posts(conversation)
            if p.activity.get("replyToId") == message_id])
        return replies[0]

    async def click(self, person: Person, verb: str, data: dict[str, Any], *,
                    card_activity_id: str | None = None, conversation: str = CHANNEL
                    ) -> dict[str, Any]:
        """An Action.Execute click; returns the invoke response body."""
        extra: dict[str, Any] = {
            "name": "adaptiveCard/action",
            "value": {"action": {"type": "Action.Execute", "verb": verb, "data": data},
                      "trigger": "manual"},
        }
        if card_activity_id:
            extra["replyToId"] = card_activity_id
        body = self.activity("invoke", person, conversation=conversation, **extra)
        response = await self.post(body)
        assert response.status == 200, await response.text()
        answer = await response.json()
        if answer["type"] == ERROR_TYPE:
            # A refusal: Teams shows the message to the clicker and leaves the card as it was.
            assert answer["statusCode"] == 400, answer
            assert answer["value"]["message"], answer
            return {"refused": True, "text": answer["value"]["message"]}
        assert answer["statusCode"] == 200, answer
        assert answer["type"] == CARD_TYPE, answer
        assert_sendable(answer["value"])
        return answer["value"]

    async def post(self, body: dict[str, Any], headers: dict[str, str] | None = None
                   ) -> aiohttp.ClientResponse:
        response = await self.http.post(f"{self.base}/api/messages", json=body,
                                         headers=headers or {})
        await response.read()
        return response


@dataclass
class Cordon:
    base: str
    http: aiohttp.ClientSession
    app: web.Application
    connector: FakeConnector
    teams: Teams

    @property
    def runtime(self):
        from app import RUNTIME_KEY

        return self.app[RUNTIME_KEY]

    async def incident(self, payload: dict[str, Any]) -> dict[str, Any]:
        async with self.http.post(f"{self.base}/api/incidents", json=payload,
                                  headers={"Authorization": f"Bearer {INTAKE_TOKEN}"}) as r:
            body = await r.json()
            assert r.status in (200, 201), body
            return body

    async def sandbox_calls(self) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.base}/sandbox/_calls") as r:
            body = await r.json()
        return body.get("calls", body) if isinstance(body, dict) else body

    async def sandbox(self, path: str) -> Any:
        async with self.http.get(f"{self.base}/sandbox{path}",
                                 headers={"Authorization": "Bearer sandbox-test"}) as r:
            return await r.json()

    async def settled(self, incident_id: str, timeout: float = 10.0) -> None:
        """Wait until no run of the incident is executing and every card update is sent."""
        engine = self.runtime.engine
        async with asyncio.timeout(timeout):
            while True:
                await engine.executor.drain(timeout=timeout)
                await self.runtime.bot.drain(timeout)
                record = await engine.record(incident_id)
                if all(r.status.value not in ("pending", "executing") for r in record.runs):
                    await self.runtime.bot.drain(timeout)
                    return
                await asyncio.sleep(0.05)


_POSTGRES: dict[Path, str] = {}


@pytest.fixture(autouse=True)
async def _database_for_the_test(tmp_path: Path):
    """A fresh PostgreSQL database for the test when CORDON_TEST_DB=postgres (CI runs these
    tests on both); restarts within the test find the same one."""
    if os.environ.get("CORDON_TEST_DB") != "postgres":
        yield
        return
    url = await fresh_postgres_url()
    if url is None:
        pytest.skip("no PostgreSQL answers on 127.0.0.1:5432")
    _POSTGRES[tmp_path] = url
    yield
    _POSTGRES.pop(tmp_path, None)
    await drop_postgres_database(url)


async def start_cordon(tmp_path: Path, policy: Path = POLICY, *,
                       connector: FakeConnector | None = None, **settings: Any):
    """Cordon on a free port, and a fake connector (a new one unless given); returns the
    harness and the closers to await, in order."""
    closers = []
    if connector is None:
        connector = FakeConnector()
        connector_server = TestServer(connector.app(), host="127.0.0.1")
        await connector_server.start_server()
        connector.url = str(connector_server.make_url("/")).rstrip("/") + "/"
        closers.append(connector_server.close)

    from app import build_web_app

    port = free_port()
    values = {
        "database_url": _POSTGRES.get(tmp_path) or f"sqlite+aiosqlite:///{tmp_path / 'cordon.db'}",
        "policy_path": policy,
        "port": port, "data_dir": tmp_path, "intake_token": INTAKE_TOKEN, "sandbox_url": "",
        "client_id": "", "client_secret": "", "tenant_id": "", "use_managed_identity": False,
        "app_id": "", "app_password": "", "ai_provider": "",
    }
    config = Settings(**{**values, **settings})
    app = build_web_app(config)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    http = aiohttp.ClientSession()
    base = f"http://127.0.0.1:{port}"
    cordon = Cordon(base, http, app, connector, Teams(http, base, connector))
    return cordon, [http.close, server.close, *closers]


@pytest.fixture
async def cordon(tmp_path: Path):
    found, closers = await start_cordon(tmp_path)
    yield found
    for close in closers:
        await close()


def policy_variant(tmp_path: Path, replace: dict[str, str]) -> Path:
    """The scenarios' policy with some text replaced, written to a temporary file."""
    text = POLICY.read_text()
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    return path


async def subscribed(cordon: Cordon, conversation: str = CHANNEL) -> None:
    reply = await cordon.teams.ask(ALEX, "subscribe", conversation=conversation)
    assert "Subscribed" in reply.text


async def posted_card(cordon: Cordon, number: int, conversation: str = CHANNEL) -> Posted:
    """The incident card the bot posted for incident `number` in the conversation."""
    return await cordon.connector.wait_for(lambda: next(
        (p for p in cordon.connector.posts(conversation)
         if p.cards and f"Incident {number}" in card_text(p.cards[0])), None))


FINANCE = "finance-impossible-travel"
PRIYA = "priya.natarajan@fabrikam.example"
PRIYA_ID = "abf161ee-852d-5919-869a-45204f246325"
MARCUS = "marcus.lee@fabrikam.example"
MARCUS_ID = "30188386-51a4-5163-b2a5-70ef97ce501c"
ALEX_UPN = "alexw@fabrikam.example"


def sandbox_tenant(cordon: Cordon):
    from sandbox import TENANT_KEY

    for sub in cordon.app._subapps:
        if TENANT_KEY in sub:
            return sub[TENANT_KEY]
    raise AssertionError("the app serves no sandbox")


def impossible_travel_of(cordon: Cordon, upn: str, user_id: str, name: str,
                         number: int) -> dict[str, Any]:
    """Priya's impossible travel, happening to someone else: the tenant gets the same risky
    sign-ins for them, and the incident names them (its own id and number)."""
    tenant = sandbox_tenant(cordon)
    for sign_in in [s for s in tenant.sign_ins if s.get("userId") == PRIYA_ID]:
        tenant.sign_ins.append({**sign_in, "id": str(uuid.uuid4()), "userId": user_id,
                                "userPrincipalName": upn, "userDisplayName": name})
    tenant.risky_users[user_id] = {**tenant.risky_users[PRIYA_ID], "id": user_id,
                                   "userPrincipalName": upn, "userDisplayName": name}

    text = json.dumps(scenario(FINANCE))
    text = (text.replace(PRIYA, upn).replace('"priya.natarajan"', json.dumps(upn.split("@")[0]))
            .replace(PRIYA_ID, user_id).replace("Priya Natarajan", name)
            .replace("70400ca7-4944-5e69-80c6-e0e41cf2dc6e", str(uuid.uuid4()))
            .replace("4522", str(number)))
    return json.loads(text)


def action_of(card: dict[str, Any], verb: str, target_hint: str = "") -> dict[str, Any]:
    """The card's button with this verb (whose tooltip names `target_hint`, if given)."""
    for action in card_actions(card):
        if action["verb"] == verb and target_hint in action.get("tooltip", ""):
            return action
    raise AssertionError(f"no {verb} button for {target_hint!r}: "
                         f"{[(a['verb'], a.get('tooltip')) for a in card_actions(card)]}")
