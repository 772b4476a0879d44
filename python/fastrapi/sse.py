"""Server-Sent Events, as FastAPI 0.165 has them: ``response_class=EventSourceResponse`` on a
generator endpoint streams what it yields as ``text/event-stream``.

Plain items are JSON-encoded into the ``data:`` field (validated by the item type when the
return annotation names one); a :class:`ServerSentEvent` sets the fields itself. While the
generator is idle, a ``: ping`` comment goes out every ``_PING_INTERVAL`` seconds.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, model_validator

from fastrapi.responses import StreamingResponse


class EventSourceResponse(StreamingResponse):
    """Marks a generator endpoint as an SSE stream (the routing layer encodes the events)."""

    media_type = "text/event-stream"


def _single_line(value: str | None, field: str) -> str | None:
    if value is not None and ("\r" in value or "\n" in value):
        raise ValueError(f"SSE '{field}' must be a single line")
    return value


def _valid_event(value: str | None) -> str | None:
    return _single_line(value, "event")


def _valid_id(value: str | None) -> str | None:
    if value is not None and "\0" in value:
        raise ValueError("SSE 'id' must not contain null characters")
    return _single_line(value, "id")


class ServerSentEvent(BaseModel):
    """One event: ``data`` (always JSON-encoded) or ``raw_data`` (sent as it is), and the optional
    ``event``, ``id``, ``retry`` (milliseconds) and ``comment`` fields."""

    data: Any = None
    raw_data: str | None = None
    event: Annotated[str | None, AfterValidator(_valid_event)] = None
    id: Annotated[str | None, AfterValidator(_valid_id)] = None
    retry: Annotated[int | None, Field(ge=0)] = None
    comment: str | None = None

    @model_validator(mode="after")
    def _data_or_raw_data(self) -> ServerSentEvent:
        if self.data is not None and self.raw_data is not None:
            raise ValueError(
                "Cannot set both 'data' and 'raw_data' on the same ServerSentEvent. Use 'data' for "
                "JSON-serialized payloads or 'raw_data' for pre-formatted strings."
            )
        return self


def _lines(value: str) -> list[str]:
    """Split on the line terminators the SSE format knows (keeping empty trailing lines)."""
    return value.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def format_sse_event(
    *,
    data_str: str | None = None,
    event: str | None = None,
    id: str | None = None,  # noqa: A002 - the SSE field's name
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """The wire bytes of one event from already-serialised data; always ends with a blank line."""
    out: list[str] = []
    if comment is not None:
        out.extend(f": {line}" for line in _lines(comment))
    if event is not None:
        out.append(f"event: {event}")
    if data_str is not None:
        out.extend(f"data: {line}" for line in _lines(data_str))
    if id is not None:
        out.append(f"id: {id}")
    if retry is not None:
        out.append(f"retry: {retry}")
    return ("\n".join(out) + "\n\n").encode("utf-8")


KEEPALIVE_COMMENT = b": ping\n\n"
# Seconds of generator silence before a keep-alive comment is sent (read at each wait).
_PING_INTERVAL: float = 15.0

__all__ = ["EventSourceResponse", "ServerSentEvent", "format_sse_event", "KEEPALIVE_COMMENT"]
