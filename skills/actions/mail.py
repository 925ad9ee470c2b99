"""The `MailResponse` plugin: pull delivered messages out of mailboxes, or put them back.

Graph `POST /security/collaboration/analyzedEmails/remediate` (msgraph-sdk's
`microsoft_graph_security_remediate` builder) with `analyzedEmails: [{networkMessageId,
recipientEmailAddress}]` and action `softDelete` (purge) or `moveToInbox` (restore); Graph
answers 202 and the messages' `latestDelivery.location` changes once the remediation ran.

The target is one message's network message id, or, for a campaign, the sender or subject with
every copy listed in `messages`. Without `messages`, every recipient's copy of the target
message is looked up.

msgraph-sdk's builder addresses the action by its qualified name
(`analyzedEmails/microsoft.graph.security.remediate`); Graph documents, and the sandbox serves,
the short form `analyzedEmails/remediate`, so the builder is pointed there with `with_url`; the
body is still the SDK's `RemediatePostRequestBody`.
"""

from __future__ import annotations

from typing import Annotated, Any

from msgraph.generated.models.security.analyzed_email import AnalyzedEmail
from msgraph.generated.models.security.remediation_action import RemediationAction
from msgraph.generated.models.security.remediation_severity import RemediationSeverity
from msgraph.generated.security.collaboration.analyzed_emails.microsoft_graph_security_remediate.remediate_post_request_body import (  # noqa: E501
    RemediatePostRequestBody,
)
from semantic_kernel.functions import kernel_function

from skills.actions import ActionGuard, InvalidActionRequest, outcome
from skills.graph import GraphClient
from skills.lookups.mail import MailLookups

Authorization = Annotated[str, "The authorization token Cordon issued for this exact action"]
DryRun = Annotated[bool, "Build and return the request without sending it"]
Messages = Annotated[list[dict] | None,
                     "The copies: [{networkMessageId, recipientEmailAddress}]; looked up if empty"]
_SEVERITIES = {"low": RemediationSeverity.Low, "medium": RemediationSeverity.Medium,
               "high": RemediationSeverity.High}


class MailResponse:
    """Remediation of delivered e-mail."""

    def __init__(self, graph: GraphClient, guard: ActionGuard) -> None:
        self._graph = graph
        self._guard = guard
        self._mail = MailLookups(graph)

    @kernel_function(name="purge_email",
                     description="Soft-delete delivered copies of a message from mailboxes.")
    async def purge_email(
        self, target: Annotated[str, "A network message id, or a campaign's sender or subject"],
        authorization: Authorization, dry_run: DryRun = False, messages: Messages = None,
        severity: Annotated[str, "low, medium or high"] = "medium",
    ) -> dict[str, Any]:
        await self._guard.check(authorization, "purge_email", target)
        return await self._remediate("purge_email", target, messages, RemediationAction.SoftDelete,
                                     severity, dry_run)

    @kernel_function(name="restore_email",
                     description="Move soft-deleted copies of a message back to the inbox.")
    async def restore_email(
        self, target: Annotated[str, "A network message id, or a campaign's sender or subject"],
        authorization: Authorization, dry_run: DryRun = False, messages: Messages = None,
        severity: Annotated[str, "low, medium or high"] = "medium",
    ) -> dict[str, Any]:
        await self._guard.check(authorization, "restore_email", target)
        return await self._remediate("restore_email", target, messages,
                                     RemediationAction.MoveToInbox, severity, dry_run)

    async def _remediate(self, action: str, target: str, messages: list[dict] | None,
                         remediation: RemediationAction, severity: str,
                         dry_run: bool) -> dict[str, Any]:
        copies = [_copy(m) for m in messages or []]
        unresolved = []
        if not copies and dry_run:
            unresolved.append(f"recipients of message {target}")
            copies = [{"networkMessageId": target, "recipientEmailAddress": ""}]
        elif not copies:
            found = await self._mail.analyzed_email(target)
            copies = [_copy(m) for m in found["messages"]]
            if not copies:
                raise InvalidActionRequest(f"no delivered message has the id {target}",
                                           target=target)
        body = RemediatePostRequestBody(
            display_name=f"Cordon {action}: {target}"[:200],
            description=f"Cordon automated response ({action}) for {len(copies)} message(s)",
            severity=_SEVERITIES.get(severity.lower(), RemediationSeverity.Medium),
            action=remediation,
            remediate_senders_copy=False,
            analyzed_emails=[AnalyzedEmail(network_message_id=c["networkMessageId"],
                                           recipient_email_address=c["recipientEmailAddress"])
                             for c in copies],
        )
        builder = self._graph.service.security.collaboration.analyzed_emails
        remediate = builder.microsoft_graph_security_remediate.with_url(
            f"{self._graph.base_url}/security/collaboration/analyzedEmails/remediate")
        request = remediate.to_post_request_information(body)
        sent = self._graph.describe(request)
        if dry_run:
            return outcome(action, target, dry_run=True, requests=[sent], unresolved=unresolved,
                           inverse_parameters={"messages": copies})
        answer = await self._graph.send(request)
        return outcome(action, target, dry_run=False, requests=[sent],
                       response={"accepted": True, "count": len(copies), **(answer or {})},
                       inverse_parameters={"messages": copies})


def _copy(message: dict[str, Any]) -> dict[str, str]:
    network_message_id = message.get("networkMessageId") or message.get("network_message_id")
    recipient = message.get("recipientEmailAddress") or message.get("recipient") or ""
    if not network_message_id:
        raise InvalidActionRequest("every message needs a networkMessageId", message=message)
    return {"networkMessageId": str(network_message_id), "recipientEmailAddress": str(recipient)}
