"""Gateway profiles: the gateway's hosts and SPF include per region, as data (YAML), with sources.

The shipped profile is Mimecast's (mimecast.yml beside this file); CONNECT_GATEWAY_PROFILE points
at another file (the lead passes that path to `load_profile`). Every fact carries where it was
taken from, the date and how sure it is (`Confidence`), so that a reader can re-check it when the
vendor moves things, and a check that relies on a fact below `official` says so in its evidence.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from datetime import date
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from commands.checks.dns.names import normalize_host

SHIPPED = "mimecast.yml"

_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{1,63}$")


class ProfileError(ValueError):
    """The profile file is missing, not YAML, or does not fit the schema; the message names the
    bad key, e.g. "regions.eu.inbound_mx[1].host: 'mx one' is not a host name"."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Confidence(StrEnum):
    """How sure a fact is, by the kind of source it was found in (best first)."""

    OFFICIAL = "official"  # the gateway vendor's own support pages
    MIRROR = "mirror"  # a published copy of the vendor's own material
    DNS = "dns"  # seen in public DNS answers (customers' MX records, the SPF include's expansion)
    CODE = "code"  # seen in public configurations or code (connector scripts, scanners)

    @property
    def caveat(self) -> str:
        """Where a fact below `official` comes from, for the evidence of a check that uses it."""
        return _CAVEATS[self]


_CAVEATS = {
    Confidence.OFFICIAL: "from the gateway's own documentation",
    Confidence.MIRROR: "from a published copy of the gateway's own instructions",
    Confidence.DNS: "seen in public DNS answers, not in the gateway's documentation",
    Confidence.CODE: "host name from public configurations, not in the gateway's documentation",
}


class Source(_Strict):
    # A page to re-read the fact on; a fact seen in DNS answers or in many public scripts may
    # have none, and then `note` says where it was seen.
    url: str | None = Field(default=None, pattern=r"^https?://")
    taken: date  # when the fact was read
    note: str | None = None  # e.g. "seen in public DNS, not on a vendor page"

    @model_validator(mode="after")
    def _somewhere(self) -> Source:
        if self.url is None and not self.note:
            raise ValueError("a source needs a url or a note saying where the fact was seen")
        return self


def _host(value: str) -> str:
    host = normalize_host(value)
    if not _HOST.match(host):
        raise ValueError(f"{value!r} is not a host name")
    return host


class _Fact(_Strict):
    source: Source
    # None: the profile's author gives the fact as their own (e.g. from the account's Connect
    # Application); the shipped profile states it for every fact (tests/checks hold it to that).
    confidence: Confidence | None = None

    @property
    def below_official(self) -> bool:
        return self.confidence is not None and self.confidence is not Confidence.OFFICIAL


class HostFact(_Fact):
    host: str
    preference: int | None = Field(default=None, ge=0, le=65535)  # for MX hosts

    @field_validator("host")
    @classmethod
    def _normal(cls, value: str) -> str:
        return _host(value)


class IncludeFact(_Fact):
    include: str  # the domain in `include:` (e.g. eu._netblocks.mimecast.com)

    @field_validator("include")
    @classmethod
    def _normal(cls, value: str) -> str:
        return _host(value)


class RangeFact(_Fact):
    network: str

    @field_validator("network")
    @classmethod
    def _network(cls, value: str) -> str:
        try:
            return str(ipaddress.ip_network(value, strict=True))
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a network: {exc}") from None


