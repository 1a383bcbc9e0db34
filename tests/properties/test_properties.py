"""Property-based tests: nothing a person types breaks the bot, a message, or anyone's screen.

- The grammar and the router, against a real SQLite store: no input makes them raise; every
  answer renders to valid Block Kit.
- The RFI validators: any text gives values or a plain `Invalid`, never another exception.
- Every message template: with arbitrary text in every slot a person (or a remote server) fills,
  the message is within Slack's limits (bot/limits.py and slack_sdk's own model checks) and the
  only `<...>` tokens in its mrkdwn are the renderer's own: mentions of the known user ids, the
  known channel, and dates of the known times. So no `<!`, `<@`, `<#` or `<http` from user text.

Example counts are modest and the runs derandomized: CI has two cores and must be repeatable.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.render import limits, mrkdwn
from bot.render import modals as forms
from bot.render.renderer import _TEMPLATES, Message, render
from bot.slack.view_seal import ViewSeal
from commands import replies
from commands.checks.details import CheckDetails
from commands.checks.directory.stages import Recipient as DirectoryRecipient
from commands.checks.dns.publish import MxLine, RecordsToPublish
from commands.checks.result import CheckResult, CheckStatus
from commands.checks.service import CheckPlan, CheckReport, DnsRecords, DomainRecords, StepMove
from commands.core import views
from commands.core.context import Caller
from commands.core.process import Service, Step, StepState, applies
from commands.core.roles import Role
from commands.core.text import Code, Text, UserRef, When
from commands.credentials import KINDS, CredentialForm, CredentialsSaved
from commands.grammar import Command, UsageError, parse
from commands.history import History, HistoryLine
from commands.members import Members, MemberView
from commands.onboarding.card import Card
from commands.onboarding.welcome import Welcome
from commands.recipients.importer import FileCounts, ImportReport, Problem
from commands.recipients.sync import Synced, SyncFailed
from commands.rfi import validators as v
from commands.rfi.questions import QUESTIONS
from commands.rfi.service import AnswerLine, Ask, Form, FormField, RfiBegin, Summary, ThreadReply
from commands.router import Router
from commands.services import Services
from commands.verbs import VERBS
from commands.watch.conclude import Notice
from commands.watch.schedule import Mode
from commands.watch.views import WatchedDomain, WatchShown
from store.db import Database

PROPERTY = settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# The only ids and times a rendered message may turn into Slack tokens. User text below cannot
# spell them (it has no way to produce these exact upper-case runs), so a token with one of these
# came from the renderer, and any other `<` came from user text that escaped escaping.
USER_IDS = ("U0ENGINEER1", "U0CUSTOMER1", "W0GRIDUSER1")
CHANNEL = "C0ACMECHAN1"
DATES = (
    datetime(2026, 11, 28, 10, 42, tzinfo=UTC),
    datetime(2027, 3, 1, 9, 0, tzinfo=UTC),
)
PERMALINK = "https://t.slack.com/archives/C1/p1700000000000100"  # as chat.getPermalink gives it
_OURS = re.compile(
    "|".join(
        [
            "<@(?:" + "|".join(USER_IDS) + ")>",
            f"<#{CHANNEL}>",
            re.escape(f"<{PERMALINK}|the card>"),  # the card's link in a status
            r"<!date\^(?:"
            + "|".join(str(int(d.timestamp())) for d in DATES)
            + r")\^\{[a-z_]+\}(?: \{time\})?\|[^<>|]*>",
        ]
    )
)

# --- strategies ------------------------------------------------------------------------------

HOSTILE = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S0TEAM>",
    "<@U0BOSS>",
    "<@U0BOSS|boss>",
    "<#C0GENERAL>",
    "<#C0GENERAL|general>",
    "<https://evil.example|click me>",
    "<http://evil.example>",
    "<mailto:a@b.example|a>",
    f"<!date^{int(DATES[0].timestamp())}^{{date}}|x>",
    "&amp;",
    "&lt;",
    "&gt;",
    "&",
    "<",
    ">",
    "*bold*",
    "_it_",
    "~s~",
    "`",
    "```",
    "\n",
    "\n\n",
    " ",
    "|",
    "^",
    '"',
    "--service",
    "--name",
    "é",
    "🚀",
    "\u200b",
    "\u202e",
)
_pieces = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=12),
)
user_text = st.lists(_pieces, max_size=10).map("".join)
# Now and then far longer than any Slack limit, to exercise the cutting.
long_text = st.one_of(
    user_text,
    st.tuples(st.lists(_pieces, min_size=1, max_size=4).map("".join), st.integers(50, 400)).map(
        lambda t: t[0] * t[1]
    ),
)
user_ids = st.one_of(st.sampled_from(USER_IDS), user_text)
dates = st.sampled_from(DATES)
small = st.integers(0, 60)


def texts() -> st.SearchStrategy[Text]:
    """A Text whose values are user data, as commands/ builds them."""
    values = st.one_of(
        long_text,
        small,
        user_ids.map(UserRef),
        dates.map(When),
        user_text.map(Code),
    )
    return st.lists(values, max_size=3).map(
        lambda vs: Text(
            " ".join(f"{{v{i}}}" for i in range(len(vs))) or "nothing",
            **{f"v{i}": value for i, value in enumerate(vs)},
        )
    )


@st.composite
def onboardings(draw: st.DrawFn, *, closed: bool | None = None) -> views.OnboardingView:
    service = draw(st.sampled_from(list(Service)))
    states = [StepState.NOT_STARTED, StepState.IN_PROGRESS, StepState.DONE]
    steps = tuple(
        views.StepView(
            step=step,
            state=draw(st.sampled_from(states))
            if applies(service, step)
            else (StepState.NOT_APPLICABLE),
            changed_at=draw(dates),
            changed_by=draw(st.none() | user_ids),
        )
        for step in Step
    )
    closed = draw(st.booleans()) if closed is None else closed
    return views.OnboardingView(
        key=draw(st.one_of(st.just("acme"), user_text)),
        name=draw(long_text),
        service=service,
        region=draw(st.one_of(st.none(), st.just("eu"), user_text)),
        channel_id=draw(st.one_of(st.none(), st.just(CHANNEL), user_text)),
        opened_by=draw(user_ids),
        opened_at=draw(dates),
        closed_by=draw(user_ids) if closed else None,
        closed_at=draw(dates) if closed else None,
        steps=steps,
        rfi_answers=frozenset(draw(st.sets(st.sampled_from([q.id for q in QUESTIONS])))),
        previous_provider=draw(st.none() | user_text),
        recipients=tuple(
            draw(
                st.lists(
                    st.tuples(st.sampled_from(["directory", "spreadsheet"]), st.integers(0, 10**6)),
                    max_size=2,
                    unique_by=lambda t: t[0],
                )
            )
        ),
        recipients_at=draw(st.none() | dates),
        # Open reminders always have a next due time.
        reminders=draw(st.just((0, None)) | st.tuples(st.integers(1, 60), dates)),
        last_checks=tuple(
            draw(
                st.lists(
                    st.builds(
                        views.LastCheck,
                        step=st.sampled_from(list(Step)),
                        worst=st.sampled_from([s.value for s in CheckStatus]),
                        at=dates,
                    ),
                    max_size=3,
                )
            )
        ),
    )


check_results = st.builds(
    CheckResult,
    id=user_text,
    status=st.sampled_from(list(CheckStatus)),
    subject=st.none() | user_text,
    summary=long_text,
    evidence=st.lists(long_text, max_size=6).map(tuple),
    fix=st.none() | long_text,
    until=st.none() | dates,
)
records = st.builds(
    RecordsToPublish,
    domain=user_text,
    mx=st.lists(st.builds(MxLine, preference=small, host=user_text), max_size=3).map(tuple),
    spf=st.none() | long_text,
    current_spf=st.lists(user_text, max_size=2).map(tuple),
    spf_changed=st.booleans(),
    lookups=st.none() | small,
    notes=st.lists(user_text, max_size=2).map(tuple),
)
summaries = st.builds(
    Summary,
    onboarding=onboardings(),
    lines=st.lists(
        st.builds(
            AnswerLine,
            title=user_text,
            values=st.lists(long_text, max_size=5).map(tuple),
            state=st.sampled_from(["answered", "skipped", "missing"]),
            required=st.booleans(),
        ),
        max_size=30,
    ).map(tuple),
    complete=st.booleans(),
)
asks = st.builds(
    Ask,
    key=user_text,
    question=st.sampled_from(QUESTIONS),
    number=small,
    of=small,
    current=st.lists(long_text, max_size=4).map(tuple),
    has_values=st.booleans(),
)
members = st.builds(
    MemberView,
    user_id=user_ids,
    role=st.sampled_from(list(Role)),
    added_by=user_ids,
    added_at=dates,
)

reminder_views = st.builds(
    replies.ReminderView,
    id=st.integers(1, 10**9),
    key=user_text,
    kind=st.sampled_from(["manual", "outbound.period_complete", "inbound.old_mx_confirm"]),
    text=long_text,
    due_at=dates,
    state=st.sampled_from(["pending", "sent", "done", "snoozed", "cancelled"]),
    created_by=user_ids,
    channel_id=st.just(CHANNEL),
    thread_ts=st.none() | st.just("1700000000.000100"),
    repeat_seconds=st.none() | st.just(86_400),
    confirms=st.none() | st.sampled_from(["inbound.old_mx_retired", "firewall.previous_provider"]),
    done_by=st.none() | user_ids,
    done_at=st.none() | dates,
)
directory_recipients = st.builds(
    DirectoryRecipient,
    address=user_text,
    display_name=long_text,
    groups=st.lists(user_text, max_size=3).map(tuple),
    kind=st.sampled_from(["user", "group"]),
)

# One strategy per result type the renderer has a template for.
RESULTS: dict[type, st.SearchStrategy[Any]] = {
    replies.Opened: st.builds(replies.Opened, onboarding=onboardings()),
    replies.Status: st.builds(
        replies.Status,
        onboarding=onboardings(),
        next=st.none() | texts(),
        # A permalink as Slack gives it, or anything else (shown as a label, never a link).
        card_url=st.none()
        | st.just("https://t.slack.com/archives/C1/p1700000000000100")
        | long_text,
    ),
    Card: st.builds(
        Card,
        onboarding=onboardings(),
        next=texts(),
        check_steps=st.lists(st.sampled_from(list(Step)), max_size=6, unique=True).map(tuple),
        logins=st.lists(st.sampled_from(["pop", "ldap"]), max_size=2, unique=True).map(tuple),
    ),
    replies.StepChanged: st.builds(
        replies.StepChanged,
        onboarding=onboardings(),
        step=st.sampled_from(list(Step)),
        previous=st.sampled_from(list(StepState)),
        by=user_ids,
    ),
    replies.Closed: st.builds(replies.Closed, onboarding=onboardings(closed=True)),
    replies.Listing: st.builds(
        replies.Listing,
        items=st.lists(
            st.builds(
                replies.ListItem,
                key=user_text,
                name=long_text,
                service=st.sampled_from(list(Service)),
                region=st.none() | user_text,
                opened_at=dates,
                closed_at=st.none() | dates,
                done=small,
                applicable=small,
            ),
            max_size=80,
        ).map(tuple),
        total=st.integers(0, 200),
        closed_hidden=small,
    ),
    replies.Help: st.builds(
        replies.Help,
        verbs=st.lists(st.sampled_from(list(VERBS.values())), min_size=1, max_size=12).map(tuple),
        single=st.booleans(),
    ),
    replies.Refusal: st.builds(
        replies.Refusal, text=texts(), usage=st.none() | st.sampled_from(list(VERBS.values()))
    ),
    replies.Updated: st.builds(
        replies.Updated,
        onboarding=onboardings(),
        changes=st.lists(user_text, min_size=1, max_size=3).map(tuple),
        by=user_ids,
    ),
    replies.CustomerOpened: st.builds(replies.CustomerOpened, onboarding=onboardings()),
    replies.Notice: st.builds(replies.Notice, text=texts()),
    Welcome: st.builds(
        Welcome, onboarding=onboardings(), for_customer=st.booleans(), to_channel=st.booleans()
    ),
    CheckPlan: st.builds(
        CheckPlan,
        onboarding=onboardings(),
        steps=st.lists(st.sampled_from(list(Step)), min_size=1, max_size=4).map(tuple),
        domains=st.lists(long_text, max_size=30).map(tuple),
        region=user_text,
        done_domains=st.lists(user_text, max_size=30).map(tuple),
    ),
    CheckReport: st.builds(
        CheckReport,
        onboarding=onboardings(),
        steps=st.lists(st.sampled_from(list(Step)), min_size=1, max_size=4).map(tuple),
        results=st.lists(check_results, max_size=40).map(tuple),
        elapsed=st.floats(0, 1e4),
        moves=st.lists(
            st.builds(
                StepMove,
                step=st.sampled_from(list(Step)),
                before=st.sampled_from(list(StepState)),
                after=st.sampled_from(list(StepState)),
            ),
            max_size=3,
        ).map(tuple),
        previous_provider=st.none() | user_text,
        run_ids=st.lists(st.integers(1, 10**9), max_size=5).map(tuple),
    ),
    CheckDetails: st.builds(
        CheckDetails,
        onboarding=onboardings(),
        run_at=dates,
        run_by=user_ids,
        results=st.lists(check_results, max_size=40).map(tuple),
    ),
    DnsRecords: st.builds(
        DnsRecords,
        onboarding=onboardings(),
        region=user_text,
        domains=st.lists(
            st.builds(
                DomainRecords, domain=user_text, records=st.none() | records, problem=long_text
            ),
            max_size=30,
        ).map(tuple),
    ),
    CredentialsSaved: st.builds(
        CredentialsSaved,
        onboarding=onboardings(),
        kind=st.sampled_from(list(KINDS)),
        host=long_text,
        port=st.integers(1, 65535),
        security=user_text,
        username=long_text,
        by=user_ids,
        options=st.fixed_dictionaries(
            {},
            optional={
                "base_dn": long_text,
                "directory_type": user_text,
                "ca_pem": long_text,
                "plain_ok": st.booleans(),
            },
        ),
    ),
    # The answer to `@connect credentials`: its button opens the form.
    CredentialForm: st.builds(
        CredentialForm,
        key=st.one_of(st.just("acme"), user_text),
        name=long_text,
        kind=st.sampled_from(list(KINDS)),
        host=long_text,
        port=st.none() | st.integers(1, 65535),
        security=user_text,
        username=long_text,
        has_secret=st.booleans(),
    ),
    RfiBegin: st.builds(
        RfiBegin, onboarding=onboardings(), thread=st.none() | st.tuples(user_text, user_text)
    ),
    ThreadReply: st.builds(
        ThreadReply,
        channel_id=st.just(CHANNEL),
        thread_ts=st.just("1700000000.000100"),
        said=st.lists(texts(), max_size=4).map(tuple),
        ask=st.none() | asks,
        summary=st.none() | summaries,
        finished=st.booleans(),
        awaiting_more=st.booleans(),
        next_step=st.none() | st.sampled_from(list(Step)),
    ),
    Summary: summaries,
    Members: st.builds(
        lambda o, ms, added, already, by: Members(o, ms, added, already, by if added else None),
        onboardings(),
        st.lists(members, max_size=40).map(tuple),
        st.lists(members, max_size=5).map(tuple),
        st.lists(user_ids, max_size=5).map(tuple),
        user_ids,
    ),
    Synced: st.builds(
        Synced,
        onboarding=onboardings(),
        by=user_ids,
        at=dates,
        stored=st.integers(0, 10**6),
        replaced=st.integers(0, 10**6),
        users=st.integers(0, 10**6),
        groups=small,
        per_domain=st.dictionaries(user_text, st.integers(0, 10**5), max_size=20),
        outside=st.lists(long_text, max_size=50).map(tuple),
        outside_count=st.integers(0, 10**5),
        sample=st.lists(directory_recipients, max_size=10).map(tuple),
    ),
    SyncFailed: st.builds(
        SyncFailed,
        onboarding=onboardings(),
        results=st.lists(check_results, max_size=8).map(tuple),
    ),
    ImportReport: st.builds(
        ImportReport,
        key=user_text,
        filename=long_text,
        batch_id=st.integers(1, 10**9),
        state=st.sampled_from(["imported", "staged", "discarded"]),
        rows=st.integers(0, 10**6),
        valid=st.integers(0, 10**6),
        imported=st.none() | st.integers(0, 10**6),
        errors=st.integers(0, 10**6),
        duplicates=st.integers(0, 10**6),
        problems=st.lists(
            st.builds(
                Problem, row=st.integers(1, 10**6), text=long_text, file=st.just("") | user_text
            ),
            max_size=200,
        ).map(tuple),
        more_problems=st.integers(0, 10**6),
        outside_domains=st.dictionaries(user_text, st.integers(1, 10**5), max_size=10),
        outside_other=small,
        previous=st.integers(0, 10**6),
        header=user_text,
        files=st.lists(
            st.builds(
                FileCounts,
                name=long_text,
                rows=st.integers(0, 10**6),
                valid=st.integers(0, 10**6),
                errors=st.integers(0, 10**6),
                header=user_text,
            ),
            max_size=5,
        ).map(tuple),
    ),
    replies.ReminderSet: st.builds(replies.ReminderSet, reminder=reminder_views, zone=user_text),
    replies.ReminderList: st.builds(
        replies.ReminderList,
        reminders=st.lists(reminder_views, max_size=60).map(tuple),
        total=st.integers(0, 500),
        key=st.none() | user_text,
    ),
    replies.ReminderCancelled: st.builds(
        replies.ReminderCancelled, reminder=reminder_views, by=user_ids
    ),
    replies.ReminderDone: st.builds(
        lambda reminder, by, at, already, confirmed, moved: replies.ReminderDone(
            reminder, by, at, already, confirmed, *moved
        ),
        reminder_views,
        user_ids,
        dates,
        st.booleans(),
        st.none() | st.sampled_from(["inbound.old_mx_retired"]),
        # A step moves with its new state, or nothing moves.
        st.just((None, None))
        | st.tuples(st.sampled_from(list(Step)), st.sampled_from(list(StepState))),
    ),
    replies.ReminderSnoozed: st.builds(
        replies.ReminderSnoozed, reminder=reminder_views, by=user_ids, until=dates
    ),
    History: st.builds(
        History,
        onboarding=onboardings(),
        lines=st.lists(
            st.builds(HistoryLine, at=dates, actor=user_ids, text=texts()), max_size=60
        ).map(tuple),
        page=small,
        pages=small,
        total=small,
    ),
}


# The DNS watch (issue 15): what `watch` shows, and the notices the watcher posts.
watched_domains = st.builds(
    WatchedDomain,
    domain=user_text,
    status=st.sampled_from([s.value for s in CheckStatus]),
    summary=long_text,
    switched_at=st.none() | dates,
    alerted=st.lists(user_text, max_size=2).map(tuple),
)
RESULTS.update(
    {
        WatchShown: st.builds(
            WatchShown,
            onboarding=onboardings(),
            mode=st.none() | st.sampled_from(list(Mode)),
            reason=user_text,
            due_at=st.none() | dates,
            last_run_at=st.none() | dates,
            paused_by=st.none() | user_ids,
            paused_at=st.none() | dates,
            domains=st.lists(watched_domains, max_size=60).map(tuple),
            changed=st.booleans(),
            action=st.none() | st.sampled_from(["pause", "resume"]),
        ),
        Notice: st.builds(
            Notice,
            kind=st.sampled_from(["switch", "regression"]),
            audience=st.sampled_from(["channel", "engineers"]),
            key=user_text,
            name=long_text,
            domain=user_text,
            name_servers=small,
            caches_expire_at=st.none() | dates,
            problem=st.none() | st.sampled_from(["mx", "spf"]),
            summary=long_text,
            channel_id=st.none() | st.just(CHANNEL) | user_text,
        ),
    }
)


# --- checks ----------------------------------------------------------------------------------


def mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every string Slack parses as mrkdwn in these blocks."""
    found: list[str] = []
    for block in blocks:
        if (block.get("text") or {}).get("type") == "mrkdwn":
            found.append(block["text"]["text"])
        found += [e["text"] for e in block.get("elements", []) if e.get("type") == "mrkdwn"]
    return found


