"""The check report at a glance (issue 14, section 3): on several domains it starts with a grid
(domain by check, one icon each), then lists only what needs doing, with the fix; the evidence
waits behind the *Details* button. Nothing failing or inconclusive is ever left out."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.render import limits, mrkdwn
from bot.render.renderer import Message, render
from commands.checks.details import CheckDetails
from commands.checks.result import CheckResult, CheckStatus
from commands.checks.service import CheckReport
from commands.core.process import Service, Step
from commands.core.views import OnboardingView

AT = datetime(2026, 11, 28, 10, 42, tzinfo=UTC)
PASS, FAIL, WARN = CheckStatus.PASS, CheckStatus.FAIL, CheckStatus.WARN
UNKNOWN, SKIPPED = CheckStatus.UNKNOWN, CheckStatus.SKIPPED
DNS_CHECKS = (
    "inbound.mx_gateway",
    "inbound.mx_leftovers",
    "inbound.mx_propagation",
    "outbound.spf",
)


def view() -> OnboardingView:
    return OnboardingView(
        key="acme",
        name="Acme Corp",
        service=Service.BOTH,
        region="eu",
        channel_id="C0ACME",
        opened_by="U0ENG",
        opened_at=AT,
        closed_by=None,
        closed_at=None,
        steps=(),
    )


def result(
    check: str, status: CheckStatus, subject: str | None, *, fix: str | None = None
) -> CheckResult:
    evidence = (f"EVIDENCE {check} {subject}: 10 mx.{subject}.", f"EVIDENCE second line {subject}")
    summary = f"{check} is {status.value} for {subject or 'the account'}."
    return CheckResult(check, status, subject, summary, evidence, fix)


def spf_fix(domain: str) -> str:
    return f'{domain}. TXT "v=spf1 include:eu._spf.gateway.test ~all"'


def mx_fix(domain: str) -> str:
    return f"{domain}. MX 10 mx1.gateway.test.\n{domain}. MX 20 mx2.gateway.test."


def report(results: list[CheckResult], run_ids: tuple[int, ...] = (7, 8)) -> CheckReport:
    return CheckReport(
        view(),
        (Step.OUTBOUND, Step.INBOUND, Step.FIREWALL),
        tuple(results),
        0.9,
        run_ids=run_ids,
    )


def texts_of(message: Message) -> list[str]:
    """Every text the message's blocks show, in order (buttons aside)."""
    out: list[str] = []
    for block in message.blocks_json():
        if "text" in block:
            out.append(block["text"]["text"])
        if block["type"] == "context":
            out += [e["text"] for e in block["elements"]]
    return out


def lines_in_channel(message: Message) -> int:
    return sum(len(text.split("\n")) for text in texts_of(message))


def sections(message: Message) -> list[str]:
    return [b["text"]["text"] for b in message.blocks_json() if b["type"] == "section"]


def buttons(message: Message) -> list[dict[str, Any]]:
    return [e for b in message.blocks_json() if b["type"] == "actions" for e in b["elements"]]


def three_domains() -> list[CheckResult]:
    results = []
    for domain in ("acme.com", "acme.co.uk", "acme.de"):
        for check in DNS_CHECKS:
            results.append(result(check, PASS, domain))
    results[4] = result("inbound.mx_gateway", FAIL, "acme.co.uk", fix=mx_fix("acme.co.uk"))
    results[7] = result("outbound.spf", FAIL, "acme.co.uk", fix=spf_fix("acme.co.uk"))
    results[9] = result("inbound.mx_leftovers", WARN, "acme.de")
    results[10] = result("inbound.mx_propagation", UNKNOWN, "acme.de")
    results.append(result("firewall.lockdown", SKIPPED, None))
    return results


