"""`fastrapi.encoders.jsonable_encoder` is FastAPI's own; the Rust JSON writer (with it as the
fallback for other types) gives the bytes FastAPI's `JSONResponse` gives, value for value."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import pathlib
import uuid
from collections import deque

import pytest
from fastapi.encoders import jsonable_encoder as fastapi_encoder
from pydantic import BaseModel, Field

from fastrapi.encoders import jsonable_encoder


class Color(enum.Enum):
    red = "r"


class Inner(BaseModel):
    when: datetime.datetime
    tags: set[str] = set()


class Outer(BaseModel):
    name: str = Field(alias="fullName")
    inner: Inner
    note: str | None = None


@dataclasses.dataclass
class Point:
    x: int
    y: float


class Plain:
    def __init__(self) -> None:
        self.a = 1
        self.b = [Color.red]


VALUES = [
    {"a": 1, 2: "int key", None: "none key", Color.red: "enum key"},
    [datetime.date(2024, 1, 2), datetime.time(3, 4), datetime.timedelta(seconds=90.5)],
    (decimal.Decimal("1.10"), decimal.Decimal("3"), decimal.Decimal("1e3")),
    {uuid.UUID(int=5), frozenset({1})},
    deque([b"bytes", pathlib.PurePosixPath("/a/b")]),
    Outer(fullName="n", inner=Inner(when=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC), tags={"x"})),
    Point(1, 2.5),
    Plain(),
    {"_sa_instance_state": 1, "keep": 2},
    (x for x in range(3)),
]


def test_the_encoder_is_fastapis() -> None:
    assert jsonable_encoder is fastapi_encoder


@pytest.mark.parametrize("value", VALUES[:-1], ids=[type(v).__name__ for v in VALUES[:-1]])
def test_rust_encoder_gives_json_dumps_bytes(value: object) -> None:
    import json

    from fastrapi import _fastrapi

    expected = json.dumps(fastapi_encoder(value), ensure_ascii=False, separators=(",", ":")).encode()
    assert _fastrapi.dumps(value, default=fastapi_encoder) == expected


class Text(str):
    pass


class Count(int):
    pass


class Ratio(float):
    pass


class Mapping_(dict):  # noqa: N801
    pass


class Level(enum.IntEnum):
    high = 3


SUBCLASS_VALUES = [
    {"text": Text("x"), "count": Count(5), "ratio": Ratio(1.5), "map": Mapping_(k=Text("v")), "level": Level.high},
    [Text("a"), (Count(1), Ratio(2.0))],
    Mapping_(nested=[Mapping_(deep=Text("ü"))]),
]


@pytest.mark.parametrize("value", SUBCLASS_VALUES)
def test_rust_encoder_gives_json_dumps_bytes_for_subclasses_of_json_types(value: object) -> None:
    """What the server writes (Rust walker, jsonable fallback) equals FastAPI's
    `json.dumps(jsonable_encoder(value))`, also for `str`/`int`/`float`/`dict` subclasses."""
    import json

    from fastrapi import _fastrapi

    expected = json.dumps(fastapi_encoder(value), ensure_ascii=False, separators=(",", ":")).encode()
    assert _fastrapi.dumps(value, default=fastapi_encoder) == expected
    assert _fastrapi.dumps(value) == json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
