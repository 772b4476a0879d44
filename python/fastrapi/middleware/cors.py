"""``CORSMiddleware``: configured with Starlette's arguments, run natively by the Rust core.

The derived header sets below follow Starlette's ``CORSMiddleware.__init__`` exactly; the
per-request decisions (preflight answers, simple-response headers) are made in Rust.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

ALL_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY")
SAFELISTED_HEADERS = {"Accept", "Accept-Language", "Content-Language", "Content-Type"}
_PREFLIGHT_VARY = (
    "Origin, Access-Control-Request-Method, Access-Control-Request-Headers, Access-Control-Request-Private-Network"
)


class CORSMiddleware:
    native = "cors"

    def __init__(
        self,
        app: Any = None,
        allow_origins: Collection[str] = (),
        allow_methods: Collection[str] = ("GET",),
        allow_headers: Collection[str] = (),
        allow_credentials: bool = False,
        allow_origin_regex: str | None = None,
        allow_private_network: bool = False,
        expose_headers: Collection[str] = (),
        max_age: int = 600,
    ) -> None:
        if "*" in allow_methods:
            allow_methods = ALL_METHODS
        allow_all_origins = "*" in allow_origins
        allow_all_headers = "*" in allow_headers
        explicit_origin = not allow_all_origins or allow_credentials

        simple: list[tuple[str, str]] = []
        if allow_all_origins:
            simple.append(("Access-Control-Allow-Origin", "*"))
        if allow_credentials:
            simple.append(("Access-Control-Allow-Credentials", "true"))
        if expose_headers:
            simple.append(("Access-Control-Expose-Headers", ", ".join(expose_headers)))

        preflight: list[tuple[str, str]] = [("Vary", _PREFLIGHT_VARY)]
        if not explicit_origin:
            preflight.append(("Access-Control-Allow-Origin", "*"))
        preflight.append(("Access-Control-Allow-Methods", ", ".join(allow_methods)))
        preflight.append(("Access-Control-Max-Age", str(max_age)))
        sorted_headers = sorted(SAFELISTED_HEADERS | set(allow_headers))
        if sorted_headers and not allow_all_headers:
            preflight.append(("Access-Control-Allow-Headers", ", ".join(sorted_headers)))
        if allow_credentials:
            preflight.append(("Access-Control-Allow-Credentials", "true"))

        self.app = app
        self.allow_origins = list(allow_origins)
        self.allow_methods = list(allow_methods)
        self.allow_headers = [h.lower() for h in sorted_headers]
        self.allow_all_origins = allow_all_origins
        self.allow_all_headers = allow_all_headers
        self.allow_credentials = allow_credentials
        self.explicit_origin = explicit_origin
        self.allow_origin_regex = allow_origin_regex
        self.allow_private_network = allow_private_network
        self.simple_headers = simple
        self.preflight_headers = preflight
