"""Signed `private_metadata` for the bot's modals.

Slack hands a modal's `private_metadata` back on submission exactly as the bot wrote it, but a
forged or replayed payload can carry anything. The metadata says which onboarding a form is for
and in which channel it was opened, so it is sealed: an HMAC over what it names, the form it is
for, the person it was opened for and an expiry. A submission whose seal is wrong, late or
someone else's names no onboarding at all; one whose seal holds is still checked against the
submitter, through the same access function as a command.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# Long enough to fill in the whole RFI at leisure; a form left open past it asks for a new one.
TTL_SECONDS = 24 * 3600
_CONTEXT = b"connect-bot view metadata v1"


@dataclass(frozen=True)
class Opened:
    """What a sealed form says about itself, once its seal has been checked."""

    data: Mapping[str, object]  # the form's own values (key, kind, kept questions...)
    user_id: str  # who it was opened for (the submitter, checked)
    channel_id: str | None  # where it was opened: the caller's channel for the access check


class ViewSeal:
    def __init__(self, root: str | None, *, clock: Callable[[], float] = time.time) -> None:
        # Derived, so the seal key is never the secret itself; with no secret configured (the
        # shell, a test) a random one: forms then last as long as the process.
        material = root.encode() if root else os.urandom(32)
        self._key = hmac.new(material, _CONTEXT, hashlib.sha256).digest()
        self._clock = clock

    def seal(
        self, form: str, data: Mapping[str, object], *, user_id: str, channel_id: str | None
    ) -> str:
        """`form` is the modal's callback id: a seal made for one form opens no other."""
        body = {
            "f": form,
            "d": dict(data),
            "u": user_id,
            "c": channel_id,
            "e": int(self._clock()) + TTL_SECONDS,
        }
        return json.dumps({**body, "s": self._sign(body)}, separators=(",", ":"))

    def open(self, form: str, metadata: str | None, *, user_id: str) -> Opened | None:
        """The metadata if it was sealed here for this form and `user_id`, and is not late."""
        try:
            value = json.loads(metadata or "")
        except ValueError:
            return None
        if not isinstance(value, dict):
            return None
        signature = value.pop("s", None)
        if not isinstance(signature, str) or not hmac.compare_digest(signature, self._sign(value)):
            return None
        data, owner, channel, expiry = (value.get(k) for k in ("d", "u", "c", "e"))
        if (
            value.get("f") != form
            or not isinstance(data, dict)
            or owner != user_id
            or not isinstance(expiry, int)
            or expiry < self._clock()
            or not (channel is None or isinstance(channel, str))
        ):
            return None
        return Opened(data, owner, channel)

    def _sign(self, body: Mapping[str, object]) -> str:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        return hmac.new(self._key, canonical, hashlib.sha256).hexdigest()
