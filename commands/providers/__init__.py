"""Known mail providers (data in providers.yml) and a recogniser: from a domain's MX hosts and SPF
record, which provider handled its mail before the gateway.

The MX hosts say who receives the mail, so they decide; the SPF record is the fallback (it also
lists senders that never received mail, such as a newsletter service, so it is weaker evidence).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from commands.checks.dns.names import is_subdomain, normalize_host

DATA = "providers.yml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderSource(_Strict):
    url: str = Field(pattern=r"^https?://")
    taken: date
    note: str | None = None


class ProviderPattern(_Strict):
    key: str = Field(pattern=r"^[a-z0-9_]+$")
    name: str
    kind: Literal["gateway", "mailbox"]
    mx: tuple[str, ...] = ()
    spf: tuple[str, ...] = ()
    source: ProviderSource


class ProviderCatalogue(_Strict):
    version: int = Field(ge=1, le=1)
    providers: tuple[ProviderPattern, ...]


@dataclass(frozen=True)
class Provider:
    """A recognised provider and the records that gave it away (plain strings, for evidence)."""

    key: str
    name: str
    kind: str
    matched_by: tuple[str, ...]
    source_url: str


class CatalogueError(ValueError):
    pass


def load_catalogue(path: Path | None = None) -> ProviderCatalogue:
    text = (
        Path(path).read_text(encoding="utf-8")
        if path
        else resources.files(__package__).joinpath(DATA).read_text(encoding="utf-8")
    )
    try:
        return ProviderCatalogue.model_validate(yaml.safe_load(text))
    except (ValidationError, yaml.YAMLError) as exc:
        raise CatalogueError(f"{path or DATA}: {exc}") from None


@cache
def _shipped() -> ProviderCatalogue:
    return load_catalogue(None)


def spf_targets(spf_record: str | None) -> tuple[str, ...]:
    """The include:/redirect= domains of an SPF record, in order."""
    if not spf_record:
        return ()
    targets = []
    for term in spf_record.split()[1:]:
        lowered = term.lower().lstrip("+-~?")
        for prefix in ("include:", "redirect="):
            if lowered.startswith(prefix):
                targets.append(normalize_host(term.lstrip("+-~?")[len(prefix) :]))
    return tuple(targets)


def recognise_all(
    mx_hosts: Sequence[str],
    spf_record: str | None,
    catalogue: ProviderCatalogue | None = None,
) -> list[Provider]:
    """Every known provider the records point at: MX matches first (in the MX order given, so
    pass hosts sorted by preference), then SPF-only matches."""
    catalogue = catalogue or _shipped()
    found: dict[str, list[str]] = {}
    order: list[ProviderPattern] = []

    def note(pattern: ProviderPattern, evidence: str) -> None:
        if pattern.key not in found:
            found[pattern.key] = []
            order.append(pattern)
        found[pattern.key].append(evidence)

    for host in (normalize_host(h) for h in mx_hosts):
        for pattern in catalogue.providers:
            if _matches(host, pattern.mx):
                note(pattern, f"MX {host}")
                break
    for target in spf_targets(spf_record):
        for pattern in catalogue.providers:
            if _matches(target, pattern.spf):
                note(pattern, f"SPF include:{target}")
                break
    return [Provider(p.key, p.name, p.kind, tuple(found[p.key]), p.source.url) for p in order]


def recognise(
    mx_hosts: Sequence[str],
    spf_record: str | None,
    *,
    exclude: Iterable[str] = (),
    catalogue: ProviderCatalogue | None = None,
) -> Provider | None:
    """The provider the domain's mail went to before: the first MX match, else the first SPF
    match. `exclude` drops provider keys (the gateway being onboarded, e.g. "mimecast")."""
    skip = set(exclude)
    for provider in recognise_all(mx_hosts, spf_record, catalogue):
        if provider.key not in skip:
            return provider
    return None


def _matches(name: str, suffixes: Iterable[str]) -> bool:
    return any(is_subdomain(name, suffix) for suffix in suffixes)


__all__ = ["Provider", "load_catalogue", "recognise", "recognise_all", "spf_targets"]
