"""Observability of the real binary: `GET /metrics` (Prometheus text, authenticated, needs
DescribeResourceGroup), request ids in the `x-request-id` header of gRPC and REST responses,
and the access log (text by default, JSON with QUIVER_LOG_FORMAT=json). Quiver only.

Contract: `/metrics` without a valid credential is HTTP 401 with `{"code":1800,...}`; without
the privilege 403 with code 1401. `quiver_requests_total{protocol,method,status}` counts every
request (status `ok`, the Milvus code, or the gRPC code name), `quiver_rows_inserted_total`
and `quiver_rows_deleted_total{db,collection}` the rows written and deleted.
"""

from __future__ import annotations

import json
import re
from typing import Dict, Optional

import grpc
import pytest
import requests
from pymilvus.grpc_gen import milvus_pb2, milvus_pb2_grpc

from conftest import (
    ROOT_PASSWORD,
    auth_header,
    requires_quiver,
    strong_password,
    uniq,
    user_name,
    vectors,
    wrong_password,
)

pytestmark = requires_quiver

DIM = 4
SAMPLE_RE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)')
REQUEST_ID_RE = re.compile(r"^[0-9a-f]{16}$")


def get_metrics(server, auth: Optional[str]) -> requests.Response:
    headers = {"Authorization": auth} if auth else {}
    return requests.get(
        f"https://localhost:{server.port}/metrics", headers=headers, verify=str(server.ca_pem), timeout=30
    )


