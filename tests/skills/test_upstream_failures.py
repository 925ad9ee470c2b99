"""API failures reach the response engine as UpstreamError, saying whether and when to retry."""

from __future__ import annotations

import pytest

from core.errors import UpstreamError
from skills.kernel import build_kernel
from tests.skills.conftest import Sandbox

DANA = "dana.rossi@fabrikam.example"
LAPTOP = "fab-lt-0310.corp.fabrikam.example"
LAPTOP_ID = "48422845ebff57eb88a3fc68a75ac99e00000000"


async def test_defender_throttling_is_retryable_after_its_retry_after(
        skills, authorizer, sandbox: Sandbox) -> None:
    await sandbox.fault(method="POST", path="/machines/.*/isolate", status=429, retry_after=7)
    token = authorizer.grant("isolate_device", LAPTOP)

    with pytest.raises(UpstreamError) as failed:
        await skills.execute("isolate_device", LAPTOP, {"device_id": LAPTOP_ID},
                             authorization=token, dry_run=False)

    assert failed.value.retryable is True
    assert failed.value.retry_after == 7
    assert failed.value.facts["status"] == 429
    assert sandbox.tenant.machines[LAPTOP_ID]["isolationState"] == "NotIsolated"


async def test_graph_throttling_beyond_the_sdk_retries_is_retryable(
        settings, authorizer, sandbox: Sandbox) -> None:
    skills = build_kernel(settings, authorizer, graph_retries=0)
    await sandbox.fault(method="PATCH", path="/users/", status=429, retry_after=3)
    token = authorizer.grant("disable_user", DANA)

    try:
        with pytest.raises(UpstreamError) as failed:
            await skills.execute("disable_user", DANA, {}, authorization=token, dry_run=False)
    finally:
        await skills.close()

    assert failed.value.retryable is True and failed.value.retry_after == 3
    assert failed.value.facts["status"] == 429 and failed.value.facts["api"] == "graph"


async def test_one_graph_throttle_is_absorbed_by_the_sdk_retry(
        skills, authorizer, sandbox: Sandbox) -> None:
    await sandbox.fault(method="PATCH", path="/users/", status=429, retry_after=1, times=1)
    token = authorizer.grant("disable_user", DANA)

    await skills.execute("disable_user", DANA, {}, authorization=token, dry_run=False)

    assert sandbox.tenant.user(DANA)["accountEnabled"] is False


async def test_server_errors_are_retryable_and_missing_objects_are_not(
        skills, authorizer, sandbox: Sandbox) -> None:
    await sandbox.fault(path="/servicenow/", status=503)
    ticket = authorizer.grant("create_ticket", DANA)
    ghost = "nobody@fabrikam.example"
    disable = authorizer.grant("disable_user", ghost)

    with pytest.raises(UpstreamError) as unavailable:
        await skills.execute("create_ticket", DANA, {}, authorization=ticket, dry_run=False)
    with pytest.raises(UpstreamError) as missing:
        await skills.execute("disable_user", ghost, {}, authorization=disable, dry_run=False)

    assert unavailable.value.retryable is True
    assert missing.value.retryable is False and missing.value.facts["status"] == 404


async def test_a_hanging_api_times_out_as_retryable(settings, authorizer,
                                                    sandbox: Sandbox) -> None:
    from skills.api_client import ApiClient
    from skills.credentials import SandboxCredential

    api = ApiClient(settings, SandboxCredential(), timeout_s=0.3)
    await sandbox.fault(path="/defender/", timeout=True, hang_s=3)

    try:
        with pytest.raises(UpstreamError) as failed:
            await api.call("defender", "GET", f"/machines/{LAPTOP_ID}")
    finally:
        await api.close()

    assert failed.value.retryable is True and "timed out" in failed.value.message
