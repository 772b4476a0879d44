"""The OpenAPI document of an app, built the way FastAPI builds it.

Every value an operation reads (parameters, the body, responses) becomes a *schema field*: a
name, a pydantic ``FieldInfo`` and a mode (``validation`` for what the client sends,
``serialization`` for what the server answers). All fields of all routes go through one
pydantic ``GenerateJsonSchema.generate_definitions`` call, which names the shared models
(``Item``, or ``Item-Input``/``Item-Output`` when the two modes differ) and returns each
field's schema; the operations are then assembled from those schemas. Finally the whole
document is validated through the `fastrapi.openapi.models.OpenAPI` model and dumped without
``None`` values, which is how FastAPI normalises it.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import http.client
import inspect
import types
import warnings
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from functools import partial
from typing import Annotated, Any, Literal, Union, cast, get_args, get_origin

from pydantic import AliasChoices, AliasPath, BaseModel, ConfigDict, Field, GetPydanticSchema, TypeAdapter, create_model
from pydantic import json_schema as pydantic_json_schema
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from fastrapi import params
from fastrapi.datastructures import DefaultPlaceholder
from fastrapi.dependencies.models import Dependant
from fastrapi.encoders import jsonable_encoder
from fastrapi.exception_handlers import is_body_allowed_for_status_code
from fastrapi.openapi.constants import METHODS_WITH_BODY, REF_PREFIX, REF_TEMPLATE
from fastrapi.openapi.models import OpenAPI
from fastrapi.responses import JSONResponse, Response
from fastrapi.security.base import SecurityBase
from fastrapi.utils import deep_dict_update

Mode = Literal["validation", "serialization"]

validation_error_definition: dict[str, Any] = {
    "title": "ValidationError",
    "type": "object",
    "properties": {
        "loc": {"title": "Location", "type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
        "msg": {"title": "Message", "type": "string"},
        "type": {"title": "Error Type", "type": "string"},
        "input": {"title": "Input"},
        "ctx": {"title": "Context", "type": "object"},
    },
    "required": ["loc", "msg", "type"],
}

validation_error_response_definition: dict[str, Any] = {
    "title": "HTTPValidationError",
    "type": "object",
    "properties": {
        "detail": {"title": "Detail", "type": "array", "items": {"$ref": REF_PREFIX + "ValidationError"}},
    },
}

status_code_ranges: dict[str, str] = {
    "1XX": "Information",
    "2XX": "Success",
    "3XX": "Redirection",
    "4XX": "Client Error",
    "5XX": "Server Error",
    "DEFAULT": "Default Response",
}


class GenerateJsonSchema(pydantic_json_schema.GenerateJsonSchema):
    """pydantic's generator, with ``bytes`` described as an octet stream (base64 when configured)."""

    def bytes_schema(self, schema: Any) -> dict[str, Any]:
        result: dict[str, Any] = {"type": "string", "contentMediaType": "application/octet-stream"}
        config = self._config
        encoding = config.ser_json_bytes if self.mode == "serialization" else config.val_json_bytes
        if encoding == "base64":
            result["contentEncoding"] = "base64"
        self.update_with_validations(result, schema, self.ValidationsMapping.bytes)
        return result


def _subclass(obj: Any, cls: Any) -> bool:
    try:
        return isinstance(obj, type) and issubclass(obj, cls)
    except TypeError:
        return False


class SchemaField:
    """A named ``FieldInfo`` whose JSON schema is generated together with all the others.

    Hashed by identity: the same annotation in two places is two fields.
    """

    def __init__(self, name: str, field_info: FieldInfo, mode: Mode = "validation",
                 config: ConfigDict | None = None) -> None:
        self.name = name
        self.field_info = field_info
        self.mode: Mode = mode
        self.config = config
        self._adapter: TypeAdapter[Any] | None = None

    @property
    def alias(self) -> str:
        return self.field_info.alias if self.field_info.alias is not None else self.name

    @property
    def validation_alias(self) -> str | None:
        alias = self.field_info.validation_alias
        return alias if isinstance(alias, str) and alias else None

    @property
    def serialization_alias(self) -> str | None:
        return self.field_info.serialization_alias or None

    @property
    def adapter(self) -> TypeAdapter[Any]:
        if self._adapter is None:
            info = self.field_info.asdict()
            args = (info["annotation"], *info["metadata"], Field(**info["attributes"]))
            annotated = Annotated[args]  # type: ignore[valid-type]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._adapter = TypeAdapter(annotated, config=self.config)
        return self._adapter


