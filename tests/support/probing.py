"""A CheckService whose probes reach the aiosmtpd servers of `smtp_world` (on its high port),
with a profile whose journal host is one of them: for tests that run real checks."""

from __future__ import annotations

from typing import Any

import yaml

from commands.checks.probes.run import ProbePorts
from commands.checks.service import CheckService
from commands.credentials import CredentialService
from commands.profiles import parse_profile
from store.db import Database
from support.smtp_servers import SmtpWorld

PROBE_PROFILE = r"""
gateway: Test Gateway
version: 1
x-sources:
  test: &test {url: "https://gateway.test/docs", taken: 2026-11-28}
regions:
  eu:
    name: Test Europe
    journal_hosts:
      - {host: journal.probe.test, source: *test}
    journal_address_format: 'journal-[a-z0-9-]+@jrnl\.gateway-test\.net'
"""


def probing(
    database: Database,
    smtp_world: SmtpWorld,
    *,
    resolver: Any = None,
    credentials: CredentialService | None = None,
) -> CheckService:
    port = smtp_world.port
    return CheckService(
        database,
        parse_profile(yaml.safe_load(PROBE_PROFILE), "probe-profile.yml"),
        resolver or smtp_world.resolver,
        allow_private=True,
        ports=ProbePorts(gateway=port, old_mx=port, lockdown=port, forwarding_default=port),
        ca_file=str(smtp_world.ca.ca_file),
        timeout=1.0,
        credentials=credentials,
    )
