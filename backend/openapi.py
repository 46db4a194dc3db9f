"""The OpenAPI document: every body, response and error, from the msgspec types.

The routes read their bodies raw (``request.body()``: validating each event on
its own is what makes ingest fast), so Litestar sees neither request bodies
nor response types and would publish empty schemas. This module completes
the document Litestar generates, after the fact, from one table
(:data:`OPERATIONS`) and the very types the server decodes with
(:mod:`prtrace.api_types`, :mod:`prtrace.trace`), turned into JSON Schema by
:func:`msgspec.json.schema_components`. Route modules stay as they are.

Every error is an :class:`~prtrace.api_types.ErrorBody`; each operation lists
the statuses it can answer with, so a client (or schemathesis) can tell a
documented refusal from a bug. Links from ``POST /traces`` to the trace's
other operations let a stateful fuzzer follow a trace through its life.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.routes import HTTPRoute

from prtrace import api_types as api
from prtrace.trace import Trace

REF = "#/components/schemas/{name}"
JSON = "application/json"

ERROR_TEXT = {
    400: "Malformed: the body is not JSON, or a query parameter is invalid",
    401: "No bearer token, or not `Bearer <token>`",
    403: "The token does not open this operation",
    404: "No such trace or job",
    409: "Conflicts with stored state (another body under the same `seq`, a sealed trace)",
    413: "The body is larger than the API accepts",
    422: "Not valid: a body or value the types refuse, a cursor not from a previous page "
    "(`field` names the offending value)",
}


@dataclass(frozen=True)
class Operation:
    """What one endpoint takes and gives, beyond what Litestar can see."""

    ok: int
    returns: Any
    """A msgspec type; or a literal JSON Schema (dict) for non-JSON answers."""
    errors: tuple[int, ...]
    body: Any = None
    body_required: bool = True
    auth: tuple[str, ...] = ("ApiToken",)
    media_type: str = JSON


_TOKEN = (401, 403)
_BODY = (400, 413, 422)
_WRITER = ("ApiToken", "UploadToken")

OPERATIONS: dict[tuple[str, str], Operation] = {
    ("post", "/traces"): Operation(
        201, api.CreateTraceResponse, _TOKEN + _BODY, body=api.CreateTraceRequest
    ),
    ("get", "/traces"): Operation(200, api.TraceList, (400,) + _TOKEN + (422,)),
    ("post", "/traces/{trace_id}/events"): Operation(
        200, api.BatchAccepted, _TOKEN + _BODY + (404, 409), body=api.EventBatch, auth=_WRITER
    ),
    ("post", "/traces/{trace_id}/finalize"): Operation(
        200,
        api.FinalizeResponse,
        _TOKEN + _BODY + (404, 409),
        body=api.FinalizeRequest,
        body_required=False,
        auth=_WRITER,
    ),
    ("post", "/traces/{trace_id}/qa"): Operation(202, api.JobAccepted, _TOKEN + (404, 422)),
    ("get", "/traces/{trace_id}"): Operation(200, Trace, (400,) + _TOKEN + (404, 422)),
    ("delete", "/traces/{trace_id}"): Operation(200, api.TraceDeleted, _TOKEN + (404,)),
    ("get", "/traces/{trace_id}/events"): Operation(
        200, api.StoredEventList, (400,) + _TOKEN + (404, 422)
    ),
    ("post", "/traces/{trace_id}/judge"): Operation(
        202, api.JobAccepted, _TOKEN + _BODY + (404,), body=api.JudgeRequest, body_required=False
    ),
    ("get", "/traces/{trace_id}/judgements"): Operation(
        200, api.JudgementList, _TOKEN + (404, 422)
    ),
    ("get", "/traces/{trace_id}/agent-trace"): Operation(
        200,
        {
            "type": "object",
            "description": "Who wrote each line of the final patch, as one Agent Trace record "
            "(cursor/agent-trace 0.1.0; docs/agents.md)",
        },
        _TOKEN + (404, 422),
    ),
    ("get", "/jobs/{job_id}"): Operation(200, api.JobStatus, _TOKEN + (404, 422)),
    ("get", "/healthz"): Operation(200, api.Health, (), auth=()),
    ("get", "/trace-schema.json"): Operation(
        200,
        {"type": "object", "description": "JSON Schema (2020-12) of the trace format"},
        (),
        auth=(),
        media_type="application/schema+json",
    ),
    ("get", "/ui/api/traces/{trace_id}"): Operation(
        200,
        {
            "allOf": [
                {"$ref": REF.format(name="Trace")},
                {
                    "type": "object",
                    "required": ["event_count"],
                    "properties": {"event_count": {"type": "integer", "minimum": 0}},
                },
            ],
            "description": "The trace document with `events` left empty and their count",
        },
        _TOKEN + (404, 422),
    ),
    ("get", "/export"): Operation(
        200,
        {"type": "string", "description": "One trace document (`Trace`) per line"},
        (400,) + _TOKEN + (422,),
        media_type="application/x-ndjson",
    ),
}

SECURITY_SCHEMES = {
    "ApiToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (`pta_…`): opens every operation",
    },
    "UploadToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "A trace's upload token (`ptu_…`, from `POST /traces`): "
        "appends to and finalizes that trace only",
    },
}

_TRACE_LINKS = {
    "UploadEvents": ("TracesTraceIdEventsUploadEvents", "upload_token"),
    "Finalize": ("TracesTraceIdFinalizeFinalizeTrace", "upload_token"),
    "GetTrace": ("TracesTraceIdGetTrace", None),
    "ListEvents": ("TracesTraceIdEventsListEvents", None),
    "RequestQA": ("TracesTraceIdQaRequestQa", None),
}


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of Litestar's document with bodies, responses, errors and auth filled in."""
    doc = copy.deepcopy(document)
    types = [api.ErrorBody] + [
        t
        for op in OPERATIONS.values()
        for t in (op.returns, op.body)
        if t is not None and not isinstance(t, dict)
    ]
    refs, components = msgspec.json.schema_components(types, ref_template=REF)
    ref_of = dict(zip(map(id, types), refs, strict=True))
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(components)
    doc["components"]["securitySchemes"] = SECURITY_SCHEMES
    error_ref = ref_of[id(api.ErrorBody)]
    operations = [
        (path, method, operation)
        for path, item in doc.get("paths", {}).items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "responses" in operation
    ]
    operation_ids = {
        operation["operationId"] for _, _, operation in operations if "operationId" in operation
    }
    for path, method, operation in operations:
        for parameter in operation.get("parameters", []):
            _widen_times(parameter.get("schema", {}))
        spec = OPERATIONS.get((method, path))
        if spec is None:  # an endpoint not in the table: at least its errors are right
            _errors(operation, (400, 401, 403, 404, 422), error_ref)
            continue
        returns = spec.returns if isinstance(spec.returns, dict) else ref_of[id(spec.returns)]
        operation["responses"] = {
            str(spec.ok): {
                "description": _summary(operation),
                "content": {spec.media_type: {"schema": returns}},
            },
        }
        # 422 everywhere: NUL in any path or query is refused (prtrace.backend.errors.refuse_nul).
        _errors(operation, tuple(sorted({*spec.errors, 422})), error_ref)
        if spec.body is not None:
            operation["requestBody"] = {
                "required": spec.body_required,
                "content": {JSON: {"schema": ref_of[id(spec.body)]}},
            }
        operation["security"] = [{name: []} for name in spec.auth] if spec.auth else []
        if (method, path) == ("post", "/traces"):
            operation["responses"]["201"]["links"] = _links(operation_ids)
    return doc


