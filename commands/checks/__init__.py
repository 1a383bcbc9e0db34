"""The checks: plain inputs in, `CheckResult`s out (see result.py for the contract)."""

from commands.checks.publish import RecordsToPublish, plan_records, records_to_publish
from commands.checks.result import CheckResult, CheckStatus, worst
from commands.checks.run import (
    DnsReport,
    DomainFindings,
    previous_provider,
    run_dns_checks,
    run_dns_report,
    run_dns_report_async,
)

__all__ = [
    "CheckResult",
    "CheckStatus",
    "DnsReport",
    "DomainFindings",
    "RecordsToPublish",
    "plan_records",
    "previous_provider",
    "records_to_publish",
    "run_dns_checks",
    "run_dns_report",
    "run_dns_report_async",
    "worst",
]
