"""Roles: the pure rules, resolving a role through the Slack stand-in's users.info, and what each
role may do at the service level, on SQLite and PostgreSQL (members and the audit trail too)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from slack_sdk import WebClient
from sqlmodel import select
from support.slack_standin import TEAM_ID, SlackStandIn

from bot.render.mrkdwn import text as render_text
from bot.render.mrkdwn import to_plain
from bot.render.renderer import render
from bot.slack.identity import Home, Identity, role_from_user
from commands.core.context import Caller, Door
from commands.core.roles import NOT_YOURS, Role
from commands.history import PER_PAGE, History
from commands.members import Members, mentioned_user
from commands.replies import CustomerOpened, Listing, Opened, Refusal, Status, StepChanged
from commands.router import Router
from commands.services import Services
from commands.verbs import VERBS
from store import audit
from store.db import Database
from store.models import AuditEvent, Member, Onboarding, utcnow

ENGINEER = Caller("U0ENG", "C0ACME", "T0TEST", role=Role.ENGINEER)
ACME = Caller("U0ACMEJO", "C0ACME", "T0ACME", role=Role.CUSTOMER)
GLOBEX = Caller("U0GLOBEX", "C0GLOBEX", "T0GLOBEX", role=Role.CUSTOMER)
ENGINEER_VERBS = ("done", "reopen", "close", "set", "invite")


def plain(result: object) -> str:
    assert isinstance(result, Refusal), result
    return to_plain(render_text(result.text))


def open_two(router: Router) -> None:
    """acme bound to C0ACME, globex bound to C0GLOBEX, both opened by the engineer."""
    assert isinstance(router.handle_text(ENGINEER, "open acme --service both --region eu"), Opened)
    globex_channel = Caller("U0ENG", "C0GLOBEX", "T0TEST", role=Role.ENGINEER)
    assert isinstance(router.handle_text(globex_channel, "open globex --service both"), Opened)


# --- the pure rules ----------------------------------------------------------------------------


def help_text(router: Router, caller: Caller, verb: str = "") -> str:
    return to_plain(render(router.handle_text(caller, f"help {verb}".strip())).text)


def test_help_lists_what_the_asker_may_use(database: Database) -> None:
    router = Router(Services.build(database))
    customer, engineer = help_text(router, ACME), help_text(router, ENGINEER)
    for name, verb in VERBS.items():
        assert f"/connect {verb.usage}" in engineer, name
        # A customer contact is shown the door they have: mentions, never the slash command.
        assert (f"@connect {verb.usage}" in customer) == verb.allows(Role.CUSTOMER), name
    assert "/connect" not in customer
    assert "@connect" not in engineer
    assert "Engineers only" in engineer
    assert "Engineers only" not in customer
    assert "Your Connect engineer marks steps done" in customer
    assert "The buttons on my messages work too" in customer
    # Asked about one of the engineers' verbs by name, a customer is told who does it.
    one = help_text(router, ACME, "close")
    assert "Only a Connect engineer can do this" in one
    assert "@connect close acme" in one
    assert "/connect" not in one
    assert "Engineers only" in help_text(router, ENGINEER, "close")
    # An engineer who asked by mention is answered in the same door.
    by_mention = replace(ENGINEER, door=Door.MENTION)
    assert "@connect close <customer>" in help_text(router, by_mention)


def test_a_customer_is_refused_an_engineers_verb_in_the_door_they_have(
    database: Database,
) -> None:
    router = Router(Services.build(database))
    for caller in (ACME, replace(ACME, door=Door.MENTION)):
        text = plain(router.handle_text(caller, "close acme"))
        assert "Only a Connect engineer can use `@connect close`." in text
        assert "`@connect help` lists what you can do here." in text
        assert "/connect" not in text
    usage = to_plain(render(router.handle_text(ACME, "status a b")).text)
    assert "Usage: `@connect status [customer]`" in usage
    assert "/connect" not in usage
    assert "Usage: `/connect status" in to_plain(
        render(router.handle_text(ENGINEER, "status a b")).text
    )


def test_engineers_may_use_every_verb() -> None:
    assert all(verb.allows(Role.ENGINEER) for verb in VERBS.values())


def test_customers_may_not_use_the_verbs_that_steer_an_onboarding() -> None:
    for verb in ENGINEER_VERBS:
        assert verb in VERBS
        assert not VERBS[verb].allows(Role.CUSTOMER), verb
    for verb in ("open", "status", "list", "rfi", "check", "dns", "credentials", "history"):
        assert VERBS[verb].allows(Role.CUSTOMER), verb
    # Customers may use the reminders and sync on their own onboarding.
    for verb in ("remind", "reminders", "sync"):
        assert VERBS[verb].allows(Role.CUSTOMER), verb


def test_the_default_caller_is_a_customer_contact() -> None:
    assert Caller("U0SOMEONE").role is Role.CUSTOMER


@pytest.mark.parametrize(
    ("word", "user_id"),
    [
        ("<@U0JANE|jane>", "U0JANE"),
        ("<@U0JANE>", "U0JANE"),
        ("@U0JANE", "U0JANE"),
        ("W0GRIDUSER", "W0GRIDUSER"),
        ("<@U0JANE|jane", None),
        ("<!channel>", None),
        ("jane", None),
        ("<#C0ACME|acme>", None),
    ],
)
def test_mentions_are_parsed_to_user_ids(word: str, user_id: str | None) -> None:
    assert mentioned_user(word) == user_id


@pytest.mark.parametrize(
    ("user", "home", "role"),
    [
        ({"team_id": "T0HOME"}, Home("T0HOME"), Role.ENGINEER),
        ({"team_id": "T0OTHER"}, Home("T0HOME"), Role.CUSTOMER),
        ({"team_id": "T0HOME", "is_stranger": True}, Home("T0HOME"), Role.CUSTOMER),
        (
            {"team_id": "T0SISTER", "enterprise_user": {"enterprise_id": "E0ORG"}},
            Home("T0HOME", "E0ORG"),
            Role.ENGINEER,
        ),
        (
            {"team_id": "T0OTHER", "enterprise_user": {"enterprise_id": "E0ELSE"}},
            Home("T0HOME", "E0ORG"),
            Role.CUSTOMER,
        ),
        ({}, Home(None), Role.CUSTOMER),
    ],
)
def test_role_from_users_info(user: dict[str, object], home: Home, role: Role) -> None:
    assert role_from_user(user, home) is role


# --- resolving through users.info (the stand-in) -----------------------------------------------


def identity_for(standin: SlackStandIn, **kwargs: object) -> Identity:
    client = WebClient(token="xoxb-test", base_url=standin.api_url)
    home = Home.from_auth_test(client.auth_test())
    return Identity(client, home, **kwargs)  # type: ignore[arg-type]


def test_identity_tells_colleagues_from_slack_connect_guests(standin: SlackStandIn) -> None:
    standin.set_user("U0EXT", team_id="T0OTHER", is_stranger=True)
    standin.set_user("U0GUEST", team_id="T0OTHER")  # not a stranger, still another organisation
    identity = identity_for(standin)

    assert identity.home == Home(TEAM_ID, None)
    assert identity.role("U0COLLEAGUE", TEAM_ID) is Role.ENGINEER
    assert identity.role("U0EXT", "T0OTHER") is Role.CUSTOMER
    assert identity.role("U0GUEST") is Role.CUSTOMER


def test_connect_engineers_adds_engineers_without_asking_slack(standin: SlackStandIn) -> None:
    standin.set_user("U0CONTRACTOR", team_id="T0AGENCY", is_stranger=True)
    identity = identity_for(standin, engineers=("U0CONTRACTOR",))

    assert identity.role("U0CONTRACTOR", "T0AGENCY") is Role.ENGINEER
    assert standin.calls("users.info") == []


def test_grid_colleagues_of_another_workspace_are_engineers(standin: SlackStandIn) -> None:
    standin.enterprise_id = "E0ORG"
    standin.set_user("U0SISTER", team_id="T0SISTER", enterprise_user={"enterprise_id": "E0ORG"})
    standin.set_user("U0ELSE", team_id="T0ELSE", enterprise_user={"enterprise_id": "E0ELSE"})
    identity = identity_for(standin)

    assert identity.home == Home(TEAM_ID, "E0ORG")
    assert identity.role("U0SISTER", "T0SISTER") is Role.ENGINEER
    assert identity.role("U0ELSE", "T0ELSE") is Role.CUSTOMER


def test_a_command_from_another_organisations_workspace_is_not_an_engineers(
    standin: SlackStandIn,
) -> None:
    identity = identity_for(standin)
    # users.info says home team, but the request came in through another organisation.
    assert identity.role("U0ODD", "T0OTHER") is Role.CUSTOMER


def test_users_info_is_cached_briefly(standin: SlackStandIn) -> None:
    now = [1000.0]
    identity = identity_for(standin, ttl=60.0, clock=lambda: now[0])

    for _ in range(5):
        assert identity.role("U0CACHED", TEAM_ID) is Role.ENGINEER
    assert len(standin.calls("users.info")) == 1

    standin.set_user("U0CACHED", team_id="T0OTHER", is_stranger=True)  # they moved on
    now[0] += 61
    assert identity.role("U0CACHED", TEAM_ID) is Role.CUSTOMER
    assert len(standin.calls("users.info")) == 2


def test_a_failing_users_info_grants_nothing_and_is_not_remembered(standin: SlackStandIn) -> None:
    identity = identity_for(standin)
    standin.fail_next("users.info", "user_not_found")

    assert identity.role("U0FLAKY", TEAM_ID) is Role.CUSTOMER
    assert identity.role("U0FLAKY", TEAM_ID) is Role.ENGINEER  # asked again, and answered
    assert len(standin.calls("users.info")) == 2


# --- what each role may do (SQLite and PostgreSQL) -----------------------------------------------


def test_customers_are_refused_the_engineer_verbs_before_any_look_up(database: Database) -> None:
    router = Router(Services.build(database))
    open_two(router)
    for text in ("done outbound", "reopen rfi", "close acme", "set --region us", "invite <@U0X>"):
        refusal = plain(router.handle_text(ACME, text))
        verb = text.split()[0]
        assert f"Only a Connect engineer can use `@connect {verb}`" in refusal, refusal
        # The same words with another customer's key, or one that does not exist.
        for key in ("globex", "nosuch"):
            other = text.replace("acme", key) if "acme" in text else f"{verb} {key}"
            if verb in ("done", "reopen"):
                other = f"{verb} {key} outbound"
            assert plain(router.handle_text(ACME, other)) == refusal, other
    with database.session() as session:
        assert [e.action for e in session.exec(select(AuditEvent))] == ["onboarding.opened"] * 2


def test_another_customers_key_gets_the_same_answer_as_no_such_key(database: Database) -> None:
    router = Router(Services.build(database, secret_key=Fernet.generate_key().decode()))
    open_two(router)
    expected = to_plain(render_text(NOT_YOURS))
    # (check and dns need the checks wired in: the end-to-end tests cover them.)
    for verb in ("status", "rfi", "credentials", "members", "history"):
        args = " pop" if verb == "credentials" else ""
        for key in ("globex", "nosuch", "globe"):  # "globe" would get a "did you mean"
            assert plain(router.handle_text(ACME, f"{verb} {key}{args}")) == expected, (verb, key)
    # Their own works, with the key or without it.
    assert isinstance(router.handle_text(ACME, "status acme"), Status)
    assert isinstance(router.handle_text(ACME, "status"), Status)
    # An engineer still gets the helpful answer.
    assert "Did you mean globex?" in plain(router.handle_text(ENGINEER, "status globe"))


def test_a_customer_outside_a_bound_channel_reaches_nothing(database: Database) -> None:
    router = Router(Services.build(database))
    open_two(router)
    dm = Caller("U0ACMEJO", "D0DIRECT", "T0ACME", role=Role.CUSTOMER)
    assert plain(router.handle_text(dm, "status acme")) == to_plain(render_text(NOT_YOURS))
    assert "has no onboarding yet" in plain(router.handle_text(dm, "status"))


def test_self_service_open_binds_the_shared_channel(database: Database) -> None:
    router = Router(Services.build(database))
    open_two(router)
    newco = Caller("U0NEWCO", "C0NEWCO", "T0NEWCO", role=Role.CUSTOMER)

    opened = router.handle_text(newco, "open newco --service security --region eu")

    assert isinstance(opened, Opened)
    assert opened.by_customer
    assert opened.onboarding.channel_id == "C0NEWCO"
    with database.session() as session:
        (member,) = session.exec(select(Member).where(Member.user_id == "U0NEWCO")).all()
        assert (member.role, member.added_by) == ("customer", "U0NEWCO")
    # Now the channel has its onboarding: no second one, and theirs works without a key.
    assert "already has its onboarding" in plain(
        router.handle_text(newco, "open newer --service both")
    )
    assert isinstance(router.handle_text(newco, "status"), Status)
    # Engineers are told: the notice names the onboarding and who opened it.
    notice = render(CustomerOpened(opened.onboarding))
    assert "U0NEWCO" in notice.text
    assert "newco" in notice.text
    assert "<#C0NEWCO>" in notice.text


def test_self_service_open_is_refused_where_it_would_reveal_or_take_over(
    database: Database,
) -> None:
    router = Router(Services.build(database))
    open_two(router)
    # In a channel bound already (acme's), in a DM, and with a key someone has (not saying who).
    assert "already has its onboarding" in plain(
        router.handle_text(ACME, "open acme2 --service both")
    )
    dm = Caller("U0NEWCO", "D0DIRECT", role=Role.CUSTOMER)
    assert "channel you share with us" in plain(router.handle_text(dm, "open newco --service both"))
    taken = plain(
        router.handle_text(
            Caller("U0X", "C0FRESH", role=Role.CUSTOMER), "open globex --service both"
        )
    )
    assert "can't be used" in taken
    assert "U0ENG" not in taken
    assert "opened" not in taken


def test_list_shows_a_customer_only_their_own(database: Database) -> None:
    router = Router(Services.build(database))
    open_two(router)
    mine = router.handle_text(ACME, "list --all")
    assert isinstance(mine, Listing)
    assert [i.key for i in mine.items] == ["acme"]
    assert mine.total == 1
    assert mine.scoped
    assert "Only your own onboardings are shown." in render(mine).text
    # Elsewhere (a DM) they see the onboardings they take part in: invited to globex, say.
    router.services.members.role_of = lambda _user: Role.CUSTOMER
    router.handle_text(Caller("U0ENG", "C0GLOBEX", role=Role.ENGINEER), "invite <@U0ACMEJO|jo>")
    dm = Caller("U0ACMEJO", "D0DIRECT", role=Role.CUSTOMER)
    assert sorted(i.key for i in router.handle_text(dm, "list").items) == ["globex"]  # type: ignore[union-attr]
    everything = router.handle_text(ENGINEER, "list")
    assert isinstance(everything, Listing)
    assert sorted(i.key for i in everything.items) == ["acme", "globex"]
    assert not everything.scoped


def test_customers_may_do_their_own_work(database: Database) -> None:
    router = Router(Services.build(database))
    open_two(router)
    # The RFI, the DNS records and the checks are theirs to run (with no domains answered yet,
    # the refusal is about that, not about them); done is not.
    checked = plain(router.handle_text(ACME, "check outbound"))
    assert "Only a Connect engineer" not in checked
    assert "domain" in checked
    assert isinstance(router.handle_text(ENGINEER, "done acme rfi"), StepChanged)


def test_invite_and_members_by_role(database: Database) -> None:
    router = Router(
        Services.build(
            database, role_of=lambda u: Role.ENGINEER if u == "U0BOSS" else Role.CUSTOMER
        )
    )
    open_two(router)

    invited = router.handle_text(ENGINEER, "invite acme <@U0JANE|jane> <@U0BOSS|boss> <@U0JANE>")

    assert isinstance(invited, Members)
    assert invited.public
    assert [(m.user_id, m.role) for m in invited.added] == [
        ("U0JANE", Role.CUSTOMER),
        ("U0BOSS", Role.ENGINEER),
    ]
    again = router.handle_text(ENGINEER, "invite <@U0JANE|jane>")  # the bound channel: no key
    assert isinstance(again, Members)
    assert again.added == ()
    assert again.already == ("U0JANE",)

    listing = router.handle_text(ACME, "members")
    assert isinstance(listing, Members)
    assert not listing.public
    assert [m.user_id for m in listing.with_role(Role.ENGINEER)] == ["U0ENG", "U0BOSS"]
    assert [m.user_id for m in listing.with_role(Role.CUSTOMER)] == ["U0JANE"]
    text = render(listing).text
    assert "Connect engineers* (2)" in text
    assert "Customer contacts* (1)" in text
    assert "<@U0JANE>" in text

    assert "is not a person" in plain(router.handle_text(ENGINEER, "invite acme jane"))
    assert "Say whom to invite" in plain(router.handle_text(ENGINEER, "invite acme"))
    with database.session() as session:
        added = session.exec(select(AuditEvent).where(AuditEvent.action == "member.added")).all()
        assert [(e.actor, e.detail) for e in added] == [
            ("U0ENG", {"user": "U0JANE", "role": "customer"}),
            ("U0ENG", {"user": "U0BOSS", "role": "engineer"}),
        ]


def test_history_is_newest_first_and_paged(database: Database) -> None:
    router = Router(Services.build(database))
    open_two(router)
    engineer_globex = Caller("U0ENG", "C0GLOBEX", role=Role.ENGINEER)
    for n in range(12):  # 24 step changes, plus the opening: 25 events
        assert isinstance(router.handle_text(engineer_globex, "done journaling"), StepChanged), n
        assert isinstance(router.handle_text(engineer_globex, "reopen journaling"), StepChanged)

    first = router.handle_text(ENGINEER, "history globex")
    assert isinstance(first, History)
    assert (first.page, first.pages, first.total, len(first.lines)) == (1, 2, 25, PER_PAGE)
    assert first.lines[0].at >= first.lines[-1].at
    assert "marked Journaling in progress (was done) with `reopen`" in to_plain(
        render_text(first.lines[0].text)
    )
    message = render(first, door="/connect")  # as an engineer's slash command reads it
    assert "/connect history globex --page 2" in message.text
    assert "page 1 of 2" in message.text

    second = router.handle_text(engineer_globex, "history --page 2")
    assert isinstance(second, History)
    assert (second.page, len(second.lines), second.next_page) == (2, 5, None)
    assert "opened it (both, region not set)" in to_plain(render_text(second.lines[-1].text))
    assert "beginning of the history" in render(second).text

    assert "pages count from 1" in plain(router.handle_text(ENGINEER, "history globex --page 0"))
    assert "2 page(s) of history" in plain(router.handle_text(ENGINEER, "history globex --page 9"))
    # A customer sees their own history, and nobody else's.
    assert isinstance(router.handle_text(ACME, "history"), History)
    assert plain(router.handle_text(ACME, "history globex")) == to_plain(render_text(NOT_YOURS))


def test_history_shows_answers_escaped_and_changes_with_what_they_were(database: Database) -> None:
    router = Router(Services.build(database))
    open_two(router)
    router.handle_text(ENGINEER, 'set acme --name "Acme <!channel> & Co"')
    shown = render(router.handle_text(ENGINEER, "history acme"))  # type: ignore[arg-type]
    assert "<!channel>" not in shown.text
    assert "name from acme to Acme &lt;!channel&gt; &amp; Co" in shown.text


def test_audit_record_refuses_secrets_and_pages(database: Database) -> None:
    with database.session(write=True) as session:
        onboarding = Onboarding(key="zeta", name="Zeta", service="both", opened_by="U0ENG")
        session.add(onboarding)
        session.flush()
        assert onboarding.id is not None
        with pytest.raises(audit.SecretInAudit):
            audit.record(
                session,
                onboarding_id=onboarding.id,
                actor="U0ENG",
                action="credentials.set",
                detail={"login": {"Password": "hunter2"}},
            )
        start = utcnow()
        for n in range(7):
            audit.record(
                session,
                onboarding_id=onboarding.id,
                actor="U0ENG",
                action="test.event",
                detail={"n": n},
                at=start + timedelta(seconds=n // 2),  # ties: the later insert comes first
            )
        ident = onboarding.id
    with database.session() as session:
        page = audit.page(session, ident, number=2, per_page=3)
        assert (page.total, page.pages) == (7, 3)
        assert [e.detail["n"] for e in page.events] == [3, 2, 1]
