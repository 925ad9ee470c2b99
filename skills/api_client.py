"""One aiohttp client for the REST APIs msgraph-sdk does not cover.

`ApiClient.call(api, method, path, ...)` speaks to:
- `defender`: Defender for Endpoint (`/machines`, `/indicators`, machine actions), bearer token
  for `https://api.securitycenter.microsoft.com/.default`;
- `arm`: Azure Resource Manager (NSG rules, VMs, Sentinel incidents and comments), bearer token
  for `https://management.azure.com/.default`;
- `loganalytics`: the Log Analytics query API (Sentinel watchlists), bearer token for
  `https://api.loganalytics.io/.default`;
- `servicenow`: the Table API with basic auth from the settings (any in sandbox mode).

Base URLs come from `settings.api_urls()`. `describe(...)` gives the exact method, URL and body a
call would send, without sending it (dry runs). Every call has a timeout. Failures raise
`core.errors.UpstreamError` (429, 5xx, timeouts and refused connections are retryable, with
`Retry-After` parsed); this client never retries: the response engine does, and records each
attempt.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

import aiohttp
import structlog
from azure.core.credentials_async import AsyncTokenCredential

from core.settings import Settings
from skills.credentials import ARM_SCOPE, DEFENDER_SCOPE, LOG_ANALYTICS_SCOPE
from skills.upstream_failure import status_failure, transport_failure

log = structlog.get_logger(__name__)

_SCOPES = {"defender": DEFENDER_SCOPE, "arm": ARM_SCOPE, "loganalytics": LOG_ANALYTICS_SCOPE}


class ApiClient:
    """Defender, ARM, Log Analytics query and ServiceNow over one aiohttp session."""

    def __init__(self, settings: Settings, credential: AsyncTokenCredential, *,
                 timeout_s: float = 30.0) -> None:
        self._urls = settings.api_urls()
        self._credential = credential
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        user = settings.servicenow_user or ("sandbox" if settings.sandbox_mode else "")
        password = settings.servicenow_password or ("sandbox" if settings.sandbox_mode else "")
        self._servicenow_auth = aiohttp.BasicAuth(user, password) if user else None
        self._session: aiohttp.ClientSession | None = None

    def url(self, api: str, path: str, params: dict[str, Any] | None = None) -> str:
        """The absolute URL of `path` on `api`, with its query string."""
        base = self._urls.get(api, "")
        if not base:
            raise status_failure(api, "CALL", path, 0, None,
                                 f"no base URL is configured for {api}")
        url = path if path.startswith(("http://", "https://")) else f"{base}{path}"
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        return url

    def describe(self, api: str, method: str, path: str, *,
                 params: dict[str, Any] | None = None, body: Any = None) -> dict[str, Any]:
        """What `call` would send: method, absolute URL and JSON body."""
        return {"method": method, "url": self.url(api, path, params), "body": body}

    async def call(self, api: str, method: str, path: str, *,
                   params: dict[str, Any] | None = None, body: Any = None,
                   headers: dict[str, str] | None = None) -> Any:
        """Send one request; the JSON answer (None when empty) or an `UpstreamError`."""
        url = self.url(api, path, params)
        request_headers = {"Accept": "application/json", **(headers or {})}
        auth = None
        if api == "servicenow":
            auth = self._servicenow_auth
        else:
            token = await self._credential.get_token(_SCOPES[api])
            request_headers["Authorization"] = f"Bearer {token.token}"

        session = self._open_session()
        try:
            async with session.request(method, url, json=body, headers=request_headers,
                                       auth=auth) as response:
                text = await response.text()
                if response.status >= 400:
                    log.info("upstream call failed", api=api, method=method, url=url,
                             status=response.status)
                    raise status_failure(api, method, url, response.status, response.headers,
                                         _detail(text))
                if not text.strip():
                    return None
                if "json" not in (response.content_type or ""):
                    return {"text": text}
                return await response.json(content_type=None)
        except TimeoutError as exc:
            raise transport_failure(api, method, url, "timed out") from exc
        except aiohttp.ClientError as exc:
            raise transport_failure(api, method, url, type(exc).__name__) from exc

    def _open_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
            await asyncio.sleep(0)


def _detail(text: str) -> str:
    """A short reason from an error body, whatever its shape."""
    return " ".join(text.split())[:300]
