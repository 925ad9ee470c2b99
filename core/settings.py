"""Cordon's configuration, read once at start from the environment (and `.env`), passed down.

No other module reads the environment. With no Microsoft credentials set, `sandbox_mode` is
true: every API base URL points at the sandbox the same server serves, and the sandbox routes
exist. With credentials set the sandbox is never served.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    host: str = Field("0.0.0.0", validation_alias=AliasChoices("HOST", "CORDON_HOST"))
    port: int = Field(3978, validation_alias="PORT")
    public_url: str = Field("", validation_alias="CORDON_PUBLIC_URL")
    # An external sandbox (`python -m sandbox`), e.g. to keep its state across app restarts.
    sandbox_url: str = Field("", validation_alias="CORDON_SANDBOX_URL")
    database_url: str = Field("", validation_alias="DATABASE_URL")
    data_dir: Path = Field(ROOT / "data", validation_alias="CORDON_DATA_DIR")
    policy_path: Path = Field(ROOT / "policy" / "default.yaml", validation_alias="CORDON_POLICY")
    log_level: str = Field("info", validation_alias="CORDON_LOG_LEVEL")

    # Intake authentication: a shared secret, or Entra ID tokens for an audience.
    intake_token: str = Field("", validation_alias="CORDON_INTAKE_TOKEN")
    intake_audience: str = Field("", validation_alias="CORDON_INTAKE_AUDIENCE")
    # Where Entra ID's signing keys are read; the tenant's (or `common`'s) by default.
    intake_jwks_url: str = Field("", validation_alias="CORDON_INTAKE_JWKS_URL")
    intake_max_bytes: int = Field(1_048_576, validation_alias="CORDON_INTAKE_MAX_BYTES")

    # Microsoft credentials. Any of these set means production: no sandbox.
    tenant_id: str = Field("", validation_alias=AliasChoices("AZURE_TENANT_ID", "CORDON_TENANT_ID"))
    client_id: str = Field("", validation_alias="AZURE_CLIENT_ID")
    client_secret: str = Field("", validation_alias="AZURE_CLIENT_SECRET")
    use_managed_identity: bool = Field(False, validation_alias="CORDON_USE_MANAGED_IDENTITY")

    # API base URLs; empty means the public Microsoft endpoint (or the sandbox in sandbox mode).
    graph_url: str = Field("", validation_alias="CORDON_GRAPH_URL")
    defender_url: str = Field("", validation_alias="CORDON_DEFENDER_URL")
    arm_url: str = Field("", validation_alias="CORDON_ARM_URL")
    servicenow_url: str = Field("", validation_alias="CORDON_SERVICENOW_URL")
    servicenow_user: str = Field("", validation_alias="CORDON_SERVICENOW_USER")
    servicenow_password: str = Field("", validation_alias="CORDON_SERVICENOW_PASSWORD")
    ingest_endpoint: str = Field("", validation_alias="CORDON_INGEST_ENDPOINT")
    loganalytics_url: str = Field("", validation_alias="CORDON_LOGANALYTICS_URL")
    workspace_id: str = Field(
        "6c1f0a2e-9b3d-4e5f-8a7b-0c1d2e3f4a5b", validation_alias="CORDON_WORKSPACE_ID"
    )
    ingest_rule_id: str = Field("", validation_alias="CORDON_INGEST_RULE_ID")
    ingest_stream: str = Field("Custom-CordonAudit_CL", validation_alias="CORDON_INGEST_STREAM")
    block_ip_nsg_id: str = Field(
        "/subscriptions/11111111-2222-4333-8444-555555555555/resourceGroups/rg-network/providers/"
        "Microsoft.Network/networkSecurityGroups/nsg-perimeter",
        validation_alias="CORDON_BLOCK_IP_NSG_ID",
    )
    enrichment_timeout_s: float = Field(5.0, validation_alias="CORDON_ENRICHMENT_TIMEOUT")
    # Lookups in flight at once in this process, across incidents.
    enrichment_concurrency: int = Field(16, ge=1,
                                        validation_alias="CORDON_ENRICHMENT_CONCURRENCY")
    # Entities of each kind (accounts, hosts, addresses...) looked up for one incident.
    enrichment_max_entities: int = Field(100, ge=1,
                                         validation_alias="CORDON_ENRICHMENT_MAX_ENTITIES")
    # How long a lookup's answer serves later incidents; 0 reads everything fresh.
    enrichment_cache_s: float = Field(30.0, validation_alias="CORDON_ENRICHMENT_CACHE")
    action_max_attempts: int = Field(4, validation_alias="CORDON_ACTION_MAX_ATTEMPTS")
    # A run left `executing`, or an accepted incident left untriaged, longer than this by a
    # stopped process is recovered.
    execution_lease_s: float = Field(60.0, validation_alias="CORDON_EXECUTION_LEASE")
    recovery_interval_s: float = Field(15.0, validation_alias="CORDON_RECOVERY_INTERVAL")
    # Incidents accepted with `Prefer: respond-async` triaged at once in the background; the
    # rest wait their turn in the database.
    triage_concurrency: int = Field(4, ge=1, validation_alias="CORDON_TRIAGE_CONCURRENCY")
    # Accepted incidents held in memory for triage; past that they wait in the database.
    triage_backlog: int = Field(64, ge=1, validation_alias="CORDON_TRIAGE_BACKLOG")

    # The reasoner: builtin unless a provider is configured.
    ai_provider: str = Field("", validation_alias="CORDON_AI_PROVIDER")
    ai_endpoint: str = Field(
        "", validation_alias=AliasChoices("CORDON_AI_ENDPOINT", "AZURE_OPENAI_ENDPOINT")
    )
    ai_base_url: str = Field(
        "", validation_alias=AliasChoices("CORDON_AI_BASE_URL", "OPENAI_BASE_URL")
    )
    ai_model: str = Field(
        "",
        validation_alias=AliasChoices("CORDON_AI_MODEL", "AZURE_OPENAI_DEPLOYMENT", "OPENAI_MODEL"),
    )
    ai_api_key: str = Field(
        "",
        validation_alias=AliasChoices(
            "CORDON_AI_API_KEY", "AZURE_OPENAI_API_KEY", "OPENAI_API_KEY"),
    )
    ai_api_version: str = Field("2024-10-21", validation_alias="AZURE_OPENAI_API_VERSION")
    ai_timeout_s: float = Field(30.0, validation_alias="CORDON_AI_TIMEOUT")

    # Bot Framework.
    app_id: str = Field("", validation_alias="MicrosoftAppId")
    app_password: str = Field("", validation_alias="MicrosoftAppPassword")
    app_type: str = Field("MultiTenant", validation_alias="MicrosoftAppType")
    app_tenant_id: str = Field("", validation_alias="MicrosoftAppTenantId")

    @property
    def sandbox_mode(self) -> bool:
        """True when no Microsoft credential is configured: the offline default."""
        return not (self.client_id or self.client_secret or self.use_managed_identity
                    or self.tenant_id)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir / 'cordon.db'}"

    def sandbox_base(self) -> str:
        """Where the sandbox is served: this server's own address, or an external one."""
        if self.sandbox_url:
            return self.sandbox_url.rstrip("/")
        if self.public_url:
            return self.public_url.rstrip("/") + "/sandbox"
        return f"http://127.0.0.1:{self.port}/sandbox"

    def api_urls(self) -> dict[str, str]:
        """Base URLs for each API, with the sandbox filling in what is not configured."""
        if self.sandbox_mode:
            base = self.sandbox_base()
            defaults = {
                "graph": f"{base}/graph/v1.0",
                "defender": f"{base}/defender/api",
                "arm": f"{base}/arm",
                "servicenow": f"{base}/servicenow",
                "ingest": f"{base}/ingest",
                "loganalytics": f"{base}/loganalytics",
            }
        else:
            defaults = {
                "graph": "https://graph.microsoft.com/v1.0",
                "defender": "https://api.securitycenter.microsoft.com/api",
                "arm": "https://management.azure.com",
                "servicenow": "",
                "ingest": "",
                "loganalytics": "https://api.loganalytics.io",
            }
        configured = {
            "graph": self.graph_url,
            "defender": self.defender_url,
            "arm": self.arm_url,
            "servicenow": self.servicenow_url,
            "ingest": self.ingest_endpoint,
            "loganalytics": self.loganalytics_url,
        }
        return {k: (configured[k] or defaults[k]).rstrip("/") for k in defaults}
