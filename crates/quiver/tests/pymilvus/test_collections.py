"""Custom schemas with every supported field type, filters over each type, index types and
metrics, partitions, aliases, databases, renaming, statistics, and the vector types Quiver
refuses. Runs against Quiver, or milvus-lite with QUIVER_TEST_TARGET=milvus-lite."""

from types import SimpleNamespace

import numpy as np
import pytest
from pymilvus import DataType

from conftest import (
    LITE,
    count_rows,
    cosine,
    error_text,
    expect_milvus_error,
    expect_refused,
    hit_ids,
    ip,
    l2sq,
    lite_differs,
    uniq,
    vectors,
)

DIM = 16
N = 200


def all_types_row(i: int, v: np.ndarray) -> dict:
    r = {
        "pk": i,
        "b": i % 2 == 0,
        "i8": i - 100,
        "i16": i * 150 - 15_000,
        "i32": i * 100_000 - 10_000_000,
        "i64": i * 10**12 - 10**14,
        "f": i / 8,
        "d": i / 3,
        "s": f"s{i:03d}",
        "j": {"k": i, "tags": [f"x{i % 5}", "all"], "nested": {"even": i % 2 == 0}},
        "ai": list(range(i % 5)),
        "as_": [f"a{i % 3}", f"b{i % 4}", "c"][: i % 4],
        "af": [i / 2, -i / 2],
        "n": None if i % 4 == 0 else i,
        "v": v.tolist(),
        # dynamic fields
        "extra": f"e{i}",
        "dn": i * 2,
    }
    if i % 5 != 0:
        r["dv"] = f"v{i}"  # omitted: the default "dflt" applies
    return r


def expected_row(i: int, v: np.ndarray) -> dict:
    r = all_types_row(i, v)
    r.setdefault("dv", "dflt")
    return r


@pytest.fixture(scope="module")
def allc(root):
    name = uniq("alltypes")
    schema = root.create_schema(auto_id=False, enable_dynamic_field=True, description="every field type")
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("b", DataType.BOOL)
    schema.add_field("i8", DataType.INT8)
    schema.add_field("i16", DataType.INT16)
    schema.add_field("i32", DataType.INT32)
    schema.add_field("i64", DataType.INT64)
    schema.add_field("f", DataType.FLOAT)
    schema.add_field("d", DataType.DOUBLE)
    schema.add_field("s", DataType.VARCHAR, max_length=64)
    schema.add_field("j", DataType.JSON)
    schema.add_field("ai", DataType.ARRAY, element_type=DataType.INT64, max_capacity=8)
    schema.add_field("as_", DataType.ARRAY, element_type=DataType.VARCHAR, max_capacity=4, max_length=16)
    schema.add_field("af", DataType.ARRAY, element_type=DataType.DOUBLE, max_capacity=4)
    schema.add_field("n", DataType.INT32, nullable=True)
    schema.add_field("dv", DataType.VARCHAR, max_length=16, default_value="dflt")
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=DIM)
    index = root.prepare_index_params()
    index.add_index("v", index_type="HNSW", metric_type="L2", params={"M": 16, "efConstruction": 200})
    root.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    v = vectors(N, DIM, seed=31)
    res = root.insert(name, [all_types_row(i, v[i]) for i in range(N)])
    assert res["insert_count"] == N
    return SimpleNamespace(name=name, v=v, rows=[expected_row(i, v[i]) for i in range(N)])


