"""The Home tab's rules: only Connect engineers see onboardings there; each sees theirs ("mine":
opened or invited to) or all, open or recently closed, a page at a time, most urgent first.
Who opened it, with which filters, is kept in the store, so that any process republishes their
view when an onboarding changes, at most once per person every `every`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlmodel import Session

from commands.core.context import Caller
from commands.home.overview import HomeItem, item_of, most_urgent_first
from store import home as store
from store.db import Database
from store.models import HomeViewer, utcnow

PAGE_SIZE = 20  # onboardings a page: 2 blocks each, well inside Slack's 100 per Home view
RECENTLY_CLOSED = timedelta(days=14)
# A Home opened this recently is taken to be still open: Slack says when it is opened, never
# when it is closed.
VIEWER_WINDOW = timedelta(hours=8)
PUBLISH_EVERY = timedelta(seconds=5)


class Scope(StrEnum):
    MINE = "mine"
    ALL = "all"


@dataclass(frozen=True)
class HomeFilters:
    scope: Scope = Scope.MINE
    closed: bool = False
    page: int = 0


@dataclass(frozen=True)
class HomeOverview:
    user_id: str
    filters: HomeFilters
    items: tuple[HomeItem, ...]  # this page's
    total: int
    first: int  # the index of this page's first item among all
    pages: int
    behind: int  # onboardings behind their go-live plan (all pages)
    overdue: int  # onboardings with an overdue reminder (all pages)
    at: datetime

    @property
    def page(self) -> int:
        return self.filters.page


@dataclass(frozen=True)
class HomeNotForYou:
    """What a customer contact sees: no onboarding, and where theirs is."""

    user_id: str


Home = HomeOverview | HomeNotForYou


class HomeService:
    def __init__(
        self,
        db: Database,
        *,
        page_size: int = PAGE_SIZE,
        every: timedelta = PUBLISH_EVERY,
        window: timedelta = VIEWER_WINDOW,
    ) -> None:
        self.db = db
        self.page_size = page_size
        self.every = every
        self.window = window

    def open(self, caller: Caller, filters: HomeFilters | None = None) -> Home:
        """`caller` opened Home (`filters` None: as they left it) or chose a filter or page.
        The caller's role must be resolved (Slack's users.info)."""
        now = utcnow()
        if not caller.is_engineer:
            with self.db.session(write=True) as session:
                store.forget_viewers(session, [caller.user_id])
            return HomeNotForYou(caller.user_id)
        with self.db.session(write=True) as session:
            if filters is None:
                seen = store.viewer(session, caller.user_id)
                filters = _filters_of(seen) if seen is not None else HomeFilters()
            store.note_viewer(
                session,
                caller.user_id,
                scope=filters.scope.value,
                closed=filters.closed,
                page=filters.page,
                at=now,
            )
            return self._overview(session, caller.user_id, filters, now)

    def filters_of(self, user_id: str) -> HomeFilters:
        """The filters `user_id` last chose (the defaults if none)."""
        with self.db.session() as session:
            seen = store.viewer(session, user_id)
            return _filters_of(seen) if seen is not None else HomeFilters()

    def current(self, user_id: str) -> HomeOverview | None:
        """The view a recent viewer has open, as it is now (None: not a viewer any more)."""
        now = utcnow()
        with self.db.session() as session:
            seen = store.viewer(session, user_id)
            if seen is None or seen.opened_at < now - self.window:
                return None
            return self._overview(session, user_id, _filters_of(seen), now)

    def viewers_of(self, onboarding_id: int) -> list[str]:
        """Who has Home open with a filter that shows this onboarding."""
        with self.db.session() as session:
            viewers = store.recent_viewers(session, utcnow() - self.window)
            if not viewers:
                return []
            people = store.involved(session, onboarding_id)
        return sorted(v.user_id for v in viewers if v.scope == Scope.ALL or v.user_id in people)

    def claim(self, user_id: str) -> datetime | None:
        """The right to publish `user_id`'s Home now; None, else when it may next be had."""
        now = utcnow()
        with self.db.session(write=True) as session:
            if store.claim_publish(session, user_id, at=now, every=self.every):
                return None
            last = store.published_at(session, user_id)
        return (last or now) + self.every

    def _overview(
        self, session: Session, user_id: str, filters: HomeFilters, now: datetime
    ) -> HomeOverview:
        rows = store.overview(
            session,
            now=now,
            closed_since=now - RECENTLY_CLOSED if filters.closed else None,
            only_user=user_id if filters.scope is Scope.MINE else None,
        )
        items = [item_of(row, now) for row in rows]
        if filters.closed:
            items.sort(key=lambda i: i.closed_at or now, reverse=True)
        else:
            items = most_urgent_first(items)
        pages = max(1, -(-len(items) // self.page_size))
        page = min(max(filters.page, 0), pages - 1)
        start = page * self.page_size
        return HomeOverview(
            user_id=user_id,
            filters=HomeFilters(filters.scope, filters.closed, page),
            items=tuple(items[start : start + self.page_size]),
            total=len(items),
            first=start,
            pages=pages,
            behind=sum(1 for i in items if i.go_live is not None and not i.go_live.on_track),
            overdue=sum(1 for i in items if i.reminders_overdue),
            at=now,
        )


def _filters_of(seen: HomeViewer) -> HomeFilters:
    scope = Scope.ALL if seen.scope == Scope.ALL else Scope.MINE
    return HomeFilters(scope, seen.closed, max(seen.page, 0))
