"""The network checks of issue 5, each a function from plain inputs to CheckResult values.

Verdict rules shared by all of them: a timeout is `unknown` (no answer could be had), never
"missing"; a host the guard refuses is named with the reason; every probe in a check runs at once.
A refused or silent port is read as a verdict (a firewall locked down) only when the gateway's
own hosts answered the bot in the same run (egress.py): otherwise the bot's own network may be
what refused, and the check says so once, plainly. inbound.old_mx_retired is in old_mx.py.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import dns.reversename

from commands.checks.dns.names import normalize_host
from commands.checks.gaps import not_checked
from commands.checks.probes.egress import (
    NOT_ASKED,
    Egress,
    EgressProbe,
    blocked,
    egress_if_silent,
    egress_of,
    host_evidence,
)
from commands.checks.probes.guard import parse_ip, refusal
from commands.checks.probes.pop import PopCredentials, PopProbe, probe_pop
from commands.checks.probes.targets import HostProbe, ProbeOptions, cleared, probe_host
from commands.checks.result import CheckResult, CheckStatus
from commands.profiles import GatewayRegion, HostFact, caveats

SMART_HOSTS = "outbound.smart_hosts"
AUTHORIZED_IPS = "outbound.authorized_ips"
DELIVERY_ROUTES = "inbound.delivery_routes"
JOURNALING_SMTP = "journaling.smtp"
JOURNALING_POP = "journaling.pop"
FIREWALL_LOCKDOWN = "firewall.lockdown"
PREVIOUS_PROVIDER = "firewall.previous_provider"

Endpoint = tuple[str, int]


def _date(when: datetime | None) -> str:
    return when.strftime("%d %b %Y").lstrip("0") if when else "an unknown date"


def _names(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _gateway_hosts_verdict(
    check_id: str,
    what: str,
    hosts: list[HostProbe],
    *,
    fix_owner: str,
    egress: Egress = NOT_ASKED,
) -> CheckResult:
    """Smart hosts and journal hosts: all good = pass; some unreachable = warn (no resilience);
    all unreachable = fail (unknown when none answered in time: our own port 25 may be
    blocked, and when the gateway's other hosts did not answer either, it is); a certificate
    or STARTTLS problem = fail."""
    evidence = host_evidence(hosts)
    good = [h for h in hosts if h.state == "good"]
    tls = [h for h in hosts if h.state == "tls"]
    refused = [h for h in hosts if h.state == "refused"]
    dns_timeouts = [h for h in hosts if h.state == "dns-timeout"]
    timeouts = [h for h in hosts if h.state == "timeout"]
    down = [h for h in hosts if h.state in ("down", "unresolved")]
    if refused:
        problems = "; ".join(f"{h.host}: {h.refused}" for h in refused)
        return CheckResult(
            check_id,
            CheckStatus.FAIL,
            None,
            f"Refused to probe {problems}. Correct the {what} in the gateway profile.",
            evidence,
        )
    if tls:
        problems = "; ".join(f"{h.label} {h.problem}" for h in tls)
        return CheckResult(
            check_id,
            CheckStatus.FAIL,
            None,
            f"The {what} answer SMTP but TLS is not right: {problems}. {fix_owner}",
            evidence,
        )
    if (stop := blocked(check_id, None, f"the {what}", hosts, egress)) is not None:
        return stop
    if len(good) == len(hosts):
        until = min((h.not_after for h in good if h.not_after), default=None)
        count = "the" if len(hosts) == 1 else f"all {len(hosts)}"
        return CheckResult(
            check_id,
            CheckStatus.PASS,
            None,
            f"{count.capitalize()} {what} accept SMTP with STARTTLS and a valid certificate "
            f"(valid until {_date(until)}).",
            evidence,
        )
    if not good and (timeouts or dns_timeouts) and not down:
        waited = "; ".join(f"{h.label}: {h.problem}" for h in timeouts + dns_timeouts)
        return CheckResult(
            check_id,
            CheckStatus.UNKNOWN,
            None,
            f"No {what} answered in time ({waited}). If the bot's network blocks outgoing "
            "port 25, run the check from a host that may send mail; otherwise try again later.",
            evidence,
        )
    broken = down + timeouts + dns_timeouts
    listing = "; ".join(f"{h.label}: {h.problem}" for h in broken)
    if good:
        return CheckResult(
            check_id,
            CheckStatus.WARN,
            None,
            f"{len(good)} of {len(hosts)} {what} work, but {listing}: mail still flows, "
            f"without the second path. {fix_owner}",
            evidence,
        )
    return CheckResult(
        check_id,
        CheckStatus.FAIL,
        None,
        f"None of the {what} can be reached ({listing}). {fix_owner}",
        evidence,
    )


def smart_hosts_for(
    region: GatewayRegion, platform_kind: str | None
) -> tuple[str, tuple[HostFact, ...]]:
    """(what they are called, the facts) of the smart hosts a customer's mail server sends
    through: a Microsoft 365 tenant (the RFI's platform kind "m365") has its own pair."""
    if platform_kind == "m365":
        return "Microsoft 365 smart hosts", region.m365_smart_hosts
    return "smart hosts", region.smart_hosts


async def check_smart_hosts(
    region: GatewayRegion,
    options: ProbeOptions,
    *,
    port: int = 25,
    egress: EgressProbe | None = None,
    platform_kind: str | None = None,
    platform: str | None = None,
) -> CheckResult:
    """outbound.smart_hosts: each of the region's smart hosts resolves, accepts SMTP and offers
    STARTTLS with a valid certificate. A Microsoft 365 customer (platform_kind "m365", from the
    RFI's mail platform answer; `platform` is that answer as shown) is judged against the
    region's Microsoft 365 smart hosts, never the others in their place. The evidence says
    which set was used, and when the host names come from a source below `official`."""
    what, facts = smart_hosts_for(region, platform_kind)
    hosts = [fact.host for fact in facts]
    basis = (
        f"judged against the {what} of {region.name}"
        + (f": the mail platform in the answers is {platform}" if platform else "")
        + f" ({', '.join(hosts) or 'none known'})"
    )
    if not hosts:
        judged = f"whether the {what} accept the customer's mail"
        missing = "outbound smart hosts" if what == "smart hosts" else what
        return CheckResult(
            SMART_HOSTS,
            CheckStatus.SKIPPED,
            None,
            not_checked(region, judged, missing, options.audience),
            (basis, *((region.notes,) if region.notes else ())),
        )
    notes = _hybrid_note(region, platform_kind, platform)
    probes = list(await asyncio.gather(*(probe_host(h, port, options) for h in hosts)))
    verdict = _gateway_hosts_verdict(
        SMART_HOSTS,
        what,
        probes,
        fix_owner="If the bot's network is fine, tell the gateway's support which host.",
        egress=await egress_if_silent(probes, egress),
    )
    return replace(verdict, evidence=(*caveats(facts), basis, *notes, *verdict.evidence))


def _hybrid_note(
    region: GatewayRegion, platform_kind: str | None, platform: str | None
) -> tuple[str, ...]:
    """Exchange in hybrid with Microsoft 365: the on-premises servers send through the smart
    hosts checked; mail that Exchange Online sends by its own connector uses the other pair."""
    if platform_kind != "exchange" or "hybrid" not in (platform or "").lower():
        return ()
    m365 = ", ".join(f.host for f in region.m365_smart_hosts) or "none known for the region"
    return (
        "Exchange hybrid: mail that Exchange Online sends through its own outbound connector "
        f"goes to the Microsoft 365 smart hosts instead ({m365}), not checked here",
    )


async def _reverse_confirmed(ip: str, options: ProbeOptions) -> tuple[str, str, list[str]]:
    """(state, text, evidence) for one address: confirmed | unconfirmed | none | unknown."""
    ptr_name = dns.reversename.from_address(ip).to_text(omit_final_dot=True)
    ptr = await options.resolver.lookup(ptr_name, "PTR")
    evidence = [ptr.describe()]
    if ptr.failed:
        return "unknown", f"{ip}: the reverse DNS could not be read ({ptr.status})", evidence
    if not ptr.ok:
        return "none", f"{ip} has no reverse DNS (PTR) record", evidence
    names = [normalize_host(r) for r in ptr.records]
    forward = await asyncio.gather(
        *(options.resolver.lookup(n, rd) for n in names for rd in ("A", "AAAA"))
    )
    evidence += [f.describe() for f in forward if f.ok or f.failed]
    wanted = ipaddress.ip_address(ip)
    for index, name in enumerate(names):
        for lookup in forward[2 * index : 2 * index + 2]:
            if lookup.ok and any(parse_ip(r) == wanted for r in lookup.records):
                return "confirmed", f"{ip} -> {name} -> {ip}", evidence
    if any(f.failed for f in forward):
        return "unknown", f"{ip}: the names its PTR gives could not be resolved", evidence
    return (
        "unconfirmed",
        f"{ip} -> {_names(names)}, which does not resolve back to {ip}",
        evidence,
    )


async def check_authorized_ips(ips: Sequence[str], options: ProbeOptions) -> CheckResult:
    """outbound.authorized_ips: the RFI's sending addresses are public single addresses, and the
    reverse DNS of each is forward-confirmed (receivers penalise mail from addresses without)."""
    if not ips:
        return CheckResult(
            AUTHORIZED_IPS,
            CheckStatus.SKIPPED,
            None,
            "No sending IP addresses yet: answer the outbound_ips question first.",
        )
    bad: list[str] = []
    to_check: list[str] = []
    for text in ips:
        if "/" in text:
            bad.append(f"{text} is a range, not a single address")
            continue
        address = parse_ip(text)
        if address is None:
            bad.append(f"{text} is not an IP address")
            continue
        why = refusal(address, allow_private=options.allow_private)
        if why is not None:
            bad.append(why)
            continue
        to_check.append(str(address))
    found = await asyncio.gather(*(_reverse_confirmed(ip, options) for ip in to_check))
    evidence = tuple(bad) + tuple(line for _, _, lines in found for line in lines)
    if bad:
        return CheckResult(
            AUTHORIZED_IPS,
            CheckStatus.FAIL,
            None,
            f"Not usable as sending addresses: {'; '.join(bad)}. List each sending server's "
            "public address in the answers.",
            evidence,
        )
    unknown = [text for state, text, _ in found if state == "unknown"]
    weak = [text for state, text, _ in found if state in ("none", "unconfirmed")]
    if unknown:
        return CheckResult(
            AUTHORIZED_IPS,
            CheckStatus.UNKNOWN,
            None,
            f"Could not finish the reverse DNS check: {'; '.join(unknown)}. Run it again later.",
            evidence,
        )
    if weak:
        return CheckResult(
            AUTHORIZED_IPS,
            CheckStatus.WARN,
            None,
            f"Reverse DNS is not forward-confirmed: {'; '.join(weak)}. Ask whoever owns the "
            "address (usually the ISP) for a PTR record naming a host that resolves back to "
            "it: receivers penalise mail from addresses without one.",
            evidence,
        )
    return CheckResult(
        AUTHORIZED_IPS,
        CheckStatus.PASS,
        None,
        f"All {len(found)} sending addresses are public and their reverse DNS is "
        f"forward-confirmed ({'; '.join(text for _, text, _ in found)}).",
        evidence,
    )


async def check_delivery_routes(
    routes: Sequence[Endpoint], options: ProbeOptions, *, egress: EgressProbe | None = None
) -> CheckResult:
    """inbound.delivery_routes: each forwarding host accepts SMTP on its port and offers
    STARTTLS with a valid certificate."""
    if not routes:
        return CheckResult(
            DELIVERY_ROUTES,
            CheckStatus.SKIPPED,
            None,
            "No forwarding addresses yet: answer the forwarding question first.",
        )
    hosts = list(await asyncio.gather(*(probe_host(h, p, options) for h, p in routes)))
    evidence = host_evidence(hosts)
    failing = [h for h in hosts if h.state in ("refused", "tls", "unresolved")]
    silent = [h for h in hosts if h.state in ("timeout", "down", "dns-timeout")]
    if failing:
        listing = "; ".join(f"{h.label}: {h.problem}" for h in failing)
        return CheckResult(
            DELIVERY_ROUTES,
            CheckStatus.FAIL,
            None,
            f"The gateway cannot deliver safely to {listing}. Install a certificate from a "
            "public CA for the host name (with its intermediates) and enable STARTTLS, or "
            "correct the forwarding address in the answers.",
            evidence,
        )
    seen = await egress_if_silent(hosts, egress)
    if stop := blocked(DELIVERY_ROUTES, None, "the forwarding addresses", hosts, seen):
        return stop
    if silent:
        listing = "; ".join(f"{h.label}: {h.problem}" for h in silent)
        return CheckResult(
            DELIVERY_ROUTES,
            CheckStatus.UNKNOWN,
            None,
            f"Could not reach {listing} from the bot's address. If the firewall already admits "
            "only the gateway's ranges that is expected, and the gateway's own delivery test "
            "decides; otherwise open the port and check again.",
            evidence,
        )
    until = min((h.not_after for h in hosts if h.not_after), default=None)
    return CheckResult(
        DELIVERY_ROUTES,
        CheckStatus.PASS,
        None,
        f"All {len(hosts)} forwarding addresses accept SMTP with STARTTLS and a valid "
        f"certificate (valid until {_date(until)}).",
        evidence,
    )


async def check_journaling_smtp(
    region: GatewayRegion,
    options: ProbeOptions,
    *,
    journal_address: str | None = None,
    address_format: str | None = None,
    port: int = 25,
    egress: EgressProbe | None = None,
) -> CheckResult:
    """journaling.smtp: the journal address follows the profile's format (a regular expression)
    and the region's journal hosts accept SMTP with STARTTLS. Without a format in the profile,
    or without the address, the address is not checked and the result is at best a warning."""
    address_format = address_format or getattr(region, "journal_address_format", None)
    notes: list[str] = []
    if address_format is None:
        notes.append("the gateway profile gives no journal address format: address not checked")
    elif not journal_address:
        notes.append("no journal address given yet: address not checked")
    elif not re.fullmatch(address_format, journal_address.strip(), flags=re.IGNORECASE):
        return CheckResult(
            JOURNALING_SMTP,
            CheckStatus.FAIL,
            None,
            f"The journal address {journal_address} does not have the form the gateway uses "
            "for this account: copy it from the gateway's administration console.",
            (f"expected format: {address_format}",),
        )
    else:
        notes.append(f"journal address {journal_address} has the expected format")
    hosts = [fact.host for fact in region.journal_hosts]
    if not hosts:
        judged = "whether the gateway's journal hosts accept the journal mail"
        extra = (region.notes,) if region.notes else ()
        return CheckResult(
            JOURNALING_SMTP,
            CheckStatus.SKIPPED,
            None,
            not_checked(region, judged, "journal hosts", options.audience),
            (*notes, *extra),
        )
    probes = list(await asyncio.gather(*(probe_host(h, port, options) for h in hosts)))
    verdict = _gateway_hosts_verdict(
        JOURNALING_SMTP,
        "journal hosts",
        probes,
        fix_owner="If the bot's network is fine, tell the gateway's support which host.",
        egress=await egress_if_silent(probes, egress),
    )
    status, summary = verdict.status, verdict.summary
    if address_format is None and status is CheckStatus.PASS:
        # The hosts are fine, but the address cannot be judged: not done yet.
        status = CheckStatus.WARN
        summary = (
            "The journal hosts accept mail with STARTTLS, but the gateway profile gives no "
            f"journal address format for {region.name}, so the journal address was not "
            "checked: confirm it with your gateway engineer (the profile's "
            "journal_address_format checks it)."
        )
    elif address_format is not None and not journal_address and status is CheckStatus.PASS:
        # The hosts are fine, but half the check could not run: not done yet.
        status = CheckStatus.WARN
        summary = (
            "The journal hosts accept mail with STARTTLS; set the journal address the gateway "
            "gave the account (/connect set <customer> --journal-address ...) so that it is "
            "checked too."
        )
    evidence = (*caveats(region.journal_hosts), *notes, *verdict.evidence)
    return CheckResult(verdict.id, status, None, summary, evidence)


LEGACY_POP_PLATFORMS = re.compile(r"exchange\s*(5\.5|2000|2003)\b", re.IGNORECASE)


def _pop_summary(probe: PopProbe, credentials: PopCredentials) -> tuple[CheckStatus, str]:
    where = f"{credentials.host} port {credentials.port}"
    if probe.tls is not None and probe.tls.failure is not None:
        return CheckStatus.FAIL, (
            f"TLS to the journal mailbox at {where} failed: {probe.tls.failure.describe()}. "
            "The password was not sent. Fix the mailbox's certificate, then check again."
        )
    if probe.stls_offered is False:
        return CheckStatus.FAIL, (
            f"The journal mailbox at {where} does not offer STLS, so the password was not sent. "
            "Enable TLS on the POP service, or use POP3S (port 995)."
        )
    if probe.login == "refused":
        return CheckStatus.FAIL, (
            f"The journal mailbox at {where} refused the password for user {credentials.user}. "
            "Enter the right password again with the credentials command."
        )
    if probe.login == "ok" and probe.messages is not None:
        return CheckStatus.PASS, (
            f"Logged in to the journal mailbox at {where} as {credentials.user}: "
            f"{probe.messages} messages waiting ({probe.size} bytes)."
        )
    if probe.outcome == "timeout":
        return CheckStatus.UNKNOWN, (
            f"The journal mailbox at {where} {probe.error}. Check that the port is open to "
            "the bot (and to the gateway), then check again."
        )
    if probe.outcome == "refused":
        return CheckStatus.FAIL, (
            f"Nothing accepts connections at {where}: check the host, port and security mode "
            "in the credentials."
        )
    return CheckStatus.FAIL, (
        f"The journal mailbox at {where} did not complete the login "
        f"({probe.error or probe.outcome})."
    )


async def check_journaling_pop(
    credentials: PopCredentials | None,
    options: ProbeOptions,
    *,
    platform: str | None = None,
) -> CheckResult:
    """journaling.pop: POP3S or POP3+STLS to the journal mailbox, TLS verified, login, STAT.

    The password is used for the login only: no summary, evidence line or error carries it.
    """
    if credentials is None:
        return CheckResult(
            JOURNALING_POP,
            CheckStatus.SKIPPED,
            None,
            "No journal mailbox credentials yet: enter them with the credentials command "
            "(pop); they are stored encrypted, never in the channel.",
        )
    notes: tuple[str, ...] = ()
    if platform and not LEGACY_POP_PLATFORMS.search(platform):
        notes = (
            f"POP journaling is meant for Exchange 2003 and the like; {platform} can journal "
            "over SMTP, which is recommended",
        )
    host = await cleared(credentials.host, credentials.port, options)
    if host.target is None:
        status = CheckStatus.UNKNOWN if host.state == "dns-timeout" else CheckStatus.FAIL
        return CheckResult(
            JOURNALING_POP,
            status,
            None,
            f"The journal mailbox was not probed: {host.problem}.",
            tuple(host.evidence()) + notes,
        )
    # One login attempt per check: try the next address only when nothing answered the first.
    probe: PopProbe | None = None
    tried: list[str] = []
    for address in host.target.addresses:
        probe = await probe_pop(
            credentials, str(address), timeout=options.timeout, ca_file=options.ca_file
        )
        tried.append(probe.evidence())
        if probe.outcome not in ("refused", "unreachable", "timeout"):
            break
    assert probe is not None
    status, summary = _pop_summary(probe, credentials)
    if notes and status is CheckStatus.PASS:
        summary += " " + notes[0][0].upper() + notes[0][1:] + "."
    return CheckResult(JOURNALING_POP, status, None, summary, tuple(tried) + notes)


LOCKDOWN_WHY = (
    "Why it matters: a server that takes mail directly lets anyone bypass the gateway's "
    "scanning by delivering straight to it; after the lockdown only the gateway's ranges may "
    "connect."
)


async def check_firewall_lockdown(
    endpoints: Sequence[Endpoint], options: ProbeOptions, *, egress: EgressProbe | None = None
) -> CheckResult:
    """firewall.lockdown: from the bot's own (outside, non-gateway) address, nothing of the
    customer's may answer SMTP. A banner is a fail naming the address; refused or silent is a
    pass, from one vantage point only, and only when the gateway's own hosts answered the bot
    in the same run (`egress`): otherwise the bot's network may be what refused."""
    if not endpoints:
        return CheckResult(
            FIREWALL_LOCKDOWN,
            CheckStatus.SKIPPED,
            None,
            "No customer mail server addresses yet (sending IPs, forwarding addresses): answer "
            "those questions first. " + LOCKDOWN_WHY,
        )
    unique = list(dict.fromkeys(endpoints))
    probed_hosts, seen = await asyncio.gather(
        asyncio.gather(
            *(probe_host(h, p, options, tls_mode="off", banner_only=True) for h, p in unique)
        ),
        egress_of(egress),
    )
    hosts = list(probed_hosts)
    evidence = host_evidence(hosts)
    open_ones = [
        f"{p.endpoint} ({h.host})" if h.host != p.address else p.endpoint
        for h in hosts
        for p in h.probes
        if p.answered
    ]
    # Refused or silent is what a lockdown looks like; "network unreachable" and the like say
    # nothing about the customer's firewall (often it is our own network), so not probed.
    not_probed = [f"{h.label}: {h.problem}" for h in hosts if h.target is None]
    for host in hosts:
        for probe in host.probes:
            if probe.outcome in ("unreachable", "error") and not probe.answered:
                not_probed.append(f"{probe.endpoint}: {probe.error or probe.outcome}")
    probed = [h for h in hosts if any(p.outcome in ("refused", "timeout") for p in h.probes)]
    if open_ones:
        return CheckResult(
            FIREWALL_LOCKDOWN,
            CheckStatus.FAIL,
            None,
            f"Still answering SMTP from outside the gateway's ranges: {_names(open_ones)}. "
            "Allow inbound port 25 only from the gateway's published ranges. " + LOCKDOWN_WHY,
            evidence,
        )
    what = "the customer's firewall"
    if (stop := blocked(FIREWALL_LOCKDOWN, None, what, hosts, seen)) is not None:
        return stop
    if not probed:
        return CheckResult(
            FIREWALL_LOCKDOWN,
            CheckStatus.UNKNOWN,
            None,
            f"No address could be probed ({'; '.join(not_probed)}). " + LOCKDOWN_WHY,
            evidence,
        )
    tried = sum(1 for h in probed for p in h.probes if p.outcome in ("refused", "timeout"))
    if not seen.open:
        return CheckResult(
            FIREWALL_LOCKDOWN,
            CheckStatus.UNKNOWN,
            None,
            f"None of the {tried} customer mail server addresses probed answered SMTP, but "
            "that proves nothing yet: the bot could not show that it reaches port 25 at all "
            f"({seen.reason}). Check again once the gateway's hosts answer the bot. "
            + LOCKDOWN_WHY,
            evidence + seen.evidence,
        )
    summary = (
        f"None of the {tried} customer mail server addresses probed "
        "answered SMTP (refused or silent). The probe came from one outside address, the "
        "bot's: it shows the lockdown holds for that source, not for every source. "
    )
    if not_probed:
        summary += f"Not probed: {'; '.join(not_probed)}. "
    return CheckResult(
        FIREWALL_LOCKDOWN, CheckStatus.PASS, None, summary + LOCKDOWN_WHY, evidence + seen.evidence
    )


def check_previous_provider(
    provider: str | None, *, source: str | None = None, notes: Sequence[str] = ()
) -> CheckResult:
    """firewall.previous_provider: cannot be probed; a person confirms it. The result names the
    provider (recognised from the old MX/SPF records, or named in the answers) so nobody forgets
    the contract. source: how it is known, e.g. "recognised from MX mx0a-1.pphosted.com of
    acme.com"; notes: more evidence lines (an RFI answer naming another provider)."""
    if not provider:
        return CheckResult(
            PREVIOUS_PROVIDER,
            CheckStatus.SKIPPED,
            None,
            "No previous provider recognised or named: if there was one, cancel its service "
            "before the lockdown and confirm it here.",
            tuple(notes),
        )
    seen = f" ({source})" if source else ""
    return CheckResult(
        PREVIOUS_PROVIDER,
        CheckStatus.SKIPPED,
        None,
        f"Previous provider: {provider}{seen}. Cancel that contract before the lockdown and "
        "confirm it here (a person confirms this; it cannot be probed).",
        (f"previous provider: {provider}{seen}", *notes),
    )
