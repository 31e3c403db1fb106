"""A restart on the same data directory keeps everything: data (flushed or not), schemas,
indexes, partitions, aliases, databases, users, passwords, roles, grants, privilege groups
and the generated certificates. SIGTERM ends the server gracefully with exit code 0, after
the requests in flight. Quiver only."""

import signal
import threading
import time

import grpc
import numpy as np
from pymilvus import DataType

from conftest import (
    ROOT_PASSWORD,
    SECRETS,
    count_rows,
    error_text,
    expect_denied,
    expect_login_refused,
    hit_ids,
    requires_quiver,
    strong_password,
    uniq,
    user_name,
    vectors,
)

pytestmark = requires_quiver

DIM = 16


def schema_summary(desc: dict):
    return [
        (f["name"], f["type"], dict(f.get("params", {})), bool(f.get("is_primary")), bool(f.get("nullable")))
        for f in desc["fields"]
    ]


def test_restart_keeps_everything(spawn, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("restart")
    srv = spawn("restart_before", data_dir=data_dir)
    admin = srv.client()

    # -- data -----------------------------------------------------------------------------
    coll = uniq("keep")
    schema = admin.create_schema(auto_id=False, enable_dynamic_field=True)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("s", DataType.VARCHAR, max_length=32)
    schema.add_field("j", DataType.JSON)
    schema.add_field("n", DataType.INT32, nullable=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=DIM)
    index = admin.prepare_index_params()
    index.add_index("v", index_type="HNSW", metric_type="L2", params={"M": 16, "efConstruction": 200})
    admin.create_collection(coll, schema=schema, index_params=index, consistency_level="Strong")
    v = vectors(330, DIM, seed=71)

    def row(i, s=None):
        return {"pk": i, "s": s or f"s{i}", "j": {"i": i}, "n": None if i % 7 == 0 else i, "v": v[i].tolist(), "dyn": i % 3}

    admin.insert(coll, [row(i) for i in range(300)])
    admin.delete(coll, ids=list(range(10)))
    admin.upsert(coll, [row(i, s="upserted") for i in range(10, 15)])
    admin.flush(coll)
    admin.insert(coll, [row(i) for i in range(300, 320)])  # after the flush
    admin.create_partition(coll, "p1")
    admin.insert(coll, [row(i) for i in range(320, 330)], partition_name="p1")
    alias = uniq("keep_alias")
    admin.create_alias(coll, alias)
    desc_before = admin.describe_collection(coll)
    dropped = uniq("dropped")
    admin.create_collection(dropped, dimension=4)
    admin.drop_collection(dropped)
    db = uniq("keep_db")
    admin.create_database(db)
    in_db = srv.client(db_name=db)
    in_db.create_collection("in_db", dimension=4, consistency_level="Strong")
    in_db.insert("in_db", [{"id": i, "vector": [1.0, float(i), 0.0, 0.0]} for i in range(5)])

    # -- security -----------------------------------------------------------------------
    keep, keep_pw = user_name("keep"), strong_password()
    chg, chg_old, chg_new = user_name("chg"), strong_password(), strong_password()
    gone, gone_pw = user_name("gone"), strong_password()
    for user, pw in ((keep, keep_pw), (chg, chg_old), (gone, gone_pw)):
        admin.create_user(user, pw)
    srv.client(chg, chg_old).update_password(chg, chg_old, chg_new)
    admin.drop_user(gone)
    role, group = uniq("keep_role"), uniq("keep_group")
    admin.create_role(role)
    admin.create_privilege_group(group)
    admin.add_privileges_to_group(group, ["Insert", "DescribeCollection"])
    admin.grant_privilege_v2(role, "Search", coll, db_name="default")
    admin.grant_privilege_v2(role, "Query", coll, db_name="default")
    admin.grant_privilege_v2(role, group, coll, db_name="default")
    admin.grant_role(keep, role)
    grants_before = sorted(
        (g["object_type"], g["object_name"], g["db_name"], g["privilege"]) for g in admin.describe_role(role)["privileges"]
    )
    ca_before = srv.ca_pem.read_bytes()
    cert_before = (srv.tls_dir / "server.pem").read_bytes()

    rc = srv.stop()
    assert rc == 0, f"exit code {rc} after SIGTERM\n{srv.logs()}"

    # -- after the restart ----------------------------------------------------------------
    srv = spawn("restart_after", data_dir=data_dir)
    assert srv.ca_pem.read_bytes() == ca_before, "the CA changed across a restart"
    assert (srv.tls_dir / "server.pem").read_bytes() == cert_before
    admin = srv.client()  # the same root password, trusting the same CA

    names = admin.list_collections()
    assert coll in names and dropped not in names
    assert schema_summary(admin.describe_collection(coll)) == schema_summary(desc_before)
    idx = admin.describe_index(coll, "v")
    assert (idx["index_type"], idx["metric_type"]) == ("HNSW", "L2")
    admin.load_collection(coll)
    assert count_rows(admin, coll) == 320
    assert list(admin.get(coll, ids=list(range(10)))) == []
    got = {r["pk"]: r for r in admin.get(coll, ids=[14, 15, 21, 310, 325], output_fields=["s", "j", "n", "dyn", "v"])}
    assert sorted(got) == [14, 15, 21, 310, 325]
    assert got[14]["s"] == "upserted" and got[15]["s"] == "s15"
    assert got[21]["n"] is None and got[310]["n"] == 310
    assert got[310]["j"] == {"i": 310} and got[310]["dyn"] == 310 % 3
    assert np.allclose(got[325]["v"], v[325], atol=1e-6)
    for i in (20, 150, 305, 329):  # flushed, unflushed, and in p1
        hits = admin.search(coll, [v[i].tolist()], anns_field="v", limit=1, search_params={"metric_type": "L2", "params": {"ef": 64}})[0]
        assert hit_ids(hits) == [i]
    assert sorted(admin.list_partitions(coll)) == ["_default", "p1"]
    assert count_rows(admin, coll, "pk >= 0", partition_names=["p1"]) == 10
    assert admin.describe_alias(alias)["collection_name"] == coll
    assert db in admin.list_databases()
    assert count_rows(srv.client(db_name=db), "in_db") == 5

    users = admin.list_users()
    assert keep in users and chg in users and gone not in users
    expect_login_refused(srv, lambda: srv.client(chg, chg_old))
    expect_login_refused(srv, lambda: srv.client(gone, gone_pw))
    assert srv.client(chg, chg_new).describe_user(chg)["user_name"] == chg
    assert role in admin.describe_user(keep)["roles"]
    grants_after = sorted(
        (g["object_type"], g["object_name"], g["db_name"], g["privilege"]) for g in admin.describe_role(role)["privileges"]
    )
    assert grants_after == grants_before
    groups = {g["privilege_group"]: set(g["privileges"]) for g in admin.list_privilege_groups()}
    assert groups.get(group) == {"Insert", "DescribeCollection"}
    user = srv.client(keep, keep_pw)
    assert hit_ids(user.search(coll, [v[40].tolist()], anns_field="v", limit=1)[0]) == [40]
    assert len(user.query(coll, filter="pk in [40, 41]")) == 2
    user.insert(coll, [dict(row(0), pk=1000)])  # Insert, through the custom group
    expect_denied(lambda: user.delete(coll, filter="pk == 1000"))
    expect_denied(lambda: user.create_database(uniq("nope")))


def test_root_password_comes_from_the_first_start_only(spawn, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("rootpw")
    srv = spawn("rootpw_first", data_dir=data_dir)
    assert srv.client().get_server_version()
    assert srv.stop() == 0
    other = "Another-Root-Pw-" + uniq("x")[-6:]
    SECRETS.add(other)
    srv = spawn("rootpw_second", data_dir=data_dir, root_password=other)
    # The environment now names another password, which the server must ignore: settle()
    # (after the refused login) logs in as root with the stored one.
    srv.root_password_env = ROOT_PASSWORD
    expect_login_refused(srv, lambda: srv.client("root", other))
    assert srv.client("root", ROOT_PASSWORD).get_server_version()


def test_generated_root_password_survives_a_restart(spawn, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("genpw_restart")
    srv = spawn("genpw_first", data_dir=data_dir, root_password=None)
    password = srv.root_password
    SECRETS.add(password)
    assert srv.stop() == 0
    srv = spawn("genpw_second", data_dir=data_dir, root_password=None)
    assert srv.client("root", password).get_server_version()


def test_sigterm_exits_zero(spawn):
    srv = spawn("sigterm_idle")
    assert srv.client().get_server_version()
    started = time.monotonic()
    rc = srv.stop()
    assert rc == 0, f"exit code {rc}\n{srv.logs()}"
    assert time.monotonic() - started < 10, "graceful shutdown took over 10 s with nothing to do"


def test_sigterm_finishes_in_flight_writes(spawn, tmp_path_factory):
    """Inserts run in a loop while SIGTERM arrives: the server exits 0, every acknowledged
    insert is there after a restart, and no batch is half there."""
    data_dir = tmp_path_factory.mktemp("sigterm_busy")
    srv = spawn("sigterm_busy", data_dir=data_dir)
    admin = srv.client()
    coll = uniq("busy")
    admin.create_collection(coll, dimension=32, consistency_level="Strong")
    batch = 200
    v = vectors(batch, 32, seed=81)
    acked, failures = [], []
    stop = threading.Event()

    def writer():
        for n in range(200):
            if stop.is_set():
                return
            rows = [{"id": n * batch + i, "vector": v[i].tolist()} for i in range(batch)]
            try:
                admin.insert(coll, rows, timeout=5)
                acked.append(n)
            except Exception as exc:  # noqa: BLE001 - the server is going away
                failures.append(exc)
                return

    thread = threading.Thread(target=writer)
    thread.start()
    deadline = time.monotonic() + 20
    while len(acked) < 3 and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(acked) >= 3, f"inserts did not get going: {[error_text(e) for e in failures]}"
    srv.proc.send_signal(signal.SIGTERM)
    rc = srv.wait_exit(30)
    stop.set()
    thread.join(timeout=30)
    assert not thread.is_alive()
    assert rc == 0, f"exit code {rc} after SIGTERM under load\n{srv.logs()}"
    for exc in failures:  # refused as the server stopped, not an internal error
        code = getattr(exc, "code", None)
        assert code != grpc.StatusCode.INTERNAL and "internal" not in error_text(exc).lower(), error_text(exc)

    srv.close_clients()
    srv = spawn("sigterm_busy_after", data_dir=data_dir)
    admin = srv.client()
    admin.load_collection(coll)
    total = count_rows(admin, coll)
    assert total % batch == 0, f"a batch is partly there: {total} rows"
    assert len(acked) * batch <= total <= (len(acked) + 1) * batch, (total, len(acked))
    present = {r["id"] // batch for r in admin.query(coll, filter="id >= 0", output_fields=["id"], limit=16384)}
    assert set(acked) <= present
