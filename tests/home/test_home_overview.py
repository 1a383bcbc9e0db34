"""The Home overview on SQLite and PostgreSQL: 500 open onboardings render within Slack's 100
blocks a view (a page at a time, most urgent first), the store reads them in a fixed number of
statements whatever their number, "mine" means opened by or invited to, and what each row says
(progress, what it waits for, reminders, the go-live date)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import event

from bot.render import limits
from bot.render.home import HOME_BLOCKS, home_view, progress_bar
from commands.core.context import Caller
from commands.core.process import Service, Step, initial_state
from commands.core.roles import Role
from commands.home.service import HomeFilters, HomeNotForYou, HomeOverview, HomeService, Scope
from store import members
from store import onboardings as store
from store.db import Database
from store.models import CheckRun, Onboarding, Reminder

ENGINEER = Caller("U0ENG", role=Role.ENGINEER)
NOW = datetime.now(UTC)


def add_many(database: Database, count: int, *, start: int = 0, by: str = "U0OTHER") -> None:
    with database.session(write=True) as session:
        for n in range(start, start + count):
            o = Onboarding(
                key=f"cust-{n:04d}",
                name=f"Customer {n} <b>&amp;",
                service="both",
                region="eu",
                channel_id=f"C{n:08d}",
                opened_by=by,
                opened_at=NOW - timedelta(days=n % 30),
            )
            store.add_onboarding(
                session, o, [(s.value, initial_state(Service.BOTH, s).value) for s in Step]
            )
            assert o.id is not None
            if n % 3 == 0:
                session.add(
                    CheckRun(onboarding_id=o.id, step="rfi", run_by=by, run_at=NOW, worst="fail")
                )
            if n % 5 == 0:
                session.add(
                    Reminder(
                        onboarding_id=o.id,
                        kind="manual",
                        text="call",
                        due_at=NOW - timedelta(hours=1),
                        channel_id=o.channel_id or "",
                        created_by=by,
                    )
                )
            if n % 7 == 0:
                o.go_live = date.today() + timedelta(days=5 + n % 40)
                session.add(o)


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", count)


def overview(home: HomeService, filters: HomeFilters) -> HomeOverview:
    shown = home.open(ENGINEER, filters)
    assert isinstance(shown, HomeOverview)
    return shown


def test_500_onboardings_render_within_the_limits_in_fixed_statements(database: Database) -> None:
    home = HomeService(database)
    add_many(database, 50)
    with statements(database) as few:
        overview(home, HomeFilters(Scope.ALL))
    add_many(database, 450, start=50)
    with statements(database) as many:
        shown = overview(home, HomeFilters(Scope.ALL))
    # The same statements for 50 onboardings as for 500: none per onboarding.
    assert len(many) == len(few), many
    assert shown.total == 500
    assert shown.pages == 25
    assert len(shown.items) == 20
    # Most urgent first: behind the go-live plan, then overdue reminders.
    urgency = [i.urgency for i in shown.items]
    assert urgency == sorted(urgency)
    for page in range(shown.pages):
        view = home_view(overview(home, HomeFilters(Scope.ALL, page=page))).to_dict()
        assert len(view["blocks"]) <= HOME_BLOCKS
        for block in view["blocks"]:
            text = (block.get("text") or {}).get("text", "")
            assert len(text) <= limits.SECTION_TEXT
            assert "<b>" not in text  # a name is escaped
            ids = [e["action_id"] for e in block.get("elements", []) if "action_id" in e]
            assert len(ids) == len(set(ids))
    last = overview(home, HomeFilters(Scope.ALL, page=99))  # past the end: the last page
    assert last.page == 24
    assert len(last.items) == 20
    rendered = json.dumps(home_view(last).to_dict())
    assert "Show more" not in rendered
    assert "Previous" in rendered


def test_mine_is_opened_by_or_invited_to(database: Database) -> None:
    home = HomeService(database)
    add_many(database, 3, by="U0ENG")
    add_many(database, 3, start=3)
    with database.session(write=True) as session:
        invited = store.get_by_key(session, "cust-0004")
        assert invited is not None
        assert invited.id is not None
        members.add(
            session, onboarding_id=invited.id, user_id="U0ENG", role="engineer", added_by="U0X"
        )
    mine = overview(home, HomeFilters(Scope.MINE))
    assert sorted(i.key for i in mine.items) == ["cust-0000", "cust-0001", "cust-0002", "cust-0004"]
    # Closing one moves it to "recently closed".
    with database.session(write=True) as session:
        closed = store.get_by_key(session, "cust-0001")
        assert closed is not None
        store.close_onboarding(session, closed, "U0ENG", NOW)
    assert "cust-0001" not in [i.key for i in overview(home, HomeFilters(Scope.MINE)).items]
    recent = overview(home, HomeFilters(Scope.MINE, closed=True))
    assert [i.key for i in recent.items] == ["cust-0001"]
    # The filters are remembered for the next open and for republishing.
    assert home.filters_of("U0ENG") == HomeFilters(Scope.MINE, closed=True)
    assert home.viewers_of(invited.id) == ["U0ENG"]


def test_a_row_says_progress_waiting_reminders_and_go_live(database: Database) -> None:
    home = HomeService(database)
    add_many(database, 1, by="U0ENG")
    text = json.dumps(home_view(overview(home, HomeFilters())).to_dict(), ensure_ascii=False)
    assert progress_bar(0, 6) in text
    assert "Request for information" in text
    assert "last check ❌ failed" in text
    assert "a failing check to pass" in text
    assert "1 reminder overdue" in text
    assert "Go-live" in text
    assert "left" in text
    assert "https://slack.com/app_redirect?channel=C00000000" in text


def test_a_customer_contact_gets_no_overview(database: Database) -> None:
    add_many(database, 2)
    shown = HomeService(database).open(Caller("U0GUEST", role=Role.CUSTOMER))
    assert isinstance(shown, HomeNotForYou)
    text = json.dumps(home_view(shown).to_dict())
    assert "cust-" not in text
    assert "Connect team" in text
