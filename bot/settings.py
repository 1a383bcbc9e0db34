"""Configuration: environment variables, read once into one Settings object at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from commands.secrets import parse_keys
from store.db import check_url


class SettingsError(Exception):
    """A setting is missing or malformed; the message is the one line shown at start-up."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    slack_bot_token: str | None = None
    slack_app_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    database_url: str = "sqlite:///connect.db"
    connect_dns_nameservers: Annotated[tuple[str, ...], NoDecode] = ()
    # Port for asking a domain's own name servers directly (propagation); tests and labs only.
    connect_dns_direct_port: int = Field(default=53, ge=1, le=65535)
    connect_gateway_profile: Path | None = None
    connect_allow_private_targets: bool = False
    connect_secret_key: str | None = Field(default=None, repr=False)
    connect_engineers: Annotated[tuple[str, ...], NoDecode] = ()
    # The reminder dispatcher (see README, "Reminders").
    connect_reminder_dispatch: bool = True  # run it inside `run` and `serve`
    connect_reminder_poll_seconds: float = Field(default=2.0, ge=0.05, le=300)
    connect_reminder_lease_seconds: int = Field(default=120, ge=10, le=3600)
    connect_reminder_batch: int = Field(default=100, ge=1, le=1000)
    connect_reminder_channel_interval: float = Field(default=1.0, ge=0, le=60)
    connect_reminder_channel_threads: int = Field(default=8, ge=1, le=64)
    # The DNS watch (commands/watch, bot/slack/watcher.py): seconds between cut-over runs
    # (backing off when nothing changes), and between the regression runs after inbound.
    connect_watch: bool = True  # run the watcher inside `run` and `serve`
    connect_watch_interval: float = Field(default=900, ge=0.1, le=86_400)
    connect_watch_regression_interval: float = Field(default=86_400, ge=0.1, le=7 * 86_400)
    # A worker's claim on a watch; a dead worker's watches are taken over after it.
    connect_watch_lease_seconds: float = Field(default=120, ge=2, le=3600)
    # Delays of the automatic reminders (commands/reminders/rules.py).
    connect_outbound_period_days: int = Field(default=5, ge=1, le=60)
    connect_old_mx_after_days: int = Field(default=3, ge=0, le=60)
    connect_rfi_nudge_working_days: int = Field(default=2, ge=1, le=30)
    # Where the engineers hear of self-service opens (a channel id); unset: the log only.
    connect_engineers_channel: str | None = None
    # Logs: "text" (default) or "json" lines; debug turns on the Slack libraries' payload logs.
    connect_log_format: Literal["text", "json"] = "text"
    connect_log_level: Literal["debug", "info", "warning", "error"] = "info"

    @field_validator("connect_log_format", "connect_log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("slack_bot_token", "slack_app_token", "slack_signing_secret", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("xoxb-"):
            raise ValueError("must be a bot token starting with xoxb-")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("xapp-"):
            raise ValueError("must be an app-level token starting with xapp-")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("connect_dns_nameservers", mode="before")
    @classmethod
    def _nameservers(cls, value: object) -> tuple[str, ...]:
        items = _split_list(value)
        for item in items:
            _check_host_port(item)
        return items

    @field_validator("connect_engineers", mode="before")
    @classmethod
    def _engineers(cls, value: object) -> tuple[str, ...]:
        items = _split_list(value)
        for item in items:
            if not item.isalnum() or item[0] not in "UW":
                raise ValueError(f"{item!r} is not a Slack user id such as U012AB3CD")
        return items

    @field_validator("connect_engineers_channel", mode="before")
    @classmethod
    def _engineers_channel(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = str(value).strip()
        if not (text[0] in "CG" and text.isalnum() and text.isupper() and len(text) > 2):
            raise ValueError(f"{text!r} is not a Slack channel id such as C012AB3CD")
        return text

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        return check_url(value.strip())

    @field_validator("connect_secret_key")
    @classmethod
    def _secret_key(cls, value: str | None) -> str | None:
        parse_keys(value)  # the message names the key's position, never its value
        return value

    @field_validator("connect_gateway_profile")
    @classmethod
    def _profile(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a readable file")
        return value


def _split_list(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    if isinstance(value, list | tuple):
        return tuple(str(v) for v in value)
    raise ValueError("must be a comma-separated list")


def _check_host_port(item: str) -> None:
    host, port = item, None
    if item.startswith("["):  # [::1]:5353
        host, _, rest = item[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else None
    elif item.count(":") == 1:
        host, port = item.split(":")
    if not host:
        raise ValueError(f"{item!r} has no host")
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise ValueError(f"{item!r} has a bad port; write host or host:port")


def load_settings() -> Settings:
    """Read the environment, or raise SettingsError naming the first bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "settings"
        message = str(error["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name}: {message}") from None


def require(settings: Settings, *names: str) -> None:
    """Stop start-up with one line naming the first missing variable the runner needs."""
    for name in names:
        if not getattr(settings, name.lower()):
            raise SettingsError(f"{name} is not set; the chosen runner needs it.")