def assert_inert(text: str) -> None:
    left = _OURS.sub("", text)
    assert "<" not in left, f"a '<' that is not the renderer's own token: {left!r}"


def assert_whole_escapes(text: str) -> None:
    """Every & starts one of the three escapes: no escape was cut in two."""
    assert re.search(r"&(?!amp;|lt;|gt;)", text) is None, text


def check_message(message: Message) -> None:
    blocks = message.blocks_json()  # slack_sdk's models check their own limits here
    assert limits.message_problems(blocks, message.text) == []
    for block in blocks:
        if block["type"] == "header":  # plain text: Slack shows it as typed, parses nothing
            assert block["text"]["type"] == "plain_text"
    for text in [message.text, *mrkdwn_texts(blocks)]:
        assert_inert(text)
        assert_whole_escapes(text)
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("type") == "button":
                json.loads(element["value"])


# --- templates -------------------------------------------------------------------------------


def test_every_template_has_a_strategy() -> None:
    """A new result type must come with arbitrary-text coverage here."""
    assert set(_TEMPLATES) <= set(RESULTS), set(_TEMPLATES) - set(RESULTS)


@pytest.mark.parametrize("kind", list(RESULTS), ids=lambda k: k.__name__)
def test_every_message_is_valid_block_kit_and_user_text_stays_text(kind: type) -> None:
    @PROPERTY
    @given(RESULTS[kind])
    def run(result: Any) -> None:
        check_message(render(result))

    run()


