"""The OpenAPI 3.1 document of the JSON API, generated from the endpoints and their marshmallow schemas.

OpenAPI 3.1 schemas are JSON Schema 2020-12, so a small converter from
marshmallow fields is enough; every endpoint declares its body, responses and
errors once, where it is registered (``api_core.endpoint``).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from marshmallow import RAISE, Schema, fields, missing, validate

_RULE_ARG = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_CONVERTER_TYPES = {"int": "integer", "float": "number"}

ERROR_TEXT = {400: "Malformed request (bad JSON, CSRF header missing for a cookie session)",
              401: "Not signed in: send `Authorization: Bearer <token>`",
              403: "Signed in, but this role or person may not do this",
              404: "No such object, or not one the caller may see",
              409: "Conflicts with the current state",
              413: "Body larger than the server accepts",
              422: "The body does not validate; `fields` says where"}


@dataclass(frozen=True)
class Endpoint:
    rule: str                              # Flask rule relative to the blueprint, e.g. /essays/<int:essay_id>
    method: str
    view: str                              # endpoint name, the OpenAPI operationId
    summary: str
    roles: tuple[str, ...] | None          # None: no sign-in needed
    body: type[Schema] | None = None
    responses: dict[int, type[Schema] | None] = field(default_factory=dict)
    errors: tuple[int, ...] = ()
    # name -> description (an integer), or (description, JSON schema) for any other parameter
    query: dict[str, str | tuple[str, dict[str, Any]]] = field(default_factory=dict)
    tag: str = "api"


def _name(schema: type[Schema] | Schema) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__.removesuffix("Schema")


class _Converter:
    """marshmallow schema classes -> JSON Schema objects collected under components/schemas."""

    def __init__(self):
        self.components: dict[str, dict[str, Any]] = {}

    def ref(self, schema: type[Schema] | Schema) -> dict[str, str]:
        name = _name(schema)
        if name not in self.components:
            self.components[name] = {}          # reserve first: schemas may refer to themselves
            self.components[name] = self._object(schema if isinstance(schema, Schema) else schema())
        return {"$ref": f"#/components/schemas/{name}"}

    def _object(self, schema: Schema) -> dict[str, Any]:
        properties, required = {}, []
        for attr, fld in schema.fields.items():
            key = fld.data_key or attr
            properties[key] = self.field(fld)
            if fld.required:
                required.append(key)
        out: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            out["required"] = required
        if getattr(schema.Meta, "unknown", None) == RAISE and type(schema).Meta is not Schema.Meta:
            out["additionalProperties"] = False
        doc = type(schema).__doc__
        if doc:
            out["description"] = doc.strip().splitlines()[0]
        return out

    def field(self, fld: fields.Field) -> dict[str, Any]:
        out = self._type(fld)
        for validator in getattr(fld, "validators", []):
            out.update(_validator(validator, out.get("type")))
        if fld.metadata.get("description"):
            out["description"] = fld.metadata["description"]
        if fld.load_default is not missing and fld.load_default is not None and not callable(fld.load_default):
            out["default"] = fld.load_default
        if fld.allow_none:
            out = _nullable(out)
        return out

    def _type(self, fld: fields.Field) -> dict[str, Any]:
        if isinstance(fld, fields.Nested):
            return self.ref(fld.schema)
        if isinstance(fld, fields.List):
            return {"type": "array", "items": self.field(fld.inner)}
        if isinstance(fld, fields.Dict):
            values = self.field(fld.value_field) if fld.value_field is not None else {}
            return {"type": "object", "additionalProperties": values}
        if isinstance(fld, fields.DateTime):
            return {"type": "string", "format": "date-time"}
        if isinstance(fld, fields.Boolean):
            return {"type": "boolean"}
        if isinstance(fld, fields.Integer):
            return {"type": "integer"}
        if isinstance(fld, fields.Number):
            return {"type": "number"}
        if isinstance(fld, fields.String):
            return {"type": "string"}
        return {}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema or "type" not in schema:
        extra = {k: v for k, v in schema.items() if k == "description"}
        rest = {k: v for k, v in schema.items() if k != "description"}
        return {"anyOf": [rest, {"type": "null"}], **extra}
    return {**schema, "type": [schema["type"], "null"]}


def _validator(validator, json_type: str | None) -> dict[str, Any]:
    if isinstance(validator, validate.Length):
        low, high = ("minItems", "maxItems") if json_type == "array" else ("minLength", "maxLength")
        return {k: v for k, v in ((low, validator.min), (high, validator.max)) if v is not None}
    if isinstance(validator, validate.Range):
        return {k: v for k, v in (("minimum", validator.min), ("maximum", validator.max)) if v is not None}
    if isinstance(validator, validate.OneOf):
        return {"enum": list(validator.choices)}
    return {}


def openapi_path(rule: str) -> str:
    """/essays/<int:essay_id>/grade -> /essays/{essay_id}/grade"""
    return _RULE_ARG.sub(lambda m: "{" + m.group(2) + "}", rule)


def _parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    params = [{"name": name, "in": "path", "required": True,
               "schema": {"type": _CONVERTER_TYPES.get(conv or "", "string")}}
              for conv, name in _RULE_ARG.findall(endpoint.rule)]
    for name, spec in endpoint.query.items():
        text, schema = (spec, {"type": "integer"}) if isinstance(spec, str) else spec
        params.append({"name": name, "in": "query", "required": False, "description": text, "schema": schema})
    return params


def _operation(endpoint: Endpoint, conv: _Converter, error_ref: dict[str, str]) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": endpoint.view, "summary": endpoint.summary, "tags": [endpoint.tag]}
    if endpoint.roles is None:
        op["security"] = []
    else:
        op["description"] = "Roles: " + ", ".join(endpoint.roles) + "."
    params = _parameters(endpoint)
    if params:
        op["parameters"] = params
    if endpoint.body is not None:
        required = any(f.required for f in endpoint.body().fields.values())   # else an empty body will do
        op["requestBody"] = {"required": required,
                             "content": {"application/json": {"schema": conv.ref(endpoint.body)}}}
    responses: dict[str, Any] = {}
    for status, schema in endpoint.responses.items():
        entry: dict[str, Any] = {"description": "OK" if status < 300 else str(status)}
        if status == 201:
            entry["description"] = "Created"
        if schema is not None:
            entry["content"] = {"application/json": {"schema": conv.ref(schema)}}
        responses[str(status)] = entry
    errors = set(endpoint.errors)
    if endpoint.body is not None:
        errors |= {400, 413, 422}
    if endpoint.roles is not None:
        errors |= {401, 403}
        if endpoint.method != "GET":
            errors.add(400)      # a cookie session without the X-CSRFToken header
    for status in sorted(errors):
        responses[str(status)] = {"description": ERROR_TEXT.get(status, str(status)),
                                  "content": {"application/json": {"schema": error_ref}}}
    op["responses"] = responses
    return op


def build_document(endpoints: list[Endpoint], *, title: str, version: str, server: str,
                   error_schema: type[Schema], description: str = "") -> dict[str, Any]:
    conv = _Converter()
    error_ref = conv.ref(error_schema)
    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(openapi_path(endpoint.rule), {})[endpoint.method.lower()] = \
            _operation(endpoint, conv, error_ref)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "servers": [{"url": server}],
        "security": [{"bearerAuth": []}, {"cookieSession": []}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(conv.components.items())),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "A token from POST /tokens."},
                "cookieSession": {"type": "apiKey", "in": "cookie", "name": "session",
                                  "description": "The browser's session; unsafe methods also need the "
                                                 "X-CSRFToken header (the page's csrf-token meta tag)."},
            },
        },
    }
