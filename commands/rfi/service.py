"""The RFI conversation: one question at a time in a Slack thread, or all at once in a form.

Every reply is handled in one transaction: read the thread's state, validate, store the answer
with who and where it came from, move to the next question, and say so. Slack may deliver a
message twice; the message is recorded as processed in the same transaction, so it counts once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from commands.core import audit
from commands.core.access import find_onboarding
from commands.core.context import Caller, Refused
from commands.core.process import Service, Step, StepState
from commands.core.steps import change_step, step_state
from commands.core.text import Code, Command, Text
from commands.core.views import OnboardingView, view_of
from commands.reminders import rules
from commands.reminders.rules import DEFAULT_DELAYS, ReminderDelays
from commands.replies import StepChanged
from commands.rfi import answers
from commands.rfi import questions as q
from commands.rfi.pieces import read
from commands.rfi.validators import Invalid
from store import onboardings
from store import rfi as store
from store.db import Database
from store.models import Onboarding, RfiAnswer, RfiThread, utcnow

NEXT_WORDS = {"next", "done", "that's all", "thats all", "no more"}
THREAD_WORDS = {"help", "show", "change", "back", "skip", *NEXT_WORDS}


@dataclass(frozen=True)
class Incoming:
    """A person's message in a thread, as plain values."""

    channel_id: str
    thread_ts: str
    ts: str
    user_id: str
    text: str


@dataclass(frozen=True)
class Ask:
    """A question to post: its place in the list and, when it is being changed, the answer now."""

    key: str
    question: q.Question
    number: int
    of: int
    current: tuple[str, ...] = ()
    has_values: bool = False
    # The next reply replaces the answer (after `back`, `change`, or for a one-value question);
    # otherwise it adds to a list still being given.
    replacing: bool = True


@dataclass(frozen=True)
class AnswerLine:
    title: str
    values: tuple[str, ...]
    state: str  # "answered", "skipped", "incomplete" (a required part missing), "missing"
    required: bool
    lacking: str = ""  # for "incomplete": what is still needed


@dataclass(frozen=True)
class Summary:
    onboarding: OnboardingView
    lines: tuple[AnswerLine, ...]
    complete: bool
    public = True

    @property
    def answered(self) -> int:
        return sum(1 for line in self.lines if line.state in ("answered", "skipped"))


@dataclass(frozen=True)
class ThreadReply:
    """What the bot says in the thread in answer to one message (or button, or form)."""

    channel_id: str
    thread_ts: str
    said: tuple[Text, ...] = ()
    ask: Ask | None = None
    summary: Summary | None = None
    finished: bool = False  # the RFI was completed by this reply
    awaiting_more: bool = False  # a list answer was taken: more may follow, or `next`
    next_step: Step | None = None
    public = True


@dataclass(frozen=True)
class RfiBegin:
    """`/connect rfi`: where the thread is (None: the bot must post its first message)."""

    onboarding: OnboardingView
    thread: tuple[str, str] | None
    public = True


@dataclass(frozen=True)
class FormField:
    question: q.Question
    text: str  # the current answer as text the form shows, one value per line


@dataclass(frozen=True)
class Form:
    key: str
    name: str
    fields: tuple[FormField, ...]


@dataclass(frozen=True)
class FormErrors:
    errors: dict[str, str]  # question id -> what is wrong, shown under that field