def test_a_cut_message_says_what_is_missing_and_where_to_see_it() -> None:
    @settings(PROPERTY, max_examples=5)
    @given(onboardings(), st.integers(250, 400))
    def run(onboarding: views.OnboardingView, count: int) -> None:
        lines = tuple(
            AnswerLine(f"Q{i}", ("x&y <!here> " * 30,), "answered", True) for i in range(count)
        )
        message = render(Summary(onboarding, lines, complete=True))
        check_message(message)
        note = message.blocks_json()[-2]["elements"][0]["text"]  # before the footer
        assert re.search(r"… and [\d,]+ more lines: ", note), note
        assert "show" in note

    run()


# --- modals ----------------------------------------------------------------------------------


forms_rfi = st.builds(
    Form,
    key=user_text,
    name=long_text,
    fields=st.lists(
        st.builds(FormField, question=st.sampled_from(QUESTIONS), text=long_text), max_size=120
    ).map(tuple),
)
credential_forms = st.builds(
    CredentialForm,
    key=user_text,
    name=long_text,
    kind=st.sampled_from(list(KINDS)),
    host=user_text,
    port=st.none() | st.integers(1, 65535),
    security=user_text,
    username=user_text,
    has_secret=st.booleans(),
)


_SEAL = ViewSeal("properties")