class GatewayRegion(_Strict):
    """One region (data centre) of the gateway: what a check for that region compares against."""

    key: str = ""  # filled from the mapping key on load
    gateway_key: str | None = None  # the profile's provider_key, filled on load
    name: str
    inbound_mx: tuple[HostFact, ...] = ()
    spf_include: IncludeFact | None = None
    smart_hosts: tuple[HostFact, ...] = ()
    # The smart hosts for a Microsoft 365 tenant's outbound connector (Mimecast has its own pair).
    m365_smart_hosts: tuple[HostFact, ...] = ()
    journal_hosts: tuple[HostFact, ...] = ()
    published_ranges: tuple[RangeFact, ...] = ()
    # A regular expression the account's journal address matches (journaling.smtp checks it).
    journal_address_format: str | None = None
    notes: str | None = None

    @field_validator("journal_address_format")
    @classmethod
    def _pattern(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from None
        return value

    @property
    def mx_hosts(self) -> tuple[str, ...]:
        return tuple(fact.host for fact in self.inbound_mx)

    @property
    def include(self) -> str | None:
        return self.spf_include.include if self.spf_include else None

    def mx_lines(self) -> tuple[tuple[int, str], ...]:
        """(preference, host) to publish, in order; preference 10, 20, ... when not given."""
        return tuple(
            (fact.preference if fact.preference is not None else 10 * (index + 1), fact.host)
            for index, fact in enumerate(self.inbound_mx)
        )


RegionKey = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{0,15}$")]


class GatewayProfile(_Strict):
    gateway: str  # the product's name, shown to people ("Mimecast")
    # The gateway's key in commands/providers/providers.yml, so that the previous-provider
    # recogniser does not name the gateway itself.
    provider_key: str | None = None
    version: int = Field(ge=1, le=1)  # the schema's version
    regions: dict[RegionKey, GatewayRegion]
    source_path: str | None = None  # filled on load, for messages

    def region(self, key: str) -> GatewayRegion:
        try:
            return self.regions[key.lower()]
        except KeyError:
            known = ", ".join(sorted(self.regions))
            raise ProfileError(
                f"region {key!r} is not in the {self.gateway} profile (known: {known})"
            ) from None


def caveats(facts: Iterable[HostFact | IncludeFact]) -> tuple[str, ...]:
    """One evidence line per kind of source below `official` among `facts`, naming the facts and
    asking for them to be confirmed; () when every fact is official (or stated by the profile's
    author). E.g. "eu-smtp-outbound-1.mimecast.com, eu-smtp-outbound-2.mimecast.com: host name
    from public configurations, not in the gateway's documentation; confirm it with your gateway
    engineer"."""
    by_level: dict[Confidence, list[str]] = {}
    for fact in facts:
        if fact.below_official and fact.confidence is not None:
            name = fact.host if isinstance(fact, HostFact) else f"include:{fact.include}"
            by_level.setdefault(fact.confidence, []).append(name)
    lines = []
    for level, names in by_level.items():
        caveat, it = (level.caveat, "it") if len(names) == 1 else (_plural(level.caveat), "them")
        lines.append(f"{', '.join(names)}: {caveat}; confirm {it} with your gateway engineer")
    return tuple(lines)


def _plural(caveat: str) -> str:
    return caveat.replace("host name ", "host names ", 1)


def _location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def parse_profile(data: object, origin: str = "<profile>") -> GatewayProfile:
    """Validate already-parsed YAML; raises ProfileError naming the first bad key."""
    if not isinstance(data, dict):
        raise ProfileError(f"{origin}: the profile must be a mapping with gateway/version/regions")
    # "x-..." keys hold YAML anchors (shared sources); they are not part of the schema.
    data = {key: value for key, value in data.items() if not str(key).startswith("x-")}
    regions = data.get("regions")
    if isinstance(regions, dict):
        data = {
            **data,
            "regions": {
                key: {**value, "key": key, "gateway_key": data.get("provider_key")}
                if isinstance(value, dict)
                else value
                for key, value in regions.items()
            },
        }
    try:
        profile = GatewayProfile.model_validate({**data, "source_path": origin})
    except ValidationError as exc:
        error = exc.errors()[0]
        message = str(error["msg"]).removeprefix("Value error, ")
        extra = len(exc.errors()) - 1
        more = f" (and {extra} more problem{'s' if extra > 1 else ''})" if extra else ""
        raise ProfileError(f"{origin}: {_location(tuple(error['loc']))}: {message}{more}") from None
    return profile


def load_profile(path: Path | None = None) -> GatewayProfile:
    """The profile at `path`, or the shipped one (Mimecast) when None."""
    if path is None:
        origin = f"commands/profiles/{SHIPPED}"
        text = resources.files(__package__).joinpath(SHIPPED).read_text(encoding="utf-8")
    else:
        origin = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ProfileError(f"{origin}: cannot read the profile ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProfileError(f"{origin}: not valid YAML: {exc}") from None
    return parse_profile(data, origin)


__all__ = [
    "Confidence",
    "GatewayProfile",
    "GatewayRegion",
    "HostFact",
    "IncludeFact",
    "ProfileError",
    "RangeFact",
    "Source",
    "caveats",
    "load_profile",
    "parse_profile",
]
