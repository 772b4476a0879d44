"""``SessionMiddleware``: ``request.session`` in a signed cookie, byte-compatible with Starlette's.

The signature (itsdangerous' ``TimestampSigner``: HMAC-SHA1) is computed in Rust; the session
itself is a dict on the request, as in Starlette.
"""

from __future__ import annotations

import json
from base64 import b64decode, b64encode
from typing import Any, Literal

from fastrapi import _fastrapi


class Session(dict[str, Any]):
    accessed: bool = False
    modified: bool = False

    def mark_accessed(self) -> None:
        self.accessed = True

    def mark_modified(self) -> None:
        self.accessed = True
        self.modified = True

    def __setitem__(self, key: str, value: Any) -> None:
        self.mark_modified()
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        self.mark_modified()
        super().__delitem__(key)

    def clear(self) -> None:
        self.mark_modified()
        super().clear()

    def pop(self, key: str, *args: Any) -> Any:
        if key in self:
            self.mark_modified()
        return super().pop(key, *args)

    def popitem(self) -> tuple[str, Any]:
        item = super().popitem()
        self.mark_modified()
        return item

    def setdefault(self, key: str, default: Any = None) -> Any:
        if key not in self:
            self.mark_modified()
        return super().setdefault(key, default)

    def update(self, *args: Any, **kwargs: Any) -> None:
        self.mark_modified()
        super().update(*args, **kwargs)

    def __ior__(self, other: Any, /) -> Session:  # type: ignore[override,misc]
        self.mark_modified()
        return super().__ior__(other)


class SessionMiddleware:
    python_layer = True

    def __init__(
        self,
        app: Any = None,
        secret_key: Any = None,
        session_cookie: str = "session",
        max_age: int | None = 14 * 24 * 60 * 60,
        path: str = "/",
        same_site: Literal["lax", "strict", "none"] = "lax",
        https_only: bool = False,
        domain: str | None = None,
        partitioned: bool = False,
    ) -> None:
        if secret_key is None:
            raise TypeError("SessionMiddleware needs a secret_key")
        self.app = app
        self.secret_key = str(secret_key)
        self.session_cookie = session_cookie
        self.max_age = max_age
        self.path = path
        self.security_flags = "httponly; samesite=" + same_site
        if https_only:
            self.security_flags += "; secure"
        if domain is not None:
            self.security_flags += f"; domain={domain}"
        if partitioned:
            self.security_flags += "; partitioned"

    def load(self, request: Any) -> tuple[Session, bool]:
        """The request's session, and whether it arrived empty."""
        cookie = request.cookies.get(self.session_cookie)
        if cookie is not None:
            data = _fastrapi.timestamp_unsign(self.secret_key, cookie.encode("utf-8"), self.max_age)
            if data is not None:
                return Session(json.loads(b64decode(data))), False
        return Session(), True

    def store(self, session: Session, initially_empty: bool, response: Any) -> None:
        if session.accessed:
            response.headers.add_vary_header("Cookie")
        if session.modified and session:
            data = _fastrapi.timestamp_sign(self.secret_key, b64encode(json.dumps(session).encode("utf-8")))
            max_age = f"Max-Age={self.max_age}; " if self.max_age is not None else ""
            value = f"{self.session_cookie}={data.decode('utf-8')}; path={self.path}; {max_age}{self.security_flags}"
            response.headers.append("Set-Cookie", value)
        elif session.modified and not initially_empty:
            expires = "expires=Thu, 01 Jan 1970 00:00:00 GMT; "
            value = f"{self.session_cookie}=null; path={self.path}; {expires}{self.security_flags}"
            response.headers.append("Set-Cookie", value)
