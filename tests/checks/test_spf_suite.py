"""The RFC 7208 test suite (openspf.org, release 2014.04) through the project's SPF path.

Each scenario's zone data is served by a real NSD (one root zone per scenario, so that every name
the suite does not define gets a genuine NXDOMAIN); names the suite marks TIMEOUT sit behind a DNS
relay that never answers for them. Each test runs `check_host_sync` (our resolver + pyspf) and must
give the suite's result. DEVIATIONS lists the tests we knowingly do not pass, with the reason.

The same 203 tests run again through the command line (`connect-bot spf`, its entry point
`bot.cli.main` in-process, with CONNECT_DNS_NAMESERVERS pointing at the scenario's server): it
must print the suite's result and exit with that result's status (bot.cli_dns.SPF_EXIT_CODES).
A malformed domain (RFC 7208 4.3) is the suite's `none`, never a refusal of the command.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from support.nsd import DnsProxy, NsdServer

from bot.cli import main
from bot.cli_dns import SPF_EXIT_CODES
from commands.checks.dns import DnsResolver
from commands.checks.spf.evaluate import check_host_sync

SUITE = Path(__file__).resolve().parents[2].parent / "shared/reference/rfc7208-test-suite"
SUITE_FILE = SUITE / "rfc7208-tests.yml"

# test name -> why it cannot pass through a real DNS server (none yet: keep the reasons here).
DEVIATIONS: dict[str, str] = {}


def _load() -> list[dict[str, Any]]:
    if not SUITE_FILE.is_file():
        # Fail, never skip: the suite is part of the project's reference material.
        raise FileNotFoundError(f"the RFC 7208 test suite is missing: {SUITE_FILE}")
    with SUITE_FILE.open(encoding="utf-8") as handle:
        return list(yaml.safe_load_all(handle))


SCENARIOS = _load()
CASES = [
    pytest.param(index, name, id=f"{index:02d}-{name}")
    for index, scenario in enumerate(SCENARIOS)
    for name in scenario["tests"]
]


def _bytes(text: str) -> bytes:
    # The suite writes raw bytes (a UTF-8 BOM, 0x80) as Latin-1 characters.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _label_text(name: str) -> str:
    """A domain name in master-file syntax, with every unusual byte as \\DDD."""
    name = name.rstrip(".")
    out = []
    for label in name.split("."):
        out.append(
            "".join(
                chr(b) if chr(b).isalnum() or chr(b) in "-_" else f"\\{b:03d}"
                for b in _bytes(label)
            )
        )
    return ".".join(out) + "."


def _quoted(text: str) -> str:
    return (
        '"'
        + "".join(
            chr(b) if 32 <= b < 127 and chr(b) not in '"\\' else f"\\{b:03d}" for b in _bytes(text)
        )
        + '"'
    )


def _strings(value: str | list[str]) -> str | None:
    parts = [value] if isinstance(value, str) else list(value)
    if not parts:
        return None  # a TXT record with no strings cannot be written in a zone file
    return " ".join(_quoted(p) for p in parts)


def root_zone(zonedata: dict[str, list[Any]]) -> tuple[str, dict[str, set[str]]]:
    """(zone text for ".", name -> the record types still answered for a TIMEOUT name).

    The suite's TIMEOUT means: a query for this name of a type it has no data for times out.
    """
    lines = [
        "$ORIGIN .",
        "$TTL 300",
        ". 3600 IN SOA ns.invalid. hostmaster.invalid. 1 3600 600 86400 60",
        ". 3600 IN NS ns.invalid.",
    ]
    timeouts: dict[str, set[str]] = {}
    for name, records in zonedata.items():
        owner = _label_text(name)
        if any(len(label) > 63 for label in name.split(".")):
            continue  # cannot exist in DNS; the suite expects the lookup not to be made
        # "TXT: NONE" is the suite's way to say the name has no TXT records at all.
        no_txt = any(isinstance(r, dict) and r.get("TXT") == "NONE" for r in records)
        records = [r for r in records if not (isinstance(r, dict) and r.get("TXT") == "NONE")]
        has_txt = no_txt or any(isinstance(r, dict) and "TXT" in r for r in records)
        # SPF data is duplicated as TXT, except for names that time out: there the suite tests
        # what happens when the TXT query gets no answer.
        duplicate = not has_txt and "TIMEOUT" not in records
        for record in records:
            if record == "TIMEOUT":
                served = {k for r in records if isinstance(r, dict) for k in r}
                timeouts[name.rstrip(".").lower()] = served
                continue
            ((rtype, value),) = record.items()
            if rtype in ("SPF", "TXT"):
                text = _strings(value)
                if text is None:
                    continue
                lines.append(f"{owner} IN {rtype} {text}")
                if rtype == "SPF" and duplicate:
                    # The suite's convention: SPF data is also published as TXT unless the
                    # name has TXT data of its own.
                    lines.append(f"{owner} IN TXT {text}")
            elif rtype == "MX":
                preference, host = value
                lines.append(f"{owner} IN MX {preference} {_label_text(host) if host else '.'}")
            elif rtype in ("A", "AAAA"):
                lines.append(f"{owner} IN {rtype} {value}")
            elif rtype in ("PTR", "CNAME"):
                lines.append(f"{owner} IN {rtype} {_label_text(value)}")
            else:
                raise AssertionError(f"unhandled record type {rtype} in the suite")
    return "\n".join(lines) + "\n", timeouts


class SuiteServers:
    """One NSD (and, when needed, a dropping relay) per scenario, started on first use."""

    def __init__(self) -> None:
        self.running: dict[int, tuple[NsdServer, DnsProxy | None, DnsResolver]] = {}

    def resolver(self, index: int) -> DnsResolver:
        if index not in self.running:
            text, timeouts = root_zone(SCENARIOS[index]["zonedata"])
            nsd = NsdServer({".": text}, address="127.0.0.5")
            nsd.start()
            proxy = None
            nameserver = nsd.nameserver
            if timeouts:
                proxy = DnsProxy((nsd.address, nsd.port), address="127.0.0.7", drop_unless=timeouts)
                proxy.__enter__()
                nameserver = proxy.nameserver
            resolver = DnsResolver([nameserver], timeout=0.5, lifetime=1.0)
            self.running[index] = (nsd, proxy, resolver)
        return self.running[index][2]

    def stop(self) -> None:
        for nsd, proxy, _ in self.running.values():
            if proxy is not None:
                proxy.__exit__(None, None, None)
            nsd.stop()
        self.running.clear()


@pytest.fixture(scope="module")
def servers() -> Iterator[SuiteServers]:
    running = SuiteServers()
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("index", "name"), CASES)
def test_rfc7208(servers: SuiteServers, index: int, name: str) -> None:
    case = SCENARIOS[index]["tests"][name]
    if name in DEVIATIONS:
        pytest.xfail(DEVIATIONS[name])
    verdict = check_host_sync(
        servers.resolver(index), str(case["host"]), case["mailfrom"] or "", case["helo"]
    )
    expected = case["result"]
    allowed = set(expected) if isinstance(expected, list) else {expected}
    assert verdict.result in allowed, (
        f"{SCENARIOS[index]['description']} / {name} (spec {case.get('spec')}): "
        f"got {verdict.result} ({verdict.explanation}), want {expected}"
    )
    if case.get("explanation", "DEFAULT") != "DEFAULT" and verdict.result == "fail":
        assert verdict.explanation == case["explanation"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("index", "name"), CASES)
def test_rfc7208_through_the_cli(
    servers: SuiteServers,
    index: int,
    name: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    case = SCENARIOS[index]["tests"][name]
    if name in DEVIATIONS:
        pytest.xfail(DEVIATIONS[name])
    nameservers = servers.resolver(index).nameservers
    monkeypatch.setenv("CONNECT_DNS_NAMESERVERS", ",".join(str(ns) for ns in nameservers))
    mailfrom, helo = case["mailfrom"] or "", case["helo"]
    # DOMAIN as a person would give it: the sender's domain, or the HELO name for the null
    # sender (which --sender '' asks for). "--" keeps a name starting with "-" an argument.
    domain = mailfrom.rpartition("@")[2] if mailfrom else helo
    argv = ["spf", f"--ip={case['host']}", f"--sender={mailfrom}", f"--helo={helo}", "--", domain]
    code = main(argv)
    printed = capsys.readouterr()
    expected = case["result"]
    allowed = set(expected) if isinstance(expected, list) else {expected}
    assert printed.out.strip() in allowed, (
        f"{SCENARIOS[index]['description']} / {name} (spec {case.get('spec')}): "
        f"connect-bot {' '.join(argv)} printed {printed.out!r} {printed.err!r}, want {expected}"
    )
    assert code == SPF_EXIT_CODES[printed.out.strip()]


def test_the_suite_is_all_here() -> None:
    assert len(CASES) == 203