class RfiService:
    def __init__(
        self, db: Database, *, allow_private: bool, delays: ReminderDelays = DEFAULT_DELAYS
    ) -> None:
        self.db = db
        self.allow_private = allow_private
        self.delays = delays

    # --- starting -------------------------------------------------------------------------

    def begin(self, caller: Caller, key: str | None) -> RfiBegin:
        with self.db.session() as session:
            onboarding = find_onboarding(session, caller, key, verb="rfi")
            _refuse_if_closed(onboarding)
            assert onboarding.id is not None
            thread = store.thread_of(session, onboarding.id)
            where = (thread.channel_id, thread.thread_ts) if thread else None
            if where is None and not onboarding.channel_id:
                raise Refused(Text("This onboarding has no channel to run its RFI in."))
            return RfiBegin(view_of(session, onboarding), where)

    def bind_thread(self, key: str, channel_id: str, thread_ts: str, user_id: str) -> ThreadReply:
        """The bot posted the RFI's first message at (channel_id, thread_ts): run the RFI there."""
        with self.db.session(write=True) as session:
            onboarding = _by_key(session, key)
            assert onboarding.id is not None
            if store.thread_of(session, onboarding.id, for_update=True) is not None:
                raise Refused(Text("The RFI for {key} has a thread already.", key=key))
            thread = RfiThread(
                onboarding_id=onboarding.id,
                channel_id=channel_id,
                thread_ts=thread_ts,
                started_by=user_id,
            )
            if step_state(session, onboarding, Step.RFI) is StepState.NOT_STARTED:
                change_step(
                    session,
                    onboarding,
                    Step.RFI,
                    StepState.IN_PROGRESS,
                    user_id,
                    how="rfi",
                    then=rules.step_hook(self.delays),
                )
            audit.record(session, onboarding.id, user_id, audit.RfiStarted(channel_id, thread_ts))
            return self._advance(session, onboarding, thread, said=())

    def reopened(self, caller: Caller, changed: StepChanged) -> RfiBegin | StepChanged:
        """The RFI step was reopened: go back to its thread, which asks what is missing or says
        how to change an answer (a new thread when it had none). Without a channel to run it
        in, the step change is all there is to say."""
        try:
            return self.begin(caller, changed.onboarding.key)
        except Refused:
            return changed

    def ask_again(self, key: str) -> ThreadReply:
        """Re-post the question the RFI is waiting for: the open one, else the first answer still
        missing (after a reopen); when every answer is in, the summary and how to change one."""
        with self.db.session(write=True) as session:
            onboarding = _by_key(session, key)
            thread = self._thread(session, onboarding)
            if thread.current_question is None:
                complete = answers.complete_ids(current_answers(session, onboarding))
                asked = q.for_service(Service(onboarding.service))
                missing = next((x for x in asked if x.id not in complete), None)
                thread.current_question = missing.id if missing else None
                thread.replacing = False
            said: tuple[Text, ...] = ()
            reopened = step_state(session, onboarding, Step.RFI) is not StepState.DONE
            if reopened and thread.completed_at is not None and thread.current_question is None:
                said = (_reopened_text(),)
            return self._current(session, onboarding, thread, said=said)

    # --- the thread ----------------------------------------------------------------------

    def reply(self, message: Incoming) -> ThreadReply | None:
        """A person wrote in a thread. None: not an RFI thread, or already handled."""
        with self.db.session(write=True) as session:
            thread = store.thread_at(
                session, message.channel_id, message.thread_ts, for_update=True
            )
            if thread is None:
                return None
            if not store.first_time(session, f"msg:{message.channel_id}:{message.ts}"):
                return None
            onboarding = _onboarding(session, thread)
            if onboarding.closed_at is not None:
                return self._say(
                    thread,
                    Text("{key} is closed; its answers no longer change.", key=onboarding.key),
                )
            thread.last_activity_at = utcnow()
            return self._handle(session, onboarding, thread, message)

    def choose(self, message: Incoming, question_id: str | None) -> ThreadReply | None:
        """A button: answer `question_id` (None: whichever is open) with the button's text."""
        with self.db.session(write=True) as session:
            thread = store.thread_at(
                session, message.channel_id, message.thread_ts, for_update=True
            )
            if thread is None:
                return None
            # One click is acted on once, however often it is delivered (ts is the click's).
            if not store.first_time(session, f"msg:{message.channel_id}:{message.ts}"):
                return None
            onboarding = _onboarding(session, thread)
            if onboarding.closed_at is not None:
                return None
            if question_id is not None and thread.current_question != question_id:
                return self._say(
                    thread, Text("That question was answered already; the thread has moved on.")
                )
            thread.last_activity_at = utcnow()
            return self._handle(session, onboarding, thread, message)

    def edited(self, message: Incoming, edited_ts: str) -> ThreadReply | None:
        """A reply was edited: re-read it if it answered a question."""
        with self.db.session(write=True) as session:
            thread = store.thread_at(
                session, message.channel_id, message.thread_ts, for_update=True
            )
            if thread is None:
                return None
            if not store.first_time(session, f"edit:{message.channel_id}:{message.ts}:{edited_ts}"):
                return None
            onboarding = _onboarding(session, thread)
            if onboarding.closed_at is not None:
                return None
            row = store.answer_from(session, message.channel_id, message.ts)
            if row is None:
                # The edit may fix a reply that was wrong: read it as a new answer. An edited
                # thread word (next, back...) is not run a second time.
                if message.text.strip().split(" ", 1)[0].lower() in THREAD_WORDS:
                    return None
                return self._handle(session, onboarding, thread, message)
            question = q.BY_ID[row.question]
            try:
                parsed = question.parse(message.text, self.allow_private)
            except Invalid as exc:
                return self._say(
                    thread,
                    Text(
                        "Your edited answer to *{title}* is not valid, so the earlier one stays: "
                        "{problem} For example: {example}",
                        title=question.title,
                        problem=exc.problem,
                        example=Code(exc.example),
                    ),
                )
            before = [q.shown(x) for x in question.load(row.values)]
            row.values = question.dump(parsed.values)
            row.answered_by, row.answered_at = message.user_id, utcnow()
            store.save(session, row)
            after = [q.shown(x) for x in parsed.values]
            _audit_answer(
                session, onboarding, question, message.user_id, after, how="edited", before=before
            )
            return self._say(
                thread,
                Text(
                    "Updated *{title}* from your edit: {values}",
                    title=question.title,
                    values="; ".join(after) or "none",
                ),
            )

    def deleted(self, channel_id: str, thread_ts: str, ts: str) -> ThreadReply | None:
        """A reply was deleted: its answer stays (nothing is lost silently), and we say so."""
        with self.db.session(write=True) as session:
            thread = store.thread_at(session, channel_id, thread_ts)
            if thread is None or not store.first_time(session, f"del:{channel_id}:{ts}"):
                return None
            row = store.answer_from(session, channel_id, ts)
            if row is None:
                return None
            question = q.BY_ID[row.question]
            values = "; ".join(q.shown(x) for x in question.load(row.values)) or "none"
            return self._say(
                thread,
                Text(
                    "A message that answered *{title}* was deleted; its answer ({values}) is "
                    "still recorded. To replace it, say {change}.",
                    title=question.title,
                    values=values,
                    change=Code(f"change {question.id}"),
                ),
            )

    # --- reading -------------------------------------------------------------------------

    def summary(self, caller: Caller, key: str | None) -> Summary:
        with self.db.session() as session:
            onboarding = find_onboarding(session, caller, key, verb="rfi")
            return _summary(session, onboarding)

    def form(self, caller: Caller, key: str | None) -> Form:
        """The RFI as a form, for a caller allowed to act on `key` (as for a command)."""
        with self.db.session() as session:
            onboarding = find_onboarding(session, caller, key, verb="rfi")
            _refuse_if_closed(onboarding)
            current = current_answers(session, onboarding)
            fields = tuple(
                FormField(question, "\n".join(q.shown(x) for x in current.get(question.id, [])))
                for question in q.for_service(Service(onboarding.service))
            )
            return Form(onboarding.key, onboarding.name, fields)

    def submit_form(
        self,
        caller: Caller,
        key: str | None,
        texts: Mapping[str, str],
        keep: Collection[str] = (),
    ) -> FormErrors | ThreadReply:
        """Every field is validated first; any error means nothing is saved.

        `caller` is who submitted: the onboarding is found for them as for a command, so a
        form naming another customer's key is refused. `keep`: questions the form did not
        show (an answer too long for a form field): their answers stay as they are."""
        user_id = caller.user_id
        errors: dict[str, str] = {}
        parsed: dict[str, list[Any]] = {}
        with self.db.session(write=True) as session:
            onboarding = find_onboarding(session, caller, key, verb="rfi", for_update=True)
            _refuse_if_closed(onboarding)
            thread = self._thread(session, onboarding)
            for question in q.for_service(Service(onboarding.service)):
                if question.id in keep:
                    continue
                text = (texts.get(question.id) or "").strip()
                if not text:
                    if question.required:
                        errors[question.id] = "This answer is required."
                    else:
                        parsed[question.id] = []
                    continue
                try:
                    values = list(question.parse(text, self.allow_private).values)
                except Invalid as exc:
                    errors[question.id] = f"{exc.problem} For example: {exc.example}"
                    continue
                if missing := question.missing(values):
                    errors[question.id] = missing
                    continue
                parsed[question.id] = values
            if errors:
                return FormErrors(errors)
            current = current_answers(session, onboarding)
            assert onboarding.id is not None
            for question_id, values in parsed.items():
                question = q.BY_ID[question_id]
                if question.dump(values) == question.dump(current.get(question_id, [])) and (
                    question_id in current
                ):
                    continue  # unchanged: keep who answered it and when
                had = current.get(question_id)
                store.clear_answer(session, onboarding.id, question_id)
                store.save(
                    session,
                    RfiAnswer(
                        onboarding_id=onboarding.id,
                        question=question_id,
                        values=question.dump(values),
                        answered_by=user_id,
                        answered_at=utcnow(),
                    ),
                )
                _audit_answer(
                    session,
                    onboarding,
                    question,
                    user_id,
                    [q.shown(x) for x in values],
                    how="form",
                    before=[q.shown(x) for x in had] if had is not None else None,
                )
            thread.replacing = False
            thread.current_question = None
            return self._advance(session, onboarding, thread, said=(Text("Saved the form."),))

    # --- internals -----------------------------------------------------------------------

    def _handle(
        self, session: Session, onboarding: Onboarding, thread: RfiThread, message: Incoming
    ) -> ThreadReply:
        text = message.text.strip()
        word, _, rest = text.partition(" ")
        word = word.lower()
        service = Service(onboarding.service)
        current = q.BY_ID.get(thread.current_question or "")
        if text.lower() == "help":
            return self._current(session, onboarding, thread, said=(_help_text(),))
        if text.lower() == "show":
            return ThreadReply(
                thread.channel_id, thread.thread_ts, summary=_summary(session, onboarding)
            )
        if word == "change":
            question = q.find(rest, service) if rest.strip() else None
            if question is None:
                names = ", ".join(x.id for x in q.for_service(service))
                return self._say(
                    thread,
                    Text(
                        "Which answer? Say {example}; the questions are {names}.",
                        example=Code("change domains"),
                        names=names,
                    ),
                )
            thread.current_question, thread.replacing = question.id, True
            return self._current(session, onboarding, thread, said=())
        if text.lower() == "back":
            asked = q.for_service(service)
            index = asked.index(current) if current in asked else len(asked)
            if index == 0:
                return self._current(
                    session, onboarding, thread, said=(Text("This is the first question."),)
                )
            thread.current_question, thread.replacing = asked[index - 1].id, True
            return self._current(session, onboarding, thread, said=())
        if current is None:
            return self._all_answered(session, onboarding, thread, text)
        if text.lower() == "skip":
            if current.required:
                return self._say(
                    thread,
                    Text(
                        "*{title}* is required, so it cannot be skipped. {help}",
                        title=current.title,
                        help=Code("help"),
                    ),
                )
            self._store(session, onboarding, thread, current, [], message, replace=True)
            thread.replacing = False
            return self._advance(
                session, onboarding, thread, said=(Text("Skipped *{title}*.", title=current.title),)
            )
        if text.lower() in NEXT_WORDS:
            have = current_answers(session, onboarding).get(current.id)
            if not have and current.required:
                return self._say(
                    thread,
                    Text(
                        "*{title}* needs at least one answer first, e.g. {example}",
                        title=current.title,
                        example=Code(current.example),
                    ),
                )
            if missing := current.missing(have or []):
                return self._say(thread, Text("{missing}", missing=missing))
            if have is None:  # an optional question passed over: recorded as skipped
                self._store(session, onboarding, thread, current, [], message, replace=True)
            thread.replacing = False
            return self._advance(session, onboarding, thread, said=())
        return self._answer(session, onboarding, thread, current, message)

    def _all_answered(
        self, session: Session, onboarding: Onboarding, thread: RfiThread, text: str
    ) -> ThreadReply:
        """A reply when no question is open: `done` finishes a reopened RFI again."""
        if text.lower() in NEXT_WORDS and (
            step_state(session, onboarding, Step.RFI) is not StepState.DONE
        ):
            return self._advance(session, onboarding, thread, said=())
        return self._say(
            thread,
            Text(
                "Every question is answered. To change an answer, say {change}; {show} lists "
                "them all.",
                change=Code("change domains"),
                show=Code("show"),
            ),
        )

    def _answer(
        self,
        session: Session,
        onboarding: Onboarding,
        thread: RfiThread,
        question: q.Question,
        message: Incoming,
    ) -> ThreadReply:
        try:
            parsed = read(question, message.text, self.allow_private)
        except Invalid as exc:
            return self._say(
                thread,
                Text(
                    "{problem} For example: {example}",
                    problem=exc.problem,
                    example=Code(exc.example),
                ),
            )
        replace = thread.replacing or not question.multi
        existing = [] if replace else current_answers(session, onboarding).get(question.id, [])
        known = {repr(question.dump([x])) for x in existing}
        fresh = [x for x in parsed.values if repr(question.dump([x])) not in known]
        notes = [Text("{note}", note=note) for note in parsed.notes]
        if len(fresh) < len(parsed.values):
            notes.append(Text("Left out what was already recorded."))
        if fresh or replace:
            self._store(session, onboarding, thread, question, fresh, message, replace=replace)
        thread.replacing = False
        understood = Text(
            "{got} *{title}*: {values}",
            got="Kept for" if parsed.refused else "Got it,",
            title=question.title,
            values="; ".join(q.shown(x) for x in fresh) or ("none" if replace else "nothing new"),
        )
        if parsed.refused:
            notes += _refusals(parsed.refused, parsed.example)
        if not question.multi:
            return self._advance(session, onboarding, thread, said=(understood, *notes))
        everything = [*existing, *fresh]
        if missing := question.missing(everything):
            notes.append(Text("{missing} Add them in another reply.", missing=missing))
            return self._say(thread, understood, *notes)
        self._nudge(session, onboarding, thread)
        return ThreadReply(
            thread.channel_id, thread.thread_ts, said=(understood, *notes), awaiting_more=True
        )

    def _store(
        self,
        session: Session,
        onboarding: Onboarding,
        thread: RfiThread,
        question: q.Question,
        values: list[Any],
        message: Incoming,
        *,
        replace: bool,
    ) -> None:
        assert onboarding.id is not None
        before = None
        if replace:
            # The audit trail keeps what an answer was changed from, not only what it became.
            had = current_answers(session, onboarding).get(question.id)
            before = [q.shown(x) for x in had] if had is not None else None
            store.clear_answer(session, onboarding.id, question.id)
        store.save(
            session,
            RfiAnswer(
                onboarding_id=onboarding.id,
                question=question.id,
                values=question.dump(values),
                answered_by=message.user_id,
                answered_at=utcnow(),
                source_channel=message.channel_id,
                source_ts=message.ts,
            ),
        )
        _audit_answer(
            session,
            onboarding,
            question,
            message.user_id,
            [q.shown(x) for x in values],
            how="replaced" if replace else "added",
            before=before,
        )

    def _advance(
        self, session: Session, onboarding: Onboarding, thread: RfiThread, said: tuple[Text, ...]
    ) -> ThreadReply:
        """Move to the next unanswered question after the current one; finish when none is."""
        asked = q.for_service(Service(onboarding.service))
        answered = answers.complete_ids(current_answers(session, onboarding))
        current = q.BY_ID.get(thread.current_question or "")
        start = asked.index(current) + 1 if current in asked else 0
        order = [*asked[start:], *asked[:start]]
        following = next((x for x in order if x.id not in answered), None)
        thread.current_question = following.id if following else None
        store.save(session, thread)
        if following is not None:
            return self._current(session, onboarding, thread, said=said)
        return self._finish(session, onboarding, thread, said)

    def _finish(
        self, session: Session, onboarding: Onboarding, thread: RfiThread, said: tuple[Text, ...]
    ) -> ThreadReply:
        finished = thread.completed_at is None
        if finished:
            thread.completed_at = utcnow()
            store.save(session, thread)
        if step_state(session, onboarding, Step.RFI) is not StepState.DONE:
            change_step(
                session,
                onboarding,
                Step.RFI,
                StepState.DONE,
                "connect-bot",
                how="rfi",
                then=rules.step_hook(self.delays),
            )
            finished = True
        self._nudge(session, onboarding, thread)
        summary = _summary(session, onboarding)
        following = summary.onboarding.next_step
        return ThreadReply(
            thread.channel_id,
            thread.thread_ts,
            said=said,
            summary=summary,
            finished=finished,
            next_step=following.step if following else None,
        )

    def _current(
        self, session: Session, onboarding: Onboarding, thread: RfiThread, said: tuple[Text, ...]
    ) -> ThreadReply:
        store.save(session, thread)
        self._nudge(session, onboarding, thread)
        question = q.BY_ID.get(thread.current_question or "")
        if question is None:
            return ThreadReply(
                thread.channel_id,
                thread.thread_ts,
                said=said,
                summary=_summary(session, onboarding),
            )
        asked = q.for_service(Service(onboarding.service))
        values = current_answers(session, onboarding).get(question.id)
        ask = Ask(
            key=onboarding.key,
            question=question,
            number=asked.index(question) + 1,
            of=len(asked),
            current=tuple(q.shown(x) for x in values or []),
            has_values=values is not None,
            replacing=thread.replacing or not question.multi,
        )
        return ThreadReply(thread.channel_id, thread.thread_ts, said=said, ask=ask)

    def _nudge(self, session: Session, onboarding: Onboarding, thread: RfiThread) -> None:
        """(Re-)arm the reminder for the open question, or drop it when none is open."""
        question = q.BY_ID.get(thread.current_question or "")
        rules.on_rfi_question(
            session,
            onboarding,
            channel_id=thread.channel_id,
            thread_ts=thread.thread_ts,
            question_title=question.title if question else None,
            activity_at=thread.last_activity_at,
            delays=self.delays,
        )

    def _say(self, thread: RfiThread, *said: Text) -> ThreadReply:
        return ThreadReply(thread.channel_id, thread.thread_ts, said=said)

    def _thread(self, session: Session, onboarding: Onboarding) -> RfiThread:
        assert onboarding.id is not None
        thread = store.thread_of(session, onboarding.id, for_update=True)
        if thread is None:
            raise Refused(
                Text(
                    "The RFI for {key} has not started; {rfi} starts it.",
                    key=onboarding.key,
                    rfi=Command(f"rfi {onboarding.key}"),
                )
            )
        return thread


