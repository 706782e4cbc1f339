"""Opaque tokens: the refresh tokens of sessions and the tokens of emailed links."""

import hashlib
import secrets


def new_opaque_token() -> tuple[str, bytes]:
    """A random token to hand out (256 bits, URL-safe), and the hash to store in its place.

    SHA-256 suffices: nobody can guess 256 random bits, so there is nothing for a slow,
    password-style hash to protect, and a copy of the table holds nothing to present.
    """
    token = secrets.token_urlsafe(32)
    return token, hash_opaque_token(token)


def hash_opaque_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
