"""The RFI at the service level for tests: who asks and answers, and an onboarding whose RFI has
started in a thread (a router on the given database)."""

from __future__ import annotations

from commands.core.context import Caller
from commands.core.roles import Role
from commands.router import Router
from commands.services import Services
from store.db import Database

ENGINEER = Caller("U0ENG", "C0ACME", "T0TEST", role=Role.ENGINEER)
CUSTOMER = Caller("U0CUST", "C0ACME", "T0CUST")  # a customer contact in acme's channel
CONTACTS = "Jane, jane@acme.example, primary\nRaj, raj@acme.example, technical"


def started(database: Database, service: str = "archiving") -> Router:
    router = Router(Services.build(database, allow_private_targets=True))
    router.handle_text(ENGINEER, f"open acme --service {service}")
    router.services.rfi.bind_thread("acme", "C0ACME", "1.0", "U0ENG")
    return router