def test_describe_reports_every_field(root, allc):
    desc = root.describe_collection(allc.name)
    assert desc["enable_dynamic_field"] is True
    fields = {f["name"]: f for f in desc["fields"]}
    assert list(fields) == ["pk", "b", "i8", "i16", "i32", "i64", "f", "d", "s", "j", "ai", "as_", "af", "n", "dv", "v"]
    types = {name: f["type"] for name, f in fields.items()}
    assert types == {
        "pk": DataType.INT64,
        "b": DataType.BOOL,
        "i8": DataType.INT8,
        "i16": DataType.INT16,
        "i32": DataType.INT32,
        "i64": DataType.INT64,
        "f": DataType.FLOAT,
        "d": DataType.DOUBLE,
        "s": DataType.VARCHAR,
        "j": DataType.JSON,
        "ai": DataType.ARRAY,
        "as_": DataType.ARRAY,
        "af": DataType.ARRAY,
        "n": DataType.INT32,
        "dv": DataType.VARCHAR,
        "v": DataType.FLOAT_VECTOR,
    }
    assert fields["pk"].get("is_primary") is True
    assert not any(f.get("is_primary") for n, f in fields.items() if n != "pk")
    assert fields["s"]["params"]["max_length"] == 64
    assert fields["ai"]["element_type"] == DataType.INT64 and fields["ai"]["params"]["max_capacity"] == 8
    assert fields["as_"]["element_type"] == DataType.VARCHAR and fields["as_"]["params"]["max_capacity"] == 4
    assert fields["af"]["element_type"] == DataType.DOUBLE
    assert fields["v"]["params"]["dim"] == DIM
    assert fields["n"].get("nullable") is True
    assert not fields["b"].get("nullable")
    assert "dflt" in str(fields["dv"].get("default_value"))
    index = root.describe_index(allc.name, "v")
    assert index["index_type"] == "HNSW" and index["metric_type"] == "L2"


def test_every_value_round_trips(root, allc):
    rows = root.query(allc.name, filter="pk >= 0", output_fields=["*"], limit=N)
    assert len(rows) == N
    for got in rows:
        want = allc.rows[got["pk"]]
        for key, value in want.items():
            if key == "v":
                assert np.allclose(got["v"], value, atol=1e-6), key
            elif key == "f":
                assert got["f"] == pytest.approx(value, abs=1e-6)
            else:
                assert got[key] == value, (got["pk"], key, got[key], value)


def test_nullable_and_default_values(root, allc):
    null_ids = sorted(r["pk"] for r in root.query(allc.name, filter="n is null", output_fields=["n"], limit=N))
    assert null_ids == [i for i in range(N) if i % 4 == 0]
    got = root.get(allc.name, ids=[0, 1, 5, 8], output_fields=["n", "dv"])
    assert {r["pk"]: (r["n"], r["dv"]) for r in got} == {0: (None, "dflt"), 1: (1, "v1"), 5: (5, "dflt"), 8: (None, "v8")}


FILTERS = [
    ("b == true", lambda r: r["b"]),
    ("b == false and i8 >= 0", lambda r: not r["b"] and r["i8"] >= 0),
    ("i8 < -90", lambda r: r["i8"] < -90),
    pytest.param(
        "-5 < i8 <= 3",
        lambda r: -5 < r["i8"] <= 3,
        marks=lite_differs("no chained comparisons (Milvus's range expressions)"),
        id="-5 < i8 <= 3",
    ),
    ("i16 >= 14000", lambda r: r["i16"] >= 14000),
    ("i32 in [0, 100000, 7]", lambda r: r["i32"] in (0, 100000, 7)),
    ("i64 > 50000000000000", lambda r: r["i64"] > 50_000_000_000_000),
    ("i64 == -100000000000000", lambda r: r["i64"] == -(10**14)),
    ("f <= 1.0", lambda r: r["f"] <= 1.0),
    ("d > 60.0 and d < 62.5", lambda r: 60.0 < r["d"] < 62.5),
    ('s like "s01%"', lambda r: r["s"].startswith("s01")),
    ('s in ["s005", "s150", "nope"]', lambda r: r["s"] in ("s005", "s150")),
    ('s > "s190"', lambda r: r["s"] > "s190"),
    ('j["k"] >= 190', lambda r: r["j"]["k"] >= 190),
    ('j["nested"]["even"] == true and j["k"] < 10', lambda r: r["j"]["nested"]["even"] and r["j"]["k"] < 10),
    ('json_contains(j["tags"], "x2")', lambda r: "x2" in r["j"]["tags"]),
    ("array_contains(ai, 3)", lambda r: 3 in r["ai"]),
    ('array_contains_any(as_, ["b2", "nope"])', lambda r: "b2" in r["as_"]),
    ('array_contains_all(as_, ["a0", "c"])', lambda r: "a0" in r["as_"] and "c" in r["as_"]),
    ("array_length(ai) == 0", lambda r: len(r["ai"]) == 0),
    ("af[1] < -99.0", lambda r: r["af"][1] < -99.0),
    ("n is not null and n < 10", lambda r: r["n"] is not None and r["n"] < 10),
    ("n > 190", lambda r: r["n"] is not None and r["n"] > 190),
    ('dv == "dflt"', lambda r: r["dv"] == "dflt"),
    ('extra == "e7"', lambda r: r["extra"] == "e7"),
    ('$meta["dn"] > 390', lambda r: r["dn"] > 390),
    ("not (i8 < 0) and b == false", lambda r: not (r["i8"] < 0) and not r["b"]),
    ("i8 < -95 or i8 > 97", lambda r: r["i8"] < -95 or r["i8"] > 97),
    ("pk not in [0, 1, 2] and pk < 5", lambda r: r["pk"] not in (0, 1, 2) and r["pk"] < 5),
]


