"""Bearer-token check for /api/v1/*."""

from __future__ import annotations

import hmac

MIN_TOKEN_LENGTH = 16


def bearer_matches(authorization: str | None, token: str) -> bool:
    """Whether an Authorization header carries this bearer token, compared in constant time."""
    if not authorization or not token:
        return False
    scheme, _, given = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return False
    # Bytes, because compare_digest refuses non-ASCII text; surrogateescape, because
    # aiohttp keeps undecodable header bytes that way.
    return hmac.compare_digest(given.strip().encode("utf-8", "surrogateescape"),
                               token.encode("utf-8", "surrogateescape"))
