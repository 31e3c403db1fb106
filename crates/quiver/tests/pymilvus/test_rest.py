"""Milvus's REST API v2 of the real binary, on the gRPC port over TLS, driven with
`requests`; and parity with pymilvus (gRPC) on the same collection.

REST contract (milvus-reference.md section 1): `POST /v2/vectordb/<category>/<action>` with a
JSON body and `Authorization: Bearer user:password`; success `{"code":0,"data":...}`
(search adds `topks`); a refused request is HTTP 200 with its Milvus code, except 401/1800
without valid credentials and 403/1401 on a privilege denial; unknown fields and malformed
JSON are 1801, missing required parameters 1802. `/healthz` answers "ok" without credentials.
Users, roles, grants and privilege groups made over either API are the same objects; an API
key created over REST (`api_keys/create`, a Quiver extension) is a pymilvus `token=`, and
revoking it refuses the next call of an already open client.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pytest
import requests

from conftest import (
    ROOT_PASSWORD,
    SECRETS,
    expect_denied,
    expect_login_refused,
    requires_quiver,
    strong_password,
    uniq,
    user_name,
    vectors,
)

pytestmark = requires_quiver

DIM = 8


class Rest:
    """A REST client of one server, as `user` (or with an API key `token`)."""

    def __init__(self, server, user: str = "root", password: str = ROOT_PASSWORD, token: Optional[str] = None):
        self.base = f"https://localhost:{server.port}"
        self.verify = str(server.ca_pem)
        self.auth = f"Bearer {token}" if token is not None else f"Bearer {user}:{password}"

    def post(self, path: str, body, auth: object = True, **kwargs) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        if auth is True:
            headers["Authorization"] = self.auth
        elif auth:
            headers["Authorization"] = auth
        data = body if isinstance(body, (str, bytes)) else None
        return requests.post(
            f"{self.base}/v2/vectordb/{path}",
            json=None if data is not None else body,
            data=data,
            headers=headers,
            verify=self.verify,
            timeout=30,
            **kwargs,
        )

    def call(self, path: str, body) -> dict:
        """The envelope of a request that must succeed."""
        response = self.post(path, body)
        assert response.status_code == 200, response.text
        envelope = response.json()
        assert envelope["code"] == 0, envelope
        return envelope


@pytest.fixture(scope="module")
def rest(server) -> Rest:
    return Rest(server)


@pytest.fixture(scope="module")
def docs(rest):
    """A quick-setup collection (L2, dim 8) with 50 rows made over REST."""
    name = uniq("rest")
    rest.call("collections/create", {"collectionName": name, "dimension": DIM, "metricType": "L2"})
    data = vectors(50, DIM, seed=7)
    rows = [{"id": i, "vector": data[i].tolist(), "tag": f"t{i % 5}", "n": i} for i in range(50)]
    inserted = rest.call("entities/insert", {"collectionName": name, "data": rows})["data"]
    assert inserted["insertCount"] == 50
    assert inserted["insertIds"] == list(range(50))
    return name, data


def test_rest_flow_over_tls(rest, docs):
    name, data = docs
    described = rest.call("collections/describe", {"collectionName": name})["data"]
    assert described["load"] == "LoadStateLoaded"
    assert name in rest.call("collections/list", {})["data"]

    found = rest.call(
        "entities/search",
        {
            "collectionName": name,
            "data": [data[3].tolist()],
            "filter": "n >= {lo}",
            "exprParams": {"lo": 3},
            "limit": 4,
            "outputFields": ["tag"],
        },
    )
    assert found["topks"] == [4]
    assert found["data"][0]["id"] == 3
    assert found["data"][0]["tag"] == "t3"
    assert found["data"][0]["distance"] == pytest.approx(0.0, abs=1e-5)

    rows = rest.call(
        "entities/query",
        {"collectionName": name, "filter": 'tag == "t1"', "outputFields": ["n"], "limit": 3},
    )["data"]
    assert rows == [{"id": 1, "n": 1}, {"id": 6, "n": 6}, {"id": 11, "n": 11}]
    got = rest.call("entities/get", {"collectionName": name, "id": [2, 4], "outputFields": ["n"]})["data"]
    assert got == [{"id": 2, "n": 2}, {"id": 4, "n": 4}]

    rest.call("entities/delete", {"collectionName": name, "filter": "n >= 45"})
    count = rest.call("entities/query", {"collectionName": name, "outputFields": ["count(*)"]})["data"]
    assert count == [{"count(*)": 45}]


def test_rest_refusals(server, rest, docs):
    name, _ = docs
    for auth in (None, f"Bearer root:{'x' * 16}"):
        response = rest.post("collections/list", {}, auth=auth)
        assert response.status_code == 401, response.text
        assert response.json()["code"] == 1800

    unknown = rest.post("collections/describe", {"collectionName": name, "colour": 1}).json()
    assert unknown["code"] == 1801 and "colour" in unknown["message"]
    assert rest.post("collections/describe", "{not json").json()["code"] == 1801
    missing = rest.post("collections/describe", {}).json()
    assert missing["code"] == 1802 and "collectionName" in missing["message"]

    # A user without the privilege: 403 with code 1401, nothing inserted.
    user, password = user_name("restu"), strong_password()
    server.client().create_user(user, password)
    stranger = Rest(server, user, password)
    response = stranger.post("entities/insert", {"collectionName": name, "data": [{"id": 999, "vector": [0.0] * DIM}]})
    assert response.status_code == 403, response.text
    assert response.json()["code"] == 1401

    health = requests.get(f"{rest.base}/healthz", verify=rest.verify, timeout=10)
    assert health.status_code == 200 and health.text == "ok"


def test_rest_and_grpc_agree(server, rest, docs):
    name, data = docs
    client = server.client()
    query = data[10]
    grpc_hits = client.search(name, data=[query.tolist()], limit=5, filter="n < 40", output_fields=["tag"])[0]
    rest_hits = rest.call(
        "entities/search",
        {"collectionName": name, "data": [query.tolist()], "limit": 5, "filter": "n < 40", "outputFields": ["tag"]},
    )["data"]
    assert [h["id"] for h in rest_hits] == [h["id"] for h in grpc_hits]
    assert [h["distance"] for h in rest_hits] == pytest.approx([h["distance"] for h in grpc_hits], rel=1e-6)
    assert [h["tag"] for h in rest_hits] == [h["entity"]["tag"] for h in grpc_hits]

    # A row written over gRPC is read over REST, and the reverse.
    client.insert(name, [{"id": 1000, "vector": np.ones(DIM).tolist(), "tag": "grpc", "n": 1000}])
    got = rest.call("entities/get", {"collectionName": name, "id": 1000, "outputFields": ["tag"]})["data"]
    assert got == [{"id": 1000, "tag": "grpc"}]
    rest.call("entities/upsert", {"collectionName": name, "data": [{"id": 1000, "vector": [0.5] * DIM, "tag": "rest", "n": 1000}]})
    rows = client.query(name, filter="id == 1000", output_fields=["tag"])
    assert rows[0]["tag"] == "rest"
    assert rest.call("collections/get_stats", {"collectionName": name})["data"]["rowCount"] == client.get_collection_stats(name)["row_count"]


def test_rest_access_control_is_what_pymilvus_sees(server, rest, docs):
    name, _ = docs
    client = server.client()
    user, password = user_name("restacl"), strong_password()
    role = uniq("restrole")

    # Made over REST, seen and enforced over gRPC.
    rest.call("users/create", {"userName": user, "password": password})
    assert user in client.list_users()
    rest.call("roles/create", {"roleName": role})
    assert role in client.list_roles()
    rest.call("users/grant_role", {"userName": user, "roleName": role})
    assert list(client.describe_user(user)["roles"]) == [role]
    rest.call(
        "roles/grant_privilege_v2",
        {"roleName": role, "privilege": "CollectionReadOnly", "dbName": "default", "collectionName": name},
    )
    privileges = client.describe_role(role)["privileges"]
    assert [(p["object_name"], p["privilege"], p["db_name"]) for p in privileges] == [
        (name, "CollectionReadOnly", "default")
    ]
    as_user = server.client(user, password)
    assert [row["n"] for row in as_user.query(name, filter="id == 3", output_fields=["n"])] == [3]
    expect_denied(lambda: as_user.insert(name, [{"id": 5000, "vector": [0.0] * DIM, "tag": "x", "n": 1}]))

    # Made over gRPC, seen over REST.
    client.grant_privilege_v2(role, "Insert", name, db_name="default")
    grants = rest.call("roles/describe", {"roleName": role})["data"]
    assert sorted((g["privilege"], g["objectName"], g["grantor"]) for g in grants) == [
        ("CollectionReadOnly", name, "root"),
        ("Insert", name, "root"),
    ]
    group = uniq("restgroup")
    client.create_privilege_group(group)
    client.add_privileges_to_group(group, ["Search"])
    groups = rest.call("privilege_groups/list", {})["data"]["privilegeGroups"]
    assert {"privilegeGroupName": group, "privileges": "Search"} in groups
    rest.call("privilege_groups/drop", {"privilegeGroupName": group})
    assert group not in [g["privilege_group"] for g in client.list_privilege_groups()]

    client.revoke_role(user, role)
    assert rest.call("users/describe", {"userName": user})["data"] == []
    expect_denied(lambda: as_user.query(name, filter="id == 3"))
    rest.call("users/drop", {"userName": user})
    assert user not in client.list_users()
    rest.call("roles/drop", {"roleName": role, "forceDrop": True})
    assert role not in client.list_roles()


def test_rest_api_key_is_a_pymilvus_token(server, rest, docs):
    name, _ = docs
    admin = server.client()
    user, password = user_name("restkey"), strong_password()
    role = uniq("keyrole")
    admin.create_user(user, password)
    admin.create_role(role)
    admin.grant_role(user, role)
    admin.grant_privilege_v2(role, "CollectionReadOnly", name, db_name="default")

    owner = Rest(server, user, password)
    created = owner.call("api_keys/create", {"keyName": "reader", "roles": [role], "ttlSeconds": 600})["data"]
    token = created["token"]
    SECRETS.add(token)  # the server must never log it
    assert created["expireAt"] == created["createdAt"] + 600
    keyed = server.client(token=token)
    assert [row["n"] for row in keyed.query(name, filter="id == 3", output_fields=["n"])] == [3]
    expect_denied(lambda: keyed.insert(name, [{"id": 5001, "vector": [0.0] * DIM, "tag": "x", "n": 1}]))

    listed = owner.call("api_keys/list", {})["data"]
    assert [(k["keyName"], k["userName"], k["roles"]) for k in listed] == [("reader", user, [role])]
    assert token.rsplit("_", 1)[1] not in str(listed)
    # A key cannot manage keys, its own included.
    by_key = Rest(server, token=token)
    for action, body in (("create", {"keyName": "more", "roles": [role]}), ("list", {}), ("revoke", {"keyName": "reader"})):
        refused = by_key.post(f"api_keys/{action}", body)
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == 1401
    # Nor may one user manage another's.
    other = Rest(server, user, password).post("api_keys/list", {"userName": "root"})
    assert other.status_code == 403, other.text

    # Revoked: the open pymilvus client is refused on its next call, REST too.
    owner.call("api_keys/revoke", {"keyName": "reader"})
    expect_login_refused(server, lambda: keyed.query(name, filter="id == 3"))
    refused = by_key.post("collections/list", {})
    assert refused.status_code == 401, refused.text
    server.settle()
    assert owner.call("api_keys/list", {})["data"] == []
