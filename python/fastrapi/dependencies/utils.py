"""Endpoint analysis: a signature becomes a route plan, once, at start-up.

The plan tells the Rust core where each argument comes from (path, query, header, cookie or
body), which values it may coerce itself, and which pydantic validator decides everything else.
"""

from __future__ import annotations

import dataclasses
import email.message
import inspect
import json
import re
import types
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from fastrapi import params
from fastrapi.dependencies.models import Dependant
from fastrapi.exceptions import FastAPIError

_PATH_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-zA-Z_][a-zA-Z0-9_]*)?}")
_SCALARS: dict[Any, str] = {str: "str", int: "int", float: "float", bool: "bool"}
_IMMUTABLE = (str, int, float, bool, bytes, type(None), tuple, frozenset)
_SEQUENCE_ORIGINS = (list, set, tuple, frozenset, Sequence)


def get_path_param_names(path: str) -> set[str]:
    return set(_PATH_PARAM.findall(path))


@dataclasses.dataclass
class ParamPlan:
    """One argument read from the path, query string, headers or cookies (read by Rust)."""

    name: str
    alias: str
    location: str
    scalar: str
    required: bool
    default: Any
    default_factory: Callable[[], Any] | None
    validate: Callable[[Any], tuple[bool, Any]]
    is_sequence: bool
    field_info: FieldInfo
    annotation: Any
    # A pydantic model read as a group of parameters: (lookup key, validation key, is_sequence).
    model_fields: list[tuple[str, str, bool]] | None = None


@dataclasses.dataclass
class BodyField:
    name: str
    alias: str
    field_info: FieldInfo
    annotation: Any
    adapter: TypeAdapter[Any]
    required: bool
    default: Any = None

    def get_default(self) -> Any:
        factory = self.field_info.default_factory
        if factory is not None:
            return factory()  # type: ignore[call-arg]
        import copy

        return copy.deepcopy(self.default)

    def validate_into(self, value: Any, loc: tuple[Any, ...], values: dict[str, Any], errors: list[Any]) -> None:
        """Validate one received value (``None``: absent) into ``values``, or its errors into ``errors``."""
        if value is None:
            if self.required:
                errors.append(missing_error(loc))
            else:
                values[self.name] = self.get_default()
            return
        try:
            values[self.name] = self.adapter.validate_python(value, from_attributes=True)
        except ValidationError as exc:
            errors.extend(located_errors(exc, loc))

    @property
    def is_form(self) -> bool:
        return isinstance(self.field_info, params.Form)


def missing_error(loc: tuple[Any, ...]) -> dict[str, Any]:
    """FastAPI's error for a required value that was not sent."""
    return {"type": "missing", "loc": loc, "msg": "Field required", "input": None}


def located_errors(exc: ValidationError, loc: tuple[Any, ...]) -> list[dict[str, Any]]:
    """pydantic's errors with FastAPI's location prefix (`("query", "q")`, `("body",)`, ...)."""
    return [{**err, "loc": loc + tuple(err.get("loc", ()))} for err in exc.errors(include_url=False)]


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = get_args(annotation)
        non_none = [a for a in args if a is not type(None)]
        if len(non_none) == 1 and len(args) == 2:
            return non_none[0]
    return annotation


def _is_sequence(annotation: Any) -> bool:
    annotation = _unwrap_optional(annotation)
    origin = get_origin(annotation) or annotation
    return (
        isinstance(origin, type) and issubclass(origin, _SEQUENCE_ORIGINS) and not issubclass(origin, str | bytes)
    )


