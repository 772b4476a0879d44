"""Path parameter convertors (``{id:int}``, ``{p:path}``, ...) for building URLs, as Starlette's.

Matching and converting incoming paths happens in the Rust router; these turn values back
into path segments for ``url_path_for``/``url_for``.
"""

from __future__ import annotations

import math
import re
import uuid
from typing import Any, ClassVar


class Convertor:
    regex: ClassVar[str] = ""

    def convert(self, value: str) -> Any:
        raise NotImplementedError

    def to_string(self, value: Any) -> str:
        raise NotImplementedError


class StringConvertor(Convertor):
    regex = "[^/]+"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: Any) -> str:
        value = str(value)
        assert "/" not in value, "May not contain path separators"
        assert value, "Must not be empty"
        return value


class PathConvertor(Convertor):
    regex = ".*"

    def convert(self, value: str) -> str:
        return str(value)

    def to_string(self, value: Any) -> str:
        return str(value)


class IntegerConvertor(Convertor):
    regex = "[0-9]+"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: Any) -> str:
        value = int(value)
        assert value >= 0, "Negative integers are not supported"
        return str(value)


class FloatConvertor(Convertor):
    regex = r"[0-9]+(\.[0-9]+)?"

    def convert(self, value: str) -> float:
        return float(value)

    def to_string(self, value: Any) -> str:
        value = float(value)
        assert not math.isnan(value), "NaN values are not supported"
        assert not math.isinf(value), "Infinite values are not supported"
        assert value >= 0.0, "Negative floats are not supported"
        return f"{value:0.20f}".rstrip("0").rstrip(".")


class UUIDConvertor(Convertor):
    regex = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

    def convert(self, value: str) -> uuid.UUID:
        return uuid.UUID(value)

    def to_string(self, value: Any) -> str:
        return str(value)


CONVERTOR_TYPES: dict[str, Convertor] = {
    "str": StringConvertor(),
    "path": PathConvertor(),
    "int": IntegerConvertor(),
    "float": FloatConvertor(),
    "uuid": UUIDConvertor(),
}

_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(:[a-zA-Z_][a-zA-Z0-9_]*)?}")
_FORMAT_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)}")


def compile_path(path: str) -> tuple[str, dict[str, Convertor]]:
    """``"/items/{id:int}"`` -> (``"/items/{id}"``, ``{"id": IntegerConvertor()}``)."""
    convertors: dict[str, Convertor] = {}

    def strip(match: re.Match[str]) -> str:
        name, kind = match.group(1), (match.group(2) or ":str")[1:]
        convertors[name] = CONVERTOR_TYPES.get(kind, CONVERTOR_TYPES["str"])
        return "{" + name + "}"

    return _PARAM.sub(strip, path), convertors


def replace_params(
    path_format: str, convertors: dict[str, Convertor], path_params: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """Fill ``path_format`` with the values of ``path_params`` it names; return the rest."""
    remaining = dict(path_params)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in remaining:
            return match.group(0)
        return convertors[name].to_string(remaining.pop(name))

    return _FORMAT_PARAM.sub(fill, path_format), remaining
