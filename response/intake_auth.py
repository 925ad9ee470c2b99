"""Who may post incidents: a shared bearer secret, or an Entra ID token for our audience.

`IntakeAuth.check(header)` accepts `Authorization: Bearer <token>` when the token equals the
configured shared secret (compared in constant time), or when it is a JWT signed by Entra ID
(keys from the tenant's JWKS) whose audience is the configured one and which has not expired.
Everything else is refused with `Unauthorized` saying what was missing or wrong; the token
itself never reaches a log line.

When no secret is configured, a random one is generated on first start and kept in
`<data_dir>/intake-token` (mode 0600), so a fresh deployment is never open to the world.
"""

from __future__ import annotations

import asyncio
import hmac
import os
import secrets
from pathlib import Path

import jwt
import structlog

from core.errors import Unauthorized

log = structlog.get_logger(__name__)

ENTRA_ISSUERS = ("https://login.microsoftonline.com/", "https://sts.windows.net/")


def ensure_intake_token(configured: str, data_dir: Path) -> str:
    """The shared secret: the configured one, or one generated and kept under data_dir."""
    if configured:
        return configured
    path = data_dir / "intake-token"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    log.info("intake token generated", path=str(path))
    return token


class IntakeAuth:
    def __init__(self, *, token: str, audience: str = "", tenant_id: str = "",
                 jwks_url: str = "", issuers: tuple[str, ...] = ENTRA_ISSUERS) -> None:
        self._issuers = issuers
        self._tenant_id = tenant_id
        self._token = token
        self._audience = audience
        self._jwks_url = jwks_url or (
            f"https://login.microsoftonline.com/{tenant_id or 'common'}/discovery/v2.0/keys")
        self._jwks: jwt.PyJWKClient | None = None

    async def check(self, header: str | None) -> str:
        """Return who is calling ("shared-secret" or the token's app id) or raise Unauthorized."""
        if not header:
            raise Unauthorized("missing Authorization header; send `Authorization: Bearer "
                               "<CORDON_INTAKE_TOKEN or an Entra ID token>`")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("the Authorization header must be `Bearer <token>`")
        token = token.strip()
        if self._token and hmac.compare_digest(token.encode(), self._token.encode()):
            return "shared-secret"
        if self._audience and token.count(".") == 2:
            return await self._check_jwt(token)
        raise Unauthorized("the bearer token is not valid for this Cordon")

    async def _check_jwt(self, token: str) -> str:
        try:
            if self._jwks is None:
                self._jwks = jwt.PyJWKClient(self._jwks_url, cache_keys=True, timeout=5)
            # PyJWKClient fetches the keys with a blocking call (then caches them).
            key = await asyncio.to_thread(self._jwks.get_signing_key_from_jwt, token)
            claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=self._audience,
                                options={"require": ["exp", "aud", "iss"]})
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("the Entra ID token has expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthorized(f"the Entra ID token is not for audience {self._audience}") from exc
        except (jwt.PyJWTError, jwt.PyJWKClientError) as exc:
            raise Unauthorized(f"the Entra ID token is not valid: {type(exc).__name__}") from exc
        issuer = str(claims.get("iss", ""))
        if not issuer.startswith(self._issuers):
            raise Unauthorized("the token was not issued by Entra ID")
        if self._tenant_id and str(claims.get("tid", "")).lower() != self._tenant_id.lower():
            raise Unauthorized("the Entra ID token is from another tenant")
        return str(claims.get("appid") or claims.get("azp") or claims.get("sub") or "entra")