@pytest.mark.parametrize("expr,pred", FILTERS, ids=[f[0] if isinstance(f, tuple) else f.id for f in FILTERS])
def test_filter_over_each_type(root, allc, expr, pred):
    got = sorted(r["pk"] for r in root.query(allc.name, filter=expr, output_fields=["pk"], limit=N))
    want = [r["pk"] for r in allc.rows if pred(r)]
    assert want, f"{expr} matches nothing: pick another"
    assert got == want


def test_search_with_filter_on_custom_schema(root, allc):
    q = allc.v[33]
    hits = root.search(allc.name, [q.tolist()], anns_field="v", limit=10, filter="b == false and n is not null",
                       output_fields=["s", "j", "n"], search_params={"metric_type": "L2", "params": {"ef": 128}})[0]
    assert hits[0].id == 33 and hits[0]["distance"] == pytest.approx(0.0, abs=1e-4)
    assert hits[0]["entity"]["s"] == "s033" and hits[0]["entity"]["j"]["k"] == 33
    eligible = [i for i in range(N) if i % 2 == 1 and i % 4 != 0]
    assert set(hit_ids(hits)) <= set(eligible)
    d = l2sq(q, allc.v)
    best = sorted(eligible, key=lambda i: d[i])[:10]
    assert len(set(hit_ids(hits)) & set(best)) >= 9
    for h in hits:
        assert h["distance"] == pytest.approx(d[h.id], rel=1e-3, abs=1e-4)


def test_rows_violating_the_schema_are_refused(root, allc):
    base = dict(allc.rows[1], pk=10_001)
    for bad in (
        {"s": "x" * 65},  # VarChar over max_length
        {"v": [0.0] * (DIM - 1)},  # wrong dimension
        {"ai": list(range(9))},  # Array over max_capacity
        {"b": None},  # null in a non-nullable field
    ):
        expect_refused(lambda: root.insert(allc.name, [dict(base, **bad)]))
    missing = dict(base)
    del missing["i32"]  # a required field without default
    expect_refused(lambda: root.insert(allc.name, [missing]))
    assert list(root.get(allc.name, ids=[10_001])) == []
    assert count_rows(root, allc.name) == N


def test_create_existing_collection_with_other_schema_fails(root, allc):
    expect_milvus_error(lambda: root.create_collection(allc.name, dimension=4))


# -- index types and metrics ---------------------------------------------------------

INDEXES = [
    ("HNSW", "L2", {"M": 16, "efConstruction": 200}, {"ef": 128}),
    ("HNSW", "COSINE", {"M": 16, "efConstruction": 200}, {"ef": 128}),
    ("IVF_FLAT", "IP", {"nlist": 8}, {"nprobe": 8}),
    ("IVF_FLAT", "L2", {"nlist": 8}, {"nprobe": 8}),
    ("AUTOINDEX", "COSINE", {}, {}),
    ("AUTOINDEX", "IP", {}, {}),
]


def exact_scores(metric, q, v):
    if metric == "L2":
        return l2sq(q, v), False
    if metric == "IP":
        return ip(q, v), True
    return cosine(q, v), True