def _by_key(session: Session, key: str, *, for_update: bool = False) -> Onboarding:
    onboarding = onboardings.get_by_key(session, key, for_update=for_update)
    if onboarding is None:
        raise Refused(Text("There is no onboarding {key}.", key=key))
    return onboarding


def _onboarding(session: Session, thread: RfiThread) -> Onboarding:
    onboarding = session.get(Onboarding, thread.onboarding_id)
    assert onboarding is not None  # the foreign key guarantees it
    return onboarding


def _refuse_if_closed(onboarding: Onboarding) -> None:
    if onboarding.closed_at is not None:
        raise Refused(Text("{key} is closed; its RFI can no longer change.", key=onboarding.key))


def current_answers(session: Session, onboarding: Onboarding) -> dict[str, list[Any]]:
    """Each answered question's values, loaded into the validators' types, in reply order.

    Later steps read the RFI through this (the checks take the domains from it)."""
    assert onboarding.id is not None
    return answers.current_answers(session, onboarding.id)


def rfi_domains(session: Session, onboarding: Onboarding) -> tuple[str, ...]:
    """The RFI's domains in A-label form, for the steps that need them (checks, recipients);
    refused while the domains question is unanswered."""
    domains = tuple(d.ascii for d in current_answers(session, onboarding).get("domains", []))
    if not domains:
        raise Refused(
            Text(
                "{key} has no domains yet: answer the RFI's domains question first ({rfi}).",
                key=onboarding.key,
                rfi=Command(f"rfi {onboarding.key}"),
            )
        )
    return domains


