"""Secrets at rest: sealed with AES-256-GCM under one key the home holds (or a mounted
secret, ``STEWARD_SECRETS_KEY``), so neither the database (webhook signing secrets) nor the
home's other files (the prediction log's hashing key) hold one in plain form.

A sealed value is text, ``enc:v1:`` and the URL-safe base64 of a 96-bit nonce and the
ciphertext with its tag; its ``context`` (what it is the secret of: ``webhook:ID``) is bound
as associated data, so a sealed value moved to another row does not open. A value without
the prefix was stored before sealing existed and is read as it is (decision 0042)."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

from steward.errors import IntegrityError, InvalidInput
from steward.services._files import publish_once

__all__ = ["PREFIX", "SecretBox"]

PREFIX = "enc:v1:"
_KEY_BYTES = 32


class SecretBox:
    def __init__(self, key_path: Path, *, create: bool = True) -> None:
        self._key_path = key_path
        self._create = create
        self._key: bytes | None = None

    def _aead(self) -> object:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        if self._key is None:
            self._key = self._load_key()
        return AESGCM(self._key)

    def _load_key(self) -> bytes:
        """The key, made once when the home has none (published by a hard link: processes
        starting at once agree on the first one written)."""
        try:
            key = self._key_path.read_bytes()
        except FileNotFoundError:
            if not self._create:
                raise InvalidInput(f"no secrets key at {self._key_path}") from None
            key = publish_once(self._key_path, secrets.token_bytes(_KEY_BYTES))
        if len(key) != _KEY_BYTES:
            raise InvalidInput(
                f"the secrets key at {self._key_path} is not {_KEY_BYTES} bytes "
                "(STEWARD_SECRETS_KEY)"
            )
        return key

    def seal(self, plain: bytes, *, context: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead().encrypt(nonce, plain, context.encode("utf-8"))  # type: ignore[attr-defined]
        return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, stored: str | bytes, *, context: str) -> bytes:
        """The plain secret of ``stored``; a value stored before sealing, as it is."""
        from cryptography.exceptions import InvalidTag

        text = stored.decode("ascii", "replace") if isinstance(stored, bytes) else stored
        if not text.startswith(PREFIX):
            return stored if isinstance(stored, bytes) else stored.encode("utf-8")
        raw = base64.urlsafe_b64decode(text[len(PREFIX) :].encode("ascii"))
        try:
            return self._aead().decrypt(raw[:12], raw[12:], context.encode("utf-8"))  # type: ignore[attr-defined,no-any-return]
        except InvalidTag:
            raise IntegrityError(
                f"the sealed secret of {context} does not open under the secrets key (another "
                "key, or the value was moved or changed)"
            ) from None
