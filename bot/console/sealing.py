"""Sealed cookie values: encrypted and authenticated (Fernet: AES-CBC + HMAC-SHA256), with an age limit."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


class Sealer:
    """Seals small JSON documents with a key derived from FLARE_SESSION_SECRET."""

    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"flare-console-cookie").derive(
            secret.encode("utf-8")
        )
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, value: dict[str, Any], *, now: float) -> str:
        """The sealed text of `value`, stamped with `now` (seconds since the epoch)."""
        raw = json.dumps(value, separators=(",", ":")).encode()
        return self._fernet.encrypt_at_time(raw, int(now)).decode("ascii")

    def open(self, sealed: str, *, now: float, max_age: float) -> dict[str, Any] | None:
        """The value, or None when the text was forged, altered, sealed with another key, or too old."""
        try:
            raw = self._fernet.decrypt_at_time(sealed.encode("ascii"), int(max_age), int(now))
        except (InvalidToken, UnicodeEncodeError, ValueError):
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            return None
        return value if isinstance(value, dict) else None
