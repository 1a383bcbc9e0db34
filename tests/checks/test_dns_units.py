"""Pure parts of the DNS checks: profiles, providers, SPF parsing, records to publish, names."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from support.dns_fixtures import TEST_PROFILE_YAML, make_test_profile

from commands.checks.dns import display_name, normalize_host, parse_nameservers, to_a_label
from commands.checks.dns.names import BadDomainName
from commands.checks.dns.publish import merge_spf, records_to_publish, txt_strings
from commands.checks.result import CheckResult, CheckStatus, worst
from commands.checks.spf.record import SpfNode, SpfSyntaxError, is_spf, parse
from commands.profiles import ProfileError, load_profile, parse_profile
from commands.providers import recognise, recognise_all, spf_targets
from commands.regions import REGIONS

# Profiles


def test_shipped_profile_loads_with_every_region_and_sources() -> None:
    profile = load_profile(None)
    assert profile.gateway == "Mimecast"
    assert set(profile.regions) == set(REGIONS)
    for key, region in profile.regions.items():
        assert region.key == key
        if key == "je":  # Jersey publishes no include (tests/checks/test_gateway_facts.py)
            assert region.spf_include is None
            continue
        assert region.include is not None
        assert region.include.startswith(f"{key}._netblocks.mimecast")
        assert region.spf_include is not None
        for fact in (*region.inbound_mx, *region.journal_hosts, *region.smart_hosts):
            assert fact.source.url is None or fact.source.url.startswith("https://")
    assert profile.region("EU").mx_hosts == (
        "eu-smtp-inbound-1.mimecast.com",
        "eu-smtp-inbound-2.mimecast.com",
    )
    assert profile.region("za").mx_hosts[0] == "za-smtp-inbound-1.mimecast.co.za"


def test_profile_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "other.yml"
    path.write_text(TEST_PROFILE_YAML, encoding="utf-8")
    profile = load_profile(path)
    assert profile.gateway == "Test Gateway"
    assert profile.region("eu").mx_lines() == ((10, "mx1.gateway.test"), (20, "mx2.gateway.test"))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda d: d["regions"]["eu"]["inbound_mx"][1].update(host="mx two"),
            "regions.eu.inbound_mx[1].host: 'mx two' is not a host name",
        ),
        (
            lambda d: d["regions"]["eu"]["inbound_mx"][0].update(colour="red"),
            "regions.eu.inbound_mx[0].colour: Extra inputs are not permitted",
        ),
        (
            lambda d: d["regions"]["eu"]["spf_include"].update(
                source={"url": "https://x.test", "taken": "soon"}
            ),
            "regions.eu.spf_include.source.taken:",
        ),
        (lambda d: d["regions"]["eu"].pop("name"), "regions.eu.name: Field required"),
        (lambda d: d.update(version=2), "version: Input should be less than or equal to 1"),
    ],
)
def test_profile_errors_name_the_bad_key(change, message: str) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(TEST_PROFILE_YAML)
    change(data)
    with pytest.raises(ProfileError) as caught:
        parse_profile(data, "p.yml")
    assert str(caught.value).startswith("p.yml: " + message)


def test_profile_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="cannot read the profile"):
        load_profile(tmp_path / "absent.yml")
    bad = tmp_path / "bad.yml"
    bad.write_text("gateway: [unclosed", encoding="utf-8")
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(bad)
    with pytest.raises(ProfileError, match="region 'mars' is not in the Test Gateway profile"):
        make_test_profile().region("mars")


# Providers


@pytest.mark.parametrize(
    ("mx", "spf", "key"),
    [
        (["acme-com.mail.protection.outlook.com."], None, "microsoft365"),
        (["acme-com.r-v1.mx.microsoft"], None, "microsoft365"),
        (["ASPMX.L.GOOGLE.COM", "alt1.aspmx.l.google.com"], None, "google"),
        (["smtp.google.com"], None, "google"),
        (["mx0a-00123401.pphosted.com"], None, "proofpoint"),
        (["mx1-us1.ppe-hosted.com"], None, "proofpoint_essentials"),
        (["d123456a.ess.barracudanetworks.com"], None, "barracuda"),
        (["mx1.hc1234-56.iphmx.com"], None, "cisco"),
        (["cluster1.eu.messagelabs.com"], None, "broadcom"),
        (["acme.in.tmes.trendmicro.eu"], None, "trendmicro"),
        (["eu-smtp-inbound-1.mimecast.com"], None, "mimecast"),
        ([], "v=spf1 include:_spf.google.com ~all", "google"),
        ([], "v=spf1 redirect=spf.protection.outlook.com", "microsoft365"),
    ],
)
def test_recognise(mx: list[str], spf: str | None, key: str) -> None:
    provider = recognise(mx, spf)
    assert provider is not None
    assert provider.key == key


def test_recognise_prefers_mx_excludes_the_gateway_and_ignores_lookalikes() -> None:
    found = recognise_all(
        ["eu-smtp-inbound-1.mimecast.com", "mx0a-1.pphosted.com"],
        "v=spf1 include:spf.protection.outlook.com -all",
    )
    assert [p.key for p in found] == ["mimecast", "proofpoint", "microsoft365"]
    assert recognise(["eu-smtp-inbound-1.mimecast.com"], None, exclude=["mimecast"]) is None
    assert recognise(["notmimecast.com", "mail.protection.outlook.com.evil.test"], None) is None
    assert spf_targets("v=spf1 +include:A.test -redirect=b.test. ip4:1.2.3.4") == (
        "a.test",
        "b.test",
    )


# SPF parsing and merging


def test_parse_terms() -> None:
    terms = parse("v=spf1 ip4:192.0.2.0/24 -include:x.test a/24 mx:m.test//64 redirect=r.test ~all")
    assert [(t.qualifier, t.name, t.value) for t in terms] == [
        ("+", "ip4", "192.0.2.0/24"),
        ("-", "include", "x.test"),
        ("+", "a", "/24"),
        ("+", "mx", "m.test//64"),
        ("", "redirect", "r.test"),
        ("~", "all", None),
    ]
    assert is_spf("V=SPF1")
    assert not is_spf("v=spf10")
    assert not is_spf("v=spf1.0 a")
    for bad in ("v=spf1 ip4:300.1.1.1", "v=spf1 moo", "v=spf1 ip6:192.0.2.1", "v=spf1 -exp=x"):
        with pytest.raises(SpfSyntaxError):
            parse(bad)


def test_merge_keeps_the_customers_terms_and_qualifier() -> None:
    record, lookups, notes = merge_spf(
        "acme.test", ["v=spf1 ip4:203.0.113.5 include:spf.protection.outlook.com -all"], "gw.test"
    )
    assert (
        record == "v=spf1 include:gw.test ip4:203.0.113.5 include:spf.protection.outlook.com -all"
    )
    assert lookups is None
    assert notes == ()
    same, _, notes = merge_spf("acme.test", ["v=spf1 include:GW.test -all"], "gw.test")
    assert same == "v=spf1 include:GW.test -all"
    assert "already includes" in notes[0]
    plus, _, notes = merge_spf("acme.test", ["v=spf1 a +all"], "gw.test")
    assert plus == "v=spf1 include:gw.test a ~all"
    assert "+all" in notes[0]
    redirect, _, _ = merge_spf("acme.test", ["v=spf1 redirect=_spf.acme.test"], "gw.test")
    assert redirect == "v=spf1 include:gw.test redirect=_spf.acme.test"


def test_merge_stays_under_the_lookup_limit_where_it_can() -> None:
    current = (
        "v=spf1 a mx ptr include:i1.test include:i2.test include:old.pphosted.com "
        "include:i3.test -all"
    )
    tree = SpfNode("acme.test", None, "ok", record=current, terms=parse(current))
    tree.own_lookups = 7
    tree.children = [SpfNode("old.pphosted.com", "include:old.pphosted.com", "ok")]
    tree.children[0].own_lookups = 2
    tree.term_addresses = {"a": ["203.0.113.7"], "mx": ["203.0.113.8", "2001:db8::8"]}
    record, lookups, notes = merge_spf(
        "acme.test",
        [current],
        "gw.test",
        tree=tree,
        include_lookups=2,
        drop_includes=["pphosted.com"],
    )
    # 9 today + 3 for the gateway = 12; ptr (-1) and the previous provider's include (-3)
    # bring it to 8 without touching the a/mx terms.
    assert lookups == 8
    assert record == (
        "v=spf1 include:gw.test a mx include:i1.test include:i2.test include:i3.test -all"
    )
    assert [n.split(":")[0] for n in notes] == ["dropped ptr", "dropped include"]
    # Without a previous provider to drop, the domain's own a/mx terms are flattened.
    record, lookups, notes = merge_spf(
        "acme.test", [current], "gw.test", tree=tree, include_lookups=2
    )
    assert lookups == 10
    assert record == (
        "v=spf1 include:gw.test ip4:203.0.113.7 mx include:i1.test include:i2.test "
        "include:old.pphosted.com include:i3.test -all"
    )
    assert "update the record when those hosts change" in notes[-1]


def test_records_to_publish_and_zone_lines() -> None:
    region = make_test_profile().region("eu")
    plan = records_to_publish("acme.test", "v=spf1 mx -all", region)
    assert plan.spf == "v=spf1 include:eu._spf.gateway.test mx -all"
    assert plan.spf_changed
    assert plan.zone_lines() == (
        "acme.test. 3600 IN MX 10 mx1.gateway.test.",
        "acme.test. 3600 IN MX 20 mx2.gateway.test.",
        'acme.test. 3600 IN TXT "v=spf1 include:eu._spf.gateway.test mx -all"',
    )
    fresh = records_to_publish("acme.test", None, region)
    assert fresh.spf == "v=spf1 include:eu._spf.gateway.test ~all"
    bare = records_to_publish("acme.test", None, make_test_profile().region("bare"))
    assert bare.spf is None
    assert bare.mx == ()
    assert len(bare.notes) == 2


def test_long_txt_is_split_into_strings() -> None:
    record = "v=spf1 " + " ".join(f"ip4:192.0.2.{i}" for i in range(40)) + ' "quoted" -all'
    text = txt_strings(record)
    chunks = text.split('" "')
    assert len(chunks) == 3
    assert '\\"quoted\\"' in text


# Names, nameservers, results


def test_names() -> None:
    assert normalize_host("MX1.Example.COM.") == "mx1.example.com"
    assert to_a_label("Bücher.TEST.") == "xn--bcher-kva.test"
    assert display_name("xn--bcher-kva.test") == "bücher.test"
    with pytest.raises(BadDomainName):
        to_a_label("a..test")
    with pytest.raises(BadDomainName):
        to_a_label("")


def test_parse_nameservers() -> None:
    servers = parse_nameservers(["127.0.0.5:5353", "[::1]:53", "192.0.2.1", " "])
    assert [(s.host, s.port) for s in servers] == [
        ("127.0.0.5", 5353),
        ("::1", 53),
        ("192.0.2.1", 53),
    ]
    assert [str(s) for s in servers] == ["127.0.0.5:5353", "[::1]", "192.0.2.1"]
    with pytest.raises(ValueError, match="must be an IP address"):
        parse_nameservers(["dns.example:53"])


def test_result_contract() -> None:
    result = CheckResult("inbound.mx_gateway", CheckStatus.PASS, "acme.test", "All good.")
    assert result.step == "inbound"
    assert result.as_dict()["status"] == "pass"
    with pytest.raises(AttributeError):
        result.status = CheckStatus.FAIL  # type: ignore[misc]
    statuses = [CheckStatus.PASS, CheckStatus.WARN, CheckStatus.UNKNOWN]
    assert worst([CheckResult("x.y", s, None, "") for s in statuses]) is CheckStatus.UNKNOWN
    assert worst([]) is CheckStatus.SKIPPED
