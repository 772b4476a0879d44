"""FastAPI's default exception handlers, callable by apps that wrap them."""

from __future__ import annotations

from typing import Any

from fastrapi.encoders import jsonable_encoder
from fastrapi.exceptions import HTTPException, RequestValidationError
from fastrapi.responses import JSONResponse, Response


def is_body_allowed_for_status_code(status_code: int | str | None) -> bool:
    if status_code is None:
        return True
    if status_code in {"default", "1XX", "2XX", "3XX", "4XX", "5XX"}:
        return True
    current = int(status_code)
    return not (current < 200 or current in {204, 205, 304})


async def http_exception_handler(request: Any, exc: HTTPException) -> Response:
    return http_exception_response(exc)


async def request_validation_exception_handler(request: Any, exc: RequestValidationError) -> JSONResponse:
    return validation_error_response(exc.errors())


def http_exception_response(exc: HTTPException) -> Response:
    headers = getattr(exc, "headers", None)
    if not is_body_allowed_for_status_code(exc.status_code):
        return Response(status_code=exc.status_code, headers=headers)
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)


def validation_error_response(errors: Any) -> JSONResponse:
    return JSONResponse(status_code=422, content={"detail": jsonable_encoder(errors)})
