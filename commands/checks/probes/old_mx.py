"""inbound.old_mx_retired: do the MX hosts a domain had before the switch still take its mail?

Asked the way a sending MTA asks (MAIL FROM:<>, RCPT TO:<postmaster@domain>, never DATA), and only
once the same run's DNS report shows the domain's MX pointing at the gateway: while the domain
names a host, that host takes its mail by design.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from commands.checks.dns.mx import MX_GATEWAY, MxNow, profile_gap
from commands.checks.dns.names import BadDomainName, normalize_host, to_a_label
from commands.checks.probes.egress import Egress, EgressProbe, blocked, egress_of, host_evidence
from commands.checks.probes.smtp import SmtpProbe
from commands.checks.probes.targets import HostProbe, ProbeOptions, probe_host
from commands.checks.result import CheckResult, CheckStatus
from commands.profiles import GatewayRegion

OLD_MX_RETIRED = "inbound.old_mx_retired"


def _names(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


async def check_old_mx_retired(
    domain: str,
    old_mx_hosts: Sequence[str],
    options: ProbeOptions,
    *,
    region: GatewayRegion,
    mx_now: MxNow | None,
    port: int = 25,
    egress: EgressProbe | None = None,
) -> CheckResult:
    """inbound.old_mx_retired for one domain: every MX host recorded before the switch (except
    the gateway's own) must refuse mail for the domain.

    Judged only once the domain's MX points at the gateway (`mx_now`: this run's MX and its
    inbound.mx_gateway verdict), so only hosts the domain no longer names: while it names them
    they take its mail by design. Retired means an explicit refusal of every address: a 5xx
    greeting, a 5xx to RCPT TO:<postmaster@domain>, or connection refused (counted only when the
    gateway's own hosts answered the bot in the same run, `egress`, so that it is not the bot's
    own network refusing). An accepted RCPT TO is a fail. A timeout, a reset, a temporary (4xx)
    answer, an unreachable network or a name that no longer resolves is unknown, with the reason.
    """
    gateway = set(region.mx_hosts)
    hosts = [h for h in dict.fromkeys(normalize_host(h) for h in old_mx_hosts) if h not in gateway]
    if not hosts:
        return CheckResult(
            OLD_MX_RETIRED,
            CheckStatus.SKIPPED,
            domain,
            f"No MX host other than the gateway's was recorded for {domain} before the switch.",
        )
    try:
        domain = to_a_label(domain)  # SMTP without SMTPUTF8 speaks A-labels only
    except BadDomainName as exc:
        return CheckResult(OLD_MX_RETIRED, CheckStatus.FAIL, domain, f"{exc}: correct the domain.")
    if (early := _old_mx_not_yet(domain, region, mx_now)) is not None:
        return early
    assert mx_now is not None
    notes = (f"MX of {domain} in this run: {', '.join(mx_now.hosts)}",)
    hosts = [h for h in hosts if h not in mx_now.hosts]  # none, at the gateway; kept as the rule
    if not hosts:
        return CheckResult(
            OLD_MX_RETIRED,
            CheckStatus.SKIPPED,
            domain,
            f"Every old MX host of {domain} is still one of its MX hosts: nothing to probe.",
            notes,
        )
    probes, seen = await asyncio.gather(
        _offer_mail_as_a_sender(hosts, port, options, rcpt=f"postmaster@{domain}"),
        egress_of(egress),
    )
    return _verdict(domain, probes, seen, notes + host_evidence(probes))


def _verdict(
    domain: str, probes: list[HostProbe], seen: Egress, evidence: tuple[str, ...]
) -> CheckResult:
    """What the old MX hosts' answers say, given whether the bot can reach port 25 (`seen`)."""
    answers = [_old_mx_answer(host) for host in probes]
    accepting = [text for state, text in answers if state == "accepting"]
    if accepting:
        return CheckResult(
            OLD_MX_RETIRED,
            CheckStatus.FAIL,
            domain,
            f"{_names(accepting)} still {'accepts' if len(accepting) == 1 else 'accept'} mail "
            f"for {domain}: senders with stale DNS (or spammers) bypass the gateway. Ask the "
            "ISP or previous provider to stop accepting mail for the domain there.",
            evidence,
        )
    if (stop := blocked(OLD_MX_RETIRED, domain, "the old MX hosts", probes, seen)) is not None:
        return stop
    # A refused connection is a verdict only when something on port 25 answered the bot.
    trusted = seen.open or any(p.answered for h in probes for p in h.probes)
    unknown = [text for state, text in answers if state == "unknown"]
    if not trusted:
        unknown += [
            f"{text}, but the bot could not show that it reaches port 25 at all "
            f"({seen.reason}), so that may be its own network refusing"
            for state, text in answers
            if state == "refused"
        ]
    if unknown:
        return CheckResult(
            OLD_MX_RETIRED,
            CheckStatus.UNKNOWN,
            domain,
            f"Could not confirm that the old MX hosts of {domain} are retired "
            f"({'; '.join(unknown)}). Ask the ISP to confirm it in writing, or check again.",
            evidence + seen.evidence,
        )
    retired = [text for state, text in answers if state in ("retired", "refused")]
    relied = any(state == "refused" for state, _ in answers)
    return CheckResult(
        OLD_MX_RETIRED,
        CheckStatus.PASS,
        domain,
        f"The old MX hosts of {domain} no longer take its mail: {'; '.join(retired)}.",
        evidence + (seen.evidence if relied else ()),
    )


