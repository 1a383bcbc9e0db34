"""Gateway profiles: the gateway's hosts and SPF include per region, as data (YAML), with sources.

The shipped profile is Mimecast's (mimecast.yml beside this file); CONNECT_GATEWAY_PROFILE points
at another file (the lead passes that path to `load_profile`). Every fact carries the public page
it was taken from and the date, so that a reader can re-check it when the vendor moves things.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from commands.checks.dns.names import normalize_host

SHIPPED = "mimecast.yml"

_HOST = re.compile(r"^(?=.{1,253}$)([a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{1,63}$")


class ProfileError(ValueError):
    """The profile file is missing, not YAML, or does not fit the schema; the message names the
    bad key, e.g. "regions.eu.inbound_mx[1].host: 'mx one' is not a host name"."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    url: str = Field(pattern=r"^https?://")
    taken: date  # when the fact was read from `url`
    note: str | None = None  # e.g. "seen in public DNS, not on a vendor page"


def _host(value: str) -> str:
    host = normalize_host(value)
    if not _HOST.match(host):
        raise ValueError(f"{value!r} is not a host name")
    return host


class HostFact(_Strict):
    host: str
    preference: int | None = Field(default=None, ge=0, le=65535)  # for MX hosts
    source: Source

    @field_validator("host")
    @classmethod
    def _normal(cls, value: str) -> str:
        return _host(value)


class IncludeFact(_Strict):
    include: str  # the domain in `include:` (e.g. eu._netblocks.mimecast.com)
    source: Source

    @field_validator("include")
    @classmethod
    def _normal(cls, value: str) -> str:
        return _host(value)


class RangeFact(_Strict):
    network: str
    source: Source

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
    "GatewayProfile",
    "GatewayRegion",
    "HostFact",
    "IncludeFact",
    "ProfileError",
    "RangeFact",
    "Source",
    "load_profile",
    "parse_profile",
]
