"""The Home tab's *Run checks* button end to end: it runs the `check` verb under the clicker's
role, and the report goes to the onboarding's channel exactly as for `/connect check` (a real
NSD on loopback answers the DNS checks)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from support.bot_process import BotProcess
from support.checks_e2e import onboarding_with_domains, top_level
from support.dns_fixtures import DnsWorld, bot_env_for
from support.signing import TEAM_ID, interaction_body, post
from support.slack_standin import SlackStandIn

WAIT = 15.0


@pytest.fixture(scope="module")
def bot_env(dns_world: DnsWorld, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return bot_env_for(dns_world, tmp_path_factory.mktemp("profile"))


def test_run_checks_from_home_reports_in_the_onboardings_channel(
    bot: BotProcess, slack: SlackStandIn
) -> None:
    key, channel = onboarding_with_domains(bot, slack, prefix="hchk", domains="good.test")
    before = len(top_level(slack, channel))
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": "U0ENG", "team_id": TEAM_ID},
        "team": {"id": TEAM_ID},
        "api_app_id": "A0CONNECT",
        "trigger_id": "trig-home",
        "container": {"type": "view", "view_id": "V0HOME"},
        "view": {"id": "V0HOME", "type": "home", "blocks": []},
        "actions": [
            {
                "type": "button",
                "action_id": "home_check",
                "block_id": f"home_item:{key}",
                "value": json.dumps({"key": key, "step": "outbound"}),
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    assert post(bot.events_url, bot.secret, interaction_body(payload))[0] == 200
    progress = slack.wait_for(lambda c: c in top_level(slack, channel), before + 1, WAIT)[-1]
    assert "⏳ Checking" in progress.params["text"]
    ts = progress.response["ts"]
    (report,) = slack.wait_for(
        lambda c: (
            c.method == "chat.update"
            and c.params.get("ts") == ts
            and "⏳" not in c.params.get("text", "")
        ),
        1,
        WAIT,
    )[-1:]
    assert "Outbound checks" in report.params["text"], report.params["text"]
    assert "good.test" in report.params["text"]
    # Nothing went to the engineer's DM: the report is the channel's.
    assert not [c for c in slack.calls("chat.postMessage") if c.params.get("channel") == "U0ENG"]