def test_a_three_domain_report_starts_with_its_grid() -> None:
    message = render(report(three_domains()))
    blocks = message.blocks_json()
    assert [b["type"] for b in blocks[:3]] == ["header", "context", "section"]
    grid = blocks[2]["text"]["text"]
    assert grid.startswith("```"), grid
    assert grid.endswith("```"), grid
    rows = grid.strip("`").strip("\n").split("\n")
    assert rows[0].split() == ["MX", "leftovers", "propagation", "SPF"]
    assert [row.split()[0] for row in rows[1:]] == ["acme.com", "acme.co.uk", "acme.de"]
    assert rows[1].split()[1:] == ["✅", "✅", "✅", "✅"]  # a pass is visibly a pass
    assert rows[2].split()[1:] == ["❌", "✅", "✅", "❌"]
    assert rows[3].split()[1:] == ["✅", "⚠️", "❓", "✅"]
    # Then only what needs doing, worst first, each with its fix; no pass is listed again.
    body = "\n".join(sections(message)[1:])
    assert "acme.com" not in body
    assert body.index("`inbound.mx_gateway` · *acme.co.uk*") < body.index(
        "`inbound.mx_propagation`"
    )
    assert "Publish: `acme.co.uk. MX 10 mx1.gateway.test.`" in body
    assert 'Publish: `acme.co.uk. TXT "v=spf1 include:eu._spf.gateway.test ~all"`' in body
    assert "`inbound.mx_leftovers` · *acme.de*" in body
    # The evidence is behind the Details button, which names the stored runs, not the evidence.
    assert "EVIDENCE" not in message.text
    (details,) = buttons(message)
    assert details["text"]["text"] == "🔎 Details"
    assert json.loads(details["value"]) == {"runs": "7,8"}


def ten_domains() -> list[CheckResult]:
    results: list[CheckResult] = []
    for n in range(10):
        domain = f"domain-{n}.example.com"
        statuses = {
            0: (PASS, PASS, PASS, FAIL),
            1: (FAIL, FAIL, PASS, PASS),
            2: (UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN),
            3: (PASS, WARN, PASS, WARN),
            4: (PASS, PASS, PASS, FAIL),
            5: (FAIL, PASS, PASS, FAIL),
        }.get(n, (PASS, PASS, PASS, PASS))
        for check, status in zip(DNS_CHECKS, statuses, strict=True):
            fix = None
            if status in (FAIL, WARN) and check == "outbound.spf":
                fix = spf_fix(domain)
            elif status is FAIL and check == "inbound.mx_gateway":
                fix = mx_fix(domain)
            results.append(result(check, status, domain, fix=fix))
    results += [
        result("outbound.smart_hosts", UNKNOWN, "out1.gateway.test"),
        result("outbound.authorized_ips", FAIL, "203.0.113.7"),
        result("journaling.smtp", SKIPPED, None),
        result("inbound.delivery_routes", SKIPPED, None),
        result("firewall.lockdown", UNKNOWN, None),
        result("firewall.previous_provider", SKIPPED, None),
        result(
            "recipients.coverage",
            FAIL,
            "domain-0.example.com, domain-1.example.com",
            fix="Add the domain's users to the directory",
        ),
    ]
    return results


def test_a_ten_domain_report_is_under_forty_lines_and_hides_no_problem() -> None:
    results = ten_domains()
    message = render(report(results))
    assert lines_in_channel(message) < 40, "\n".join(texts_of(message))
    assert limits.message_problems(message.blocks_json(), message.text) == []
    grid = sections(message)[0]
    for n in range(10):
        assert f"domain-{n}.example.com" in grid
    for r in results:
        if r.status in (FAIL, UNKNOWN):
            assert f"`{r.id}`" in message.text, r
            assert (r.subject or "") in message.text, r
    assert "EVIDENCE" not in message.text


def test_every_problem_is_named_even_when_every_domain_fails() -> None:
    results = [
        result(
            check,
            FAIL if check != "inbound.mx_propagation" else UNKNOWN,
            f"d{n}.test",
            fix=spf_fix(f"d{n}.test") if check == "outbound.spf" else None,
        )
        for n in range(25)
        for check in DNS_CHECKS
    ]
    message = render(report(results))
    assert limits.message_problems(message.blocks_json(), message.text) == []
    shown = "\n".join(texts_of(message))
    grid = "\n".join(x.strip("`") for x in sections(message) if x.startswith("```"))
    for n in range(25):
        # Each failing domain has its row in the grid and is named in the list below it.
        (row,) = [x for x in grid.split("\n") if x.startswith(f"d{n}.test ")]
        assert row.split()[1:] == ["❌", "❌", "❓", "❌"], row
        assert f"*d{n}.test*" in shown, n
    for check in DNS_CHECKS:
        assert f"`{check}`" in shown


