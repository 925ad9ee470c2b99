"""An in-memory emulation of the Microsoft cloud APIs Cordon calls, for the offline default and
tests. Mount `build_sandbox_app()` at `/sandbox`; its state is `app[TENANT_KEY]`.
"""

from sandbox.app_keys import FAULTS_KEY, TENANT_KEY
from sandbox.server import build_sandbox_app
from sandbox.tenant import SEED_PATH, Tenant

__all__ = ["FAULTS_KEY", "SEED_PATH", "TENANT_KEY", "Tenant", "build_sandbox_app"]
