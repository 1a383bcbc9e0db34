"""The change hook: who hears that an onboarding changed, once the change is committed.

Whatever changes an onboarding (a step, an answer, a check run, a reminder, a member...) calls
`changed(session, onboarding_id)` inside its transaction; `commands.core.audit.record` does it for
every audited event, so a change that writes its audit event needs nothing more. When that
transaction commits, every subscriber is called with the onboarding's id, once per onboarding
per transaction; a rolled-back transaction tells no one. Subscribers learn only the id: they read
what they show in their own session, so they always show the committed state.

    from commands.core import changes
    unsubscribe = changes.subscribe(lambda onboarding_id: queue.put(onboarding_id))

Rules for a subscriber: it runs on the committing thread, right after the commit, so it must be
quick and must not block (hand the work to a queue, a pool or bot.coalesce.Coalescer); it must not
write to the database from inside the call. An exception it raises is logged and does not reach
the committing code or the other subscribers. Subscriptions are process-wide; a change made by
another process (the worker, another replica) is not seen here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

Subscriber = Callable[[int], None]

_KEY = "connect.changed_onboardings"  # in Session.info: ids changed in this transaction
_subscribers: list[Subscriber] = []
_lock = threading.Lock()


def subscribe(subscriber: Subscriber) -> Callable[[], None]:
    """Call `subscriber(onboarding_id)` after every commit that changed an onboarding; returns
    the function that unsubscribes it."""
    with _lock:
        _subscribers.append(subscriber)

    def unsubscribe() -> None:
        with _lock:
            if subscriber in _subscribers:
                _subscribers.remove(subscriber)

    return unsubscribe


def changed(session: Session, onboarding_id: int | None) -> None:
    """Note, in the current transaction, that `onboarding_id` changed (None: nothing to say)."""
    if onboarding_id is not None:
        session.info.setdefault(_KEY, set()).add(onboarding_id)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    ids: set[int] | None = session.info.pop(_KEY, None)
    if not ids:
        return
    with _lock:
        subscribers = list(_subscribers)
    for onboarding_id in sorted(ids):
        for subscriber in subscribers:
            try:
                subscriber(onboarding_id)
            except Exception:  # one listener's failure must not fail the committed change
                log.exception("a change subscriber failed for onboarding %s", onboarding_id)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)
