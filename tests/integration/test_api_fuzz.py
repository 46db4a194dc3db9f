"""Fuzzing the API with schemathesis against the OpenAPI document it serves.

A real ``prtrace serve`` (on SQLite, and on PostgreSQL + S3) takes requests
that schemathesis generates from ``/schema/openapi.json`` — examples, the
coverage phase's edge cases, random valid and invalid bodies, query strings
and path parameters, and stateful sequences along the document's links
(create a trace, upload to it, finalize it, read it). They are sent with the
API token; a second run sends the two upload-token operations with the
upload token of a real trace. Every check schemathesis has must pass: no 5xx,
documented statuses, content types, headers and schemas (errors included),
invalid data refused with a 4xx, auth not ignorable, 405 with ``Allow``.

``positive_data_acceptance`` is left out: schema-valid data for a trace id
nobody created is rightly a 404.

schemathesis runs as its CLI (``st run``) in a subprocess: its pytest plugin
does not work with this pytest, and the CLI is also what an operator would
run against a deployment. Bounded: a fixed seed and ``--max-examples``.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from prtrace.demo.server import ServerProcess

MAX_EXAMPLES = "15"
UPLOAD_OPERATIONS = r"^/traces/\{trace_id\}/(events|finalize)$"


@pytest.fixture(scope="module", params=["sqlite", "postgres+s3"])
def fuzzed_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    env = {"PRTRACE_QA_ON_FINALIZE": "false", "PRTRACE_WORKERS": "0"}
    if request.param == "postgres+s3":
        env["PRTRACE_DATABASE_URL"] = request.getfixturevalue("module_pg_url")
        env.update(request.getfixturevalue("module_s3_bucket").env())
    server = ServerProcess(tmp_path_factory.mktemp("fuzz") / "home", env=env).start()
    try:
        yield server
    finally:
        server.stop()


# Every check (schemathesis's default) but ``positive_data_acceptance``; 413 is a
# documented refusal too (more than MAX_BATCH_EVENTS events, a body over the limit).
CONFIG = """\
[checks]
positive_data_acceptance.enabled = false
negative_data_rejection.expected-statuses = [400, 401, 403, 404, 405, 409, 413, 422]
"""


def schemathesis(
    server: ServerProcess, workdir: Path, token: str, *args: str, parameters: str = ""
) -> None:
    """``st run`` against the server's document; fails the test with its findings."""
    (workdir / "schemathesis.toml").write_text(CONFIG + parameters)
    st = Path(sys.executable).with_name("st")
    command = [
        str(st),
        "run",
        f"{server.url}/schema/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        MAX_EXAMPLES,
        "--seed",
        "1",
        "--no-color",
        "--report-dir",
        str(workdir),
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, cwd=workdir, timeout=600)
    out = done.stdout
    findings = out[out.find("FAILURES") : out.find("SUMMARY")] if "FAILURES" in out else out[-4000:]
    findings = "\n".join(line[:400] for line in findings.splitlines() if line.strip())
    assert done.returncode == 0, (
        f"schemathesis found problems:\n{findings[:30000]}\n{done.stderr[-3000:]}\n"
        f"{server.log_tail(30)}"
    )
    assert " passed" in out and " failed" not in out, out[-3000:]


def test_every_operation_with_the_api_token(fuzzed_server: ServerProcess, tmp_path: Path) -> None:
    schemathesis(fuzzed_server, tmp_path, fuzzed_server.api_token)


def test_upload_operations_with_an_upload_token(
    fuzzed_server: ServerProcess, tmp_path: Path
) -> None:
    created = (
        httpx.post(
            f"{fuzzed_server.url}/traces",
            headers={"Authorization": f"Bearer {fuzzed_server.api_token}"},
            json={"developer": {"id": "fuzz"}, "task": {"repository": "r", "commit": "abcdef0"}},
        )
        .raise_for_status()
        .json()
    )
    # The trace's id for the path (a finalize seals it: later uploads get a documented 409).
    schemathesis(
        fuzzed_server,
        tmp_path,
        created["upload_token"],
        "--include-path-regex",
        UPLOAD_OPERATIONS,
        "--phases",
        "examples,coverage,fuzzing",
        parameters=f'[parameters]\n"path.trace_id" = "{created["trace_id"]}"\n',
    )


def test_the_document_describes_every_operation(fuzzed_server: ServerProcess) -> None:
    """Bodies, answers and errors are all there (Litestar alone would leave them empty)."""
    document = httpx.get(f"{fuzzed_server.url}/schema/openapi.json").raise_for_status().json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            ok = [s for s in operation["responses"] if s.startswith("2")]
            assert len(ok) == 1, where
            (content,) = operation["responses"][ok[0]]["content"].values()
            assert content["schema"], f"{where}: empty answer schema"
            for status, response in operation["responses"].items():
                if status.startswith("4"):
                    error = response["content"]["application/json"]["schema"]
                    assert error == {"$ref": "#/components/schemas/ErrorBody"}, where
            if method == "post" and not path.endswith("/qa"):
                assert "requestBody" in operation, f"{where}: no request body"
    assert {"EventBatch", "Trace", "ErrorBody"} <= set(document["components"]["schemas"])
