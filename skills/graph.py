"""Microsoft Graph through msgraph-sdk's `GraphServiceClient`, pointed at the configured base URL.

`GraphClient` builds the service client once (importing msgraph costs time: build it at start)
and offers three things to the plugins:
- `service`: the `GraphServiceClient`, whose request builders name every URL Cordon calls
  (users, transitiveMemberOf, manager, auditLogs/signIns, identityProtection/riskyUsers,
  security/threatIntelligence/hosts/{host}/reputation, security/collaboration/analyzedEmails and
  its `remediate` action, servicePrincipals, oauth2PermissionGrants: all exist in msgraph-sdk
  1.65, so no call here is hand-written);
- `describe(request)`: the exact method, URL and body a request builder would send, for dry runs
  and for the record of what was done;
- `send(request)`: sends it through the request adapter and returns the JSON body as plain
  dicts (the Graph payload as the API returned it, not the SDK's models), or None for 2xx
  without content.

Tokens come from the credential for the Graph scope through `CredentialTokenProvider`. Kiota's
`AzureIdentityAuthenticationProvider` refuses plain-http hosts; this provider allows https hosts
and the one configured host (the sandbox at http://127.0.0.1), and nothing else gets a token.
msgraph's retry middleware stays in the pipeline (429/503/504 honouring `Retry-After`, a small
budget given by `retries`); what still fails becomes `core.errors.UpstreamError` with the status,
`retryable` and `retry_after`, for the response engine's own retry loop.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx
from azure.core.credentials_async import AsyncTokenCredential
from kiota_abstractions.api_error import APIError
from kiota_abstractions.authentication import (
    AccessTokenProvider,
    AllowedHostsValidator,
    BaseBearerTokenAuthenticationProvider,
)
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.request_information import RequestInformation
from kiota_http.kiota_client_factory import KiotaClientFactory
from kiota_http.middleware.options import RetryHandlerOption
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph_core import GraphClientFactory

from skills.credentials import GRAPH_SCOPE
from skills.upstream_failure import status_failure, transport_failure

_ERROR_MAPPING: dict[str, Any] = {"XXX": ODataError}


class CredentialTokenProvider(AccessTokenProvider):
    """Bearer tokens for Graph from an azure.core credential, for allowed hosts only."""

    def __init__(self, credential: AsyncTokenCredential, scope: str, base_url: str) -> None:
        self._credential = credential
        self._scope = scope
        configured = urlsplit(base_url)
        self._plain_http_host = configured.hostname if configured.scheme == "http" else None
        self._validator = AllowedHostsValidator([configured.hostname or ""])

    async def get_authorization_token(self, uri: str,
                                      additional_authentication_context: dict[str, Any]
                                      | None = None) -> str:
        target = urlsplit(uri)
        if not self._validator.is_url_host_valid(uri):
            return ""
        if target.scheme != "https" and target.hostname != self._plain_http_host:
            return ""
        token = await self._credential.get_token(self._scope)
        return token.token

    def get_allowed_hosts_validator(self) -> AllowedHostsValidator:
        return self._validator


class GraphClient:
    """One `GraphServiceClient` for the process, with JSON in and out (see module docstring)."""

    def __init__(self, base_url: str, credential: AsyncTokenCredential, *,
                 retries: int = 2, retry_delay_s: float = 0.5, timeout_s: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        provider = CredentialTokenProvider(credential, GRAPH_SCOPE, self.base_url)
        http = KiotaClientFactory.get_default_client()
        http.timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0))
        retry = RetryHandlerOption(delay=retry_delay_s, max_retries=retries)
        http = GraphClientFactory.create_with_default_middleware(
            client=http, options={RetryHandlerOption.get_key(): retry},
        )
        self._http = http
        self.adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(provider), http)
        self.adapter.base_url = self.base_url
        self.service = GraphServiceClient(request_adapter=self.adapter)

    def get_request(self, builder: Any, **query: Any) -> RequestInformation:
        """A GET request from a request builder, with OData query options (`filter`, `top`...)."""
        if not query:
            return builder.to_get_request_information()
        parameters_type = next(
            getattr(type(builder), name) for name in dir(type(builder))
            if name.endswith("GetQueryParameters")
        )
        configuration = RequestConfiguration(query_parameters=parameters_type(**query))
        return builder.to_get_request_information(configuration)

    def describe(self, request: RequestInformation) -> dict[str, Any]:
        """The method, absolute URL and JSON body this request would be sent with."""
        request.path_parameters["baseurl"] = self.base_url
        body = json.loads(request.content) if request.content else None
        return {"method": request.http_method.value, "url": request.url, "body": body}

    async def send(self, request: RequestInformation) -> Any:
        """Send the request; the JSON answer (or None), or an `UpstreamError`."""
        described = self.describe(request)
        try:
            raw = await self.adapter.send_primitive_async(request, "bytes", _ERROR_MAPPING)
        except APIError as exc:
            raise status_failure(
                "graph", described["method"], described["url"],
                exc.response_status_code or 0, exc.response_headers, _graph_message(exc),
            ) from exc
        except httpx.TimeoutException as exc:
            raise transport_failure("graph", described["method"], described["url"],
                                    "timed out") from exc
        except httpx.TransportError as exc:
            raise transport_failure("graph", described["method"], described["url"],
                                    type(exc).__name__) from exc
        if not raw:
            return None
        return json.loads(raw)

    async def close(self) -> None:
        await self._http.aclose()


def _graph_message(exc: APIError) -> str:
    """Graph's own error code and message when it sent them, the SDK's text otherwise."""
    if isinstance(exc, ODataError) and exc.error is not None:
        return f"{exc.error.code or ''} {exc.error.message or ''}".strip()
    return exc.message or type(exc).__name__
