"""Passwords (PBKDF2) and access tokens (HMAC-signed, with an expiry), from the standard library.

A token is ``base64(username:expires).base64(hmac_sha256(SECRET_KEY, username:expires))``: the
server can check it without storing it, like a minimal JWT. Set ``TODO_SECRET_KEY`` to keep
tokens valid across restarts; by default a random key is made at start-up (on import, before
fastrapi forks its worker processes, so they all share it).
"""

import base64
import hashlib
import hmac
import os
import secrets
import time

SECRET_KEY = (os.environ.get("TODO_SECRET_KEY") or secrets.token_urlsafe(32)).encode()
ACCESS_TOKEN_SECONDS = 30 * 60
PASSWORD_ITERATIONS = 100_000


def hash_password(password: str, *, iterations: int = PASSWORD_ITERATIONS) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"pbkdf2_sha256${iterations}${salt.hex()}${digest.hex()}"


def verify_password(password: str, hashed: str) -> bool:
    _, iterations, salt, digest = hashed.split("$")
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(iterations))
    return hmac.compare_digest(candidate.hex(), digest)


# Checked when the username is unknown, so that a login takes as long either way.
DUMMY_HASH = hash_password("not a real password")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(payload: bytes) -> str:
    return _b64(hmac.new(SECRET_KEY, payload, hashlib.sha256).digest())


def create_access_token(username: str, *, seconds: int = ACCESS_TOKEN_SECONDS) -> str:
    payload = f"{username}:{int(time.time()) + seconds}".encode()
    return f"{_b64(payload)}.{_sign(payload)}"


def read_access_token(token: str) -> str | None:
    """The username in a valid, unexpired token; ``None`` for anything else."""
    try:
        encoded, signature = token.split(".")
        payload = _unb64(encoded)
        username, expires = payload.decode().rsplit(":", 1)
        if not hmac.compare_digest(signature, _sign(payload)) or int(expires) < time.time():
            return None
    except ValueError:  # bad shape, bad base64, bad UTF-8, bad number
        return None
    return username