FieldMapping = dict[tuple[SchemaField, Mode], dict[str, Any]]


# -- fields from signatures ----------------------------------------------------------------

def _copy_field_info(field_info: FieldInfo, annotation: Any) -> FieldInfo:
    """``field_info`` with the constraints of everything else in an ``Annotated`` merged in."""
    merged = type(field_info).from_annotation(annotation)
    result = copy.copy(field_info)
    for name, value in merged.asdict()["attributes"].items():
        setattr(result, name, value)
    result._attributes_set = merged._attributes_set.copy()
    result.metadata = merged.metadata
    result.annotation = merged.annotation
    return result


def _signature(call: Callable[..., Any], cache: dict[int, inspect.Signature]) -> inspect.Signature:
    key = id(call)
    if key not in cache:
        cache[key] = inspect.signature(call, eval_str=True)
    return cache[key]


def _marker_class(location: str, fallback: FieldInfo | None) -> type[FieldInfo]:
    if location == "body":
        return type(fallback) if isinstance(fallback, params.Body) else params.Body
    return {"path": params.Path, "query": params.Query, "header": params.Header, "cookie": params.Cookie}[location]


def _signature_field(parameter: inspect.Parameter, location: str, plan_marker: FieldInfo | None) -> SchemaField:
    """FastAPI's reading of one endpoint/dependency parameter into a field."""
    annotation = parameter.annotation
    value = parameter.default
    if type(annotation).__name__ == "TypeAliasType":
        annotation = annotation.__value__
    use_annotation: Any = Any if annotation is inspect.Parameter.empty else annotation
    type_annotation = use_annotation
    field_info: FieldInfo | None = None
    is_annotated = get_origin(use_annotation) is Annotated
    if is_annotated:
        type_annotation = get_args(use_annotation)[0]
        markers = [a for a in get_args(use_annotation)[1:] if isinstance(a, params.Param | params.Body)]
        if markers:
            field_info = _copy_field_info(markers[-1], use_annotation)
            field_info.default = PydanticUndefined if value is inspect.Parameter.empty else value
    if field_info is None and isinstance(value, FieldInfo):
        field_info = copy.copy(value)
        field_info.annotation = type_annotation
    if field_info is None:
        default = PydanticUndefined if value is inspect.Parameter.empty else value
        cls: Any = _marker_class(location, plan_marker)
        field_info = cls(annotation=use_annotation) if cls is params.Path else cls(default, annotation=use_annotation)
        if is_annotated:
            inferred_default = field_info.default
            field_info = _copy_field_info(field_info, use_annotation)
            field_info.default = inferred_default
            if location == "path":
                field_info.default_factory = None
    name = parameter.name
    if not field_info.alias and getattr(field_info, "convert_underscores", None):
        field_info.alias = name.replace("_", "-")
    else:
        field_info.alias = field_info.alias or name
    return SchemaField(name, field_info)


def _param_model(field: SchemaField) -> type[BaseModel] | None:
    """The pydantic model a parameter is declared with (its fields become the parameters)."""
    annotation = field.field_info.annotation
    if isinstance(field.field_info, params.Query | params.Header | params.Cookie):
        if get_origin(annotation) in (Union, types.UnionType):
            args = get_args(annotation)
            if len(args) == 2 and type(None) in args:
                annotation = next(a for a in args if a is not type(None))
    if _subclass(annotation, BaseModel) and not _is_json_field(field):
        return cast(type[BaseModel], annotation)
    return None


def _is_json_field(field: SchemaField) -> bool:
    from pydantic import Json

    return any(type(item) is Json for item in field.field_info.metadata)


@functools.lru_cache
def _model_fields(model: type[BaseModel]) -> list[SchemaField]:
    """A parameter model's fields (the same objects every time, as schemas are looked up by field)."""
    fields = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        plain = _subclass(annotation, BaseModel | dict) or dataclasses.is_dataclass(annotation)
        fields.append(SchemaField(name, info, config=None if plain else model.model_config))
    return fields


def _flat_params(fields: Iterable[SchemaField]) -> list[SchemaField]:
    flat: list[SchemaField] = []
    for field in fields:
        model = _param_model(field)
        flat.extend(_model_fields(model) if model is not None else [field])
    return flat