def _sealed(form: str, data: dict[str, object]) -> str:
    return _SEAL.seal(form, data, user_id="U0ENG", channel_id="C0ACME")


@PROPERTY
@given(
    st.one_of(
        forms_rfi.map(lambda form: forms.rfi_view(form, _sealed)),
        credential_forms.map(lambda form: forms.credentials_view(form, _sealed)),
    )
)
def test_every_modal_is_within_limits(view: Any) -> None:
    data = view.to_dict()  # slack_sdk checks title, blocks and ids here
    assert limits.view_problems(data) == []
    for text in mrkdwn_texts(data["blocks"]):
        assert_inert(text)


# --- cutting ---------------------------------------------------------------------------------


@PROPERTY
@given(st.lists(user_ids, max_size=30), st.integers(1, 400))
def test_cutting_never_splits_an_escape_or_token(pieces: list[str], limit: int) -> None:
    text = " ".join(
        mrkdwn.user(p)
        if i % 3 == 0
        else (mrkdwn.when(DATES[0]) if i % 3 == 1 else mrkdwn.escape(p))
        for i, p in enumerate(pieces)
    )
    for count in (True, False):
        cut = limits.cut_mrkdwn(text, max(limit, 40), count=count)
        assert len(cut) <= max(limit, 40)
        assert_inert(cut)
        assert_whole_escapes(cut)
        assert text.startswith(cut.removesuffix("…").split(" … and ")[0].rstrip())


