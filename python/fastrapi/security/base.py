"""The base of every security scheme: an OpenAPI model and the name it is published under."""

from __future__ import annotations

from fastrapi.openapi.models import SecurityBase as SecurityBaseModel


class SecurityBase:
    model: SecurityBaseModel
    scheme_name: str
