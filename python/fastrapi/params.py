"""Parameter markers (`Query`, `Path`, `Header`, …): pydantic ``FieldInfo`` subclasses, as in FastAPI."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

_Unset: Any = PydanticUndefined


class ParamTypes(Enum):
    query = "query"
    header = "header"
    path = "path"
    cookie = "cookie"


def _field_kwargs(**kwargs: Any) -> dict[str, Any]:
    """Only what the user set, so pydantic's own defaults stay in force."""
    return {k: v for k, v in kwargs.items() if v is not None and v is not _Unset}


class Param(FieldInfo):  # type: ignore[misc]
    in_: ParamTypes

    def __init__(
        self,
        default: Any = PydanticUndefined,
        *,
        default_factory: Callable[[], Any] | None = _Unset,
        annotation: Any | None = None,
        alias: str | None = None,
        alias_priority: int | None = _Unset,
        validation_alias: str | None = None,
        serialization_alias: str | None = None,
        title: str | None = None,
        description: str | None = None,
        gt: float | None = None,
        ge: float | None = None,
        lt: float | None = None,
        le: float | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
        regex: str | None = None,
        discriminator: str | None = None,
        strict: bool | None = _Unset,
        multiple_of: float | None = _Unset,
        allow_inf_nan: bool | None = _Unset,
        max_digits: int | None = _Unset,
        decimal_places: int | None = _Unset,
        examples: list[Any] | None = None,
        example: Any = _Unset,
        openapi_examples: dict[str, Any] | None = None,
        deprecated: bool | str | None = None,
        include_in_schema: bool = True,
        json_schema_extra: dict[str, Any] | None = None,
        **extra: Any,
    ) -> None:
        if default is ...:
            default = PydanticUndefined
        self.example = example
        self.include_in_schema = include_in_schema
        self.openapi_examples = openapi_examples
        kwargs = _field_kwargs(
            default_factory=default_factory,
            annotation=annotation,
            alias=alias,
            alias_priority=alias_priority,
            validation_alias=validation_alias,
            serialization_alias=serialization_alias,
            title=title,
            description=description,
            gt=gt,
            ge=ge,
            lt=lt,
            le=le,
            min_length=min_length,
            max_length=max_length,
            pattern=pattern or regex,
            discriminator=discriminator,
            strict=strict,
            multiple_of=multiple_of,
            allow_inf_nan=allow_inf_nan,
            max_digits=max_digits,
            decimal_places=decimal_places,
            examples=examples,
            deprecated=deprecated,
        )
        if default is not PydanticUndefined:
            kwargs["default"] = default
        schema_extra = dict(json_schema_extra or {})
        schema_extra.update(extra)
        if schema_extra:
            kwargs["json_schema_extra"] = schema_extra
        super().__init__(**kwargs)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.default})"


class Path(Param):  # type: ignore[misc]
    in_ = ParamTypes.path

    def __init__(self, default: Any = ..., **kwargs: Any) -> None:
        if default is not ... and default is not PydanticUndefined:
            raise AssertionError("Path parameters cannot have a default value")
        super().__init__(default=PydanticUndefined, **kwargs)


class Query(Param):  # type: ignore[misc]
    in_ = ParamTypes.query


class Header(Param):  # type: ignore[misc]
    in_ = ParamTypes.header

    def __init__(self, default: Any = PydanticUndefined, *, convert_underscores: bool = True, **kwargs: Any) -> None:
        self.convert_underscores = convert_underscores
        super().__init__(default, **kwargs)


class Cookie(Param):  # type: ignore[misc]
    in_ = ParamTypes.cookie


class Body(FieldInfo):  # type: ignore[misc]
    def __init__(
        self,
        default: Any = PydanticUndefined,
        *,
        embed: bool | None = None,
        media_type: str = "application/json",
        include_in_schema: bool = True,
        example: Any = _Unset,
        openapi_examples: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if default is ...:
            default = PydanticUndefined
        self.embed = embed
        self.media_type = media_type
        self.include_in_schema = include_in_schema
        self.example = example
        self.openapi_examples = openapi_examples
        if kwargs.get("regex") is not None and kwargs.get("pattern") is None:
            kwargs["pattern"] = kwargs.pop("regex")
        kwargs = _field_kwargs(**kwargs)
        if default is not PydanticUndefined:
            kwargs["default"] = default
        super().__init__(**kwargs)

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}({self.default})"


class Form(Body):  # type: ignore[misc]
    def __init__(self, default: Any = PydanticUndefined, *, media_type: str = "application/x-www-form-urlencoded",
                 **kwargs: Any) -> None:
        super().__init__(default, media_type=media_type, **kwargs)


class File(Form):  # type: ignore[misc]
    def __init__(self, default: Any = PydanticUndefined, *, media_type: str = "multipart/form-data",
                 **kwargs: Any) -> None:
        super().__init__(default, media_type=media_type, **kwargs)


class Depends:
    def __init__(self, dependency: Callable[..., Any] | None = None, *, use_cache: bool = True,
                 scope: str | None = None) -> None:
        self.dependency = dependency
        self.use_cache = use_cache
        self.scope = scope

    def __repr__(self) -> str:
        attr = getattr(self.dependency, "__name__", type(self.dependency).__name__)
        cache = "" if self.use_cache else ", use_cache=False"
        return f"{self.__class__.__name__}({attr}{cache})"


class Security(Depends):
    def __init__(self, dependency: Callable[..., Any] | None = None, *, scopes: Sequence[str] | None = None,
                 use_cache: bool = True) -> None:
        super().__init__(dependency=dependency, use_cache=use_cache)
        self.scopes = list(scopes or [])