def _param_aliases(field: SchemaField, convert_underscores: bool = False) -> list[tuple[str, str]]:
    """(validation alias, name in the request) pairs a value may be sent under, preferred first."""
    alias = field.validation_alias or field.alias
    request_alias = alias.replace("_", "-") if convert_underscores and alias == field.name else alias
    validation_alias = field.field_info.validation_alias
    aliases = [(alias, request_alias)]
    if isinstance(field.field_info, params.Path) or isinstance(validation_alias, AliasPath):
        return aliases
    if isinstance(validation_alias, AliasChoices):
        if any(isinstance(choice, AliasPath) for choice in validation_alias.choices):
            return aliases
        aliases = [(choice, choice) for choice in cast(list[str], validation_alias.choices)]
    config = field.config or {}
    by_name = config.get("validate_by_name", config.get("populate_by_name", False))
    if config.get("validate_by_alias") is False or by_name:
        name = field.name.replace("_", "-") if convert_underscores else field.name
        if config.get("validate_by_alias") is False:
            return [(field.name, name)]
        if field.name not in [a for a, _ in aliases]:
            aliases.append((field.name, name))
    return aliases


def _request_name(field: SchemaField, convert_underscores: bool = False) -> tuple[str, str]:
    """(validation alias, name in the request) of a parameter."""
    return _param_aliases(field, convert_underscores)[0]


# -- routes ----------------------------------------------------------------------------------

def _unwrapped_call(call: Any) -> Any:
    while isinstance(call, partial):
        call = call.func
    return inspect.unwrap(call) if call is not None else None


def _is_security_scheme(dependant: Dependant) -> bool:
    return isinstance(_unwrapped_call(dependant.call), SecurityBase)


def _uses_scopes(dependant: Dependant) -> bool:
    return bool(
        dependant.own_security_scopes
        or dependant.security_scopes_param_name is not None
        or _is_security_scheme(dependant)
        or any(_uses_scopes(sub) for sub in dependant.dependencies)
    )