def _is_scalar(annotation: Any) -> bool:
    """FastAPI's rule: a value that fits in one query parameter (not a model, mapping or sequence)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _is_scalar(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return all(_is_scalar(a) for a in get_args(annotation))
    if annotation is inspect.Parameter.empty or annotation is Any:
        return True
    if origin is not None:
        annotation = origin
    if not isinstance(annotation, type):
        return True
    if issubclass(annotation, BaseModel | Mapping) or dataclasses.is_dataclass(annotation):
        return False
    # str/bytes (and their subclasses, such as `class Color(str, Enum)`) are single values
    return not (issubclass(annotation, _SEQUENCE_ORIGINS) and not issubclass(annotation, str | bytes))


def _adapter(annotation: Any, field_info: FieldInfo) -> TypeAdapter[Any]:
    """The validator FastAPI builds for a field: annotation, its constraints, its other attributes."""
    info = field_info.asdict()
    attributes = {k: v for k, v in info["attributes"].items() if k not in ("default", "default_factory")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return TypeAdapter(Annotated[(annotation, *info["metadata"], Field(**attributes))])  # type: ignore[misc]


def _located_validator(adapter: TypeAdapter[Any], loc: tuple[str, ...]) -> Callable[[Any], tuple[bool, Any]]:
    validate_python = adapter.validate_python

    def validate(value: Any) -> tuple[bool, Any]:
        try:
            return True, validate_python(value, from_attributes=True)
        except ValidationError as exc:
            return False, located_errors(exc, loc)

    return validate


def _split_annotated(annotation: Any) -> tuple[Any, list[Any]]:
    if get_origin(annotation) is Annotated:
        base, *metadata = get_args(annotation)
        return base, metadata
    return annotation, []


@dataclasses.dataclass
class EndpointPlan:
    params: list[ParamPlan]
    body_fields: list[BodyField]
    embed_body: bool
    dependant: Dependant


def _special_kind(annotation: Any) -> str | None:
    """Which injected object an annotation asks for, if any."""
    from fastrapi.background import BackgroundTasks
    from fastrapi.requests import Request
    from fastrapi.responses import Response
    from fastrapi.security import SecurityScopes

    if not isinstance(annotation, type):
        return None
    if issubclass(annotation, Request):
        return "request"
    if issubclass(annotation, Response):
        return "response"
    if issubclass(annotation, BackgroundTasks):
        return "background"
    if issubclass(annotation, SecurityScopes):
        return "security_scopes"
    if annotation.__name__ in ("WebSocket", "HTTPConnection"):
        raise FastAPIError(f"`{annotation.__name__}` parameters are not supported by this version of fastrapi yet")
    return None


def get_dependant(
    path: str,
    call: Callable[..., Any],
    *,
    name: str | None = None,
    use_cache: bool = True,
    security_scopes: list[str] | None = None,
    own_security_scopes: list[str] | None = None,
    scope: str | None = None,
) -> Dependant:
    """Analyse a callable's signature (recursively through its dependencies)."""
    path_names = get_path_param_names(path)
    dependant = Dependant(call=call, name=name, use_cache=use_cache, path=path,
                          security_scopes=list(security_scopes or []),
                          own_security_scopes=list(own_security_scopes or []), scope=scope)
    call_name = getattr(call, "__name__", type(call).__name__)
    try:
        signature = inspect.signature(call, eval_str=True)
    except NameError as exc:
        raise FastAPIError(f"cannot resolve the annotations of {call!r}: {exc}") from exc
    except ValueError:
        return dependant
    plans: dict[str, list[ParamPlan]] = {"path": [], "query": [], "header": [], "cookie": []}
    for param_name, parameter in signature.parameters.items():
        if parameter.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        annotation, metadata = _split_annotated(parameter.annotation)
        field_info: FieldInfo | None = None
        depends: params.Depends | None = None
        for item in metadata:
            if isinstance(item, params.Depends):
                depends = item
            elif isinstance(item, FieldInfo):
                field_info = item
        default = parameter.default
        if isinstance(default, params.Depends):
            depends = default
            default = inspect.Parameter.empty
        if depends is not None:
            dependency = depends.dependency if depends.dependency is not None else annotation
            if not callable(dependency):
                raise FastAPIError(f"{call_name}(): `{param_name}` has Depends() without a callable dependency")
            scopes = list(dependant.security_scopes)
            own_scopes = list(depends.scopes) if isinstance(depends, params.Security) else []
            scopes.extend(own_scopes)
            dependant.dependencies.append(
                get_dependant(path, dependency, name=param_name, use_cache=depends.use_cache, security_scopes=scopes,
                              own_security_scopes=own_scopes, scope=getattr(depends, "scope", None))
            )
            continue
        special = _special_kind(annotation)
        if special is not None:
            setattr(dependant, f"{'background_tasks' if special == 'background' else special}_param_name", param_name)
            continue
        if isinstance(default, FieldInfo):
            if field_info is not None:
                raise FastAPIError(f"{call_name}(): `{param_name}` has a parameter marker twice")
            field_info = default
            default = PydanticUndefined if field_info.is_required() else field_info.default
        elif default is inspect.Parameter.empty:
            default = PydanticUndefined
        if field_info is not None and default is PydanticUndefined and not field_info.is_required():
            default = field_info.default
        if annotation is inspect.Parameter.empty:
            annotation = Any

        if isinstance(field_info, params.Param):
            location = field_info.in_.value
        elif isinstance(field_info, params.Body):
            location = "body"
        elif field_info is None and _mentions_upload_file(annotation):
            location = "body"
            field_info = params.File()
        elif param_name in path_names:
            location = "path"
        elif _is_scalar(annotation):
            location = "query"
        else:
            location = "body"
        if isinstance(field_info, params.Form):
            _ensure_multipart(call_name)
        if location == "path" and param_name not in path_names:
            raise FastAPIError(f"{call_name}(): path parameter `{param_name}` is not in the path {path!r}")

        if field_info is None:
            field_info = params.Body() if location == "body" else _marker(location)
        required = default is PydanticUndefined and field_info.default_factory is None
        alias = _lookup_alias(field_info) or param_name
        if location == "body":
            dependant.body_fields.append(
                BodyField(param_name, alias, field_info, annotation, _adapter(annotation, field_info), required,
                          None if default is PydanticUndefined else default)
            )
            continue
        if location == "header" and getattr(field_info, "convert_underscores", True) and field_info.alias is None:
            alias = param_name.replace("_", "-")
        is_sequence = _is_sequence(annotation)
        scalar = "other"
        base = _unwrap_optional(annotation)
        model_fields = None
        if isinstance(base, type) and issubclass(base, BaseModel):
            model_fields = _model_param_fields(base, location, field_info)
        if not is_sequence and base in _SCALARS and not field_info.metadata:
            scalar = _SCALARS[base]
        default_factory = field_info.default_factory
        if default_factory is None and default is not PydanticUndefined and not isinstance(default, _IMMUTABLE):
            default_factory = _deepcopy_factory(default)
        plans[location].append(
            ParamPlan(
                name=param_name,
                alias=alias,
                location=location,
                scalar=scalar,
                required=required,
                default=None if default is PydanticUndefined else default,
                default_factory=default_factory,  # type: ignore[arg-type]
                validate=_located_validator(
                    _adapter(annotation, field_info), (location,) if model_fields else (location, alias)
                ),
                is_sequence=is_sequence,
                field_info=field_info,
                annotation=annotation,
                model_fields=model_fields,
            )
        )
    dependant.params = plans["path"] + plans["query"] + plans["header"] + plans["cookie"]
    return dependant


