"""Tokens: static and offline in sandbox mode, azure-identity's credentials in production."""

from __future__ import annotations

from azure.identity.aio import (
    ClientSecretCredential,
    DefaultAzureCredential,
    ManagedIdentityCredential,
)

from core.settings import Settings
from skills.credentials import (
    ARM_SCOPE,
    DEFENDER_SCOPE,
    GRAPH_SCOPE,
    SandboxCredential,
    build_credential,
)
from skills.graph import CredentialTokenProvider

PRODUCTION = {"_env_file": None, "tenant_id": "f4b1c0de-5a1e-4c3b-9e7d-2b8a6c4d0e11"}


async def test_sandbox_tokens_name_their_resource() -> None:
    credential = build_credential(Settings(_env_file=None))

    assert isinstance(credential, SandboxCredential)
    for scope in (GRAPH_SCOPE, DEFENDER_SCOPE, ARM_SCOPE):
        assert (await credential.get_token(scope)).token == f"sandbox-{scope}"


async def test_production_picks_the_credential_the_settings_ask_for() -> None:
    secret = build_credential(Settings(**PRODUCTION, client_id="app", client_secret="s3cret"))
    managed = build_credential(Settings(**PRODUCTION, use_managed_identity=True))
    default = build_credential(Settings(**PRODUCTION))

    try:
        assert isinstance(secret, ClientSecretCredential)
        assert isinstance(managed, ManagedIdentityCredential)
        assert isinstance(default, DefaultAzureCredential)
    finally:
        for credential in (secret, managed, default):
            await credential.close()


async def test_graph_tokens_go_only_to_the_configured_host() -> None:
    sandbox = CredentialTokenProvider(SandboxCredential(), GRAPH_SCOPE,
                                      "http://127.0.0.1:3978/sandbox/graph/v1.0")
    public = CredentialTokenProvider(SandboxCredential(), GRAPH_SCOPE,
                                     "https://graph.microsoft.com/v1.0")

    assert await sandbox.get_authorization_token("http://127.0.0.1:3978/sandbox/graph/v1.0/users")
    assert not await sandbox.get_authorization_token("http://evil.example/v1.0/users")
    assert await public.get_authorization_token("https://graph.microsoft.com/v1.0/users")
    assert not await public.get_authorization_token("http://graph.microsoft.com/v1.0/users")