def _dedup(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _response_class(route: Any) -> type[Response]:
    response_class = route.response_class
    if isinstance(response_class, DefaultPlaceholder):
        response_class = response_class.value
    return cast(type[Response], response_class)


class _RouteSchema:
    """One route's fields, analysed once per document."""

    def __init__(self, route: Any) -> None:
        self.route = route
        signatures: dict[int, inspect.Signature] = {}
        self.groups: dict[str, list[SchemaField]] = {"path": [], "query": [], "header": [], "cookie": []}
        self.security: list[tuple[SecurityBase, list[str]]] = []
        root: Dependant = route.plan.dependant
        visited: list[Any] = []
        stack: list[tuple[Dependant, list[str], bool]] = [(root, [], True)]
        while stack:
            dependant, parent_scopes, is_root = stack.pop()
            scopes_key = tuple(sorted(set(dependant.security_scopes))) if _uses_scopes(dependant) else ()
            key = (dependant.call, scopes_key)
            if key in visited:
                continue
            visited.append(key)
            if dependant.params and dependant.call is not None:
                signature = _signature(dependant.call, signatures)
                for plan in dependant.params:
                    field = _signature_field(signature.parameters[plan.name], plan.location, plan.field_info)
                    self.groups[plan.location].append(field)
            scopes = _dedup([*parent_scopes, *dependant.security_scopes])
            if not is_root and _is_security_scheme(dependant):
                self.security.append((_unwrapped_call(dependant.call), scopes))
            stack.extend((sub, scopes, False) for sub in reversed(dependant.dependencies))
        self.flat_params = [field for group in self.groups.values() for field in _flat_params(group)]

        body_params: list[SchemaField] = []
        body_stack = [root]
        while body_stack:
            dependant = body_stack.pop()
            if dependant.body_fields and dependant.call is not None:
                signature = _signature(dependant.call, signatures)
                for body in dependant.body_fields:
                    body_params.append(_signature_field(signature.parameters[body.name], "body", body.field_info))
            body_stack.extend(reversed(dependant.dependencies))
        self.body_field = _body_field(body_params, route.unique_id)

        self.response_field: SchemaField | None = None
        if route.response_model:
            self.response_field = SchemaField(
                "Response_" + route.unique_id, FieldInfo(annotation=route.response_model), "serialization"
            )
        # A generator endpoint's items (JSON Lines / SSE), as FastAPI 0.165 documents them.
        self.stream_item_field: SchemaField | None = None
        if getattr(route, "stream_item_type", None) is not None:
            self.stream_item_field = SchemaField(
                "StreamItem_" + route.unique_id, FieldInfo(annotation=route.stream_item_type), "serialization"
            )
        self.response_fields: dict[int | str, SchemaField] = {}
        for status, response in (route.responses or {}).items():
            model = response.get("model") if isinstance(response, dict) else None
            if model:
                self.response_fields[status] = SchemaField(
                    f"Response_{status}_{route.unique_id}", FieldInfo(annotation=model), "serialization"
                )
        self.callbacks = [_RouteSchema(cb) for cb in (getattr(route, "callbacks", None) or []) if _is_api_route(cb)]

    def fields(self) -> list[SchemaField]:
        out: list[SchemaField] = []
        for callback in self.callbacks:
            out.extend(callback.fields())
        if self.body_field is not None:
            out.append(self.body_field)
        if self.response_field is not None:
            out.append(self.response_field)
        out.extend(self.response_fields.values())
        if self.stream_item_field is not None:
            out.append(self.stream_item_field)
        out.extend(self.flat_params)
        return out


def _form_models(field: SchemaField) -> list[type[BaseModel]]:
    info = field.field_info
    if not isinstance(info, params.Form) or info.embed or _is_json_field(field):
        return []
    annotation = info.annotation
    args = get_args(annotation) if get_origin(annotation) in (Union, types.UnionType) else ()
    if args and len(args) == 2 and type(None) in args:
        annotation = next(a for a in args if a is not type(None))
    if _subclass(annotation, BaseModel):
        return [cast(type[BaseModel], annotation)]
    if not args:
        return []
    models = []
    for arg in args:
        if arg is type(None):
            continue
        if get_origin(arg) is Annotated:
            arg = get_args(arg)[0]
        if not _subclass(arg, BaseModel):
            return []
        models.append(arg)
    return models if len(models) > 1 else []


def _should_embed(fields: list[SchemaField]) -> bool:
    if not fields:
        return False
    if len({f.name for f in fields}) > 1:
        return True
    first = fields[0]
    if _form_models(first) and any(
        not _form_models(f) or f.field_info.annotation is not first.field_info.annotation for f in fields[1:]
    ):
        return True
    if getattr(first.field_info, "embed", None):
        return True
    return (
        isinstance(first.field_info, params.Form)
        and not _subclass(first.field_info.annotation, BaseModel)
        and not _form_models(first)
    )


def _body_field(body_params: list[SchemaField], unique_id: str) -> SchemaField | None:
    """The request body as one field: the single body parameter, or a ``Body_<operation>`` model."""
    if not body_params:
        return None
    embed = _should_embed(body_params)
    nullable_form_model = any(
        _form_models(f) and type(None) in get_args(f.field_info.annotation) for f in body_params
    )
    if not embed and not nullable_form_model:
        return body_params[0]
    fields = body_params
    config: ConfigDict | None = None
    if any(_form_models(f) for f in body_params):
        # Form models are flattened into the form: the body schema lists their fields (under
        # the names a browser sends) next to the other form fields.
        fields = []
        for index, field in enumerate(body_params):
            info = copy.copy(field.field_info)
            models = _form_models(field)
            if len(models) == 1:
                model_annotation: Any = Annotated[
                    models[0], GetPydanticSchema(get_pydantic_json_schema=partial(_form_model_schema, models[0]))
                ]
                info.annotation = model_annotation if info.annotation is models[0] else model_annotation | None
            info.alias = info.validation_alias = info.serialization_alias = f"field_{index}"
            info.title = info.title or field.name.replace("_", " ").title()
            fields.append(SchemaField(f"field_{index}", info))
        config = {"json_schema_extra": partial(_apply_form_body_schema, body_params)}
    model_fields: dict[str, Any] = {}
    for field in fields:
        model_fields[field.name] = (field.field_info.annotation, field.field_info)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        body_model: type[BaseModel] = create_model("Body_" + unique_id, __config__=config, **model_fields)
    if not embed:
        info = copy.copy(body_params[0].field_info)
        info.annotation = body_model
        info.metadata = []
        info.discriminator = None
        return SchemaField(body_params[0].name, info)
    required = any(f.field_info.is_required() for f in body_params)
    kwargs: dict[str, Any] = {"annotation": body_model, "alias": "body"}
    if not required:
        kwargs["default"] = None
    marker: type[params.Body]
    if any(isinstance(f.field_info, params.File) for f in body_params):
        marker = params.File
    elif any(isinstance(f.field_info, params.Form) for f in body_params):
        marker = params.Form
    else:
        marker = params.Body
    if marker is not params.File:
        media_types = [f.field_info.media_type for f in body_params if isinstance(f.field_info, marker)]
        if marker is params.Form and "multipart/form-data" in media_types:
            kwargs["media_type"] = "multipart/form-data"
        elif len(set(media_types)) == 1:
            kwargs["media_type"] = media_types[0]
    return SchemaField("body", marker(**kwargs))


def _form_model_schema(model: type[BaseModel], core_schema: Any, handler: Any) -> dict[str, Any]:
    """A form model's schema with its properties under the names a form sends them as."""
    schema: dict[str, Any] = handler(core_schema)
    model_schema = handler.resolve_ref_schema(schema)
    properties = model_schema.get("properties", {})
    required = model_schema.get("required", [])
    renamed: dict[str, list[str]] = {}
    for field in _model_fields(model):
        validation_alias = field.field_info.validation_alias
        if isinstance(validation_alias, AliasChoices):
            schema_name: Any = validation_alias.choices[0]
        else:
            schema_name = field.validation_alias or field.alias
        names = [alias for alias, _ in _param_aliases(field)]
        if isinstance(schema_name, str) and schema_name in properties and (
            names[0] != schema_name or (len(names) > 1 and schema_name in required)
        ):
            renamed[schema_name] = names
    if not renamed:
        return schema
    model_schema = copy.deepcopy(model_schema)
    model_schema["properties"] = {renamed.get(k, [k])[0]: v for k, v in model_schema["properties"].items()}
    model_schema["required"] = []
    for name in required:
        names = renamed.get(name, [name])
        if len(names) == 1:
            model_schema["required"].append(names[0])
        else:
            model_schema.setdefault("allOf", []).append({"anyOf": [{"required": [n]} for n in names]})
    return model_schema


def _apply_form_body_schema(body_params: list[SchemaField], schema: dict[str, Any]) -> None:
    """The ``Body_...`` schema of a form with form models: plain fields as properties, each
    model's schema as an ``allOf`` condition (a nullable model: present entirely or absent)."""
    field_schemas = schema.pop("properties")
    schema.pop("required", None)
    properties: dict[str, Any] = {}
    required: list[str] = []
    conditions: list[dict[str, Any]] = []
    for index, param in enumerate(body_params):
        field_schema = field_schemas[f"field_{index}"]
        models = _form_models(param)
        if not models:
            alias = _param_aliases(param)[0][0]
            if alias in properties:
                conditions.append({"properties": {alias: field_schema}})
            else:
                properties[alias] = field_schema
            if param.field_info.is_required() and alias not in required:
                required.append(alias)
            continue
        field_schema.pop("default", None)
        if type(None) in get_args(param.field_info.annotation):
            field_schema["anyOf"] = [c for c in field_schema["anyOf"] if c.get("type") != "null"]
            absent: dict[str, Any]
            if any(model.model_config.get("extra") in ("allow", "forbid") for model in models):
                absent = {"maxProperties": 0}
            else:
                names = sorted({alias for model in models for item in _model_fields(model)
                                for alias, _ in _param_aliases(item)})
                absent = {"not": {"anyOf": [{"required": [name]} for name in names]}} if names else {}
            if param.field_info.is_required():
                conditions.append({"not": absent})
            else:
                field_schema = {"anyOf": [absent, field_schema]}
        conditions.append(field_schema)
    if properties:
        schema["properties"] = properties
    if required:
        schema["required"] = required
    schema["allOf"] = conditions


# The item schema of an SSE stream (OpenAPI 3.2's event shape), as FastAPI documents it.
_SSE_EVENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "data": {"type": "string"},
        "event": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer", "minimum": 0},
    },
}


