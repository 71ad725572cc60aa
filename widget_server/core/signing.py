"""Everything signed lives here: purposes, salts, lifetimes, key rotation.

`WIDGET_SECRET_KEYS` lists keys newest first; the first signs and all verify, so a new key can
be put in front while tokens signed with the old one keep working until they expire. Each
purpose has its own salt, so a token made for one purpose is useless for any other.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode
from itsdangerous.url_safe import URLSafeSerializerMixin


@dataclass(frozen=True)
class Purpose:
    salt: str
    max_age: int  # seconds


# A login link works for its challenge's 15 minutes (`auth.codes.CODE_LIFETIME`), which the row
# enforces; the signature outlives it by a day so that a late click still finds its challenge
# and is told "this link has expired" rather than "this link is broken".
LOGIN_LINK = Purpose("client-profile.login-link.v1", 24 * 60 * 60)
FORM = Purpose("client-profile.form.v1", 4 * 60 * 60)
LOGIN_HINT = Purpose("client-profile.login-hint.v1", 7 * 24 * 60 * 60)
# "Pay online" opens a new top-level tab, where the iframe's partitioned session cookie is
# not sent: the button carries this token instead, naming the session and the payment.
PAY = Purpose("client-profile.pay.v1", 2 * 60 * 60)
# Keyed hashes of one-time codes (`Signer.mac`), one purpose per kind of code so a login
# code's hash is no use for changing the e-mail and the other way round. The strings are part
# of the stored hashes: changing one voids every code already sent.
LOGIN_CODE = "login-code"
EMAIL_CHANGE_CODE = "email-change-code"


# `Signer.sign_again`: how long a token is given again, and for how many payloads at most.
REUSE_FOR = 5 * 60
RECENT_KEPT = 10_000


class _ClockedSigner(TimestampSigner):
    """Stamps and ages tokens by the app's clock, so tests and the app agree on "now"."""

    def __init__(self, *args: Any, clock: Callable[[], datetime], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._clock = clock

    # itsdangerous asks its *signer* for the time, both when signing and when checking age;
    # the serializer has no such method, so overriding it there would change nothing.
    def get_timestamp(self) -> int:
        return int(self._clock().timestamp())


class _Serializer(URLSafeTimedSerializer):
    """itsdangerous' URL-safe timed serializer without its try at zlib on every payload: ours
    are a few dozen bytes of ids and random values, which never come out shorter, and the try
    (zlib sets itself up each time) was half the cost of a signature, made on every page (its
    forms' token). A token is the same as before; one compressed (marked so) is still read."""

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(super(URLSafeSerializerMixin, self).dump_payload(obj))


class Signer:
    """Signs and checks tokens for one set of keys; `check` returns None on anything bad."""

    def __init__(self, keys: tuple[str, ...], clock: Callable[[], datetime] | None = None):
        if not keys:
            raise ValueError("at least one secret key is needed")
        self.keys = keys
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._serializers: dict[Purpose, _Serializer] = {}
        self._recent: dict[tuple[Purpose, Any], tuple[str, datetime]] = {}

    def _serializer(self, purpose: Purpose) -> URLSafeTimedSerializer:
        found = self._serializers.get(purpose)
        if found is None:
            # itsdangerous signs with its *last* key; ours sign with the first.
            found = self._serializers[purpose] = _Serializer(
                list(reversed(self.keys)), salt=purpose.salt, signer=_ClockedSigner,
                signer_kwargs={"clock": self._clock})
        return found

    def sign(self, purpose: Purpose, payload: Any) -> str:
        return self._serializer(purpose).dumps(payload)

    def sign_again(self, purpose: Purpose, payload: str, within: int = REUSE_FOR) -> str:
        """`sign`, or the token signed for the same payload at most `within` seconds ago
        (it has as long left to live, less those seconds): for what every page view prints,
        its forms' token. Signing took 40-50 us of a page served; finding it, 1-2 us.
        Forgetting is harmless (a new token is signed), so the memory is bounded by
        starting afresh."""
        now = self._clock()
        found = self._recent.get((purpose, payload))
        if found is not None and 0 <= (now - found[1]).total_seconds() <= within:
            return found[0]
        if len(self._recent) >= RECENT_KEPT:
            self._recent.clear()
        token = self.sign(purpose, payload)
        self._recent[(purpose, payload)] = (token, now)
        return token

    def check(self, purpose: Purpose, token: str, max_age: int | None = None) -> Any | None:
        try:
            return self._serializer(purpose).loads(token, max_age=max_age or purpose.max_age)
        except (BadData, TypeError, ValueError):
            return None

    def mac(self, purpose: str, message: str) -> str:
        """A keyed hash with the signing key (for values stored in the database)."""
        key = hashlib.sha256(f"{purpose}:{self.keys[0]}".encode()).digest()
        return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()

    def mac_matches(self, purpose: str, message: str, expected: str) -> bool:
        """Whether any key (newest or older) produced this keyed hash."""
        for key in self.keys:
            derived = hashlib.sha256(f"{purpose}:{key}".encode()).digest()
            candidate = hmac.new(derived, message.encode(), hashlib.sha256).hexdigest()
            if hmac.compare_digest(candidate, expected):
                return True
        return False
