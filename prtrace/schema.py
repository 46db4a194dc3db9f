"""The JSON Schema of the trace format, made from the msgspec types.

``prtrace schema`` prints it and the API serves it at ``/trace-schema.json``;
both come from here, so the schema is always the code.
"""

from __future__ import annotations

from typing import Any

import msgspec

from prtrace import TRACE_FORMAT_VERSION
from prtrace.trace import Trace

SCHEMA_ID = f"https://prtrace.dev/schema/{TRACE_FORMAT_VERSION}.json"


def trace_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) for a whole trace document."""
    schema = msgspec.json.schema(Trace)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = SCHEMA_ID
    schema["title"] = f"prtrace trace {TRACE_FORMAT_VERSION}"
    return schema
