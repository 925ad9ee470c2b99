"""A fixed bearer token for msgraph-sdk against the sandbox: a test aid, not a credential.

kiota's `AzureIdentityAuthenticationProvider` refuses plain-http hosts, and the sandbox accepts
any token, so tests build the Graph client with `sandbox_graph_auth()` instead:
`GraphServiceClient(request_adapter=GraphRequestAdapter(sandbox_graph_auth()))` and then set
`request_adapter.base_url` to `http://host:port/sandbox/graph/v1.0`.

Limitation: production code gets its tokens from azure-identity (skills builds that provider);
this one must never be pointed at a real Microsoft endpoint, and it says so by refusing https.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)

SANDBOX_TOKEN = "sandbox-token"  # noqa: S105 - the sandbox accepts any token


class StaticTokenProvider(AccessTokenProvider):
    """Answers every plain-http request with the same token."""

    def __init__(self, token: str = SANDBOX_TOKEN) -> None:
        self._token = token

    async def get_authorization_token(
        self, uri: str, additional_authentication_context: dict[str, Any] | None = None
    ) -> str:
        if urlparse(uri).scheme != "http":
            raise ValueError(f"the sandbox token is only for the plain-http sandbox, not {uri}")
        return self._token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return AllowedHostsValidator([])


def sandbox_graph_auth(token: str = SANDBOX_TOKEN) -> BaseBearerTokenAuthenticationProvider:
    """A kiota authentication provider sending `Authorization: Bearer <token>`."""
    return BaseBearerTokenAuthenticationProvider(StaticTokenProvider(token))