def analyze_endpoint(path: str, endpoint: Callable[..., Any], dependencies: Sequence[Any] = ()) -> EndpointPlan:
    dependant = get_dependant(path, endpoint)
    for depends in reversed(list(dependencies)):
        if not isinstance(depends, params.Depends) or depends.dependency is None:
            raise FastAPIError("dependencies=[...] takes Depends(callable) items")
        scopes = list(depends.scopes) if isinstance(depends, params.Security) else []
        dependant.dependencies.insert(
            0, get_dependant(path, depends.dependency, use_cache=depends.use_cache, security_scopes=scopes,
                             own_security_scopes=scopes, scope=getattr(depends, "scope", None))
        )
    body_fields = dependant.flat_body_fields()
    embed = (
        len(body_fields) > 1
        or any(getattr(f.field_info, "embed", None) for f in body_fields)
        or any(f.is_form and not _is_model(f.annotation) for f in body_fields)
    )
    return EndpointPlan(params=dependant.params, body_fields=body_fields, embed_body=embed, dependant=dependant)


def _mentions_upload_file(annotation: Any) -> bool:
    from fastrapi.datastructures import UploadFile

    if annotation is UploadFile:
        return True
    return any(_mentions_upload_file(arg) for arg in get_args(annotation))


def _ensure_multipart(call_name: str) -> None:
    try:
        import python_multipart  # noqa: F401
    except ImportError:
        raise FastAPIError(
            f'{call_name}(): form data requires "python-multipart" to be installed: pip install python-multipart'
        ) from None


def _lookup_alias(field_info: FieldInfo) -> str | None:
    """The name a value is looked up by: ``validation_alias`` (a plain string), else ``alias``."""
    va = field_info.validation_alias
    if isinstance(va, str) and va:
        return va
    return field_info.alias


def _model_param_fields(model: type[BaseModel], location: str, marker: FieldInfo) -> list[tuple[str, str, bool]]:
    fields = []
    for name, info in model.model_fields.items():
        key = _lookup_alias(info) or name
        if location == "header" and getattr(marker, "convert_underscores", True) and _lookup_alias(info) is None:
            key = name.replace("_", "-")
        fields.append((key, _lookup_alias(info) or name, _is_sequence(info.annotation)))
    return fields


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _marker(location: str) -> params.Param:
    return {"path": params.Path, "query": params.Query, "header": params.Header, "cookie": params.Cookie}[location]()


def _deepcopy_factory(value: Any) -> Callable[[], Any]:
    import copy

    return lambda: copy.deepcopy(value)


def is_json_content_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    if message.get_content_maintype() != "application":
        return False
    subtype = message.get_content_subtype()
    return subtype == "json" or subtype.endswith("+json")