def _summary(session: Session, onboarding: Onboarding) -> Summary:
    current = current_answers(session, onboarding)
    lines = []
    for question in q.for_service(Service(onboarding.service)):
        values = current.get(question.id)
        lacking = question.missing(values or [])
        state = "missing" if values is None else ("answered" if values else "skipped")
        if lacking:
            state = "incomplete"
        shown = tuple(q.shown(x) for x in values or [])
        lines.append(AnswerLine(question.title, shown, state, question.required, lacking or ""))
    complete = all(line.state in ("answered", "skipped") or not line.required for line in lines)
    return Summary(view_of(session, onboarding), tuple(lines), complete)


def _audit_answer(
    session: Session,
    onboarding: Onboarding,
    question: q.Question,
    actor: str,
    values: list[str],
    *,
    how: str,
    before: list[str] | None = None,
) -> None:
    answered = audit.RfiAnswered(
        question.id, tuple(values), how, tuple(before) if before is not None else None
    )
    audit.record(session, onboarding.id, actor, answered)


def _refusals(refused: tuple[str, ...], example: str) -> list[Text]:
    """Every value a reply gave that was not kept, and why; then how to send them again."""
    return [
        Text("Not kept:"),
        *(Text("• {line}", line=line) for line in refused),
        Text(
            "Send those again, corrected, in another reply. For example: {example}",
            example=Code(example),
        ),
    ]


def _reopened_text() -> Text:
    return Text(
        "The RFI is reopened and every question is answered. To change an answer, say "
        "{change} here (any question: {show} lists them); say {done} when the answers are right.",
        change=Code("change domains"),
        show=Code("show"),
        done=Code("done"),
    )


def _help_text() -> Text:
    return Text(
        "Answer the question in this thread. You can also say: {skip} (optional questions), "
        "{next} (done with a list), {back}, {change} (any answer), {show} (the answers so "
        "far) or {help}.",
        skip=Code("skip"),
        next=Code("next"),
        back=Code("back"),
        change=Code("change domains"),
        show=Code("show"),
        help=Code("help"),
    )
