"""The MilvusClient quickstart path: quick-setup collections, insert, search (filters,
output fields, offset, several query vectors, range search, templates), hybrid search,
query, get, count, delete, upsert, flush, drop. Runs against Quiver, or milvus-lite with
QUIVER_TEST_TARGET=milvus-lite."""

from types import SimpleNamespace

import numpy as np
import pytest
from pymilvus import AnnSearchRequest, DataType, RRFRanker, WeightedRanker

from conftest import (
    count_rows,
    cosine,
    deleted_count,
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
ROWS = 300
COLORS = ["red", "green", "blue"]


def row(i: int, v: np.ndarray) -> dict:
    return {"id": i, "vector": v.tolist(), "color": COLORS[i % 3], "n": i, "tag": f"t{i % 10}"}


@pytest.fixture(scope="module")
def qs(root):
    """A quick-setup collection (id Int64, vector dim 16, COSINE AUTOINDEX, dynamic fields)
    with 300 rows whose dynamic fields are color (by id % 3), n (= id) and tag."""
    name = uniq("quick")
    root.create_collection(name, dimension=DIM, consistency_level="Strong")
    v = vectors(ROWS, DIM, seed=11)
    inserted = root.insert(name, [row(i, v[i]) for i in range(ROWS)])
    return SimpleNamespace(name=name, v=v, inserted=inserted)


def check_hits(hits, scores: np.ndarray, *, k: int, larger_better: bool, min_overlap: int):
    """Hits of one query against exact scores of every row (row index == id): k hits, best
    first, each reporting its exact score, the best one exact, and at least min_overlap of
    the true top k."""
    ids = hit_ids(hits)
    assert len(ids) == k, ids
    for h in hits:
        want = scores[h["id"]]
        assert abs(h["distance"] - want) <= 1e-3 * max(1.0, abs(want)), (h, want)
    dist = [h["distance"] for h in hits]
    assert dist == sorted(dist, reverse=larger_better), dist
    order = np.argsort(-scores if larger_better else scores, kind="stable")
    assert ids[0] == int(order[0]), (ids, order[:k])
    overlap = len(set(ids) & set(order[:k].tolist()))
    assert overlap >= min_overlap, (ids, order[:k].tolist())


def test_server_answers_version(root):
    version = root.get_server_version()
    assert isinstance(version, str) and version


def test_quick_setup_describes_schema_index_and_load_state(root, qs):
    desc = root.describe_collection(qs.name)
    assert desc["collection_name"] == qs.name
    assert desc["enable_dynamic_field"] is True
    assert desc["auto_id"] is False
    fields = {f["name"]: f for f in desc["fields"]}
    assert set(fields) == {"id", "vector"}, fields
    assert fields["id"]["type"] == DataType.INT64 and fields["id"].get("is_primary") is True
    assert fields["vector"]["type"] == DataType.FLOAT_VECTOR
    assert fields["vector"]["params"]["dim"] == DIM
    assert root.list_indexes(qs.name) == ["vector"]
    index = root.describe_index(qs.name, "vector")
    assert index["metric_type"] == "COSINE"
    assert index["index_type"] == "AUTOINDEX"
    assert root.get_load_state(qs.name)["state"].name == "Loaded"
    assert root.has_collection(qs.name) is True
    assert qs.name in root.list_collections()


def test_insert_reports_count_and_ids(qs):
    assert qs.inserted["insert_count"] == ROWS
    assert list(qs.inserted["ids"]) == list(range(ROWS))


def test_search_finds_each_vector_first(root, qs):
    for i in (0, 17, 123, 299):
        hits = root.search(qs.name, [qs.v[i].tolist()], limit=1)[0]
        assert hit_ids(hits) == [i]
        assert hits[0]["distance"] == pytest.approx(1.0, abs=1e-4)


def test_search_matches_brute_force(root, qs):
    q = vectors(1, DIM, seed=99)[0]
    hits = root.search(qs.name, [q.tolist()], limit=10)[0]
    check_hits(hits, cosine(q, qs.v), k=10, larger_better=True, min_overlap=9)


def test_search_several_query_vectors(root, qs):
    ids = [3, 44, 150, 201]
    res = root.search(qs.name, [qs.v[i].tolist() for i in ids], limit=3)
    assert len(res) == len(ids)
    for i, hits in zip(ids, res):
        assert len(hits) == 3
        assert hits[0]["id"] == i
        check_hits(hits, cosine(qs.v[i], qs.v), k=3, larger_better=True, min_overlap=2)


def test_search_filter_and_output_fields(root, qs):
    q = qs.v[10]
    hits = root.search(
        qs.name, [q.tolist()], limit=10, filter='color == "red" and n > 100', output_fields=["color", "n"]
    )[0]
    assert len(hits) == 10
    for h in hits:
        assert h["entity"]["color"] == "red"
        assert h["entity"]["n"] == h["id"] > 100
    eligible = np.array([i % 3 == 0 and i > 100 for i in range(ROWS)])
    scores = np.where(eligible, cosine(q, qs.v), -np.inf)
    check_hits(hits, scores, k=10, larger_better=True, min_overlap=9)


def test_search_output_fields_of_dynamic_and_vector(root, qs):
    hits = root.search(qs.name, [qs.v[42].tolist()], limit=1, output_fields=["vector", "tag", "n"])[0]
    ent = hits[0]["entity"]
    assert hits[0]["id"] == 42
    assert ent["tag"] == "t2" and ent["n"] == 42
    assert np.allclose(ent["vector"], qs.v[42], atol=1e-6)


def test_search_offset_pages(root, qs):
    q = qs.v[77].tolist()
    first = hit_ids(root.search(qs.name, [q], limit=8)[0])
    page = hit_ids(root.search(qs.name, [q], limit=5, offset=3)[0])
    assert page == first[3:8]


def test_range_search_returns_only_the_band(root, qs):
    q = qs.v[5]
    radius, range_filter = 0.2, 0.6
    hits = root.search(
        qs.name, [q.tolist()], limit=ROWS, search_params={"params": {"radius": radius, "range_filter": range_filter}}
    )[0]
    sims = cosine(q, qs.v)
    for h in hits:
        assert radius < h["distance"] <= range_filter + 1e-6, h
        assert abs(h["distance"] - sims[h["id"]]) < 1e-3
    inside = {i for i, s in enumerate(sims) if radius + 1e-4 < s <= range_filter - 1e-4}
    got = set(hit_ids(hits))
    assert inside, "the band is empty: pick other bounds"
    # Range search over an approximate index may miss a few rows, never add wrong ones.
    assert len(got & inside) >= 0.9 * len(inside), (sorted(inside - got), len(inside))


@lite_differs("no template filters ({name} placeholders with filter_params)")
def test_template_filters(root, qs):
    q = qs.v[0]
    hits = root.search(
        qs.name,
        [q.tolist()],
        limit=20,
        filter="n < {hi} and color in {colors}",
        filter_params={"hi": 60, "colors": ["red", "blue"]},
        output_fields=["n", "color"],
    )[0]
    assert len(hits) == 20
    for h in hits:
        assert h["entity"]["n"] < 60 and h["entity"]["color"] in ("red", "blue")
    rows = root.query(qs.name, filter="n in {ids} and tag == {tag}", filter_params={"ids": [1, 11, 12, 21], "tag": "t1"})
    assert sorted(r["id"] for r in rows) == [1, 11, 21]


def test_query_filter_exact_rows(root, qs):
    rows = root.query(qs.name, filter="n >= 295", output_fields=["n", "color", "tag"])
    got = sorted((r["id"], r["n"], r["color"], r["tag"]) for r in rows)
    assert got == [(i, i, COLORS[i % 3], f"t{i % 10}") for i in range(295, 300)]
    rows = root.query(qs.name, filter='id in [3, 5, 7] or color == "purple"', output_fields=["id"])
    assert sorted(r["id"] for r in rows) == [3, 5, 7]
    rows = root.query(qs.name, filter='tag == "t4" and n < 50', output_fields=["id"])
    assert sorted(r["id"] for r in rows) == [4, 14, 24, 34, 44]


def test_query_limit_and_offset(root, qs):
    rows = root.query(qs.name, filter="n < 50", limit=10, offset=20, output_fields=["n"])
    assert [r["id"] for r in rows] == list(range(20, 30))
    rows = root.query(qs.name, filter="n >= 0", limit=7, output_fields=["n"])
    assert [r["id"] for r in rows] == list(range(7))


def test_count(root, qs):
    assert count_rows(root, qs.name) == ROWS
    assert count_rows(root, qs.name, 'color == "red"') == ROWS // 3
    assert count_rows(root, qs.name, "n < 10 and tag != \"t3\"") == 9


def test_get_by_ids(root, qs):
    rows = root.get(qs.name, ids=[1, 2, 299, 100_000], output_fields=["vector", "color", "n"])
    by_id = {r["id"]: r for r in rows}
    assert sorted(by_id) == [1, 2, 299]
    for i in (1, 2, 299):
        assert by_id[i]["color"] == COLORS[i % 3] and by_id[i]["n"] == i
        assert np.allclose(by_id[i]["vector"], qs.v[i], atol=1e-6)


def test_missing_collection_is_code_100(root):
    name = uniq("missing")
    assert root.has_collection(name) is False
    expect_milvus_error(lambda: root.describe_collection(name), code=100)
    expect_milvus_error(lambda: root.search(name, [[0.0] * DIM], limit=1), code=100)
    expect_milvus_error(lambda: root.query(name, filter="id > 0"), code=100)
    expect_milvus_error(lambda: root.insert(name, [{"id": 1, "vector": [0.0] * DIM}]), code=100)


# -- mutations, each on a fresh collection ---------------------------------------------

MUT_DIM = 8


@pytest.fixture
def mut(root):
    name = uniq("mut")
    root.create_collection(name, dimension=MUT_DIM, consistency_level="Strong")
    v = vectors(100, MUT_DIM, seed=5)
    root.insert(name, [{"id": i, "vector": v[i].tolist(), "color": "c", "n": i} for i in range(100)])
    yield SimpleNamespace(name=name, v=v)
    root.drop_collection(name)


def test_delete_by_ids(root, mut):
    assert deleted_count(root.delete(mut.name, ids=[0, 1, 2])) == 3
    assert count_rows(root, mut.name) == 97
    assert [dict(r) for r in root.get(mut.name, ids=[0, 1, 2, 3], output_fields=["n"])] == [{"id": 3, "n": 3}]
    assert list(root.query(mut.name, filter="id in [0, 1, 2]")) == []
    hits = root.search(mut.name, [mut.v[0].tolist()], limit=10)[0]
    assert not {0, 1, 2} & set(hit_ids(hits))


def test_delete_by_filter(root, mut):
    assert deleted_count(root.delete(mut.name, filter="n >= 90")) == 10
    assert count_rows(root, mut.name) == 90
    assert list(root.query(mut.name, filter="n >= 90")) == []
    hits = root.search(mut.name, [mut.v[95].tolist()], limit=100)[0]
    assert len(hits) == 90 and max(hit_ids(hits)) == 89


def test_upsert_replaces_and_inserts(root, mut):
    w = vectors(2, MUT_DIM, seed=6)
    res = root.upsert(
        mut.name,
        [
            {"id": 5, "vector": w[0].tolist(), "color": "purple", "n": 5},
            {"id": 1000, "vector": w[1].tolist(), "color": "new", "n": 1000},
        ],
    )
    assert res["upsert_count"] == 2
    assert count_rows(root, mut.name) == 101
    got = root.get(mut.name, ids=[5], output_fields=["vector", "color"])[0]
    assert got["color"] == "purple" and np.allclose(got["vector"], w[0], atol=1e-6)
    assert sorted(r["id"] for r in root.query(mut.name, filter='color == "purple"')) == [5]
    assert hit_ids(root.search(mut.name, [w[0].tolist()], limit=1)[0]) == [5]
    assert hit_ids(root.search(mut.name, [w[1].tolist()], limit=1)[0]) == [1000]


def test_flush_and_collection_stats(root, mut):
    root.flush(mut.name)
    assert root.get_collection_stats(mut.name)["row_count"] == 100
    root.insert(mut.name, [{"id": 500 + i, "vector": mut.v[i].tolist()} for i in range(7)])
    root.flush(mut.name)
    assert root.get_collection_stats(mut.name)["row_count"] == 107


def test_invalid_rows_are_refused(root, mut):
    expect_refused(lambda: root.insert(mut.name, [{"id": 700, "vector": [0.5] * (MUT_DIM - 1)}]))
    expect_refused(lambda: root.insert(mut.name, [{"id": 701, "color": "no vector"}]))
    assert count_rows(root, mut.name) == 100
    assert list(root.get(mut.name, ids=[700, 701])) == []


def test_drop_collection(root):
    name = uniq("todrop")
    root.create_collection(name, dimension=4, consistency_level="Strong")
    root.insert(name, [{"id": 1, "vector": [1.0, 0.0, 0.0, 0.0]}])
    root.drop_collection(name)
    assert root.has_collection(name) is False
    assert name not in root.list_collections()
    expect_milvus_error(lambda: root.describe_collection(name), code=100)


def test_quick_setup_auto_id(root):
    name = uniq("autoid")
    root.create_collection(name, dimension=MUT_DIM, auto_id=True, consistency_level="Strong")
    v = vectors(20, MUT_DIM, seed=8)
    res = root.insert(name, [{"vector": v[i].tolist(), "k": i} for i in range(20)])
    ids = list(res["ids"])
    assert res["insert_count"] == 20 and len(set(ids)) == 20
    assert all(isinstance(i, int) for i in ids)
    got = root.get(name, ids=ids, output_fields=["k"])
    assert sorted(r["k"] for r in got) == list(range(20))
    # The row inserted with k == 7 is found by its vector under its generated id.
    assert hit_ids(root.search(name, [v[7].tolist()], limit=1)[0]) == [ids[7]]
    root.drop_collection(name)


def test_quick_setup_string_primary_key(root):
    name = uniq("strpk")
    root.create_collection(name, dimension=MUT_DIM, id_type="string", max_length=32, consistency_level="Strong")
    v = vectors(20, MUT_DIM, seed=9)
    root.insert(name, [{"id": f"key-{i}", "vector": v[i].tolist()} for i in range(20)])
    assert hit_ids(root.search(name, [v[5].tolist()], limit=1)[0]) == ["key-5"]
    assert [r["id"] for r in root.get(name, ids=["key-3"])] == ["key-3"]
    assert deleted_count(root.delete(name, ids=["key-3", "key-4"])) == 2
    assert count_rows(root, name) == 18
    assert sorted(r["id"] for r in root.query(name, filter='id in ["key-3", "key-10"]')) == ["key-10"]
    root.drop_collection(name)


# -- hybrid search ---------------------------------------------------------------------

HY_ROWS = 120


@pytest.fixture(scope="module")
def hy(root):
    """Two vector fields: a (dim 8, L2, IVF_FLAT nlist 4, searched with nprobe 4: exact)
    and b (dim 16, IP, HNSW)."""
    name = uniq("hybrid")
    schema = root.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("a", DataType.FLOAT_VECTOR, dim=8)
    schema.add_field("b", DataType.FLOAT_VECTOR, dim=16)
    schema.add_field("tag", DataType.VARCHAR, max_length=8)
    index = root.prepare_index_params()
    index.add_index("a", index_type="IVF_FLAT", metric_type="L2", params={"nlist": 4})
    index.add_index("b", index_type="HNSW", metric_type="IP", params={"M": 16, "efConstruction": 200})
    root.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    a = vectors(HY_ROWS, 8, seed=21)
    b = vectors(HY_ROWS, 16, seed=22)
    root.insert(name, [{"id": i, "a": a[i].tolist(), "b": b[i].tolist(), "tag": f"t{i % 2}"} for i in range(HY_ROWS)])
    return SimpleNamespace(name=name, a=a, b=b)


A_PARAMS = {"metric_type": "L2", "params": {"nprobe": 4}}
B_PARAMS = {"metric_type": "IP", "params": {"ef": 128}}


def per_field(root, hy, i, k):
    ra = root.search(hy.name, [hy.a[i].tolist()], anns_field="a", limit=k, search_params=A_PARAMS)[0]
    rb = root.search(hy.name, [hy.b[i].tolist()], anns_field="b", limit=k, search_params=B_PARAMS)[0]
    return ra, rb


def requests(hy, i, k):
    return [
        AnnSearchRequest([hy.a[i].tolist()], "a", A_PARAMS, k),
        AnnSearchRequest([hy.b[i].tolist()], "b", B_PARAMS, k),
    ]


def check_fused(hits, expected: dict, limit: int):
    """Hybrid hits against expected fused scores: the best `limit` scores, in order, each
    hit carrying its own expected score (robust to ties between equal scores)."""
    best = sorted(expected.values(), reverse=True)[:limit]
    got = [h["distance"] for h in hits]
    assert len(hits) == limit
    assert got == pytest.approx(best, rel=1e-4, abs=1e-6), (got, best)
    for h in hits:
        assert h["distance"] == pytest.approx(expected[h["id"]], rel=1e-4, abs=1e-6), h


def test_per_field_searches_use_their_metric(root, hy):
    ra, rb = per_field(root, hy, 7, 10)
    assert ra[0]["id"] == 7 and ra[0]["distance"] == pytest.approx(0.0, abs=1e-5)
    check_hits(ra, l2sq(hy.a[7], hy.a), k=10, larger_better=False, min_overlap=10)
    check_hits(rb, ip(hy.b[7], hy.b), k=10, larger_better=True, min_overlap=9)


def test_hybrid_search_rrf(root, hy):
    k, limit = 10, 5
    ra, rb = per_field(root, hy, 7, k)
    expected: dict = {}
    for hits in (ra, rb):
        for rank, h in enumerate(hits, start=1):
            expected[h["id"]] = expected.get(h["id"], 0.0) + 1.0 / (60 + rank)
    hits = root.hybrid_search(hy.name, requests(hy, 7, k), RRFRanker(60), limit=limit, output_fields=["tag"])[0]
    assert hits[0]["id"] == 7
    assert hits[0]["entity"]["tag"] == "t1"
    check_fused(hits, expected, limit)


def test_hybrid_search_weighted(root, hy):
    k, limit, weights = 10, 5, (0.7, 0.3)
    ra, rb = per_field(root, hy, 12, k)
    # Milvus normalises scores before weighting: L2 -> 1 - 2/pi*atan(d), IP -> 1/2 + atan(s)/pi.
    expected: dict = {}
    for h in ra:
        expected[h["id"]] = expected.get(h["id"], 0.0) + weights[0] * (1 - 2 / np.pi * np.arctan(h["distance"]))
    for h in rb:
        expected[h["id"]] = expected.get(h["id"], 0.0) + weights[1] * (0.5 + np.arctan(h["distance"]) / np.pi)
    hits = root.hybrid_search(hy.name, requests(hy, 12, k), WeightedRanker(*weights), limit=limit)[0]
    assert hits[0]["id"] == 12
    check_fused(hits, expected, limit)


def test_hybrid_search_several_queries_and_filter(root, hy):
    reqs = [
        AnnSearchRequest([hy.a[3].tolist(), hy.a[4].tolist()], "a", A_PARAMS, 5),
        AnnSearchRequest([hy.b[3].tolist(), hy.b[4].tolist()], "b", B_PARAMS, 5),
    ]
    res = root.hybrid_search(hy.name, reqs, RRFRanker(), limit=2)
    assert len(res) == 2
    assert res[0][0]["id"] == 3 and res[1][0]["id"] == 4
    reqs = [
        AnnSearchRequest([hy.a[3].tolist()], "a", A_PARAMS, 10, expr='tag == "t0"'),
        AnnSearchRequest([hy.b[3].tolist()], "b", B_PARAMS, 10, expr='tag == "t0"'),
    ]
    hits = root.hybrid_search(hy.name, reqs, RRFRanker(), limit=5, output_fields=["tag"])[0]
    assert len(hits) == 5
    assert all(h["entity"]["tag"] == "t0" and h["id"] % 2 == 0 for h in hits)
