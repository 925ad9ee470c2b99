"""The `Incidents` plugin: a Defender XDR incident as Microsoft Graph holds it, with its alerts.

Reads Graph `GET /security/incidents/{id}?$expand=alerts` (SecurityIncident.Read.All). A
Sentinel incident that Defender XDR raised often reaches a playbook without its alerts or
entities; this is where they are found. An id Graph does not know answers `{"found": False}`.
"""

from __future__ import annotations

from typing import Annotated, Any

from semantic_kernel.functions import kernel_function

from core.errors import UpstreamError
from skills.graph import GraphClient
from skills.lookups import is_not_found


class IncidentLookups:
    """Defender XDR incidents, alerts and evidence included."""

    def __init__(self, graph: GraphClient) -> None:
        self._graph = graph

    @kernel_function(name="security_incident",
                     description="The Defender XDR incident with its alerts and their evidence.")
    async def security_incident(
        self, incident_id: Annotated[str, "The Defender XDR incident id"],
    ) -> dict[str, Any]:
        builder = self._graph.service.security.incidents.by_incident_id(incident_id)
        try:
            return await self._graph.send(self._graph.get_request(builder, expand=["alerts"]))
        except UpstreamError as exc:
            if is_not_found(exc):
                return {"found": False, "incident": incident_id}
            raise
