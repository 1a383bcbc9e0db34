"""DNS access for the checks: one configured resolver (CONNECT_DNS_NAMESERVERS), typed answers."""

from commands.checks.dns.names import display_name, normalize_host, to_a_label
from commands.checks.dns.resolver import DnsResolver, Lookup, LookupStatus, parse_nameservers

__all__ = [
    "DnsResolver",
    "Lookup",
    "LookupStatus",
    "display_name",
    "normalize_host",
    "parse_nameservers",
    "to_a_label",
]