def _stream_kind(route: Any) -> str | None:
    """``"sse"`` or ``"jsonl"`` for a generator endpoint that streams its items, else ``None``."""
    if not getattr(route, "is_generator", False):
        return None
    from fastrapi.routing import _is_event_source

    if _is_event_source(route.response_class):
        return "sse"
    return "jsonl" if isinstance(route.response_class, DefaultPlaceholder) else None


def _is_api_route(route: Any) -> bool:
    from fastrapi.routing import APIRoute

    return isinstance(route, APIRoute)


# -- definitions -----------------------------------------------------------------------------

def _flat_models_of_annotation(annotation: Any, known: dict[Any, None]) -> None:
    if get_origin(annotation) is None:
        return
    for arg in get_args(annotation):
        if _subclass(arg, BaseModel | Enum):
            if arg not in known:
                known[arg] = None
                if _subclass(arg, BaseModel):
                    _flat_models_of_model(arg, known)
        else:
            _flat_models_of_annotation(arg, known)


def _flat_models_of_model(model: type[BaseModel], known: dict[Any, None]) -> None:
    for info in model.model_fields.values():
        _flat_models_of_type(info.annotation, known)


def _flat_models_of_type(annotation: Any, known: dict[Any, None]) -> None:
    if _subclass(annotation, BaseModel):
        if annotation in known:
            return
        known[annotation] = None
        _flat_models_of_model(annotation, known)
    elif _subclass(annotation, Enum):
        known[annotation] = None
    else:
        _flat_models_of_annotation(annotation, known)


