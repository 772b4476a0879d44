"""Security helpers. ``SecurityScopes`` is injected into dependencies declared with ``Security``."""

from __future__ import annotations


class SecurityScopes:
    def __init__(self, scopes: list[str] | None = None) -> None:
        self.scopes: list[str] = list(scopes or [])
        self.scope_str: str = " ".join(self.scopes)


__all__ = ["SecurityScopes"]