def test_the_grid_and_the_items_escape_what_dns_and_people_typed() -> None:
    hostile = "<!here>*x*.test"
    results = [
        result(check, FAIL, subject) for subject in (hostile, "b&c.test") for check in DNS_CHECKS
    ]
    message = render(report(results))
    shown = "\n".join(texts_of(message))
    assert "<!here>" not in shown
    assert "&lt;!here&gt;" in shown
    assert "b&amp;c.test" in shown


def test_a_single_domain_report_lists_each_check_without_its_evidence() -> None:
    results = [result(check, PASS, "good.test") for check in DNS_CHECKS]
    results.append(result("inbound.delivery_routes", SKIPPED, None))
    message = render(report(results))
    assert not sections(message)[0].startswith("```")
    assert "✅ `inbound.mx_gateway` · *good.test*" in message.text
    assert "➖ `inbound.delivery_routes`" in message.text  # noqa: RUF001 (the emoji)
    assert "EVIDENCE" not in message.text


def test_a_report_without_stored_runs_has_no_details_button() -> None:
    message = render(report(three_domains(), run_ids=()))
    assert buttons(message) == []


def test_the_details_reply_shows_every_result_with_its_evidence_escaped() -> None:
    results = (
        result("outbound.spf", FAIL, "acme.com", fix=spf_fix("acme.com")),
        CheckResult(
            "inbound.mx_gateway",
            PASS,
            "acme.com",
            "Every MX record points at the gateway.",
            ("acme.com MX: 10 <!here>.acme.com.",),
        ),
    )
    message = render(CheckDetails(view(), AT, "U0ENG", results))
    assert message.public
    assert "EVIDENCE outbound.spf acme.com: 10 mx.acme.com." in message.text
    assert "✅ `inbound.mx_gateway` · *acme.com*" in message.text
    assert "10 &lt;!here&gt;.acme.com." in message.text
    assert 'Publish: `acme.com. TXT "v=spf1 include:eu._spf.gateway.test ~all"`' in message.text
    assert limits.message_problems(message.blocks_json(), message.text) == []


HOSTILE_PARTS = ["<!here>", "<@U0BOSS>", "*b*", "_i_", "`c`", "&amp;", "~s~", "ü", "a" * 45]
domain_names = st.lists(st.sampled_from(HOSTILE_PARTS), min_size=1, max_size=3).map(
    lambda parts: "".join(parts) + ".test"
)


@st.composite
def grid_reports(draw: st.DrawFn) -> CheckReport:
    domains = draw(st.lists(domain_names, min_size=2, max_size=10, unique=True))
    statuses = st.sampled_from(list(CheckStatus))
    results = [
        result(check, draw(statuses), domain, fix=draw(st.none() | st.just(spf_fix(domain))))
        for domain in domains
        for check in DNS_CHECKS
    ]
    others = ["outbound.smart_hosts", "journaling.smtp", "firewall.lockdown", "recipients.coverage"]
    results += [
        result(check, draw(statuses), draw(st.none() | domain_names))
        for check in draw(st.lists(st.sampled_from(others), max_size=6))
    ]
    return report(draw(st.permutations(results)))


@settings(max_examples=60, derandomize=True, deadline=None)
@given(grid_reports())
def test_any_grid_report_is_short_names_every_problem_and_keeps_text_inert(r: CheckReport) -> None:
    message = render(r)
    assert limits.message_problems(message.blocks_json(), message.text) == []
    assert lines_in_channel(message) < 40, "\n".join(texts_of(message))
    assert sections(message)[0].startswith("```")
    shown = "\n".join(texts_of(message))
    for token in ("<!here>", "<@U0BOSS>"):
        assert token not in shown
    listed = "\n".join(s for s in sections(message) if not s.startswith("```"))
    for res in r.results:
        if res.status in (FAIL, UNKNOWN):
            assert f"`{res.id}`" in listed, res
            if res.subject:
                assert f"*{mrkdwn.escape(res.subject)}*" in listed, res