def _annotation_has_computed_fields(annotation: Any, known: set[Any]) -> bool:
    if _subclass(annotation, BaseModel):
        if annotation in known:
            return False
        known.add(annotation)
        if annotation.model_computed_fields:
            return True
        return any(_annotation_has_computed_fields(f.annotation, known) for f in annotation.model_fields.values())
    return any(_annotation_has_computed_fields(arg, known) for arg in get_args(annotation))


def _has_computed_fields(field: SchemaField) -> bool:
    core_schema = field.adapter.core_schema
    if core_schema.get("schema", {}).get("computed_fields", []):
        return True
    return _annotation_has_computed_fields(field.field_info.annotation, set())


def _contains(items: list[Any], value: Any) -> bool:
    return any(item is value or item == value for item in items)


def get_definitions(
    *, fields: Sequence[SchemaField], separate_input_output_schemas: bool = True
) -> tuple[FieldMapping, dict[str, dict[str, Any]]]:
    """Every field's schema (by field and mode) and the shared component schemas."""
    extra: list[SchemaField] = []
    input_types = [f.field_info.annotation for f in fields]
    for mode in ("validation", "serialization"):
        known: dict[Any, None] = {}
        for field in fields:
            if field.mode == mode:
                _flat_models_of_type(field.field_info.annotation, known)
        extra.extend(
            SchemaField(model.__name__, FieldInfo(annotation=model), cast(Mode, mode))
            for model in known
            if not _contains(input_types, model)
        )
    inputs = []
    for field in [*fields, *extra]:
        mode = field.mode if (separate_input_output_schemas or _has_computed_fields(field)) else "validation"
        inputs.append((field, mode, field.adapter.core_schema))
    generator = GenerateJsonSchema(ref_template=REF_TEMPLATE)
    field_mapping, definitions = generator.generate_definitions(inputs=inputs)  # type: ignore[arg-type]
    for definition in definitions.values():
        if "description" in definition:
            definition["description"] = definition["description"].split("\f")[0]
    return cast(FieldMapping, field_mapping), cast(dict[str, dict[str, Any]], definitions)


def get_schema_from_field(
    *, field: SchemaField, field_mapping: FieldMapping, separate_input_output_schemas: bool = True,
    field_alias: str | None = None,
) -> dict[str, Any]:
    mode: Mode = field.mode
    if not separate_input_output_schemas and not _has_computed_fields(field):
        mode = "validation"
    if field_alias is None:
        if field.mode == "validation":
            field_alias = field.validation_alias or field.alias
        else:
            field_alias = field.serialization_alias or field.alias
    schema = field_mapping[(field, mode)].copy()
    if "$ref" not in schema:
        schema["title"] = field.field_info.title or field_alias.title().replace("_", " ")
    return schema


# -- operations ------------------------------------------------------------------------------

