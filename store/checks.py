"""Queries for check runs."""

from __future__ import annotations

from sqlmodel import Session, col, select

from store.models import CheckRun, Onboarding


def add_run(session: Session, run: CheckRun) -> CheckRun:
    session.add(run)
    session.flush()
    return run


def latest_runs(session: Session, onboarding_id: int) -> dict[str, CheckRun]:
    """The newest run of each step's checks."""
    query = (
        select(CheckRun)
        .where(CheckRun.onboarding_id == onboarding_id)
        .order_by(col(CheckRun.run_at).desc(), col(CheckRun.id).desc())
    )
    latest: dict[str, CheckRun] = {}
    for run in session.exec(query):
        latest.setdefault(run.step, run)
    return latest


def runs_by_id(session: Session, run_ids: list[int]) -> list[CheckRun]:
    """The runs with these ids (those that exist), in id order."""
    if not run_ids:
        return []
    query = select(CheckRun).where(col(CheckRun.id).in_(run_ids)).order_by(col(CheckRun.id))
    return list(session.exec(query))


def onboarding_of(session: Session, run: CheckRun) -> Onboarding | None:
    return session.get(Onboarding, run.onboarding_id)