def _old_mx_not_yet(domain: str, region: GatewayRegion, mx_now: MxNow | None) -> CheckResult | None:
    """The result when the old MX hosts may not be judged yet: the domain's MX does not point at
    the gateway (or that cannot be told). None when they may."""
    if not region.mx_hosts:
        summary = (
            f"Not checked: whether the MX of {domain} points at the gateway, and so which hosts "
            f"are old, cannot be told, because {profile_gap(region)}."
        )
        return CheckResult(OLD_MX_RETIRED, CheckStatus.SKIPPED, domain, summary)
    if mx_now is None:
        return CheckResult(
            OLD_MX_RETIRED,
            CheckStatus.SKIPPED,
            domain,
            f"The MX records of {domain} were not read in this run, so its old MX hosts were not "
            "probed: run the inbound checks with the domain among the answers.",
        )
    if mx_now.gateway.status is CheckStatus.UNKNOWN:
        return CheckResult(
            OLD_MX_RETIRED,
            CheckStatus.UNKNOWN,
            domain,
            f"Could not tell where the mail of {domain} goes now ({MX_GATEWAY}: "
            f"{mx_now.gateway.summary}), so its old MX hosts were not probed.",
            mx_now.gateway.evidence,
        )
    if not mx_now.at_gateway:
        return CheckResult(
            OLD_MX_RETIRED,
            CheckStatus.SKIPPED,
            domain,
            f"The MX records of {domain} do not point only at the gateway yet (see "
            f"{MX_GATEWAY}), so its old MX hosts were not probed: while the domain names them, "
            "they take its mail by design. They are checked once its MX points at the gateway.",
            mx_now.gateway.evidence,
        )
    return None


async def _offer_mail_as_a_sender(
    hosts: list[str], port: int, options: ProbeOptions, *, rcpt: str
) -> list[HostProbe]:
    """Each host asked to take mail for `rcpt` the way a sending MTA would ask."""
    # Opportunistic TLS, as a sending MTA does: the question is acceptance, not certificates.
    probes = list(
        await asyncio.gather(
            *(probe_host(h, port, options, tls_mode="opportunistic", rcpt=rcpt) for h in hosts)
        )
    )
    # A sender whose STARTTLS fails retries in plain text, so the probe does too.
    retry = [
        i
        for i, host in enumerate(probes)
        if any(p.tls is not None and not p.tls.ok for p in host.probes)
        and not any(p.rcpt is not None for p in host.probes)
    ]
    if retry:
        again = await asyncio.gather(
            *(probe_host(hosts[i], port, options, tls_mode="off", rcpt=rcpt) for i in retry)
        )
        for i, host in zip(retry, again, strict=True):
            host.probes = probes[i].probes + host.probes
            probes[i] = host
    return probes


def _old_mx_answer(host: HostProbe) -> tuple[str, str]:
    """(state, words) for one old MX host: accepting, retired (an explicit refusal from every
    address), refused (connection refused by every address that did not refuse otherwise; a
    verdict only once the bot is known to reach port 25) or unknown."""
    if any(p.rcpt_accepted for p in host.probes):
        return "accepting", host.label
    if host.refused is not None:
        return "unknown", f"{host.label}: not probed, {host.refused}"
    if host.unresolved is not None:
        if host.unresolved.timeout:
            return "unknown", f"{host.label}: {host.unresolved.reason}"
        return "unknown", f"{host.unresolved.reason}, so the addresses it had could not be asked"
    latest = {p.address: p for p in host.probes}  # a plain-text retry replaces its TLS attempt
    several = len(latest) > 1
    said = [
        (state, f"{p.endpoint} {text}" if several else text)
        for p in latest.values()
        for state, text in [_address_answer(p)]
    ]
    unknown = [text for state, text in said if state == "unknown"]
    if unknown:
        return "unknown", f"{host.label}: {'; '.join(unknown)}"
    words = "; ".join(dict.fromkeys(text for _, text in said))
    if any(state == "refused" for state, _ in said):
        return "refused", f"{host.label} {words}"
    return "retired", f"{host.label} {words}"


def _address_answer(probe: SmtpProbe) -> tuple[str, str]:
    """(state, words) for one address of an old MX host: rejects | refused | unknown."""
    if probe.rcpt is not None and probe.rcpt.code >= 500:
        return "rejects", f"rejects the recipient ({probe.rcpt.describe()})"
    if probe.banner is not None and probe.banner.code >= 500:
        return "rejects", f"refuses SMTP ({probe.banner.describe()})"
    if probe.banner is None:
        if probe.outcome == "refused":
            return "refused", "refuses connections"
        return "unknown", probe.error or probe.outcome  # timeout, unreachable, no route
    if probe.banner.code != 220:
        return "unknown", f"greets with {probe.banner.describe()}, a temporary refusal"
    if probe.rcpt is not None:
        return "unknown", f"answers RCPT TO with {probe.rcpt.describe()}, not a refusal"
    if probe.mail is not None and not probe.mail.positive:
        return "unknown", (
            f"refuses the null sender ({probe.mail.describe()}), so the recipient was not asked"
        )
    if probe.ehlo is not None and probe.ehlo.code != 250:
        return "unknown", f"answers EHLO with {probe.ehlo.describe()}"
    return "unknown", f"answered, then {probe.error or 'stopped before RCPT TO'}"