@pytest.mark.parametrize("index_type,metric,build,search", INDEXES, ids=[f"{i[0]}-{i[1]}" for i in INDEXES])
def test_index_type_and_metric(root, index_type, metric, build, search):
    name = uniq("idx")
    schema = root.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("emb", DataType.FLOAT_VECTOR, dim=DIM)
    index = root.prepare_index_params()
    index.add_index("emb", index_type=index_type, metric_type=metric, params=build)
    root.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    v = vectors(N, DIM, seed=41)
    root.insert(name, [{"id": i, "emb": v[i].tolist()} for i in range(N)])
    desc = root.describe_index(name, "emb")
    assert desc["index_type"] == index_type and desc["metric_type"] == metric
    params = {"metric_type": metric, "params": search}
    for i in (0, 50, 199):
        hits = root.search(name, [v[i].tolist()], limit=10, search_params=params)[0]
        scores, larger_better = exact_scores(metric, v[i], v)
        order = np.argsort(-scores if larger_better else scores, kind="stable")
        assert hits[0]["id"] == int(order[0])
        assert len(set(hit_ids(hits)) & set(order[:10].tolist())) >= 9
        for h in hits:
            assert h["distance"] == pytest.approx(scores[h["id"]], rel=1e-3, abs=1e-4)
        dist = [h["distance"] for h in hits]
        assert dist == sorted(dist, reverse=larger_better)
    root.drop_collection(name)


def test_drop_index_and_build_another(root):
    name = uniq("reindex")
    root.create_collection(name, dimension=DIM, metric_type="L2", consistency_level="Strong")
    v = vectors(50, DIM, seed=43)
    root.insert(name, [{"id": i, "vector": v[i].tolist()} for i in range(50)])
    root.release_collection(name)
    assert root.get_load_state(name)["state"].name == "NotLoad"
    root.drop_index(name, "vector")
    assert root.list_indexes(name) == []
    index = root.prepare_index_params()
    index.add_index("vector", index_type="HNSW", metric_type="IP", params={"M": 8, "efConstruction": 64})
    root.create_index(name, index)
    assert root.describe_index(name, "vector")["metric_type"] == "IP"
    root.load_collection(name)
    assert root.get_load_state(name)["state"].name == "Loaded"
    hits = root.search(name, [v[9].tolist()], limit=50)[0]
    scores = ip(v[9], v)
    assert hits[0]["id"] == int(np.argmax(scores))
    assert hits[0]["distance"] == pytest.approx(scores.max(), rel=1e-4)
    root.drop_collection(name)


def test_varchar_primary_key_custom_schema(root):
    name = uniq("vpk")
    schema = root.create_schema(auto_id=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=20)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    index = root.prepare_index_params()
    index.add_index("vec", index_type="AUTOINDEX", metric_type="L2")
    root.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    root.insert(name, [{"key": f"k{i}", "vec": [float(i), 0.0, 0.0, 0.0]} for i in range(10)])
    assert hit_ids(root.search(name, [[3.2, 0.0, 0.0, 0.0]], limit=2)[0]) == ["k3", "k4"]
    root.upsert(name, [{"key": "k3", "vec": [100.0, 0.0, 0.0, 0.0]}])
    assert hit_ids(root.search(name, [[3.2, 0.0, 0.0, 0.0]], limit=2)[0]) == ["k4", "k2"]
    assert sorted(r["key"] for r in root.query(name, filter='key like "k1%" or key == "k9"')) == ["k1", "k9"]
    root.drop_collection(name)


# -- unsupported vector types --------------------------------------------------------

UNSUPPORTED = [
    ("BINARY_VECTOR", "binary"),
    ("FLOAT16_VECTOR", "float16"),
    ("BFLOAT16_VECTOR", "bfloat16"),
    ("INT8_VECTOR", "int8"),
    pytest.param(
        "SPARSE_FLOAT_VECTOR",
        "sparse",
        marks=lite_differs("it accepts sparse vectors, which Milvus has and Quiver refuses on purpose"),
    ),
]


