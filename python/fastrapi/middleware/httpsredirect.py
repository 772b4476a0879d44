"""``HTTPSRedirectMiddleware``: plain-HTTP requests are redirected to https (run natively)."""

from __future__ import annotations

from typing import Any


class HTTPSRedirectMiddleware:
    native = "https_redirect"

    def __init__(self, app: Any = None) -> None:
        self.app = app
