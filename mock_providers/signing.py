"""RS256 token signing and verification shared by every mock that issues or accepts JWTs."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

_VERIFIED_CACHE_MAX = 50_000


class TokenInvalid(Exception):
    """A bearer token that fails verification; `reason` is "expired" or "invalid"."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason


class TokenSigner:
    """One RSA key per hub process; its JWKS is published by the identity mocks.

    Verified tokens are cached by their exact string, so a token-checking request costs a dict
    lookup plus an expiry comparison rather than an RSA verification each time.
    """

    def __init__(self) -> None:
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public_numbers = self._key.public_key().public_numbers()
        self.kid = base64.urlsafe_b64encode(
            hashlib.sha256(str(public_numbers.n).encode()).digest()[:15]).decode().rstrip("=")
        self._public = self._key.public_key()
        self._verified: dict[str, dict[str, Any]] = {}

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self._public, as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256", "x5t": self.kid})
        return {"keys": [jwk]}

    def sign(self, claims: dict[str, Any], typ: str = "JWT") -> str:
        return jwt.encode(claims, self._key, algorithm="RS256",
                          headers={"kid": self.kid, "x5t": self.kid, "typ": typ})

    def verify(self, token: str, now: float) -> dict[str, Any]:
        """Claims of a token this hub signed; raises TokenInvalid. Expiry is read against `now`
        (the world clock), not the host clock, so scenarios can age tokens."""
        claims = self._verified.get(token)
        if claims is None:
            try:
                claims = jwt.decode(token, self._public, algorithms=["RS256"],
                                    options={"verify_exp": False, "verify_aud": False,
                                             "verify_iat": False, "verify_nbf": False})
            except jwt.PyJWTError as exc:
                raise TokenInvalid("invalid", str(exc)) from None
            if len(self._verified) >= _VERIFIED_CACHE_MAX:
                self._verified.clear()
            self._verified[token] = claims
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or now >= exp:
            raise TokenInvalid("expired", "Lifetime validation failed, the token is expired.")
        nbf = claims.get("nbf")
        if isinstance(nbf, int | float) and now + 300 < nbf:
            raise TokenInvalid("invalid", "The token is not yet valid.")
        return claims
