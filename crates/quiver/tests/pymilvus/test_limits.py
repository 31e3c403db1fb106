"""Request limits configured in `[limits]` and enforced on both wire protocols of the real
binary: a request at a limit is served, one past it refused with Milvus code 1100 or 1102
naming `limits.<key>` (gRPC messages over the size limit are refused by the gRPC layer
itself with RESOURCE_EXHAUSTED or OUT_OF_RANGE before they are decoded).

The handler-level proof of every limit is in crates/quiver-api/src/service/limit_tests.rs;
this file proves that the configuration reaches the running server and that REST and gRPC
refuse alike.
"""

from __future__ import annotations

import json
import socket
import ssl

import grpc
import pytest
import requests
from pymilvus.grpc_gen import milvus_pb2

from conftest import (
    ROOT_PASSWORD,
    auth_header,
    expect_milvus_error,
    requires_quiver,
    start_server,
    uniq,
    vectors,
)

pytestmark = requires_quiver

MAX_MESSAGE = 65536
MAX_NQ = 4
MAX_WINDOW = 50
MAX_ROWS = 100
DIM = 4


@pytest.fixture(scope="module")
def limited(tmp_path_factory):
    config = tmp_path_factory.mktemp("limits-config") / "quiver.toml"
    config.write_text(
        "[limits]\n"
        f"max_message_bytes = {MAX_MESSAGE}\n"
        f"max_query_vectors = {MAX_NQ}\n"
        f"max_topk_window = {MAX_WINDOW}\n"
        f"max_rows_per_write = {MAX_ROWS}\n"
    )
    srv = start_server(tmp_path_factory, "limits", config=config)
    yield srv
    srv.stop_checked()


@pytest.fixture(scope="module")
def docs(limited):
    client = limited.client()
    name = uniq("limits")
    client.create_collection(name, dimension=DIM, metric_type="L2")
    data = vectors(MAX_ROWS, DIM, seed=3)
    client.insert(name, [{"id": i, "vector": data[i].tolist()} for i in range(MAX_ROWS)])
    return client, name, data


def post(server, path: str, body, *, raw: bytes | None = None) -> requests.Response:
    return requests.post(
        f"https://localhost:{server.port}/v2/vectordb/{path}",
        json=None if raw is not None else body,
        data=raw,
        headers={"Authorization": f"Bearer root:{ROOT_PASSWORD}", "Content-Type": "application/json"},
        verify=str(server.ca_pem),
        timeout=30,
    )


def test_configured_nq_and_topk_limits_refuse_alike_over_grpc_and_rest(limited, docs):
    client, name, data = docs
    at = client.search(name, data[:MAX_NQ].tolist(), limit=MAX_WINDOW)
    assert [len(hits) for hits in at] == [MAX_WINDOW] * MAX_NQ
    err = expect_milvus_error(lambda: client.search(name, data[: MAX_NQ + 1].tolist(), limit=1), 1100)
    assert "limits.max_query_vectors" in str(err)
    err = expect_milvus_error(lambda: client.search(name, data[:1].tolist(), limit=MAX_WINDOW + 1), 1100)
    assert "limits.max_topk_window" in str(err)
    err = expect_milvus_error(lambda: client.search(name, data[:1].tolist(), limit=MAX_WINDOW, offset=1), 1100)
    assert "limits.max_topk_window" in str(err)

    over_nq = post(limited, "entities/search", {"collectionName": name, "data": data[: MAX_NQ + 1].tolist(), "limit": 1}).json()
    assert over_nq["code"] == 1100 and "limits.max_query_vectors" in over_nq["message"], over_nq
    at_window = post(limited, "entities/search", {"collectionName": name, "data": data[:1].tolist(), "limit": MAX_WINDOW}).json()
    assert at_window["code"] == 0 and len(at_window["data"]) == MAX_WINDOW, at_window
    over_window = post(limited, "entities/search", {"collectionName": name, "data": data[:1].tolist(), "limit": MAX_WINDOW + 1}).json()
    assert over_window["code"] == 1100 and "limits.max_topk_window" in over_window["message"], over_window


def test_configured_rows_per_write_refuses_the_whole_write(limited, docs):
    client, name, _ = docs
    name2 = uniq("rows")
    client.create_collection(name2, dimension=DIM, metric_type="L2")
    data = vectors(MAX_ROWS + 1, DIM, seed=5)
    rows = [{"id": i, "vector": data[i].tolist()} for i in range(MAX_ROWS + 1)]
    assert client.insert(name2, rows[:MAX_ROWS])["insert_count"] == MAX_ROWS
    err = expect_milvus_error(lambda: client.insert(name2, rows), 1102)
    assert "limits.max_rows_per_write" in str(err)
    over = post(limited, "entities/insert", {"collectionName": name2, "data": rows}).json()
    assert over["code"] == 1102 and "limits.max_rows_per_write" in over["message"], over
    # Nothing of either refused write was applied.
    assert client.query(name2, filter="", output_fields=["count(*)"])[0]["count(*)"] == MAX_ROWS


def _describe_of_size(size: int) -> milvus_pb2.DescribeCollectionRequest:
    """A DescribeCollection request whose encoding is exactly `size` bytes."""
    n = size
    while True:
        req = milvus_pb2.DescribeCollectionRequest(collection_name="c" * n)
        got = req.ByteSize()
        if got == size:
            return req
        n -= got - size


def test_grpc_messages_at_the_size_limit_are_served_and_past_it_refused(limited):
    metadata = [auth_header("root", limited.root_password)]
    at = limited.raw_call("DescribeCollection", _describe_of_size(MAX_MESSAGE), metadata)
    # Decoded and handled: the name is refused by the handler (too long for a collection).
    assert at.status.code in (100, 1100), at.status
    with pytest.raises(grpc.RpcError) as excinfo:
        limited.raw_call("DescribeCollection", _describe_of_size(MAX_MESSAGE + 1), metadata)
    assert excinfo.value.code() in (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.OUT_OF_RANGE), excinfo.value


def test_rest_bodies_at_the_size_limit_are_served_and_past_it_refused(limited):
    at = b"{}" + b" " * (MAX_MESSAGE - 2)
    response = post(limited, "collections/list", None, raw=at)
    assert response.status_code == 200 and response.json()["code"] == 0, response.text
    # One byte more, declared by Content-Length: refused before the body is read. (The server
    # answers and closes without reading the body, so a client that insists on sending it
    # first may see the connection close; hence a raw socket that only sends the head.)
    head = (
        "POST /v2/vectordb/collections/list HTTP/1.1\r\nHost: localhost\r\n"
        f"Authorization: Bearer root:{ROOT_PASSWORD}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {MAX_MESSAGE + 1}\r\nConnection: close\r\n\r\n"
    )
    context = ssl.create_default_context(cafile=str(limited.ca_pem))
    with socket.create_connection(("127.0.0.1", limited.port), timeout=30) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(head.encode())
            reply = b""
            while chunk := tls.recv(65536):
                reply += chunk
    status_line, _, rest = reply.partition(b"\r\n")
    assert b" 413 " in status_line, reply[:300]
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["code"] == 1102 and "limits.max_message_bytes" in body["message"], body