# --- the grammar and the router, against a real store -----------------------------------------


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Router:
    path = Path(tmp_path_factory.mktemp("props")) / "props.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    router = Router(Services.build(database))
    engineer = Caller(USER_IDS[0], CHANNEL, "T0TEST", role=Role.ENGINEER)
    router.handle_text(engineer, 'open acme --service both --region eu --name "Acme"')
    return router


_words = st.one_of(
    st.sampled_from(
        [
            *VERBS,
            "acme",
            "--service",
            "both",
            "archiving",
            "--region",
            "eu",
            "--name",
            '"Acme <!channel> Ltd"',
            "--all",
            "--page",
            "2",
            "show",
            "outbound",
            "pop",
            "--journal-address",
            "<@U0BOSS>",
            "'",
            '"',
            "“",
            "--",
            "--=",
            "\\",
        ]
    ),
    user_text,
)
commands = st.one_of(
    user_text,
    st.lists(_words, min_size=1, max_size=8).map(" ".join),
)
callers = st.builds(
    Caller,
    user_id=st.sampled_from(USER_IDS),
    channel_id=st.sampled_from([CHANNEL, "C0OTHERCHAN", None]),
    team_id=st.just("T0TEST"),
    role=st.sampled_from(list(Role)),
)


@PROPERTY
@given(commands)
def test_the_grammar_parses_or_says_why(text: str) -> None:
    try:
        command: Command | None = parse(text, VERBS)
    except UsageError as exc:  # the one exception parse may raise: a message fit for Slack
        command, problem = None, exc.text
    if command is None:
        check_message(render(replies.Refusal(problem)))
    else:
        assert command.verb in VERBS