@pytest.mark.parametrize("type_name,word", UNSUPPORTED)
def test_unsupported_vector_type_is_refused(root, type_name, word):
    name = uniq("unsup")
    schema = root.create_schema(auto_id=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    kwargs = {} if type_name == "SPARSE_FLOAT_VECTOR" else {"dim": 16}
    schema.add_field("v", getattr(DataType, type_name), **kwargs)
    exc = expect_milvus_error(lambda: root.create_collection(name, schema=schema))
    message = error_text(exc).lower().replace("_", "").replace(" ", "")
    assert word in message, f"the error does not name the {type_name} type: {error_text(exc)}"
    assert root.has_collection(name) is False


# -- partitions ----------------------------------------------------------------------


def test_partitions(root):
    name = uniq("parts")
    root.create_collection(name, dimension=DIM, consistency_level="Strong")
    v = vectors(30, DIM, seed=51)
    root.create_partition(name, "p1")
    root.create_partition(name, "p2")
    assert sorted(root.list_partitions(name)) == ["_default", "p1", "p2"]
    assert root.has_partition(name, "p1") is True
    assert root.has_partition(name, "nope") is False
    root.load_collection(name)
    root.insert(name, [{"id": i, "vector": v[i].tolist()} for i in range(10)])
    root.insert(name, [{"id": 100 + i, "vector": v[i].tolist()} for i in range(10)], partition_name="p1")
    root.insert(name, [{"id": 200 + i, "vector": v[i].tolist()} for i in range(10)], partition_name="p2")
    # The same vectors live in all three partitions under different ids.
    assert hit_ids(root.search(name, [v[4].tolist()], limit=3, partition_names=["p1"])[0])[0] == 104
    assert set(hit_ids(root.search(name, [v[4].tolist()], limit=2, partition_names=["p1", "p2"])[0])) == {104, 204}
    assert set(hit_ids(root.search(name, [v[4].tolist()], limit=3)[0])) == {4, 104, 204}
    assert count_rows(root, name, "id >= 0", partition_names=["p2"]) == 10
    if not LITE:  # milvus-lite ignores partition_names in count(*) with an empty filter
        assert count_rows(root, name, partition_names=["p2"]) == 10
    assert sorted(r["id"] for r in root.query(name, filter="id >= 0", partition_names=["p1"])) == list(range(100, 110))
    assert root.get_partition_stats(name, "p1")["row_count"] == 10
    assert root.get_collection_stats(name)["row_count"] == 30
    assert deleted_count_in_partition(root, name) == 1
    expect_refused(lambda: root.drop_partition(name, "_default"))
    root.drop_collection(name)


def deleted_count_in_partition(root, name) -> int:
    root.delete(name, ids=[105], partition_name="p1")
    return 10 - count_rows(root, name, "id >= 0", partition_names=["p1"])


@lite_differs("LoadPartitions and ReleasePartitions are unimplemented")
def test_partition_load_release_and_drop(root):
    name = uniq("partlr")
    root.create_collection(name, dimension=DIM, consistency_level="Strong")
    v = vectors(10, DIM, seed=52)
    root.create_partition(name, "p1")
    root.load_collection(name)
    root.insert(name, [{"id": 100 + i, "vector": v[i].tolist()} for i in range(10)], partition_name="p1")
    root.insert(name, [{"id": i, "vector": v[i].tolist()} for i in range(10)])
    # Quiver refuses, on purpose and with a clear error, to release some partitions of a
    # loaded collection, which Milvus does.
    exc = expect_refused(lambda: root.release_partitions(name, ["p1"]))
    assert "not supported" in error_text(exc).lower(), error_text(exc)
    root.release_collection(name)
    assert root.get_load_state(name, partition_name="p1")["state"].name == "NotLoad"
    root.load_partitions(name, ["p1"])
    assert root.get_load_state(name, partition_name="p1")["state"].name == "Loaded"
    assert hit_ids(root.search(name, [v[2].tolist()], limit=1, partition_names=["p1"])[0]) == [102]
    root.release_partitions(name, ["_default", "p1"])
    assert root.get_load_state(name)["state"].name == "NotLoad"
    root.drop_partition(name, "p1")
    assert root.has_partition(name, "p1") is False
    assert root.list_partitions(name) == ["_default"]
    root.drop_collection(name)


# -- aliases ---------------------------------------------------------------------------


def test_aliases(root):
    c1, c2, alias = uniq("alias_a"), uniq("alias_b"), uniq("al")
    for c in (c1, c2):
        root.create_collection(c, dimension=4, consistency_level="Strong")
    root.insert(c2, [{"id": 900, "vector": [0.0, 1.0, 0.0, 0.0]}])
    root.create_alias(c1, alias)
    described = root.describe_alias(alias)
    assert (described["alias"], described["collection_name"]) == (alias, c1)
    assert root.list_aliases(c1)["aliases"] == [alias]
    assert root.list_aliases(c2)["aliases"] == []
    assert root.describe_collection(alias)["collection_name"] == c1
    assert root.has_collection(alias) is True
    assert alias not in root.list_collections()
    # Writes and reads through the alias reach c1.
    root.insert(alias, [{"id": 1, "vector": [1.0, 0.0, 0.0, 0.0]}, {"id": 2, "vector": [0.0, 0.0, 1.0, 0.0]}])
    assert count_rows(root, c1) == 2
    assert hit_ids(root.search(alias, [[1.0, 0.1, 0.0, 0.0]], limit=1)[0]) == [1]
    assert [r["id"] for r in root.get(alias, ids=[2])] == [2]
    # Repoint the alias (blue-green switch).
    root.alter_alias(c2, alias)
    assert root.describe_alias(alias)["collection_name"] == c2
    assert hit_ids(root.search(alias, [[1.0, 0.1, 0.0, 0.0]], limit=1)[0]) == [900]
    assert root.list_aliases(c1)["aliases"] == []
    # An alias may not take a collection's name, nor be created twice.
    expect_refused(lambda: root.create_alias(c1, c2))
    expect_refused(lambda: root.create_alias(c1, alias))
    root.drop_alias(alias)
    assert root.has_collection(alias) is False
    expect_refused(lambda: root.describe_alias(alias))
    for c in (c1, c2):
        root.drop_collection(c)


# -- databases -------------------------------------------------------------------------


def test_databases(root, target):
    db, coll = uniq("db"), uniq("dbcoll")
    root.create_database(db)
    assert {"default", db} <= set(root.list_databases())
    assert root.describe_database(db)["name"] == db
    expect_refused(lambda: root.create_database(db))
    # The same collection name in two databases: two collections.
    root.create_collection(coll, dimension=4, consistency_level="Strong")
    root.insert(coll, [{"id": i, "vector": [float(i), 1.0, 0.0, 0.0]} for i in range(5)])
    other = target.client(db_name=db)
    assert other.list_collections() == []
    other.create_collection(coll, dimension=4, consistency_level="Strong")
    other.insert(coll, [{"id": 77, "vector": [1.0, 1.0, 0.0, 0.0]}])
    assert count_rows(other, coll) == 1
    assert count_rows(root, coll) == 5
    assert other.list_collections() == [coll]
    # use_database switches an open client.
    root.use_database(db)
    try:
        assert [r["id"] for r in root.query(coll, filter="id >= 0")] == [77]
    finally:
        root.use_database("default")
    assert count_rows(root, coll) == 5
    # A database with collections cannot be dropped; an empty one can.
    expect_refused(lambda: root.drop_database(db))
    other.drop_collection(coll)
    root.drop_database(db)
    assert db not in root.list_databases()
    expect_refused(lambda: root.drop_database("default"))
    root.drop_collection(coll)


def test_missing_database(root):
    exc = expect_refused(lambda: root.use_database(uniq("nodb")))
    if not LITE:  # milvus-lite answers code 6 where Milvus answers 800
        assert getattr(exc, "code", None) == 800, error_text(exc)
    expect_refused(lambda: root.describe_database(uniq("nodb")))


# -- rename and statistics -----------------------------------------------------------


def test_rename_collection(root):
    old, new, taken = uniq("old"), uniq("new"), uniq("taken")
    root.create_collection(old, dimension=4, consistency_level="Strong")
    root.create_collection(taken, dimension=4, consistency_level="Strong")
    root.insert(old, [{"id": i, "vector": [float(i), 1.0, 0.0, 0.0]} for i in range(6)])
    root.rename_collection(old, new)
    assert root.has_collection(old) is False
    assert root.has_collection(new) is True
    if LITE:  # milvus-lite releases a renamed collection; Milvus renames it in place, loaded
        root.load_collection(new)
    assert count_rows(root, new) == 6
    assert hit_ids(root.search(new, [[5.0, 1.0, 0.0, 0.0]], limit=1)[0]) == [5]
    expect_refused(lambda: root.rename_collection(new, taken))
    assert count_rows(root, new) == 6
    for c in (new, taken):
        root.drop_collection(c)


def test_collection_statistics(root):
    name = uniq("stats")
    root.create_collection(name, dimension=4, consistency_level="Strong")
    assert root.get_collection_stats(name)["row_count"] == 0
    root.insert(name, [{"id": i, "vector": [1.0, float(i), 0.0, 0.0]} for i in range(42)])
    root.flush(name)
    assert root.get_collection_stats(name)["row_count"] == 42
    root.drop_collection(name)
