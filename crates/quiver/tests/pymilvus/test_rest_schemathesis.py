"""schemathesis against the real binary: every operation of `/v2/openapi.json`, fed bodies
generated from the document's own schemas (valid and invalid ones), as root.

The run passes when no response is a server error (HTTP 5xx), every response conforms to the
document (status, content type, body schema), and no envelope carries Milvus code 5 (an
internal error: a handler panic or a storage failure, which the server answers with HTTP 200
like any Milvus refusal, so `not_a_server_error` alone would not see it).

The document's examples (modelled on Milvus's documented bodies) name the collection
`quick_setup`; the test creates it with rows first, so that the examples, and the cases
schemathesis derives from them, reach the data path (insert, search, query, ...) and not only
its refusals. The server gets rate limits high enough that schemathesis's requests are not
refused with 429 (which the document allows, but which would test nothing); TLS is verified
against the server's generated CA. The example count is bounded so that the run stays well
within three minutes on a small machine (about 45 s on two cores).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from conftest import requires_quiver, start_server

pytestmark = requires_quiver

# Examples per operation in the fuzzing phase; the coverage phase adds its boundary cases.
MAX_EXAMPLES = 12
RUN_TIMEOUT_S = 240
HIGH_LIMITS = """
[limits]
read_per_second = 1000000
read_burst = 1000000
write_rows_per_second = 100000000
write_rows_burst = 100000000
ddl_per_second = 1000000
ddl_burst = 1000000
login_per_second = 1000000
login_burst = 1000000
"""

# A check of our own, loaded by schemathesis from SCHEMATHESIS_HOOKS.
HOOKS = '''
import schemathesis

INTERNAL = 5


@schemathesis.check
def no_internal_error(ctx, response, case):
    """An envelope with Milvus code 5 is a server error, whatever its HTTP status."""
    try:
        body = response.json()
    except Exception:  # not JSON: content_type_conformance reports it
        return None
    if isinstance(body, dict) and body.get("code") == INTERNAL:
        raise AssertionError(f"internal error (code 5): {body.get('message')!r}")
    return None
'''


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory):
    config = tmp_path_factory.mktemp("schemathesis-config") / "quiver.toml"
    config.write_text(HIGH_LIMITS)
    srv = start_server(tmp_path_factory, "schemathesis", config=config)
    yield srv
    srv.stop_checked()


def quick_setup(srv) -> int:
    """Creates the examples' collection (dim 5) with 100 rows; returns the number of documented
    operations."""
    base = f"https://localhost:{srv.port}"
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer root:{srv.root_password}"
    # Per request: a session's own `verify` loses to REQUESTS_CA_BUNDLE in the environment.
    verify = str(srv.ca_pem)

    def call(path, body):
        envelope = session.post(f"{base}/v2/vectordb/{path}", json=body, verify=verify, timeout=30).json()
        assert envelope["code"] == 0, envelope
        return envelope

    call("collections/create", {"collectionName": "quick_setup", "dimension": 5, "metricType": "COSINE"})
    rows = [
        {"id": i, "vector": [((i * 7 + d) % 11) / 10 - 0.5 for d in range(5)], "color": f"{'red' if i % 2 else 'blue'}_{i}"}
        for i in range(100)
    ]
    call("entities/insert", {"collectionName": "quick_setup", "data": rows})
    document = session.get(f"{base}/v2/openapi.json", verify=verify, timeout=30)
    assert document.status_code == 200, document.text
    return len(document.json()["paths"])


@pytest.mark.timeout(RUN_TIMEOUT_S + 60)
def test_schemathesis_finds_no_server_error_and_no_schema_violation(fuzzed_server, tmp_path):
    srv = fuzzed_server
    operations = quick_setup(srv)
    hooks = tmp_path / "quiver_schemathesis_hooks.py"
    hooks.write_text(textwrap.dedent(HOOKS))
    env = dict(os.environ)
    env["PYTHONPATH"] = str(tmp_path) + os.pathsep + env.get("PYTHONPATH", "")
    env["SCHEMATHESIS_HOOKS"] = hooks.stem
    env["NO_COLOR"] = "1"
    cli = Path(sys.executable).parent / "schemathesis"
    command = [
        str(cli),
        "run",
        f"https://localhost:{srv.port}/v2/openapi.json",
        "--header",
        f"Authorization: Bearer root:{srv.root_password}",
        "--tls-verify",
        str(srv.ca_pem),
        "--checks",
        "not_a_server_error,status_code_conformance,content_type_conformance,"
        "response_schema_conformance,no_internal_error",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "20260",
        "--workers",
        "2",
        "--request-timeout",
        "30",
        # The server closes an HTTP/1.1 connection idle for 30 s (hyper's header-read
        # timeout); a POST sent on a pooled connection at that very moment meets a closed
        # socket, which HTTP lets no client retry by itself. A network failure is retried
        # (a request that breaks the connection every time still fails the run).
        "--request-retries",
        "2",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        "--no-color",
    ]
    try:
        run = subprocess.run(
            command,
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=RUN_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        output = (exc.stdout or b"").decode("utf-8", errors="replace")
        raise AssertionError(f"schemathesis did not finish within {RUN_TIMEOUT_S} s:\n{output}")
    output = run.stdout.decode("utf-8", errors="replace")
    assert run.returncode == 0, f"schemathesis exited with {run.returncode}:\n{output}"
    # It really ran every operation (a document it could not load would test nothing).
    assert f"Tested: {operations}" in output, output
    assert "Specification:    Open API 3.1.0" in output, output
