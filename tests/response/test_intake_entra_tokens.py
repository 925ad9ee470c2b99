"""Posting incidents with an Entra ID token instead of the shared secret, as a Logic App with a
managed identity does. The signing keys are served locally the way Entra ID publishes them."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import aiohttp
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.response.conftest import Cordon, scenario, start_cordon

AUDIENCE = "api://cordon-intake"
TENANT = "f4b1c0de-5a1e-4c3b-9e7d-2b8a6c4d0e11"
ISSUER = f"https://login.microsoftonline.com/{TENANT}/v2.0"


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


ENTRA_KEY, OTHER_KEY = _key(), _key()


def _jwk(private_key, kid: str) -> dict:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key()))
    return {**public, "kid": kid, "use": "sig", "alg": "RS256"}


@pytest.fixture(scope="module")
def jwks_url():
    body = json.dumps({"keys": [_jwk(ENTRA_KEY, "entra-1")]}).encode()

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/discovery/v2.0/keys"
    server.shutdown()


def token(*, key=ENTRA_KEY, kid="entra-1", audience=AUDIENCE, issuer=ISSUER,
          expires_in: int = 600) -> str:
    now = int(time.time())
    claims = {"aud": audience, "iss": issuer, "iat": now, "nbf": now, "exp": now + expires_in,
              "appid": "5c1e9c9e-logic-app", "tid": TENANT}
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture
async def entra_cordon(tmp_path, database_url, jwks_url):
    runner, base, app = await start_cordon(tmp_path, database_url,
                                           CORDON_INTAKE_AUDIENCE=AUDIENCE,
                                           CORDON_INTAKE_JWKS_URL=jwks_url)
    async with aiohttp.ClientSession() as session:
        yield Cordon(base, session, app)
    await runner.cleanup()


async def test_an_entra_token_for_our_audience_is_accepted(entra_cordon):
    status, body = await entra_cordon.post(scenario("password-spray-ip"), token=token())
    assert status == 201, body
    status, _ = await entra_cordon.get(body["incident_id"], token=token())
    assert status == 200


@pytest.mark.parametrize(("bad", "reason"), [
    ({"expires_in": -120}, "expired"),
    ({"audience": "api://someone-else"}, "audience"),
    ({"key": OTHER_KEY}, "not valid"),
    ({"key": OTHER_KEY, "kid": "forged"}, "not valid"),
    ({"issuer": "https://evil.example/"}, "Entra ID"),
])
async def test_a_bad_entra_token_is_refused_with_the_reason(entra_cordon, bad, reason):
    status, body = await entra_cordon.post(scenario("password-spray-ip"), token=token(**bad))
    assert status == 401, body
    assert reason in body["message"], body
    assert await entra_cordon.calls() == []


async def test_the_shared_secret_still_works_beside_entra(entra_cordon):
    status, _ = await entra_cordon.post(scenario("password-spray-ip"))
    assert status == 201