@PROPERTY
@given(callers, commands)
def test_no_command_makes_the_router_raise(router: Router, caller: Caller, text: str) -> None:
    reply = router.handle_text(caller, text)
    if isinstance(reply, CredentialForm):
        view = forms.credentials_view(reply, _sealed)
        assert limits.view_problems(view.to_dict()) == []
        return
    assert type(reply) in _TEMPLATES, type(reply)
    check_message(render(reply))


# --- the RFI validators ----------------------------------------------------------------------

VALIDATORS: dict[str, Callable[[str], object]] = {
    "contacts": v.contacts,
    "outbound_ips": lambda t: v.outbound_ips(t, allow_private=False),
    "outbound_ips_private": lambda t: v.outbound_ips(t, allow_private=True),
    "domains": v.domains,
    "forwarding_hosts": lambda t: v.forwarding_hosts(t, allow_private=False),
    "forwarding_hosts_private": lambda t: v.forwarding_hosts(t, allow_private=True),
    "platform": v.platform,
    "previous_provider": v.previous_provider,
    "journaling_method": v.journaling_method,
    "directory_type": v.directory_type,
}
_answer_pieces = st.one_of(
    _pieces,
    st.sampled_from(
        [
            "jane@acme.example",
            "Jane Smith",
            "primary",
            ",",
            ";",
            "acme.example",
            "bücher.example",
            "xn--",
            "192.0.2.1",
            "127.0.0.1",
            "::1",
            "10.0.0.0/8",
            ":25",
            "[::1]:2525",
            "<mailto:jane@acme.example|jane@acme.example>",
            "<http://acme.example|acme.example>",
            "Exchange 2019",
            "none",
            "\x00",
            "\ud800",
        ]
    ),
)
answers = st.lists(_answer_pieces, max_size=15).map("".join)


@pytest.mark.parametrize("name", list(VALIDATORS))
def test_validators_accept_or_say_why(name: str) -> None:
    validate = VALIDATORS[name]

    @PROPERTY
    @given(answers)
    def run(text: str) -> None:
        try:
            parsed = validate(text)
        except v.Invalid as exc:
            problem = exc.problem
        else:
            problem = None
            assert isinstance(parsed, v.Parsed)
            for value in parsed.values:
                shown = value.display() if hasattr(value, "display") else str(value)
                check_message(render(replies.Refusal(Text("{v}", v=shown))))
        if problem is not None:
            assert isinstance(problem, str)
            assert problem.strip()
            check_message(render(replies.Refusal(Text("{p}", p=problem))))

    run()