def parse(text: str) -> Dict[tuple, float]:
    """{(name, frozenset(labels)): value}; every line must be a HELP, TYPE or sample line, and
    each sample's family must have been declared by HELP and TYPE before it."""
    declared = set()
    samples = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            declared.add(line.split(" ")[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert name in declared and kind in ("counter", "gauge", "histogram"), line
            continue
        m = SAMPLE_RE.match(line)
        assert m, f"not a sample line: {line!r}"
        name = m.group("name")
        family = re.sub(r"_(bucket|sum|count)$", "", name)
        assert name in declared or family in declared, line
        labels = frozenset(
            (k, v.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\"))
            for k, v in LABEL_RE.findall(m.group("labels") or "")
        )
        samples[(name, labels)] = float(m.group("value"))
    return samples


def metric(samples, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(scope="module")
def root(server):
    return server.client()


@pytest.fixture(scope="module")
def scrape(server):
    def _scrape():
        response = get_metrics(server, f"Bearer root:{ROOT_PASSWORD}")
        assert response.status_code == 200, response.text
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse(response.text)

    return _scrape


def test_metrics_require_authentication_then_the_privilege(server, root, scrape):
    for auth in (None, "Bearer root", f"Bearer root:{wrong_password()}"):
        response = get_metrics(server, auth)
        assert response.status_code == 401, response.text
        assert response.json()["code"] == 1800
        assert "quiver_" not in response.text
    server.settle()

    user, pw, role = user_name("watcher"), strong_password(), uniq("monitoring")
    root.create_user(user, pw)
    response = get_metrics(server, f"Bearer {user}:{pw}")
    assert response.status_code == 403, response.text
    assert response.json()["code"] == 1401
    root.create_role(role)
    root.grant_role(user, role)
    root.grant_privilege_v2(role, "DescribeResourceGroup", "*", db_name="*")
    response = get_metrics(server, f"Bearer {user}:{pw}")
    assert response.status_code == 200, response.text
    samples = parse(response.text)
    assert metric(samples, "quiver_auth_failures_total", reason="missing") >= 1
    assert metric(samples, "quiver_auth_failures_total", reason="bad_password") >= 1
    # No label names a user.
    assert user not in response.text and "root" not in response.text


def test_searches_and_refusals_are_counted_by_method_and_status(server, root, scrape):
    name = uniq("metrics")
    root.create_collection(name, dimension=DIM)
    data = vectors(20, DIM, seed=3)
    root.insert(name, [{"id": i, "vector": data[i].tolist()} for i in range(20)])
    before = scrape()
    hits = root.search(name, data=[data[0].tolist()], limit=3)
    assert len(hits[0]) == 3
    # A Search the server refuses with a Milvus code (the collection does not exist), and
    # one it refuses before any handler (no credential).
    with server.raw_channel() as channel:
        stub = milvus_pb2_grpc.MilvusServiceStub(channel)
        missing = milvus_pb2.SearchRequest(collection_name=uniq("missing"))
        reply = stub.Search(missing, metadata=[auth_header("root", ROOT_PASSWORD)], timeout=10)
        assert reply.status.code == 100
        with pytest.raises(grpc.RpcError) as refused:
            stub.Search(missing, timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    after = scrape()

    def delta(status):
        key = dict(protocol="grpc", method="Search", status=status)
        return metric(after, "quiver_requests_total", **key) - metric(before, "quiver_requests_total", **key)

    assert delta("ok") == 1
    assert delta("100") == 1
    assert delta("UNAUTHENTICATED") == 1
    count = dict(protocol="grpc", method="Search")
    assert metric(after, "quiver_request_duration_seconds_count", **count) >= 3


def test_rows_inserted_and_deleted_are_counted_per_collection(root, scrape):
    name = uniq("rows")
    root.create_collection(name, dimension=DIM)
    data = vectors(12, DIM, seed=5)
    root.insert(name, [{"id": i, "vector": data[i].tolist()} for i in range(10)])
    root.upsert(name, [{"id": i, "vector": data[i].tolist()} for i in range(8, 12)])
    root.delete(name, filter="id < 3")
    samples = scrape()
    labels = dict(db="default", collection=name)
    assert metric(samples, "quiver_rows_inserted_total", **labels) == 14
    assert metric(samples, "quiver_rows_deleted_total", **labels) == 3


def test_every_response_carries_a_request_id(server):
    ids = []
    with server.raw_channel() as channel:
        stub = milvus_pb2_grpc.MilvusServiceStub(channel)
        for _ in range(3):
            _, call = stub.GetVersion.with_call(
                milvus_pb2.GetVersionRequest(), metadata=[auth_header("root", ROOT_PASSWORD)], timeout=10
            )
            ids.append(dict(call.initial_metadata())["x-request-id"])
        # A refused call has one too (in the trailers-only response).
        with pytest.raises(grpc.RpcError) as refused:
            stub.GetVersion(milvus_pb2.GetVersionRequest(), timeout=10)
        metadata = dict(refused.value.initial_metadata() or ()) | dict(refused.value.trailing_metadata() or ())
        ids.append(metadata["x-request-id"])
    response = requests.post(
        f"https://localhost:{server.port}/v2/vectordb/collections/list",
        json={},
        headers={"Authorization": f"Bearer root:{ROOT_PASSWORD}"},
        verify=str(server.ca_pem),
        timeout=30,
    )
    ids.append(response.headers["x-request-id"])
    assert all(REQUEST_ID_RE.match(i) for i in ids), ids
    assert len(set(ids)) == len(ids), ids
    # A bounded client id is kept, for correlation with a proxy's logs.
    response = requests.get(
        f"https://localhost:{server.port}/healthz",
        headers={"x-request-id": "lb-trace.42"},
        verify=str(server.ca_pem),
        timeout=30,
    )
    assert response.headers["x-request-id"] == "lb-trace.42"
    assert response.text == "ok"


def test_access_log_lines_are_json_with_the_request_id_and_no_secret(spawn, monkeypatch):
    monkeypatch.setenv("QUIVER_LOG_FORMAT", "json")
    srv = spawn("metrics_json_log")
    client = srv.client()
    client.list_collections()
    password = wrong_password()
    response = requests.post(
        f"https://localhost:{srv.port}/v2/vectordb/collections/list",
        json={},
        headers={"Authorization": f"Bearer root:{password}", "x-request-id": "json-log-refused-1"},
        verify=str(srv.ca_pem),
        timeout=30,
    )
    assert response.status_code == 401
    srv.stop_checked()
    records = []
    for line in srv.output().splitlines():
        _, _, text = line.partition("| ")
        if text.startswith("{"):
            records.append(json.loads(text))
    assert records, srv.output()
    access = [r for r in records if r.get("target") == "quiver::access"]
    listed = [r for r in access if r.get("method") == "ShowCollections"]
    assert listed, access
    record = listed[0]
    assert record["level"] == "INFO"
    assert record["protocol"] == "grpc" and record["status"] == "ok" and record["user"] == "root"
    assert REQUEST_ID_RE.match(record["request_id"]), record
    assert record["peer"].startswith("127.0.0.1:") and record["duration_ms"] >= 0
    refused = [r for r in access if r.get("request_id") == "json-log-refused-1"]
    assert len(refused) == 1, access
    assert refused[0]["status"] == "UNAUTHENTICATED" and "user" not in refused[0]
    assert refused[0]["method"] == "collections/list"
    assert password not in srv.output()
