"""No action runs without a live authorization for exactly that action and target, whoever calls."""

from __future__ import annotations

import json

import pytest
from semantic_kernel.contents import ChatHistory, FunctionCallContent
from semantic_kernel.exceptions import KernelInvokeException
from semantic_kernel.functions import KernelArguments

from core.errors import NotAuthorizedToAct
from tests.skills.conftest import Sandbox

DANA = "dana.rossi@fabrikam.example"
BREAKGLASS = "breakglass01@fabrikam.example"


async def test_a_forged_token_is_refused_through_kernel_invoke(skills, sandbox: Sandbox) -> None:
    with pytest.raises(KernelInvokeException) as refused:
        await skills.kernel.invoke(
            plugin_name="IdentityResponse", function_name="disable_user",
            arguments=KernelArguments(target=DANA, authorization="forged", dry_run=False),
        )

    assert isinstance(refused.value.__cause__, NotAuthorizedToAct)
    assert sandbox.tenant.user(DANA)["accountEnabled"] is True
    assert await sandbox.calls() == []


async def test_a_token_for_another_target_is_refused_by_execute(skills, authorizer,
                                                                sandbox: Sandbox) -> None:
    token = authorizer.grant("disable_user", DANA)

    with pytest.raises(NotAuthorizedToAct):
        await skills.execute("disable_user", BREAKGLASS, {}, authorization=token, dry_run=False)
    with pytest.raises(NotAuthorizedToAct):
        await skills.execute("revoke_sessions", DANA, {}, authorization=token, dry_run=False)

    assert sandbox.tenant.user(BREAKGLASS)["accountEnabled"] is True
    assert await sandbox.calls() == []


async def test_calling_the_plugin_method_directly_is_refused_too(skills, sandbox: Sandbox) -> None:
    plugin = skills.kernel.get_plugin("NetworkResponse")
    block_ip = plugin.functions["block_ip"].method

    with pytest.raises(NotAuthorizedToAct):
        await block_ip(target="203.0.113.45", authorization="forged")
    with pytest.raises(NotAuthorizedToAct):
        await block_ip(target="203.0.113.45", authorization="")

    assert await sandbox.calls() == []


async def test_even_a_dry_run_needs_an_authorization(skills, sandbox: Sandbox) -> None:
    with pytest.raises(NotAuthorizedToAct):
        await skills.execute("isolate_device", "fab-lt-0310.corp.fabrikam.example", {},
                             authorization="", dry_run=True)


async def test_an_authorizer_that_breaks_refuses(skills, authorizer, sandbox: Sandbox) -> None:
    async def broken(token: str, action: str, target: str) -> None:
        raise RuntimeError("database is gone")

    authorizer.check = broken

    with pytest.raises(NotAuthorizedToAct):
        await skills.execute("disable_user", DANA, {}, authorization="anything", dry_run=False)
    assert sandbox.tenant.user(DANA)["accountEnabled"] is True


async def test_the_filter_and_the_plugin_both_ask(skills, authorizer) -> None:
    token = authorizer.grant("disable_user", DANA)

    await skills.execute("disable_user", DANA, {}, authorization=token, dry_run=True)

    assert authorizer.checked == [(token, "disable_user", DANA)] * 2


async def _model_calls(skills, name: str, **arguments):
    """What the kernel does with one tool call from a model's answer: the filter's context when
    the tool loop was ended (None when it goes on), and the tool result the model would read."""
    history = ChatHistory()
    call = FunctionCallContent(id="call-1", name=name, arguments=json.dumps(arguments))
    context = await skills.kernel.invoke_function_call(call, history)
    return context, str(history.messages[-1].items[0].result)


async def test_a_model_may_not_call_an_action_even_with_a_token(skills, authorizer,
                                                                 sandbox: Sandbox) -> None:
    token = authorizer.grant("disable_user", DANA)

    context, answer = await _model_calls(skills, "IdentityResponse-disable_user", target=DANA,
                                         authorization=token)

    assert answer.startswith("Refused")
    assert authorizer.checked == []
    assert sandbox.tenant.user(DANA)["accountEnabled"] is True


async def test_a_model_may_call_read_only_lookups(skills) -> None:
    context, answer = await _model_calls(skills, "ThreatIntel-ip_reputation",
                                         address="203.0.113.77")

    assert context is None
    assert "malicious" in answer


def test_the_kernel_keeps_lookups_and_actions_apart(skills) -> None:
    plugins = set(skills.kernel.plugins)

    assert set(skills.READ_ONLY_PLUGINS) | set(skills.ACTION_PLUGINS) == plugins
    assert not set(skills.READ_ONLY_PLUGINS) & set(skills.ACTION_PLUGINS)
    for action, plugin in skills.ACTIONS.items():
        assert plugin in skills.ACTION_PLUGINS
        assert "authorization" in {p.name for p in skills.kernel.get_function(
            plugin, action).parameters}
