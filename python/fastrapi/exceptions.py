"""Exceptions, as FastAPI and Starlette define them (one class serves both names)."""

from __future__ import annotations

import http
from collections.abc import Mapping, Sequence
from typing import Any


class HTTPException(Exception):
    """Raise it in an endpoint to answer with ``status_code`` and ``{"detail": detail}``.

    It is both ``fastapi.HTTPException`` and ``starlette.exceptions.HTTPException``.
    """

    def __init__(
        self,
        status_code: int,
        detail: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if detail is None:
            detail = http.HTTPStatus(status_code).phrase
        self.status_code = status_code
        self.detail = detail
        self.headers = dict(headers) if headers is not None else None

    def __str__(self) -> str:
        return f"{self.status_code}: {self.detail}"

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(status_code={self.status_code!r}, detail={self.detail!r})"


StarletteHTTPException = HTTPException


class WebSocketException(Exception):
    def __init__(self, code: int, reason: str | None = None) -> None:
        self.code = code
        self.reason = reason or ""


class ValidationException(Exception):
    def __init__(self, errors: Sequence[Any]) -> None:
        self._errors = errors

    def errors(self) -> Sequence[Any]:
        return self._errors


class RequestValidationError(ValidationException):
    def __init__(self, errors: Sequence[Any], *, body: Any = None) -> None:
        super().__init__(errors)
        self.body = body


class WebSocketRequestValidationError(ValidationException):
    pass


class ResponseValidationError(ValidationException):
    def __init__(self, errors: Sequence[Any], *, body: Any = None) -> None:
        super().__init__(errors)
        self.body = body

    def __str__(self) -> str:
        message = f"{len(self._errors)} validation errors:\n"
        for err in self._errors:
            message += f"  {err}\n"
        return message


class FastAPIError(RuntimeError):
    """A problem in how the app is declared, found at start-up."""


FastrAPIError = FastAPIError
