"""Queries for check runs."""

from __future__ import annotations

from sqlmodel import Session, col, select

from store.models import CheckRun


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
