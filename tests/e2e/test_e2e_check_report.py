"""The check report a person reads at a glance (issue 14, section 3), end to end: a real
`connect-bot serve` over signed HTTP, whose resolver is a real NSD on loopback serving the
scenario zones of tests/support/dns_fixtures.py.

A report on several domains starts with its grid (domain by check, one icon each), then lists
only what needs doing; the evidence is behind a *Details* button, which a customer contact of
another organisation may press in their own channel and nobody may press for someone else's.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select
from support.bot_process import BotProcess
from support.checks_e2e import onboarding_with_domains, run_check
from support.dns_fixtures import DnsWorld, bot_env_for
from support.mentions import buttons_of, guest, idle
from support.signing import button_click, interaction_body, post
from support.slack_standin import Call, SlackStandIn

from bot.render import mrkdwn
from store.models import CheckRun, Onboarding

WAIT = 20.0
THREE = ("good.test", "nospf.test", "leftover.test")
# Ten domains with mixed results: passes, failures (no SPF, two SPF records, a softfail, a
# provider's MX left over, an MX host without an address), warnings (+all, no all term, a CNAME
# MX) and one domain whose records cannot be read at all (the NSD refuses .example).
TEN = (
    "good.test",
    "xn--bcher-kva.test",
    "leftover.test",
    "nospf.test",
    "twospf.test",
    "plusall.test",
    "noall.test",
    "softfail.test",
    "noaddr.test",
    "unserved.example",
)


@pytest.fixture(scope="module")
def bot_env(dns_world: DnsWorld, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return bot_env_for(dns_world, tmp_path_factory.mktemp("profile"))


def blocks_of(call: Call) -> list[dict[str, Any]]:
    blocks = call.params.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks)


def block_texts(call: Call) -> list[str]:
    """Every piece of text the message's blocks show, in order (buttons aside)."""
    texts: list[str] = []
    for block in blocks_of(call):
        if "text" in block:
            texts.append(block["text"]["text"])
        if block["type"] == "context":
            texts += [e["text"] for e in block["elements"]]
    return texts


def lines_in_channel(call: Call) -> int:
    return sum(len(text.split("\n")) for text in block_texts(call))


def grid_of(call: Call) -> str:
    """The first section's text: the grid, when the report starts with one."""
    sections = [b for b in blocks_of(call) if b["type"] == "section"]
    return sections[0]["text"]["text"]


def runs_of(db: Engine, key: str) -> list[CheckRun]:
    with Session(db) as session:
        return list(
            session.exec(
                select(CheckRun)
                .join(Onboarding, col(Onboarding.id) == col(CheckRun.onboarding_id))
                .where(Onboarding.key == key)
            ).all()
        )


def test_a_three_domain_report_starts_with_its_grid(bot: BotProcess, slack: SlackStandIn) -> None:
    key, channel = onboarding_with_domains(bot, slack, prefix="rep", domains=THREE)
    _, final = run_check(bot, slack, key, channel)
    grid = grid_of(final)
    rows = [line for line in grid.strip("`").splitlines() if line.strip()]
    # A header row naming the checks, then one row per domain in the RFI's order.
    assert "MX" in rows[0], grid
    assert "SPF" in rows[0], grid
    assert [row.split()[0] for row in rows[1:4]] == list(THREE), grid
    good, nospf, leftover = rows[1:4]
    assert "❌" not in good
    assert "✅" in good  # a pass is visibly a pass
    assert "❌" in nospf  # no SPF record
    assert "❌" in leftover  # a provider's MX host left over
    # Below the grid, only what needs doing: the failures are named with their fix.
    text = final.params["text"]
    assert text.index("good.test") < text.index("`outbound.spf` · *nospf.test*")
    assert "`inbound.mx_leftovers` · *leftover.test*" in text
    assert 'Publish: `nospf.test. TXT "v=spf1 include:eu._spf.gateway.test ~all"`' in text
    assert "· *good.test*" not in text  # its passes are in the grid, not listed again


