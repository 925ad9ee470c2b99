"""Where Cordon's tokens come from: azure-identity in production, a static credential offline.

`build_credential(settings)` returns an async azure.core `TokenCredential`:
- a `ClientSecretCredential` when AZURE_CLIENT_ID, AZURE_CLIENT_SECRET and AZURE_TENANT_ID are set;
- a `ManagedIdentityCredential` when `CORDON_USE_MANAGED_IDENTITY` asks for one (with the client
  id of a user-assigned identity when AZURE_CLIENT_ID is set);
- `DefaultAzureCredential` otherwise in production (workload identity, managed identity, the
  Azure CLI...);
- `SandboxCredential` in sandbox mode, which hands out `sandbox-<scope>` tokens without any
  network call, so the same clients and the same code paths run offline.

Every API takes a token for its own resource: the scopes are named here once. The credential
never decides what may be called; it only proves who calls.
"""

from __future__ import annotations

import time
from typing import Any

from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.core.credentials_async import AsyncTokenCredential

from core.settings import Settings

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
DEFENDER_SCOPE = "https://api.securitycenter.microsoft.com/.default"
ARM_SCOPE = "https://management.azure.com/.default"
MONITOR_SCOPE = "https://monitor.azure.com/.default"
LOG_ANALYTICS_SCOPE = "https://api.loganalytics.io/.default"

_SANDBOX_TOKEN_LIFETIME_S = 3600


class SandboxCredential:
    """A credential for the sandbox: `sandbox-<scope>` bearer tokens, valid for an hour.

    It implements azure.core's async `TokenCredential` protocol (`get_token`) and the newer
    `get_token_info`, so azure SDK clients and Cordon's own clients accept it unchanged.
    """

    async def get_token(self, *scopes: str, claims: str | None = None,
                        tenant_id: str | None = None, enable_cae: bool = False,
                        **kwargs: Any) -> AccessToken:
        info = await self.get_token_info(*scopes)
        return AccessToken(info.token, info.expires_on)

    async def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        scope = scopes[0] if scopes else "default"
        expires_on = int(time.time()) + _SANDBOX_TOKEN_LIFETIME_S
        return AccessTokenInfo(f"sandbox-{scope}", expires_on)

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> SandboxCredential:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


def build_credential(settings: Settings) -> AsyncTokenCredential:
    """The credential the settings ask for; see the module docstring for the order."""
    if settings.sandbox_mode:
        return SandboxCredential()

    from azure.identity.aio import (
        ClientSecretCredential,
        DefaultAzureCredential,
        ManagedIdentityCredential,
    )

    if settings.use_managed_identity:
        return ManagedIdentityCredential(client_id=settings.client_id or None)
    if settings.client_id and settings.client_secret and settings.tenant_id:
        return ClientSecretCredential(settings.tenant_id, settings.client_id,
                                      settings.client_secret)
    return DefaultAzureCredential()


async def bearer_token(credential: AsyncTokenCredential, scope: str) -> str:
    """A bearer token for one resource scope; azure-identity caches and refreshes it."""
    token = await credential.get_token(scope)
    return token.token