class _Builder:
    def __init__(self, field_mapping: FieldMapping, separate: bool) -> None:
        self.field_mapping = field_mapping
        self.separate = separate
        self.operation_ids: set[str] = set()

    def schema(self, field: SchemaField, field_alias: str | None = None) -> dict[str, Any]:
        return get_schema_from_field(field=field, field_mapping=self.field_mapping,
                                     separate_input_output_schemas=self.separate, field_alias=field_alias)

    def parameters(self, doc: _RouteSchema) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for location, group in doc.groups.items():
            for parent in group:
                if not getattr(parent.field_info, "include_in_schema", True):
                    continue
                model = _param_model(parent)
                optional_model = (
                    model is not None and parent.field_info.annotation is not model
                    and not parent.field_info.is_required()
                )
                for field in _flat_params([parent]):
                    info = field.field_info
                    convert = location == "header" and getattr(
                        info, "convert_underscores", getattr(parent.field_info, "convert_underscores", True)
                    )
                    alias, name = _request_name(field, bool(convert))
                    parameter: dict[str, Any] = {
                        "name": name,
                        "in": location,
                        "required": info.is_required() and not optional_model,
                        "schema": self.schema(field, alias),
                    }
                    if info.description:
                        parameter["description"] = info.description
                    openapi_examples = getattr(info, "openapi_examples", None)
                    example = getattr(info, "example", None)
                    if openapi_examples:
                        parameter["examples"] = jsonable_encoder(openapi_examples)
                    elif example is not params._Unset:
                        parameter["example"] = jsonable_encoder(example)
                    if getattr(info, "deprecated", None):
                        parameter["deprecated"] = True
                    out.append(parameter)
        return out

    def request_body(self, field: SchemaField | None) -> dict[str, Any] | None:
        if field is None:
            return None
        info = field.field_info
        content: dict[str, Any] = {"schema": self.schema(field)}
        openapi_examples = getattr(info, "openapi_examples", None)
        example = getattr(info, "example", params._Unset)
        if openapi_examples:
            content["examples"] = jsonable_encoder(openapi_examples)
        elif example is not params._Unset:
            content["example"] = jsonable_encoder(example)
        body: dict[str, Any] = {}
        if info.is_required():
            body["required"] = True
        body["content"] = {getattr(info, "media_type", "application/json"): content}
        return body

    def path_item(self, doc: _RouteSchema) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
        route = doc.route
        path: dict[str, Any] = {}
        security_schemes: dict[str, Any] = {}
        definitions: dict[str, Any] = {}
        if not route.include_in_schema:
            return path, security_schemes, definitions
        response_class = _response_class(route)
        media_type = response_class.media_type
        for method in route._method_order:
            operation = self.metadata(route)
            security: dict[str, list[str]] = {}
            for scheme, scopes in doc.security:
                security_schemes[scheme.scheme_name] = jsonable_encoder(scheme.model, by_alias=True, exclude_none=True)
                merged = security.setdefault(scheme.scheme_name, [])
                merged.extend(s for s in scopes if s not in merged)
            if security:
                operation.setdefault("security", []).extend({name: scopes} for name, scopes in security.items())
            parameters = self.parameters(doc)
            if parameters:
                by_key = {(p["in"], p["name"]): p for p in parameters}
                by_key.update({(p["in"], p["name"]): p for p in parameters if p.get("required")})
                operation["parameters"] = list(by_key.values())
            if method in METHODS_WITH_BODY:
                body = self.request_body(doc.body_field)
                if body:
                    operation["requestBody"] = body
            if doc.callbacks:
                callbacks = {}
                for callback in doc.callbacks:
                    cb_path, _, _ = self.path_item(callback)
                    callbacks[callback.route.name] = {callback.route.path: cb_path}
                operation["callbacks"] = callbacks
            responses = operation.setdefault("responses", {})
            status_code = self.default_status(route, response_class)
            responses.setdefault(status_code, {})["description"] = route.response_description
            stream = _stream_kind(route)
            if is_body_allowed_for_status_code(route.status_code) and stream == "sse":
                item_schema: dict[str, Any] = copy.deepcopy(_SSE_EVENT_SCHEMA)
                if doc.stream_item_field is not None:
                    item_schema["required"] = ["data"]
                    item_schema["properties"]["data"] = {
                        "type": "string",
                        "contentMediaType": "application/json",
                        "contentSchema": self.schema(doc.stream_item_field),
                    }
                responses[status_code].setdefault("content", {})["text/event-stream"] = {"itemSchema": item_schema}
            elif is_body_allowed_for_status_code(route.status_code) and stream == "jsonl":
                item = self.schema(doc.stream_item_field) if doc.stream_item_field is not None else {}
                responses[status_code].setdefault("content", {})["application/jsonl"] = {"itemSchema": item}
            elif is_body_allowed_for_status_code(route.status_code) and media_type:
                schema: dict[str, Any] = {"type": "string"}
                if _subclass(response_class, JSONResponse):
                    schema = self.schema(doc.response_field) if doc.response_field is not None else {}
                responses[status_code].setdefault("content", {}).setdefault(media_type, {})["schema"] = schema
            for code, extra in (route.responses or {}).items():
                self.additional_response(responses, code, extra, doc.response_fields.get(code), media_type)
            if (doc.flat_params or doc.body_field is not None) and not any(
                key in responses for key in ("422", "4XX", "default")
            ):
                responses["422"] = {
                    "description": "Validation Error",
                    "content": {"application/json": {"schema": {"$ref": REF_PREFIX + "HTTPValidationError"}}},
                }
                definitions.setdefault("ValidationError", validation_error_definition)
                definitions.setdefault("HTTPValidationError", validation_error_response_definition)
            if route.openapi_extra:
                deep_dict_update(operation, route.openapi_extra)
            path[method.lower()] = operation
        return path, security_schemes, definitions

    def metadata(self, route: Any) -> dict[str, Any]:
        operation: dict[str, Any] = {}
        if route.tags:
            operation["tags"] = route.tags
        operation["summary"] = route.summary or route.name.replace("_", " ").title()
        if route.description:
            operation["description"] = route.description
        operation_id = route.operation_id or route.unique_id
        if operation_id in self.operation_ids:
            endpoint_name = getattr(route.endpoint, "__name__", "<unnamed_endpoint>")
            message = f"Duplicate Operation ID {operation_id} for function {endpoint_name}"
            file_name = getattr(route.endpoint, "__globals__", {}).get("__file__")
            if file_name:
                message += f" at {file_name}"
            warnings.warn(message, stacklevel=1)
        self.operation_ids.add(operation_id)
        operation["operationId"] = operation_id
        if route.deprecated:
            operation["deprecated"] = route.deprecated
        return operation

    @staticmethod
    def default_status(route: Any, response_class: type[Response]) -> str:
        if route.status_code is not None:
            return str(int(route.status_code))
        parameter = inspect.signature(response_class.__init__).parameters.get("status_code")
        if parameter is not None and isinstance(parameter.default, int):
            return str(parameter.default)
        return "200"

    def additional_response(self, responses: dict[str, Any], code: int | str, extra: dict[str, Any],
                            field: SchemaField | None, media_type: str | None) -> None:
        response = copy.deepcopy(extra)
        response.pop("model", None)
        key = str(code).upper()
        if key == "DEFAULT":
            key = "default"
        current = responses.setdefault(key, {})
        if field is not None:
            target = response.setdefault("content", {}).setdefault(media_type or "application/json", {})
            deep_dict_update(target.setdefault("schema", {}), self.schema(field))
        status_text = status_code_ranges.get(str(code).upper())
        if status_text is None:
            try:
                status_text = http.client.responses.get(int(code))
            except ValueError:
                status_text = None
        description = response.get("description") or current.get("description") or status_text or \
            "Additional Response"
        deep_dict_update(current, response)
        current["description"] = description


