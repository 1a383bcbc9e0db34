"""`/connect check` and `/connect dns` end to end: a real `connect-bot serve` whose resolver is
a real NSD on loopback (the scenario zones of tests/support/dns_fixtures.py) and whose gateway
profile is the test profile. The domains come from the RFI, answered in its thread.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from support.bot_process import BotProcess, start_bot_process
from support.checks_e2e import onboarding_with_domains, run_check, top_level
from support.dns_fixtures import DnsWorld, bot_env_for
from support.slack_standin import Call, SlackStandIn

from store.models import CheckRun, Onboarding, StepStatus

WAIT = 15.0


@pytest.fixture(scope="module")
def bot_env(dns_world: DnsWorld, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return bot_env_for(dns_world, tmp_path_factory.mktemp("profile"))


def shown(call: Call) -> str:
    """What a message shows: the text of its blocks, in order, one block a paragraph."""
    texts: list[str] = []
    for block in call.params.get("blocks") or []:
        body = block.get("text")
        if isinstance(body, dict):
            texts.append(str(body.get("text", "")))
        texts += [str(e.get("text", "")) for e in block.get("elements") or [] if "text" in e]
    return "\n".join(texts)


def steps(db: Engine, key: str) -> dict[str, str]:
    with Session(db) as session:
        query = (
            select(StepStatus)
            .join(Onboarding, col(Onboarding.id) == col(StepStatus.onboarding_id))
            .where(Onboarding.key == key)
        )
        return {row.step: row.state for row in session.exec(query)}


def test_a_correct_domain_passes_its_dns_checks_and_the_run_is_kept(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel = onboarding_with_domains(bot, slack, "good.test")
    progress, final = run_check(bot, slack, key, channel, "inbound")
    assert "good.test" in progress.params["text"]
    text = final.params["text"]
    assert text.startswith("Inbound checks for")
    assert "3 passed · 1 skipped" in text
    for check_id in ("inbound.mx_gateway", "inbound.mx_leftovers", "inbound.mx_propagation"):
        assert f"✅ `{check_id}` · *good.test*" in text, text
    # The forwarding addresses are not answered yet, so the step cannot be done: in progress.
    assert "➖ `inbound.delivery_routes`" in text  # noqa: RUF001 (the emoji)
    assert "Inbound is now in progress" in text
    assert steps(db, key)["inbound"] == "in_progress"
    with Session(db) as session:
        runs = session.exec(
            select(CheckRun)
            .join(Onboarding, col(Onboarding.id) == col(CheckRun.onboarding_id))
            .where(Onboarding.key == key)
        ).all()
    assert [(r.step, r.worst, r.run_by) for r in runs] == [("inbound", "pass", "U0ENG")]
    assert [res["status"] for res in runs[0].results] == ["pass", "pass", "pass", "skipped"]


def test_check_all_runs_every_step_that_applies(bot: BotProcess, slack: SlackStandIn) -> None:
    key, channel = onboarding_with_domains(bot, slack, "good.test")
    _, final = run_check(bot, slack, key, channel)
    text = shown(final)  # the whole report: the fallback text is a short summary
    assert text.startswith(
        "Outbound + Recipient validation + Journaling + Inbound + Firewall lockdown checks for"
    )
    for check_id in (
        "outbound.spf",
        "recipients.directory",
        "recipients.coverage",
        "outbound.smart_hosts",
        "outbound.authorized_ips",
        "journaling.smtp",
        "inbound.mx_gateway",
        "inbound.delivery_routes",
        "firewall.lockdown",
        "firewall.previous_provider",
    ):
        assert f"`{check_id}`" in text, check_id


def test_an_old_provider_left_behind_fails_and_is_remembered(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel = onboarding_with_domains(bot, slack, "leftover.test")
    _, final = run_check(bot, slack, key, channel, "inbound")
    text = final.params["text"]
    assert "❌ `inbound.mx_leftovers` · *leftover.test*" in text
    assert "acme-test.mail.protection.outlook.com" in text
    assert "Previous provider recognised: *Microsoft 365" in text
    assert steps(db, key)["inbound"] == "in_progress"
    with Session(db) as session:
        row = session.exec(select(Onboarding).where(Onboarding.key == key)).one()
    assert row.previous_provider_key == "microsoft365"
    # The status shows the provider to cancel and the last check.
    bot.send("status", channel_id=channel)
    status = slack.wait_for(
        lambda c: (
            c in top_level(slack, channel)
            and "Firewall lockdown" in c.params["text"]
            and "Onboarding: " not in c.params["text"]
        ),
        1,
        WAIT,
    )[-1]
    assert "Previous provider: Microsoft 365" in status.params["text"]
    assert "last check ❌ failed" in status.params["text"]


def test_dns_shows_the_records_to_publish(bot: BotProcess, slack: SlackStandIn) -> None:
    key, channel = onboarding_with_domains(bot, slack, "nospf.test, softfail.test")
    before = len(top_level(slack, channel))
    assert bot.send(f"dns {key}", channel_id=channel).status == 200
    posted = slack.wait_for(lambda c: c in top_level(slack, channel), before + 1, WAIT)[-1]
    text = posted.params["text"]
    assert "nospf.test. 3600 IN MX 10 mx1.gateway.test." in text
    assert "nospf.test. 3600 IN MX 20 mx2.gateway.test." in text
    assert 'nospf.test. 3600 IN TXT "v=spf1 include:eu._spf.gateway.test' in text
    # softfail.test keeps its own mechanisms and gains the gateway's include.
    (spf_line,) = [
        line for line in text.splitlines() if line.startswith("softfail.test. 3600 IN TXT")
    ]
    assert "ip4:203.0.113.0/24" in spf_line
    assert "include:eu._spf.gateway.test" in spf_line


@pytest.mark.parametrize(
    ("command", "needle"),
    [
        ("check {key} rfi", "Request for information has no checks"),
        ("check {key} bogus", "bogus is not a step"),
        ("check {other}", "has no domains yet"),
        ("check {noregion}", "has no region yet"),
    ],
)
def test_checks_that_cannot_run_say_why(
    bot: BotProcess, slack: SlackStandIn, command: str, needle: str
) -> None:
    key, _ = onboarding_with_domains(bot, slack, "good.test")
    other = f"bare-{uuid.uuid4().hex[:6]}"
    bot.send(f"open {other} --service both --region eu", channel_id="C" + other.upper()[:10])
    noregion, _ = onboarding_with_domains(bot, slack, "good.test", region="")
    reply = bot.send(
        command.format(key=key, other=other, noregion=noregion), channel_id="C0ELSEWHERE"
    )
    assert reply.status == 200
    (answer,) = slack.wait_for(
        lambda c: c.method == "response_url" and c.name == reply.response_name, 1, WAIT
    )
    assert answer.params["response_type"] == "ephemeral"
    assert needle in answer.params["text"]


def test_the_shipped_profile_is_used_when_none_is_set(tmp_path: Path, slack: SlackStandIn) -> None:
    # A bot without CONNECT_GATEWAY_PROFILE knows the shipped regions (Mimecast's).
    process = start_bot_process(
        api_url=slack.api_url, workdir=tmp_path, response_url=slack.response_url
    )
    try:
        reply = process.send("open shipped --service both --region za", channel_id="C0SHIPPED")
        assert reply.status == 200
        slack.wait_for(
            lambda c: (
                c.params.get("channel") == "C0SHIPPED"
                and "Onboarding: " in c.params.get("text", "")
            ),
            1,
            WAIT,
        )
        reply = process.send("open other --service both --region gateway", channel_id="C0X")
        (answer,) = slack.wait_for(
            lambda c: c.method == "response_url" and c.name == reply.response_name, 1, WAIT
        )
        assert (
            "gateway is not a region; use one of eu, de, us, usb, ca, za, au, je, uspcom"
            in (answer.params["text"])
        )
    finally:
        process.stop()


def test_dns_says_when_todays_records_cannot_be_read(bot: BotProcess, slack: SlackStandIn) -> None:
    # The bot's only name server is the test NSD, which serves no .example zone and refuses
    # the query: that is a server failure, not "no SPF record".
    key, channel = onboarding_with_domains(bot, slack, "good.test, unserved.example")
    before = len(top_level(slack, channel))
    assert bot.send(f"dns {key}", channel_id=channel).status == 200
    posted = slack.wait_for(lambda c: c in top_level(slack, channel), before + 1, WAIT)[-1]
    text = posted.params["text"]
    assert "good.test. 3600 IN MX 10 mx1.gateway.test." in text
    assert "could not read the TXT records of unserved.example" in text
    assert "unserved.example. 3600 IN TXT" not in text


def test_a_region_without_mx_hosts_never_ticks_the_leftovers(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    # The test profile's "bare" region lists no inbound MX hosts (like the shipped ca and uspcom).
    key, channel = onboarding_with_domains(bot, slack, "good.test", region="bare")
    _, final = run_check(bot, slack, key, channel, "inbound")
    text = final.params["text"]
    assert "✅ `inbound.mx_leftovers`" not in text
    (line,) = [x for x in text.splitlines() if "`inbound.mx_leftovers`" in x]
    assert line.startswith("➖")  # noqa: RUF001 (the emoji)
    assert "lists no inbound MX hosts for region bare" in line
    assert "confirm them with your gateway engineer" in line


def test_the_report_and_its_footer_name_one_previous_provider(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    # The first run of every step recognises Microsoft 365 from the MX records; the footer and
    # firewall.previous_provider, in the same message, both say so.
    key, channel = onboarding_with_domains(bot, slack, "leftover.test")
    _, final = run_check(bot, slack, key, channel)
    text = shown(final)  # the whole report: the fallback text is a short summary
    name = "Microsoft 365 (Exchange Online Protection)"
    assert f"Previous provider recognised: *{name}*" in text
    (line,) = [x for x in text.splitlines() if "`firewall.previous_provider`" in x]
    assert (
        f"Previous provider: {name} (recognised in this run from the records of leftover.test: "
        "MX acme-test.mail.protection.outlook.com, SPF include:spf.protection.outlook.com)"
    ) in line
    assert "No previous provider" not in text