def _errors(operation: dict[str, Any], statuses: tuple[int, ...], error_ref: dict) -> None:
    responses = operation["responses"]
    for status in statuses:
        response = {"description": ERROR_TEXT[status], "content": {JSON: {"schema": error_ref}}}
        if status == 401:
            response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
        responses[str(status)] = response


def _widen_times(schema: dict[str, Any]) -> None:
    """A time in a query may also be Unix seconds: Litestar parses ``1767225600.5`` too."""
    options = schema.get("oneOf", schema.get("anyOf", []))
    for i, option in enumerate(options):
        if option == {"type": "string", "format": "date-time"}:
            options[i] = {
                "anyOf": [option, {"type": "number"}],
                "description": "RFC 3339, or Unix seconds",
            }


def _summary(operation: dict[str, Any]) -> str:
    return operation.get("summary") or "OK"


def _links(operation_ids: set[str]) -> dict[str, Any]:
    """OpenAPI links from a created trace to its operations (those that exist)."""
    return {
        name: {
            "operationId": operation_id,
            "parameters": {"trace_id": "$response.body#/trace_id"},
            "description": "the new trace"
            + (" (send its `upload_token` as the bearer token)" if token else ""),
        }
        for name, (operation_id, token) in _TRACE_LINKS.items()
        if operation_id in operation_ids
    }


def install(app: Litestar) -> None:
    """Serve the completed document at ``/schema/openapi.json`` (and the other renderings),
    and make ``OPTIONS`` name every method the document lists for a path.

    Litestar builds its document once and keeps it in the OpenAPI plugin;
    putting the completed one there makes every rendering serve it.
    """
    plugin = app.plugins.get(OpenAPIPlugin)
    plugin._openapi_schema = complete(plugin.provide_openapi().to_schema())
    _fix_allow_headers(app)


def _fix_allow_headers(app: Litestar) -> None:
    """Litestar answers ``OPTIONS`` of a path served by several handlers (``GET`` and
    ``POST /traces``) from the route made for the first handler only, so its
    ``Allow`` leaves the later methods out. Point that answer at the merged route's
    methods."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if "OPTIONS" not in handler.http_methods:
                continue
            for cell in handler.fn.__closure__ or ():
                stale = cell.cell_contents
                if isinstance(stale, HTTPRoute) and stale is not route:
                    stale.methods = route.methods