def _api_route_schemas(routes: Iterable[Any]) -> list[_RouteSchema]:
    return [_RouteSchema(route) for route in routes if _is_api_route(route)]


def get_openapi(
    *,
    title: str,
    version: str,
    openapi_version: str = "3.1.0",
    summary: str | None = None,
    description: str | None = None,
    routes: Sequence[Any],
    webhooks: Sequence[Any] | None = None,
    tags: list[dict[str, Any]] | None = None,
    servers: list[dict[str, str | Any]] | None = None,
    terms_of_service: str | None = None,
    contact: dict[str, str | Any] | None = None,
    license_info: dict[str, str | Any] | None = None,
    separate_input_output_schemas: bool = True,
    external_docs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The OpenAPI document (as JSON-ready data) of ``routes`` and ``webhooks``."""
    info: dict[str, Any] = {"title": title, "version": version}
    for key, value in (("summary", summary), ("description", description), ("termsOfService", terms_of_service),
                       ("contact", contact), ("license", license_info)):
        if value:
            info[key] = value
    output: dict[str, Any] = {"openapi": openapi_version, "info": info}
    if servers:
        output["servers"] = servers
    route_docs = _api_route_schemas(routes)
    webhook_docs = _api_route_schemas(webhooks or [])
    fields = [f for doc in [*route_docs, *webhook_docs] if doc.route.include_in_schema for f in doc.fields()]
    field_mapping, definitions = get_definitions(fields=fields,
                                                 separate_input_output_schemas=separate_input_output_schemas)
    builder = _Builder(field_mapping, separate_input_output_schemas)
    components: dict[str, dict[str, Any]] = {}
    sections: list[dict[str, dict[str, Any]]] = [{}, {}]
    for section, docs in zip(sections, (route_docs, webhook_docs), strict=True):
        for doc in docs:
            path, security_schemes, path_definitions = builder.path_item(doc)
            if path:
                section.setdefault(doc.route.path_format, {}).update(path)
            if security_schemes:
                components.setdefault("securitySchemes", {}).update(security_schemes)
            definitions.update(path_definitions)
    if definitions:
        components["schemas"] = {name: definitions[name] for name in sorted(definitions)}
    if components:
        output["components"] = components
    output["paths"] = sections[0]
    if sections[1]:
        output["webhooks"] = sections[1]
    if tags:
        output["tags"] = tags
    if external_docs:
        output["externalDocs"] = external_docs
    return jsonable_encoder(OpenAPI(**output), by_alias=True, exclude_none=True)  # type: ignore[no-any-return]
