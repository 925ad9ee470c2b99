"""Where the audit trail leaves Cordon: Log Analytics rows and comments on the Sentinel incident.

- `LogAnalyticsExporter.send_logs(records)` uploads audit records with `azure-monitor-ingestion`'s
  async `LogsIngestionClient(endpoint, credential).upload(rule_id, stream_name, logs)` to the data
  collection rule's custom table (endpoint `settings.api_urls()["ingest"]`: the data collection
  endpoint in production, `/sandbox/ingest` in sandbox mode, where plain http is allowed).
- `IncidentCommenter.comment(incident_arm_id, message)` puts a comment on the incident: ARM
  `PUT {incidentArmId}/comments/{guid}?api-version=2024-09-01` `{"properties": {"message"}}`,
  and returns the comment id. The comment id is derived from the message and incident, so a
  redelivered comment overwrites itself instead of appearing twice.

Both are called by the store's outbox dispatcher, which owns retries; a failure here raises
`core.errors.UpstreamError` with `retryable` set as for every other call.
"""

from __future__ import annotations

import uuid
from typing import Any

import structlog
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

from core.errors import UpstreamError
from core.settings import Settings
from skills.actions import arm_resource_id
from skills.api_client import ApiClient
from skills.upstream_failure import status_failure, transport_failure

log = structlog.get_logger(__name__)

INCIDENT_API_VERSION = "2024-09-01"
SANDBOX_RULE_ID = "dcr-cordon-audit"
_COMMENT_NAMESPACE = uuid.UUID("8f2d3c1e-5b7a-4c9d-a0e1-2f3b4c5d6e7f")
MAX_COMMENT_CHARS = 30_000


class LogAnalyticsExporter:
    """Audit records to a Log Analytics custom table through the Logs Ingestion API."""

    def __init__(self, settings: Settings, credential: AsyncTokenCredential) -> None:
        from azure.monitor.ingestion.aio import LogsIngestionClient

        self.endpoint = settings.api_urls()["ingest"]
        self.rule_id = settings.ingest_rule_id or (SANDBOX_RULE_ID if settings.sandbox_mode
                                                   else "")
        self.stream = settings.ingest_stream
        self._allow_http = settings.sandbox_mode
        self._client = LogsIngestionClient(self.endpoint, credential) if self.endpoint else None

    @property
    def configured(self) -> bool:
        return bool(self._client and self.rule_id)

    async def send_logs(self, records: list[dict[str, Any]]) -> None:
        """Upload the records; raise `UpstreamError` if any chunk was refused."""
        if not records:
            return
        if not self.configured or self._client is None:
            raise UpstreamError("Log Analytics export is not configured (ingest endpoint and rule)",
                                retryable=False, api="ingest")
        url = f"{self.endpoint}/dataCollectionRules/{self.rule_id}/streams/{self.stream}"
        options: dict[str, Any] = {"enforce_https": False} if self._allow_http else {}
        try:
            await self._client.upload(self.rule_id, self.stream, records, **options)
        except HttpResponseError as exc:
            status = exc.status_code or 0
            headers = exc.response.headers if exc.response is not None else None
            raise status_failure("ingest", "POST", url, status, headers, exc.message) from exc
        except (ServiceRequestError, ServiceResponseError) as exc:
            raise transport_failure("ingest", "POST", url, type(exc).__name__) from exc
        log.info("audit exported", records=len(records), stream=self.stream)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()


class IncidentCommenter:
    """Comments on Sentinel incidents, through ARM."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    async def comment(self, incident_arm_id: str, message: str) -> str:
        """Put `message` on the incident; returns the comment id (stable for one message)."""
        incident = arm_resource_id(incident_arm_id, "incident_arm_id")
        text = message[:MAX_COMMENT_CHARS]
        comment_id = str(uuid.uuid5(_COMMENT_NAMESPACE, f"{incident.lower()}\n{text}"))
        await self._api.call(
            "arm", "PUT", f"{incident}/comments/{comment_id}",
            params={"api-version": INCIDENT_API_VERSION},
            body={"properties": {"message": text}},
        )
        log.info("incident commented", incident_id=incident, comment_id=comment_id)
        return comment_id
