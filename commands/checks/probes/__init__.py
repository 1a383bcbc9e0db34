"""Network probes (issue 5): SMTP and POP3 checks against real servers, behind the network-target
guard. Plain inputs in, CheckResult values out; no Slack, no store.

Entry points: `run_probe_checks` / `run_probe_checks_async` (run.py), the single checks in
verdicts.py and old_mx.py, the per-run reachability probe in egress.py, `PopCredentials` for the
journal mailbox, and the guard (`resolve_target`, `refusal`) for anything else that connects to a
host a person typed.
"""

from commands.checks.probes.guard import (
    Target,
    TargetRefused,
    TargetUnresolved,
    address_kind,
    refusal,
    resolve_target,
)
from commands.checks.probes.pop import PopCredentials
from commands.checks.probes.run import (
    CHECK_ORDER,
    CHECKS,
    PROBE_STEPS,
    ProbePorts,
    ProbeReport,
    run_probe_checks,
    run_probe_checks_async,
)
from commands.checks.probes.targets import ProbeOptions

__all__ = [
    "CHECKS",
    "CHECK_ORDER",
    "PROBE_STEPS",
    "PopCredentials",
    "ProbeOptions",
    "ProbePorts",
    "ProbeReport",
    "Target",
    "TargetRefused",
    "TargetUnresolved",
    "address_kind",
    "refusal",
    "resolve_target",
    "run_probe_checks",
    "run_probe_checks_async",
]
