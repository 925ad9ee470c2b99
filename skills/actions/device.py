"""The `DeviceResponse` plugin: contain a machine with Defender for Endpoint, or an Azure VM.

- `isolate_device` / `unisolate_device`: Defender `POST /machines/{id}/isolate`
  `{"Comment", "IsolationType": "Full"|"Selective"}` / `POST /machines/{id}/unisolate`;
- `stop_and_quarantine_file`: `POST /machines/{id}/StopAndQuarantineFile` `{"Comment", "Sha1"}`
  (the target is the file's SHA-1; restoring from quarantine is left to an analyst);
- `deallocate_vm` / `start_vm`: ARM `POST {vmId}/deallocate|start?api-version=2024-07-01`.

The Defender machine id comes from `device_id` or is looked up by DNS name (the target for
machine actions, the `device` parameter for a file).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from semantic_kernel.functions import kernel_function

from skills.actions import ActionGuard, InvalidActionRequest, arm_resource_id, outcome, required
from skills.api_client import ApiClient
from skills.lookups.devices import DeviceLookups

Authorization = Annotated[str, "The authorization token Cordon issued for this exact action"]
DryRun = Annotated[bool, "Build and return the request without sending it"]
DeviceTarget = Annotated[str, "The machine's DNS name, lower case"]
DeviceId = Annotated[str, "The Defender machine id, if known"]
VM_API_VERSION = "2024-07-01"
_COMMENT = "Cordon automated response"


class DeviceResponse:
    """Containment of endpoints and virtual machines."""

    def __init__(self, api: ApiClient, guard: ActionGuard) -> None:
        self._api = api
        self._guard = guard
        self._devices = DeviceLookups(api)

    @kernel_function(name="isolate_device",
                     description="Cut the machine off the network, except from Defender.")
    async def isolate_device(
        self, target: DeviceTarget, authorization: Authorization, dry_run: DryRun = False,
        device_id: DeviceId = "",
        isolation_type: Annotated[str, "Full or Selective"] = "Full",
        comment: Annotated[str, "Why, as shown in Defender"] = "",
    ) -> dict[str, Any]:
        await self._guard.check(authorization, "isolate_device", target)
        if isolation_type not in ("Full", "Selective"):
            raise InvalidActionRequest("isolation_type must be Full or Selective",
                                       isolation_type=isolation_type)
        body = {"Comment": comment or _COMMENT, "IsolationType": isolation_type}
        return await self._machine_action("isolate_device", target, device_id, target,
                                          "isolate", body, dry_run)

    @kernel_function(name="unisolate_device", description="Release the machine from isolation.")
    async def unisolate_device(
        self, target: DeviceTarget, authorization: Authorization, dry_run: DryRun = False,
        device_id: DeviceId = "",
        comment: Annotated[str, "Why, as shown in Defender"] = "",
    ) -> dict[str, Any]:
        await self._guard.check(authorization, "unisolate_device", target)
        body = {"Comment": comment or _COMMENT}
        return await self._machine_action("unisolate_device", target, device_id, target,
                                          "unisolate", body, dry_run)

    @kernel_function(name="stop_and_quarantine_file",
                     description="Stop the file's processes on a machine and quarantine it.")
    async def stop_and_quarantine_file(
        self, target: Annotated[str, "The file's SHA-1"], authorization: Authorization,
        dry_run: DryRun = False, device_id: DeviceId = "",
        device: Annotated[str, "The machine's DNS name, when the id is unknown"] = "",
        comment: Annotated[str, "Why, as shown in Defender"] = "",
    ) -> dict[str, Any]:
        await self._guard.check(authorization, "stop_and_quarantine_file", target)
        required(device_id or device, "device_id or device", "stop_and_quarantine_file")
        body = {"Comment": comment or _COMMENT, "Sha1": target}
        return await self._machine_action("stop_and_quarantine_file", target, device_id, device,
                                          "StopAndQuarantineFile", body, dry_run)

    @kernel_function(name="deallocate_vm", description="Stop and deallocate an Azure VM.")
    async def deallocate_vm(
        self, target: Annotated[str, "The VM's host name or ARM id"],
        authorization: Authorization, dry_run: DryRun = False,
        vm_id: Annotated[str, "The VM's ARM resource id"] = "",
    ) -> dict[str, Any]:
        await self._guard.check(authorization, "deallocate_vm", target)
        return await self._vm_power("deallocate_vm", target, vm_id, "deallocate", dry_run)

    @kernel_function(name="start_vm", description="Start an Azure VM again.")
    async def start_vm(
        self, target: Annotated[str, "The VM's host name or ARM id"],
        authorization: Authorization, dry_run: DryRun = False,
        vm_id: Annotated[str, "The VM's ARM resource id"] = "",
    ) -> dict[str, Any]:
        await self._guard.check(authorization, "start_vm", target)
        return await self._vm_power("start_vm", target, vm_id, "start", dry_run)

    async def _machine_action(self, action: str, target: str, device_id: str, dns_name: str,
                              verb: str, body: dict[str, Any], dry_run: bool) -> dict[str, Any]:
        unresolved = []
        if not device_id and dry_run:
            unresolved.append(f"Defender machine id of {dns_name}")
        elif not device_id:
            machine = await self._devices.device_by_name(dns_name)
            if not machine.get("id"):
                raise InvalidActionRequest(f"Defender knows no machine named {dns_name}",
                                           device=dns_name)
            device_id = machine["id"]
        machine_ref = quote(device_id or f"{{id of {dns_name}}}", safe="{} ")
        path = f"/machines/{machine_ref}/{verb}"
        sent = self._api.describe("defender", "POST", path, body=body)
        if dry_run:
            return outcome(action, target, dry_run=True, requests=[sent], unresolved=unresolved)
        answer = await self._api.call("defender", "POST", path, body=body) or {}
        return outcome(action, target, dry_run=False, requests=[sent], response=answer,
                       inverse_parameters={"device_id": device_id})

    async def _vm_power(self, action: str, target: str, vm_id: str, verb: str,
                        dry_run: bool) -> dict[str, Any]:
        resource = arm_resource_id(vm_id or target, "vm_id")
        path = f"{resource}/{verb}"
        params = {"api-version": VM_API_VERSION}
        sent = self._api.describe("arm", "POST", path, params=params)
        if dry_run:
            return outcome(action, target, dry_run=True, requests=[sent])
        answer = await self._api.call("arm", "POST", path, params=params) or {}
        return outcome(action, target, dry_run=False, requests=[sent], response=answer,
                       inverse_parameters={"vm_id": resource})