def body_decoder(plan: EndpointPlan, strict_content_type: bool = True) -> Callable[[bytes, str | None], Any] | None:
    """``decode(raw, content_type) -> (ok, kwargs | errors, body)``, FastAPI's body rules.

    ``body`` is what FastAPI puts in ``RequestValidationError.body``: the parsed JSON, the raw
    document when it did not parse, or the form.
    """
    fields = plan.body_fields
    if not fields:
        return None
    embed = plan.embed_body

    if any(f.is_form for f in fields):
        return _form_decoder(fields, embed)
    single = fields[0] if len(fields) == 1 and not embed else None

    def decode(raw: Any, content_type: str | None) -> tuple[bool, Any, Any]:
        if not isinstance(raw, bytes):
            raw = raw.read()
        if single is not None and raw and (is_json_content_type(content_type) if content_type
                                           else not strict_content_type):
            # Fast path: pydantic parses and validates the raw bytes in one pass. Any failure is
            # redone below the way FastAPI does it (json.loads, then validate_python), so errors
            # are FastAPI's to the letter.
            try:
                return True, {single.name: single.adapter.validate_json(raw)}, None
            except ValidationError:
                pass
        body: Any = None
        if raw:
            parse_json = is_json_content_type(content_type) if content_type else not strict_content_type
            if parse_json:
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError as e:
                    error = {
                        "type": "json_invalid",
                        "loc": ("body", e.pos),
                        "msg": "JSON decode error",
                        "input": {},
                        "ctx": {"error": e.msg},
                    }
                    return False, [error], e.doc
                except ValueError as exc:  # not UTF-8/16/32: Starlette's 400, as FastAPI answers
                    from fastrapi.exceptions import HTTPException

                    raise HTTPException(status_code=400, detail="There was an error parsing the body") from exc
            else:
                body = raw
        values: dict[str, Any] = {}
        errors: list[Any] = []
        for field in fields:
            if embed:
                value = body.get(field.alias) if isinstance(body, Mapping) else None
                field.validate_into(value, ("body", field.alias), values, errors)
            else:
                field.validate_into(body, ("body",), values, errors)
        if errors:
            return False, errors, body
        return True, values, body

    return decode


@dataclasses.dataclass
class _FormItem:
    """One value to pull out of a form: a body parameter, or a field of a form model."""

    alias: str
    is_sequence: bool
    is_form_marker: bool
    required: bool
    default: Any
    annotation: Any


def _read_upload(value: Any) -> Any:
    from fastrapi.datastructures import UploadFile

    if isinstance(value, UploadFile):
        value.file.seek(0)
        return value.file.read()
    return value


def _is_bytes(annotation: Any) -> bool:
    return _unwrap_optional(annotation) is bytes


def _is_bytes_sequence(annotation: Any) -> bool:
    annotation = _unwrap_optional(annotation)
    return _is_sequence(annotation) and any(_is_bytes(a) for a in get_args(annotation))


def _form_value(item: _FormItem, form: Any) -> Any:
    """FastAPI's `_get_multidict_value`: absent, empty form strings and empty lists are missing."""
    import copy

    value = form.getlist(item.alias) if item.is_sequence else form.get(item.alias)
    if (
        value is None
        or (item.is_form_marker and isinstance(value, str) and value == "")
        or (item.is_sequence and len(value) == 0)
    ):
        return None if item.required else copy.deepcopy(item.default)
    if _is_bytes(item.annotation):
        return _read_upload(value)
    if _is_bytes_sequence(item.annotation) and isinstance(value, list):
        return [_read_upload(v) for v in value]
    return value


def _form_decoder(fields: list[BodyField], embed: bool) -> Callable[[bytes, str | None], Any]:
    from fastrapi.exceptions import HTTPException
    from fastrapi.formparsers import MultiPartException, parse_form

    single = fields[0] if len(fields) == 1 and not embed else None
    if single is not None and _is_model(single.annotation):
        model_fields = single.annotation.model_fields
        # A form model gets only what was sent: its own defaults apply inside the model.
        items = [
            _FormItem(_lookup_alias(info) or name, _is_sequence(info.annotation), False, True, None, info.annotation)
            for name, info in model_fields.items()
        ]
    else:
        items = [
            _FormItem(f.alias, _is_sequence(f.annotation), f.is_form, f.required, f.default, f.annotation)
            for f in fields
        ]

    def decode(raw: Any, content_type: str | None) -> tuple[bool, Any, Any]:
        try:
            form = parse_form(raw, content_type)
        except MultiPartException as exc:
            raise HTTPException(status_code=400, detail=exc.message) from exc
        extracted: dict[str, Any] = {}
        for item in items:
            value = _form_value(item, form)
            if value is not None:
                extracted[item.alias] = value
        errors: list[Any] = []
        values: dict[str, Any] = {}
        if single is not None:
            try:
                return True, {single.name: single.adapter.validate_python(extracted, from_attributes=True)}, form
            except ValidationError as exc:
                return False, located_errors(exc, ("body",)), form
        for field in fields:
            field.validate_into(extracted.get(field.alias), ("body", field.alias), values, errors)
        return (False, errors, form) if errors else (True, values, form)

    return decode
