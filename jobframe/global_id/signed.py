"""`SignedGlobalID`: a GlobalID with an HMAC-SHA256 signature, a purpose and an optional expiry.

Hand one to a user (a link, a form field) when they must not be able to forge or alter it. The
token is ``<base64url JSON>.<base64url signature>``; the key is the ``secret_key`` setting.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
from typing import Any

from jobframe import config
from jobframe.errors import ConfigurationError
from jobframe.global_id.uri import GlobalID


def _key() -> bytes:
    secret = config.settings().secret_key
    if not secret:
        raise ConfigurationError(
            "SignedGlobalID needs a secret key: set `secret_key` with "
            "jobframe.configure(secret_key=...) or `secret_key = ...` under [tool.jobframe]."
        )
    raw = secret.encode() if isinstance(secret, str) else secret
    # A key derived for this one use, so a signature made here is valid nowhere else.
    return hmac.new(raw, b"jobframe.global_id.signed", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(body: str) -> str:
    return _b64(hmac.new(_key(), body.encode("ascii"), hashlib.sha256).digest())


class SignedGlobalID:
    """Create and check signed GlobalID tokens; see `create` and `parse`."""

    @classmethod
    def create(
        cls,
        model: Any,
        purpose: str = "default",
        expires_in: dt.timedelta | None = None,
        expires_at: dt.datetime | None = None,
        app: str | None = None,
    ) -> str:
        """A URL-safe token for `model` (or a `GlobalID`), valid only for `purpose`.

        Parameters:
            expires_in: lifetime from now; `expires_at` (aware) sets the end instead. Neither:
                the token never expires.

        Raises:
            ConfigurationError: no ``secret_key`` is configured.
            SerializationError: no locator knows the model.
        """
        gid = model if isinstance(model, GlobalID) else GlobalID.create(model, app)
        if expires_at is None and expires_in is not None:
            expires_at = dt.datetime.now(dt.UTC) + expires_in
        if expires_at is not None and expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware.")
        claims = {
            "gid": gid.uri,
            "purpose": purpose,
            "exp": None if expires_at is None else expires_at.astimezone(dt.UTC).isoformat(),
        }
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        return f"{body}.{_sign(body)}"

    @classmethod
    def parse(cls, token: object, purpose: str = "default") -> GlobalID | None:
        """The GlobalID in `token`, or None if it is tampered with, expired or for another purpose.

        Raises:
            ConfigurationError: no ``secret_key`` is configured.
        """
        if not isinstance(token, str) or token.count(".") != 1:
            return None
        body, signature = token.split(".")
        if not (body.isascii() and signature.isascii()):
            return None
        if not hmac.compare_digest(_sign(body), signature):
            return None
        try:
            claims = json.loads(_unb64(body))
            expires = claims["exp"]
            if expires is not None and dt.datetime.fromisoformat(expires) <= dt.datetime.now(
                dt.UTC
            ):
                return None
            if claims["purpose"] != purpose:
                return None
            return GlobalID.parse(claims["gid"])
        except (ValueError, TypeError, KeyError, binascii.Error):
            return None


def locate_signed(token: object, purpose: str = "default") -> Any:
    """The model a signed token names, or None when the token is invalid, expired or misused.

    Raises:
        RecordNotFound: the token is valid but the row is gone.
        DeserializationError: no locator can locate the model it names.
    """
    gid = SignedGlobalID.parse(token, purpose=purpose)
    return None if gid is None else gid.locate()
