"""Soft delete and the mass-deletion guard through the real binary.

A collection dropped with pymilvus goes to the recycle bin (7 days by default) and comes back
with REST `collections/restore` with identical query and search results; the bin is listed
and purged over REST by an admin only. A partition dropped with pymilvus comes back with REST
`partitions/restore` with its rows. A point-in-time restore brings back rows deleted after
that time. A pymilvus delete that would remove more than half of a collection (above 1,000
rows) is refused with code 1100 and changes nothing; REST with `"force": true` as root
(admin holds `ForceDelete`) passes.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from pymilvus import MilvusClient

from conftest import expect_milvus_error, hit_ids, requires_quiver, uniq, vectors
from test_rest import Rest

pytestmark = requires_quiver

DIM = 8


def make(client: MilvusClient, rows: int, seed: int):
    name = uniq("prot")
    client.create_collection(name, dimension=DIM, metric_type="L2")
    data = vectors(rows, DIM, seed=seed)
    for start in range(0, rows, 1000):
        batch = [{"id": i, "vector": data[i].tolist(), "n": i} for i in range(start, min(rows, start + 1000))]
        client.insert(name, batch)
    return name, data


def snapshot(client: MilvusClient, name: str, data: np.ndarray):
    rows = client.query(name, filter="id >= 0", output_fields=["n"], limit=16384)
    found = client.search(name, data=[data[3].tolist(), data[17].tolist()], limit=5)
    return sorted((r["id"], r["n"]) for r in rows), [hit_ids(hits) for hits in found]


def test_a_dropped_collection_is_restored_over_rest_with_identical_results(server):
    client = server.client()
    rest = Rest(server)
    name, data = make(client, 300, seed=1)
    before = snapshot(client, name, data)
    client.drop_collection(name)
    assert not client.has_collection(name)

    listed = rest.call("collections/trash/list", {})["data"]
    entry = next(e for e in listed if e["collectionName"] == name)
    assert entry["expiresMs"] - entry["droppedMs"] == 7 * 24 * 3600 * 1000

    restored = rest.call("collections/restore", {"collectionName": name})["data"]
    assert restored["collectionName"] == name
    client.load_collection(name)
    assert snapshot(client, name, data) == before
    assert all(e["collectionName"] != name for e in rest.call("collections/trash/list", {})["data"])


def test_the_recycle_bin_is_for_admins_and_purge_is_final(server):
    client = server.client()
    rest = Rest(server)
    user, password = uniq("bob"), "Str0ng-Heron-Passphrase-1"
    client.create_user(user, password)
    name, _ = make(client, 10, seed=2)
    client.drop_collection(name)
    trash_id = next(e["trashId"] for e in rest.call("collections/trash/list", {})["data"] if e["collectionName"] == name)

    bob = Rest(server, user=user, password=password)
    for path, body in [
        ("collections/trash/list", {}),
        ("collections/restore", {"collectionName": name}),
        ("collections/trash/purge", {"trashId": trash_id}),
    ]:
        response = bob.post(path, body)
        assert response.status_code == 403, (path, response.text)

    rest.call("collections/trash/purge", {"trashId": trash_id})
    again = rest.post("collections/restore", {"collectionName": name}).json()
    assert again["code"] != 0, again
    assert not client.has_collection(name)


def test_a_dropped_partition_is_restored_over_rest_with_its_rows(server):
    client = server.client()
    rest = Rest(server)
    name, data = make(client, 100, seed=4)
    client.create_partition(name, "recent")
    client.insert(name, [{"id": 1000 + i, "vector": data[i].tolist(), "n": 1000 + i} for i in range(40)], partition_name="recent")
    before = snapshot(client, name, data)
    client.release_collection(name)
    client.drop_partition(name, "recent")
    assert not client.has_partition(name, "recent")
    client.load_collection(name)
    assert len(client.query(name, filter="id >= 0", limit=1000)) == 100

    listed = rest.call("partitions/trash/list", {"collectionName": name})["data"]
    assert [(e["partitionName"], e["rows"]) for e in listed] == [("recent", 40)]
    restored = rest.call("partitions/restore", {"collectionName": name, "partitionName": "recent"})["data"]
    assert restored == {"partitionId": listed[0]["partitionId"], "partitionName": "recent"}
    client.load_collection(name)
    assert snapshot(client, name, data) == before
    assert rest.call("partitions/trash/list", {"collectionName": name})["data"] == []


def test_a_point_in_time_restore_brings_back_rows_deleted_later(server):
    client = server.client()
    rest = Rest(server)
    name, data = make(client, 100, seed=3)
    before = snapshot(client, name, data)
    time.sleep(1.1)  # the timeline's resolution is one second
    at = int(time.time() * 1000)
    time.sleep(1.1)
    client.delete(name, filter="id < 40")
    assert len(client.query(name, filter="id >= 0", limit=1000)) == 60

    target = uniq("then")
    rest.call("collections/restore", {"collectionName": name, "pointInTimeMs": at, "newCollectionName": target})
    client.load_collection(target)
    assert snapshot(client, target, data) == before
    future = rest.post(
        "collections/restore",
        {"collectionName": name, "pointInTimeMs": int(time.time() * 1000) + 3_600_000, "newCollectionName": uniq("x")},
    ).json()
    assert future["code"] == 1100, future


def test_a_mass_delete_needs_force_and_the_privilege(server):
    client = server.client()
    rest = Rest(server)
    name, _ = make(client, 3000, seed=4)
    err = expect_milvus_error(lambda: client.delete(name, filter="id >= 0"), 1100)
    assert "mass deletion refused" in str(err)
    assert len(client.query(name, filter="id >= 0", limit=16384)) == 3000
    # Half is allowed; more than half is not.
    client.delete(name, filter="id < 1500")
    expect_milvus_error(lambda: client.delete(name, filter="id >= 1500"), 1100)
    assert len(client.query(name, filter="id >= 0", limit=16384)) == 1500

    forced = rest.call("entities/delete", {"collectionName": name, "filter": "id >= 0", "force": True})
    assert forced["code"] == 0
    assert client.query(name, filter="id >= 0", limit=10) == []