def test_a_ten_domain_report_fits_in_forty_lines_and_hides_no_problem(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel = onboarding_with_domains(bot, slack, prefix="rep", domains=TEN)
    _, final = run_check(bot, slack, key, channel)
    text = "\n".join(block_texts(final))  # the whole message (its fallback text is short)
    assert lines_in_channel(final) < 40, "\n".join(block_texts(final))
    grid = grid_of(final)
    for domain in TEN:
        assert domain in grid
    # Every failing or inconclusive result of the run is named in the message, with its domain.
    results = [r for run in runs_of(db, key) for r in run.results]
    assert {r["status"] for r in results} >= {"pass", "fail", "warn", "unknown"}
    for result in results:
        if result["status"] in ("fail", "unknown"):
            named = f"`{result['id']}`"
            assert named in text, result
            if result["subject"]:
                assert result["subject"] in text, result
    # The evidence is not in the channel: it waits behind the Details button.
    assert "asked 127.0.0.5" not in text
    assert [b["text"]["text"] for b in buttons_of(final)] == ["🔎 Details"]


def press(
    bot: BotProcess, slack: SlackStandIn, message: Call, *, user: str, team: str, channel: str
) -> str:
    """Click the Details button of `message` in `channel` as `user` of `team`."""
    (button,) = buttons_of(message)
    name = f"click-{uuid.uuid4().hex[:8]}"
    payload = button_click(
        message,
        button,
        user=user,
        channel=channel,
        response_url=slack.response_url(name),
        block_id="connect_actions",
    )
    payload["user"]["team_id"] = team  # a Slack Connect guest clicks as one of their own team
    status, _, body = post(bot.events_url, bot.secret, interaction_body(payload))
    assert (status, body) == (200, b""), body
    return name


def test_a_customer_of_another_org_opens_the_details_in_a_thread(
    bot: BotProcess, slack: SlackStandIn, db: Engine
) -> None:
    key, channel = onboarding_with_domains(bot, slack, prefix="rep", domains=THREE)
    _, final = run_check(bot, slack, key, channel)
    user, team = guest(slack, "acme")  # users.info: team T0ACME, a stranger: a customer
    press(bot, slack, final, user=user, team=team, channel=channel)
    ts = final.params["ts"]

    def in_thread(c: Call) -> bool:
        return (
            c.method == "chat.postMessage"
            and c.params.get("channel") == channel
            and c.params.get("thread_ts") == ts
        )

    slack.wait_for(in_thread, 1, WAIT)
    idle(bot)  # a long evidence reply comes in numbered parts
    shown = "\n".join(t for c in slack.calls() if in_thread(c) for t in block_texts(c))
    # The evidence as the run stored it: every check of every domain, with what was seen.
    for run in runs_of(db, key):
        for result in run.results:
            for line in result["evidence"][:1]:
                assert mrkdwn.escape(line) in shown, line
    assert "nospf.test MX" in shown
    assert "acme-test.mail.protection.outlook.com" in shown


def test_details_for_someone_elses_report_are_refused(bot: BotProcess, slack: SlackStandIn) -> None:
    victim_key, victim_channel = onboarding_with_domains(bot, slack, prefix="rep", domains=THREE)
    _, report = run_check(bot, slack, victim_key, victim_channel)
    _, own_channel = onboarding_with_domains(bot, slack, prefix="rep", domains=("good.test",))
    user, team = guest(slack, "evil")
    # The victim's button, replayed in the attacker's own channel (their onboarding's).
    name = press(bot, slack, report, user=user, team=team, channel=own_channel)
    (answer,) = slack.wait_for(lambda c: c.method == "response_url" and c.name == name, 1, WAIT)
    assert answer.params["response_type"] == "ephemeral"
    assert "nospf.test" not in json.dumps(answer.params)
    threads = [
        c
        for c in slack.calls("chat.postMessage")
        if c.params.get("thread_ts") == report.params["ts"]
    ]
    assert threads == []


def test_the_history_reads_as_sentences(bot: BotProcess, slack: SlackStandIn) -> None:
    key, channel = onboarding_with_domains(bot, slack, prefix="rep", domains=("good.test",))
    run_check(bot, slack, key, channel)
    reply = bot.send(f"history {key}", channel_id=channel, user_id="U0ENG")
    (answer,) = slack.wait_for(
        lambda c: c.method == "response_url" and c.name == reply.response_name, 1, WAIT
    )
    text = answer.params["text"]
    # The question's title, not its id; the run in words; every time a Slack date.
    assert "<@U0CUST> answered *Sending IP addresses*: 127.0.0.40" in text
    assert "outbound_ips" not in text
    assert (
        "ran the Outbound, Recipient validation, Journaling, Inbound and Firewall lockdown" in text
    )
    lines = [line for line in text.splitlines() if " · " in line and "<@" in line]
    assert lines
    assert all(line.startswith("<!date^") for line in lines), lines
