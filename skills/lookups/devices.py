"""The `Devices` plugin: a machine as Defender for Endpoint knows it.

Reads `GET /api/machines/{id}`, or `GET /api/machines?$filter=computerDnsName eq '…'` when the
incident did not carry the Defender device id (`MdatpDeviceId` is often missing). A machine
Defender does not know is `{"found": false}`, not an error.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from semantic_kernel.functions import kernel_function

from core.errors import UpstreamError
from skills.api_client import ApiClient
from skills.lookups import is_not_found
from skills.odata import eq


class DeviceLookups:
    """Defender for Endpoint facts about one machine."""

    def __init__(self, api: ApiClient) -> None:
        self._api = api

    @kernel_function(name="device",
                     description="The Defender machine: tags, risk, exposure, isolation state.")
    async def device(
        self,
        device_id: Annotated[str, "The Defender machine id, if known"] = "",
        dns_name: Annotated[str, "The machine's DNS name, used when the id is unknown"] = "",
    ) -> dict[str, Any]:
        if device_id:
            try:
                return await self._api.call("defender", "GET",
                                            f"/machines/{quote(device_id, safe='')}")
            except UpstreamError as exc:
                if not is_not_found(exc):
                    raise
        if not dns_name:
            return _absent(device_id)
        return await self.device_by_name(dns_name)

    async def device_by_name(self, dns_name: str) -> dict[str, Any]:
        page = await self._api.call("defender", "GET", "/machines",
                                    params={"$filter": eq("computerDnsName", dns_name.lower())})
        machines = page.get("value", []) if page else []
        if not machines:
            return _absent(dns_name)
        return machines[0]


def _absent(name: str) -> dict[str, Any]:
    return {"found": False, "device": name}
