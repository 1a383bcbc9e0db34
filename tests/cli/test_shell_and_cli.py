"""The `connect-bot` command as a person runs it: the shell scripted through standard input,
and start-up errors that name the setting."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select
from support.cli import run_bot

from store.db import Database
from store.models import Onboarding, RfiAnswer, StepStatus


def test_shell_runs_a_script_from_standard_input(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shell.db'}"
    script = "\n".join(
        [
            '/connect open acme --service both --region eu --name "Acme <!channel> Ltd"',
            "/connect status acme",
            "# a comment, ignored",
            "",
            "/connect done outbound",
            "/connect status",
            "/connect open Bad_Key --service both",
            "hello there",
            "/connect list",
        ]
    )
    done = run_bot(
        ["shell", "--user", "U0JANE", "--channel", "C0ACME"], {"DATABASE_URL": url}, script
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Onboarding: Acme <!channel> Ltd (acme)" in out  # plain text, as typed
    assert "&lt;" not in out  # no Slack escaping leaks into the terminal
    assert "opened by @U0JANE" in out
    assert "✅ Outbound · done" in out
    assert "(only you can see this)\n⚠️ Bad_Key is not a valid customer key" in out
    assert "the bot answers /connect commands" in out
    assert "acme Acme <!channel> Ltd · Email security + Archiving · EU · 1/6 steps done" in out
    assert "Traceback" not in out + done.stderr
    # The same handlers wrote the same store a Slack runner would use.
    db = Database(url)
    with db.session() as session:
        onboarding = session.exec(select(Onboarding)).one()
        outbound = session.exec(select(StepStatus).where(StepStatus.step == "outbound")).one()
    assert (onboarding.key, onboarding.channel_id, onboarding.opened_by) == (
        "acme",
        "C0ACME",
        "U0JANE",
    )
    assert (outbound.state, outbound.changed_by) == ("done", "U0JANE")


def test_shell_on_an_empty_input_exits_cleanly(tmp_path: Path) -> None:
    done = run_bot(["shell"], {"DATABASE_URL": f"sqlite:///{tmp_path / 'e.db'}"})
    assert (done.returncode, done.stdout) == (0, "")


@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        (["run"], {}, "SLACK_APP_TOKEN is not set"),
        (["run"], {"SLACK_APP_TOKEN": "xapp-1"}, "SLACK_BOT_TOKEN is not set"),
        (["serve"], {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
        (["serve"], {"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN is not set"),
        (["run"], {"SLACK_BOT_TOKEN": "xapp-wrong"}, "SLACK_BOT_TOKEN: must be a bot token"),
        (["shell"], {"CONNECT_ALLOW_PRIVATE_TARGETS": "perhaps"}, "CONNECT_ALLOW_PRIVATE_TARGETS"),
        (["shell"], {"CONNECT_DNS_NAMESERVERS": "127.0.0.5:99999"}, "CONNECT_DNS_NAMESERVERS"),
        (["shell"], {"CONNECT_ENGINEERS": "jane"}, "CONNECT_ENGINEERS: 'jane' is not a Slack"),
        (["shell"], {"CONNECT_GATEWAY_PROFILE": "/nonexistent.yml"}, "CONNECT_GATEWAY_PROFILE"),
        (["shell"], {"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL: must be an http(s) URL"),
        (["shell"], {"CONNECT_DNS_DIRECT_PORT": "0"}, "CONNECT_DNS_DIRECT_PORT"),
        (["shell"], {"CONNECT_LOG_FORMAT": "xml"}, "CONNECT_LOG_FORMAT: Input should be 'text'"),
        (["shell"], {"CONNECT_LOG_LEVEL": "loud"}, "CONNECT_LOG_LEVEL: Input should be 'debug'"),
        (["--log-level", "loud", "shell"], {}, "--log-level must be one of debug, info"),
    ],
)
def test_a_bad_setting_stops_start_up_with_one_line_naming_it(
    tmp_path: Path, args: list[str], env: dict[str, str], line: str
) -> None:
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}", **env}
    done = run_bot(args, env)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]  # exactly one line
    assert line in done.stderr
    assert done.stderr.startswith("connect-bot: ")


def test_db_upgrade_applies_migrations(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'up.db'}"
    done = run_bot(["db", "upgrade"], {"DATABASE_URL": url})
    assert done.returncode == 0, done.stderr
    with Database(url).engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


def test_a_whole_rfi_scripted_through_the_shell(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'rfi.db'}"
    script = "\n".join(
        [
            "> too early",
            "/connect open acme --service archiving --name Acme",
            "> Jane Smith, jane@acme.example, primary",
            "> Raj Patel, raj@acme.example, technical",
            "> next",
            "> 999.1.1.1",
            "> 127.0.0.5",
            "> next",
            "> acme.example",
            "> next",
            "> Exchange 2016",
            "> none",
            "> POP",
            "> none",
            "/connect rfi acme show",
            "/connect status acme",
        ]
    )
    done = run_bot(
        ["shell", "--user", "U0CUST", "--channel", "C0ACME"],
        {"DATABASE_URL": url, "CONNECT_ALLOW_PRIVATE_TARGETS": "1"},
        script,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "(no thread yet" in out  # a reply before any thread is explained, not lost
    assert "Question 1 of 7: Main points of contact" in out
    assert "  ↳ " in out  # thread replies are shown as such
    assert "For example" in out  # the bad address was refused with an example
    assert "the request for information is done" in out
    assert "Exchange 2003" in out  # the note on POP journaling
    assert "✅ Request for information · done" in out
    assert "RFI 7/7 answered" in out
    assert "Traceback" not in out + done.stderr
    with Database(url).session() as session:
        rows = session.exec(select(RfiAnswer)).all()
    by_question = {row.question: row.values for row in rows}
    assert by_question["journaling"] == ["pop"]
    assert by_question["outbound_ips"] == [{"address": "127.0.0.5"}]
    assert by_question["directory"] == ["none"]
    assert by_question["previous_provider"] == []


def test_a_bad_gateway_profile_stops_start_up_naming_the_key(tmp_path: Path) -> None:
    profile = tmp_path / "profile.yml"
    profile.write_text(
        "gateway: Broken\nversion: 1\nregions:\n  eu:\n    name: Europe\n"
        "    inbound_mx:\n"
        "      - {host: 'mx one', source: {url: 'https://x.test', taken: 2026-11-28}}\n"
    )
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
        "CONNECT_GATEWAY_PROFILE": str(profile),
    }
    done = run_bot(["shell"], env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("connect-bot: CONNECT_GATEWAY_PROFILE: ")
    assert "regions.eu.inbound_mx[0].host" in done.stderr
    assert not (tmp_path / "p.db").exists()  # refused before anything was touched


def test_report_in_the_shell_writes_the_html_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'report.db'}"
    script = "/connect open acme --service both --region eu\n/connect report acme\n"
    done = run_bot(["shell", "--channel", "C0ACME"], {"DATABASE_URL": url}, script)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "Something went wrong" not in done.stdout
    line = next(x for x in done.stdout.splitlines() if "written to" in x)
    path = Path(line.split("written to ", 1)[1])
    try:
        page = path.read_text(encoding="utf-8")
        assert page.startswith("<!DOCTYPE html>")
        assert "acme" in page
    finally:
        path.unlink()
        path.parent.rmdir()
