"""Secrets at rest: Fernet tokens under the keys in CONNECT_SECRET_KEY.

Several keys, comma separated, newest first, allow rotation: new secrets are sealed with the
first key, and every key still opens what it sealed. Plain text never leaves this module except
to the probe that needs it, in memory.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class SecretsUnavailable(Exception):
    """No key is configured, or the stored secret was sealed with a key no longer configured."""


def parse_keys(value: str | None) -> list[Fernet]:
    """The configured keys, newest first; raises ValueError naming what is wrong (no secret)."""
    if not value or not value.strip():
        return []
    keys = []
    for number, key in enumerate(value.split(","), start=1):
        try:
            keys.append(Fernet(key.strip()))
        except (ValueError, TypeError):
            raise ValueError(
                f"key {number} is not a Fernet key (32 url-safe base64-encoded bytes; make one "
                "with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')"
            ) from None
    return keys


class SecretBox:
    def __init__(self, keys: str | None) -> None:
        fernets = parse_keys(keys)
        self._box = MultiFernet(fernets) if fernets else None

    @property
    def available(self) -> bool:
        return self._box is not None

    def seal(self, plain: str) -> str:
        if self._box is None:
            raise SecretsUnavailable("no key")
        return self._box.encrypt(plain.encode()).decode()

    def open(self, token: str) -> str:
        if self._box is None:
            raise SecretsUnavailable("no key")
        try:
            return self._box.decrypt(token.encode()).decode()
        except InvalidToken:
            raise SecretsUnavailable("sealed with a key that is no longer configured") from None

    def reseal(self, token: str) -> str:
        """The same secret under the newest key (for rotation)."""
        if self._box is None:
            raise SecretsUnavailable("no key")
        return self._box.rotate(token.encode()).decode()
