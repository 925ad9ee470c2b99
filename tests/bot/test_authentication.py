"""With an app id set, only requests carrying a valid Bot Framework token reach the bot.

The Bot Framework's signing keys are played by a key this test makes: it is placed in
botbuilder's cache of the keys published at the Bot Framework's OpenID address, so the
production validation path runs unchanged and offline. A token signed by any other key is a
forgery.
"""

from __future__ import annotations

import json
import time
from datetime import datetime

import jwt
import pytest
from botframework.connector.auth import AuthenticationConstants
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor, _OpenIdMetadata
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.bot.conftest import ALEX, start_cordon

APP_ID = "5b0a2c7e-3d41-4e8f-9a6b-1c2d3e4f5a6b"
KEY_ID = "bf-test-key"


def rsa_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def framework_key(monkeypatch):
    """The Bot Framework's published signing key, as far as botbuilder can tell."""
    key = rsa_key()
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    published = _OpenIdMetadata(AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL)
    published.keys = [{**jwk, "kid": KEY_ID, "use": "sig", "endorsements": ["msteams"]}]
    published.last_updated = datetime.now()
    monkeypatch.setitem(JwtTokenExtractor.metadataCache, published.url, published)
    return key


@pytest.fixture
async def secured(tmp_path, framework_key):
    cordon, closers = await start_cordon(tmp_path, app_id=APP_ID, app_password="not-used")
    yield cordon
    for close in closers:
        await close()


def token(key, service_url: str, *, kid: str = KEY_ID, audience: str = APP_ID) -> str:
    now = int(time.time())
    claims = {"iss": "https://api.botframework.com", "aud": audience, "serviceurl": service_url,
              "nbf": now - 60, "exp": now + 600}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def update(cordon) -> dict:
    return cordon.teams.activity("conversationUpdate", ALEX)


async def test_a_valid_bot_framework_token_is_accepted(secured, framework_key):
    bearer = token(framework_key, secured.connector.url)

    response = await secured.teams.post(update(secured),
                                        headers={"Authorization": f"Bearer {bearer}"})

    assert response.status in (200, 201)


async def test_a_request_without_a_token_gets_401(secured):
    response = await secured.teams.say(ALEX, "pending")

    assert response.status == 401
    assert not secured.connector.received


async def test_a_malformed_token_gets_401_not_500(secured):
    for header in ("Bearer not-a-jwt", "Bearer a.b.c", "Basic YWxleDpzZWNyZXQ=", "Bearer"):
        response = await secured.teams.post(update(secured), headers={"Authorization": header})
        assert response.status == 401, header


async def test_a_token_signed_by_another_key_gets_401(secured):
    forged_with_unknown_key = token(rsa_key(), secured.connector.url, kid="attacker-key")
    forged_with_known_kid = token(rsa_key(), secured.connector.url)

    for bearer in (forged_with_unknown_key, forged_with_known_kid):
        response = await secured.teams.say(ALEX, "pause",
                                           headers={"Authorization": f"Bearer {bearer}"})
        assert response.status == 401
    assert not secured.connector.received


async def test_a_token_for_another_bot_gets_401(secured, framework_key):
    bearer = token(framework_key, secured.connector.url, audience="another-bot")

    response = await secured.teams.say(ALEX, "pending",
                                       headers={"Authorization": f"Bearer {bearer}"})

    assert response.status == 401


async def test_the_playground_needs_no_token_when_no_app_id_is_set(cordon):
    response = await cordon.teams.post(update(cordon))

    assert response.status in (200, 201)


async def test_a_request_without_a_valid_token_gets_401_whatever_its_body(secured,
                                                                          framework_key):
    url = f"{secured.teams.base}/api/messages"
    forged = f"Bearer {token(rsa_key(), secured.connector.url)}"
    bodies = (("text/plain", b"hello"), ("application/json", b"{not json"),
              ("application/json", b'{"text": "no type"}'))

    for content_type, body in bodies:
        for authorization in ({}, {"Authorization": forged}):
            headers = {"Content-Type": content_type, **authorization}
            async with secured.http.post(url, data=body, headers=headers) as response:
                assert response.status == 401, (headers, body)

    valid = f"Bearer {token(framework_key, secured.connector.url)}"
    async with secured.http.post(url, data=b"{not json", headers={
            "Content-Type": "application/json", "Authorization": valid}) as response:
        assert response.status == 400
