"""The columns of each dataset table, declared once.

A column type is ``"string"``, ``"int64"``, ``"float64"``, ``"bool"``, a
one-item list ``[type]`` (a sequence) or a dict ``{name: type}`` (a struct).
From that one declaration come the pyarrow schema the parquet files are
written with (:func:`arrow_schema`) and the ``dataset_info.features`` of the
dataset card (:func:`hf_features`), so the card always says what the files hold.
Every column is nullable; JSON lines carry every column (``null`` when unknown).

``tool_calls[].arguments`` and the ``extra`` objects are JSON *strings*: their
keys differ from one tool or event type to the next, and a table needs one type
per column (OpenAI's tool calls carry their arguments the same way).
"""

from __future__ import annotations

from typing import Any

Spec = dict[str, Any]

ATTRIBUTION_KINDS = ("human", "agent", "command", "unknown")


def attribution_known() -> bool:
    """Does the trace format carry ``artifacts.attribution`` (issue 17)?

    The instance table has its ``attribution_*`` share columns only then, so a
    dataset never declares columns that are always empty.
    """
    from prtrace.trace import Artifacts

    return "attribution" in Artifacts.__struct_fields__


def instance_spec(*, swebench_strings: bool = False, attribution: bool | None = None) -> Spec:
    tests: Any = "string" if swebench_strings else ["string"]
    spec: Spec = {
        "instance_id": "string",
        "repo": "string",
        "base_commit": "string",
        "patch": "string",
        "test_patch": "string",
        "problem_statement": "string",
        "hints_text": "string",
        "created_at": "string",
        "version": "string",
        "FAIL_TO_PASS": tests,
        "PASS_TO_PASS": tests,
        "environment_setup_commit": "string",
        # prtrace's own columns
        "trace_id": "string",
        "repository": "string",
        "developer": "string",
        "test_image": "string",
        "test_command": "string",
        "verdict": "string",
        "judge_overall": "float64",
        "judge_model": "string",
        "judge_rubric": "string",
        "judge_scores": [{"dimension": "string", "score": "float64"}],
        "event_count": "int64",
        "sealed_at": "string",
    }
    if attribution_known() if attribution is None else attribution:
        for kind in ATTRIBUTION_KINDS:
            spec[f"attribution_{kind}"] = "float64"
    return spec


PREDICTION_SPEC: Spec = {
    "instance_id": "string",
    "model_name_or_path": "string",
    "model_patch": "string",
}

TOOL_CALL: Spec = {"tool_call_id": "string", "function_name": "string", "arguments": "string"}
RESULT: Spec = {"source_call_id": "string", "content": "string"}
STEP: Spec = {
    "step_id": "int64",
    "timestamp": "string",
    "source": "string",
    "message": "string",
    "reasoning_content": "string",
    "tool_calls": [TOOL_CALL],
    "observation": {"results": [RESULT]},
    "extra": "string",
}
TRAJECTORY_SPEC: Spec = {
    "schema_version": "string",
    "session_id": "string",
    "instance_id": "string",
    "trace_id": "string",
    "agent": {"name": "string", "version": "string"},
    "steps": [STEP],
    "notes": "string",
    "final_metrics": {"total_steps": "int64"},
    "verdict": "string",
    "extra": "string",
}


def arrow_type(kind: Any) -> Any:
    import pyarrow as pa

    if isinstance(kind, list):
        return pa.list_(arrow_type(kind[0]))
    if isinstance(kind, dict):
        return pa.struct([pa.field(name, arrow_type(sub)) for name, sub in kind.items()])
    return {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
    }[kind]


def arrow_schema(spec: Spec) -> Any:
    import pyarrow as pa

    return pa.schema([pa.field(name, arrow_type(kind)) for name, kind in spec.items()])


def _hf(name: str, kind: Any) -> dict[str, Any]:
    """One feature in the card's YAML form (``datasets.Features._from_yaml_list``)."""
    if isinstance(kind, list):
        inner = kind[0]
        if isinstance(inner, dict):
            return {"name": name, "list": [_hf(n, k) for n, k in inner.items()]}
        if isinstance(inner, list):
            return {"name": name, "list": {"list": _hf_type(inner[0])}}
        return {"name": name, "list": inner}
    if isinstance(kind, dict):
        return {"name": name, "struct": [_hf(n, k) for n, k in kind.items()]}
    return {"name": name, "dtype": kind}


def _hf_type(kind: Any) -> Any:
    return _hf("x", kind).get("dtype") or _hf("x", kind)


def hf_features(spec: Spec) -> list[dict[str, Any]]:
    return [_hf(name, kind) for name, kind in spec.items()]


def conform(row: dict[str, Any], spec: Spec) -> dict[str, Any]:
    """``row`` with exactly the spec's columns, in its order (missing ones ``None``)."""
    return {name: row.get(name) for name in spec}
