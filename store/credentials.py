"""Queries for stored credentials."""

from __future__ import annotations

from sqlmodel import Session, select

from store.models import Credential


def credential(session: Session, onboarding_id: int, kind: str) -> Credential | None:
    query = select(Credential).where(
        Credential.onboarding_id == onboarding_id, Credential.kind == kind
    )
    return session.exec(query).first()


def save(session: Session, row: Credential) -> Credential:
    session.add(row)
    session.flush()
    return row
