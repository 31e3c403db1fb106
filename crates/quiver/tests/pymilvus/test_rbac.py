"""RBAC with Milvus's model: users, roles, grants (v1 and v2), built-in and custom privilege
groups, scoping by database and collection, filtered listings, and for every privilege in
PRIVILEGES one user without it refused (PERMISSION_DENIED) and one with it allowed.
Quiver only."""

import itertools
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Callable, Optional, Tuple

import grpc
import pytest
from pymilvus import DataType, MilvusClient
from pymilvus.grpc_gen import milvus_pb2

from conftest import (
    auth_header,
    count_rows,
    error_text,
    expect_denied,
    expect_refused,
    hit_ids,
    requires_quiver,
    strong_password,
    uniq,
    user_name,
    vectors,
)

pytestmark = requires_quiver

DIM = 8
ROWS = 50
_ids = itertools.count(10_000)


@pytest.fixture(scope="module")
def admin(server):
    return server.client()


@pytest.fixture(scope="module")
def world(server, admin):
    """What the privilege cases act on: collection C (loaded, 50 rows, partition p_keep,
    alias A) in the default database."""
    coll = uniq("rb_main")
    admin.create_collection(coll, dimension=DIM, consistency_level="Strong")
    v = vectors(ROWS, DIM, seed=61)
    admin.insert(coll, [{"id": i, "vector": v[i].tolist()} for i in range(ROWS)])
    admin.create_partition(coll, "p_keep")
    alias = uniq("rb_alias")
    admin.create_alias(coll, alias)
    return SimpleNamespace(server=server, coll=coll, v=v, alias=alias)


@dataclass
class Actor:
    client: MilvusClient
    user: str
    password: str
    role: str


def new_user(server, admin, *grants: Tuple[str, str, str]) -> Actor:
    """A user with one role of its own holding the v2 grants (privilege, db, collection)."""
    user, pw = user_name("rb"), strong_password()
    admin.create_user(user, pw)
    role = uniq("role")
    admin.create_role(role)
    for privilege, db, collection in grants:
        admin.grant_privilege_v2(role, privilege, collection, db_name=db)
    admin.grant_role(user, role)
    return Actor(server.client(user, pw), user, pw, role)


def plain_schema(dim: int = 4):
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("id", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    return schema


def quick(admin, dim: int = 4) -> str:
    name = uniq("rb_tmp")
    admin.create_collection(name, dimension=dim, consistency_level="Strong")
    return name


# -- the privilege table --------------------------------------------------------------------


@dataclass
class Case:
    privilege: str
    # Where the grant goes: "collection" (db default, the case's collection), "database"
    # (db default, collection *), "cluster" (* / *).
    level: str
    action: Callable  # (actor, ctx) -> result; must succeed with the privilege
    prepare: Optional[Callable] = None  # (admin, ctx) -> None, fills ctx
    check: Optional[Callable] = None  # (admin, ctx, result) -> None, the action's effect
    # Privileges both users hold because pymilvus makes these calls around the one under test
    # (insert reads the schema first, load and flush poll for completion, ...).
    support: Tuple[str, ...] = ()


def _raw_flush_state(server, actor, ctx):
    resp = server.raw_call(
        "GetFlushState",
        milvus_pb2.GetFlushStateRequest(collection_name=ctx.coll, db_name="default", flush_ts=0),
        [auth_header(actor.user, actor.password)],
    )
    assert resp.status.code == 0 and resp.status.error_code == 0, resp.status
    return resp.flushed


def _prep_fresh(admin, ctx):
    ctx.coll = quick(admin)


def _prep_released(admin, ctx):
    ctx.coll = quick(admin)
    admin.release_collection(ctx.coll)


def _prep_unindexed(admin, ctx):
    ctx.coll = uniq("rb_noidx")
    admin.create_collection(ctx.coll, schema=plain_schema())


def _prep_partition(admin, ctx):
    ctx.coll = uniq("rb_parts")
    admin.create_collection(ctx.coll, schema=plain_schema())
    admin.create_partition(ctx.coll, "p_drop")


def _prep_alias(admin, ctx):
    ctx.new_alias = uniq("rb_al")
    admin.create_alias(ctx.coll, ctx.new_alias)


def _prep_names(admin, ctx):
    ctx.new_name = uniq("rb_new")


def _prep_db(admin, ctx):
    ctx.db = uniq("rb_db")
    admin.create_database(ctx.db)


def _prep_user_role(admin, ctx):
    ctx.other, ctx.other_pw = user_name("other"), strong_password()
    admin.create_user(ctx.other, ctx.other_pw)
    ctx.role = uniq("rb_r")
    admin.create_role(ctx.role)


def _prep_group(admin, ctx):
    ctx.group = uniq("rb_g")
    admin.create_privilege_group(ctx.group)


def _index_params():
    params = MilvusClient.prepare_index_params()
    params.add_index("vector", index_type="AUTOINDEX", metric_type="L2")
    return params


PRIVILEGES = [
    # collection level
    Case("Search", "collection", lambda a, c: a.client.search(c.coll, [c.v[0].tolist()], limit=3),
         check=lambda adm, c, r: hit_ids(r[0])[0] == 0),
    Case("Query", "collection", lambda a, c: a.client.query(c.coll, filter="id < 5"),
         check=lambda adm, c, r: sorted(x["id"] for x in r) == [0, 1, 2, 3, 4]),
    Case("Insert", "collection", lambda a, c: a.client.insert(c.coll, [{"id": c.new_id, "vector": [0.5] * DIM}]),
         prepare=lambda adm, c: setattr(c, "new_id", next(_ids)),
         check=lambda adm, c, r: len(adm.get(c.coll, ids=[c.new_id])) == 1,
         support=("DescribeCollection",)),
    Case("Upsert", "collection", lambda a, c: a.client.upsert(c.coll, [{"id": c.new_id, "vector": [0.25] * DIM}]),
         prepare=lambda adm, c: setattr(c, "new_id", next(_ids)),
         check=lambda adm, c, r: len(adm.get(c.coll, ids=[c.new_id])) == 1,
         support=("DescribeCollection",)),
    Case("Delete", "collection", lambda a, c: a.client.delete(c.coll, filter=f"id == {c.doomed}"),
         prepare=lambda adm, c: (setattr(c, "doomed", next(_ids)),
                                 adm.insert(c.coll, [{"id": c.doomed, "vector": [0.75] * DIM}])),
         check=lambda adm, c, r: len(adm.get(c.coll, ids=[c.doomed])) == 0),
    Case("Load", "collection", lambda a, c: a.client.load_collection(c.coll), prepare=_prep_released,
         check=lambda adm, c, r: adm.get_load_state(c.coll)["state"].name == "Loaded",
         support=("GetLoadState",)),
    Case("Release", "collection", lambda a, c: a.client.release_collection(c.coll), prepare=_prep_fresh,
         check=lambda adm, c, r: adm.get_load_state(c.coll)["state"].name == "NotLoad"),
    Case("GetLoadState", "collection", lambda a, c: a.client.get_load_state(c.coll),
         check=lambda adm, c, r: r["state"].name == "Loaded"),
    Case("GetStatistics", "collection", lambda a, c: a.client.get_collection_stats(c.coll),
         check=lambda adm, c, r: r["row_count"] >= ROWS),
    Case("CreateIndex", "collection", lambda a, c: a.client.create_index(c.coll, _index_params()),
         prepare=_prep_unindexed, check=lambda adm, c, r: adm.list_indexes(c.coll) == ["vector"],
         support=("IndexDetail",)),
    Case("IndexDetail", "collection", lambda a, c: a.client.describe_index(c.coll, "vector"),
         check=lambda adm, c, r: r["metric_type"] == "COSINE"),
    Case("DropIndex", "collection", lambda a, c: a.client.drop_index(c.coll, "vector"), prepare=_prep_released,
         check=lambda adm, c, r: adm.list_indexes(c.coll) == []),
    Case("Flush", "collection", lambda a, c: a.client.flush(c.coll), support=("GetFlushState",)),
    Case("GetFlushState", "collection", lambda a, c: _raw_flush_state(c.server, a, c),
         check=lambda adm, c, r: r is True),
    Case("CreatePartition", "collection", lambda a, c: a.client.create_partition(c.coll, c.part),
         prepare=lambda adm, c: (_prep_fresh(adm, c), setattr(c, "part", uniq("p"))),
         check=lambda adm, c, r: adm.has_partition(c.coll, c.part)),
    Case("DropPartition", "collection", lambda a, c: a.client.drop_partition(c.coll, "p_drop"), prepare=_prep_partition,
         check=lambda adm, c, r: not adm.has_partition(c.coll, "p_drop")),
    Case("HasPartition", "collection", lambda a, c: a.client.has_partition(c.coll, "p_keep"),
         check=lambda adm, c, r: r is True),
    Case("ShowPartitions", "collection", lambda a, c: a.client.list_partitions(c.coll),
         check=lambda adm, c, r: sorted(r) == ["_default", "p_keep"]),
    Case("DescribeCollection", "collection", lambda a, c: a.client.describe_collection(c.coll),
         check=lambda adm, c, r: r["collection_name"] == c.coll),
    Case("CreateAlias", "collection", lambda a, c: a.client.create_alias(c.coll, c.new_alias),
         prepare=lambda adm, c: setattr(c, "new_alias", uniq("rb_al")),
         check=lambda adm, c, r: adm.describe_alias(c.new_alias)["collection_name"] == c.coll),
    Case("DropAlias", "collection", lambda a, c: a.client.drop_alias(c.new_alias), prepare=_prep_alias,
         check=lambda adm, c, r: c.new_alias not in adm.list_aliases(c.coll)["aliases"]),
    Case("DescribeAlias", "collection", lambda a, c: a.client.describe_alias(c.alias),
         check=lambda adm, c, r: r["collection_name"] == c.coll),
    Case("ListAliases", "collection", lambda a, c: a.client.list_aliases(c.coll),
         check=lambda adm, c, r: c.alias in r["aliases"]),
    # database level
    Case("CreateCollection", "database", lambda a, c: a.client.create_collection(c.new_name, schema=plain_schema()),
         prepare=_prep_names, check=lambda adm, c, r: adm.has_collection(c.new_name)),
    Case("DropCollection", "database", lambda a, c: a.client.drop_collection(c.coll), prepare=_prep_fresh,
         check=lambda adm, c, r: not adm.has_collection(c.coll)),
    Case("DescribeDatabase", "database", lambda a, c: a.client.describe_database("default"),
         check=lambda adm, c, r: r["name"] == "default"),
    # cluster level
    Case("RenameCollection", "cluster", lambda a, c: a.client.rename_collection(c.coll, c.new_name),
         prepare=lambda adm, c: (_prep_fresh(adm, c), _prep_names(adm, c)),
         check=lambda adm, c, r: adm.has_collection(c.new_name) and not adm.has_collection(c.coll)),
    Case("CreateDatabase", "cluster", lambda a, c: a.client.create_database(c.db),
         prepare=lambda adm, c: setattr(c, "db", uniq("rb_db")),
         check=lambda adm, c, r: c.db in adm.list_databases()),
    Case("DropDatabase", "cluster", lambda a, c: a.client.drop_database(c.db), prepare=_prep_db,
         check=lambda adm, c, r: c.db not in adm.list_databases()),
    Case("CreateOwnership", "cluster",
         lambda a, c: (a.client.create_user(c.other, strong_password()), a.client.create_role(c.role)),
         prepare=lambda adm, c: (setattr(c, "other", user_name("made")), setattr(c, "role", uniq("rb_r"))),
         check=lambda adm, c, r: c.other in adm.list_users() and c.role in adm.list_roles()),
    Case("DropOwnership", "cluster", lambda a, c: (a.client.drop_user(c.other), a.client.drop_role(c.role)),
         prepare=_prep_user_role,
         check=lambda adm, c, r: c.other not in adm.list_users() and c.role not in adm.list_roles()),
    Case("SelectOwnership", "cluster", lambda a, c: (a.client.list_users(), a.client.list_roles()),
         check=lambda adm, c, r: "root" in r[0] and {"admin", "public"} <= set(r[1])),
    Case("ManageOwnership", "cluster",
         lambda a, c: (a.client.grant_role(c.other, c.role),
                       a.client.grant_privilege_v2(c.role, "Query", c.coll, db_name="default")),
         prepare=_prep_user_role,
         check=lambda adm, c, r: c.role in adm.describe_user(c.other)["roles"]
         and any(g["privilege"] == "Query" for g in adm.describe_role(c.role)["privileges"])),
    Case("SelectUser", "cluster", lambda a, c: a.client.describe_user(c.other), prepare=_prep_user_role,
         check=lambda adm, c, r: r["user_name"] == c.other),
    Case("UpdateUser", "cluster", lambda a, c: a.client.update_password(c.other, c.other_pw, c.new_pw),
         prepare=lambda adm, c: (_prep_user_role(adm, c), setattr(c, "new_pw", strong_password())),
         check=lambda adm, c, r: c.server.client(c.other, c.new_pw).describe_user(c.other)["user_name"] == c.other),
    Case("CreatePrivilegeGroup", "cluster", lambda a, c: a.client.create_privilege_group(c.group),
         prepare=lambda adm, c: setattr(c, "group", uniq("rb_g")),
         check=lambda adm, c, r: any(g["privilege_group"] == c.group for g in adm.list_privilege_groups())),
    Case("DropPrivilegeGroup", "cluster", lambda a, c: a.client.drop_privilege_group(c.group), prepare=_prep_group,
         check=lambda adm, c, r: not any(g["privilege_group"] == c.group for g in adm.list_privilege_groups())),
    Case("ListPrivilegeGroups", "cluster", lambda a, c: a.client.list_privilege_groups(),
         check=lambda adm, c, r: isinstance(r, list)),
    Case("OperatePrivilegeGroup", "cluster", lambda a, c: a.client.add_privileges_to_group(c.group, ["Query"]),
         prepare=_prep_group,
         check=lambda adm, c, r: any(g["privilege_group"] == c.group and "Query" in g["privileges"]
                                     for g in adm.list_privilege_groups())),
]


def scope(level: str, ctx) -> Tuple[str, str]:
    """(db, collection) of a v2 grant at this level for this case."""
    return {"collection": ("default", ctx.coll), "database": ("default", "*"), "cluster": ("*", "*")}[level]


@pytest.mark.parametrize("case", PRIVILEGES, ids=[c.privilege for c in PRIVILEGES])
def test_privilege_is_required_and_sufficient(server, admin, world, case):
    ctx = SimpleNamespace(server=server, coll=world.coll, v=world.v, alias=world.alias)
    if case.prepare:
        case.prepare(admin, ctx)
    db, coll = scope(case.level, ctx)
    support = [(p, "default", ctx.coll) for p in case.support]
    without = new_user(server, admin, *support)
    holder = new_user(server, admin, (case.privilege, db, coll), *support)

    exc = expect_denied(lambda: case.action(without, ctx))
    assert case.privilege in error_text(exc), f"the denial does not name the privilege: {error_text(exc)}"

    try:
        result = case.action(holder, ctx)
    except Exception as e:  # noqa: BLE001 - reported with the gRPC code
        raise AssertionError(f"{case.privilege} granted on ({db}, {coll}) but refused: {error_text(e)}") from e
    if case.check:
        assert case.check(admin, ctx, result), f"{case.privilege}: the call succeeded without effect: {result!r}"


def test_every_listed_privilege_names_a_distinct_case():
    names = [c.privilege for c in PRIVILEGES]
    assert len(names) == len(set(names))


# -- users, roles, defaults ---------------------------------------------------------------


def test_new_user_can_do_nothing_but_look_at_itself(server, admin, world):
    nobody = new_user(server, admin)
    c = nobody.client
    assert c.list_collections() == []
    assert c.list_databases() == []
    expect_denied(lambda: c.describe_collection(world.coll))
    expect_denied(lambda: c.search(world.coll, [world.v[0].tolist()], limit=1))
    expect_denied(lambda: c.query(world.coll, filter="id < 3"))
    expect_denied(lambda: c.create_collection(uniq("nope"), schema=plain_schema()))
    expect_denied(lambda: c.create_database(uniq("nope")))
    expect_denied(lambda: c.list_users())
    expect_denied(lambda: c.create_user(user_name("nope"), strong_password()))
    expect_denied(lambda: c.describe_user("root"))
    # Always allowed: describing oneself and changing one's own password.
    assert c.describe_user(nobody.user)["user_name"] == nobody.user
    new_pw = strong_password()
    c.update_password(nobody.user, nobody.password, new_pw)
    assert server.client(nobody.user, new_pw).describe_user(nobody.user)["user_name"] == nobody.user


def test_builtin_roles(server, admin, world):
    roles = admin.list_roles()
    assert {"admin", "public"} <= set(roles)
    assert admin.describe_role("public")["privileges"] == []
    expect_refused(lambda: admin.drop_role("admin"))
    expect_refused(lambda: admin.drop_role("public"))
    user = new_user(server, admin)
    admin.grant_role(user.user, "admin")
    assert "admin" in admin.describe_user(user.user)["roles"]
    db = uniq("by_admin")
    user.client.create_database(db)
    user.client.drop_database(db)
    assert "root" in user.client.list_users()
    assert world.coll in user.client.list_collections()
    admin.revoke_role(user.user, "admin")
    expect_denied(lambda: user.client.list_users())


def test_grants_to_public_reach_every_user(server, admin, world):
    user = new_user(server, admin)
    expect_denied(lambda: user.client.query(world.coll, filter="id < 2"))
    admin.grant_privilege_v2("public", "Query", world.coll, db_name="default")
    try:
        assert len(user.client.query(world.coll, filter="id < 2")) == 2
    finally:
        admin.revoke_privilege_v2("public", "Query", world.coll, db_name="default")
    expect_denied(lambda: user.client.query(world.coll, filter="id < 2"))


def test_roles_grants_and_revocations(server, admin, world):
    user = new_user(server, admin)
    role = uniq("role_rev")
    admin.create_role(role)
    assert role in admin.list_roles()
    admin.grant_privilege_v2(role, "Search", world.coll, db_name="default")
    admin.grant_role(user.user, role)
    assert role in admin.describe_user(user.user)["roles"]
    grants = admin.describe_role(role)["privileges"]
    assert len(grants) == 1
    g = grants[0]
    assert (g["object_type"], g["object_name"], g["db_name"], g["privilege"]) == ("Collection", world.coll, "default", "Search")
    assert g.get("grantor_name") == "root"
    assert hit_ids(user.client.search(world.coll, [world.v[1].tolist()], limit=1)[0]) == [1]
    # Revoking the grant takes effect on the next call.
    admin.revoke_privilege_v2(role, "Search", world.coll, db_name="default")
    assert admin.describe_role(role)["privileges"] == []
    expect_denied(lambda: user.client.search(world.coll, [world.v[1].tolist()], limit=1))
    # So does taking the role away.
    admin.grant_privilege_v2(role, "Search", world.coll, db_name="default")
    user.client.search(world.coll, [world.v[1].tolist()], limit=1)
    admin.revoke_role(user.user, role)
    assert role not in admin.describe_user(user.user)["roles"]
    expect_denied(lambda: user.client.search(world.coll, [world.v[1].tolist()], limit=1))
    admin.revoke_privilege_v2(role, "Search", world.coll, db_name="default")
    admin.drop_role(role)
    assert role not in admin.list_roles()


def test_v1_grants_collection_global_and_user(server, admin, world):
    other = user_name("target")
    admin.create_user(other, strong_password())
    user = new_user(server, admin)
    role = user.role
    admin.grant_privilege(role, "Collection", "Query", world.coll, db_name="default")
    admin.grant_privilege(role, "Global", "CreateDatabase", "*", db_name="*")
    admin.grant_privilege(role, "User", "SelectUser", other, db_name="*")
    assert len(user.client.query(world.coll, filter="id < 4")) == 4
    expect_denied(lambda: user.client.search(world.coll, [world.v[0].tolist()], limit=1))
    db = uniq("v1db")
    user.client.create_database(db)
    admin.drop_database(db)
    assert user.client.describe_user(other)["user_name"] == other
    expect_denied(lambda: user.client.describe_user("root"))
    kinds = {(g["object_type"], g["privilege"]) for g in admin.describe_role(role)["privileges"]}
    assert {("Collection", "Query"), ("Global", "CreateDatabase"), ("User", "SelectUser")} <= kinds
    admin.revoke_privilege(role, "Collection", "Query", world.coll, db_name="default")
    expect_denied(lambda: user.client.query(world.coll, filter="id < 4"))


def test_grants_are_scoped_by_database_and_collection(server, admin, world):
    other_coll = quick(admin, DIM)
    db = uniq("scope_db")
    admin.create_database(db)
    in_db = server.client(db_name=db)
    in_db.create_collection(world.coll, dimension=DIM, consistency_level="Strong")  # same name, other db

    def probe(actor):
        """Which of (C, other collection, C in the other db) the actor may query."""
        results = []
        for client, coll in ((actor.client, world.coll), (actor.client, other_coll), (None, world.coll)):
            client = client or server.client(actor.user, actor.password, db_name=db)
            try:
                client.query(coll, filter="id >= 0", limit=1)
                results.append(True)
            except grpc.RpcError as exc:
                assert exc.code() == grpc.StatusCode.PERMISSION_DENIED, error_text(exc)
                results.append(False)
        return results

    assert probe(new_user(server, admin, ("Query", "default", world.coll))) == [True, False, False]
    assert probe(new_user(server, admin, ("Query", "default", "*"))) == [True, True, False]
    assert probe(new_user(server, admin, ("Query", db, "*"))) == [False, False, True]
    assert probe(new_user(server, admin, ("Query", "*", "*"))) == [True, True, True]
    in_db.drop_collection(world.coll)
    admin.drop_database(db)


def test_privilege_level_must_fit_the_grant(admin):
    role = uniq("role_lvl")
    admin.create_role(role)
    expect_refused(lambda: admin.grant_privilege_v2(role, "CreateDatabase", "some_coll", db_name="default"))
    expect_refused(lambda: admin.grant_privilege_v2(role, "CreateCollection", "some_coll", db_name="default"))
    expect_refused(lambda: admin.grant_privilege_v2(role, "NoSuchPrivilege", "*", db_name="*"))
    assert admin.describe_role(role)["privileges"] == []


def test_listings_show_only_granted_objects(server, admin, world):
    other_coll = quick(admin, DIM)
    db = uniq("list_db")
    admin.create_database(db)
    user = new_user(server, admin, ("Search", "default", world.coll))
    assert user.client.list_collections() == [world.coll]
    assert user.client.list_databases() == ["default"]
    assert other_coll in admin.list_collections()
    user_db = new_user(server, admin, ("Query", db, "*"))
    assert user_db.client.list_databases() == [db]
    assert user_db.client.list_collections() == []
    admin.drop_database(db)


def test_denial_uses_milvus_wording(server, admin, world):
    user = new_user(server, admin)
    exc = expect_denied(lambda: user.client.search(world.coll, [world.v[0].tolist()], limit=1))
    text = error_text(exc)
    assert "PrivilegeSearch" in text and "permission deny" in text and user.user in text, text


# -- privilege groups ----------------------------------------------------------------------


def test_builtin_collection_groups(server, admin, world):
    ro = new_user(server, admin, ("CollectionReadOnly", "default", world.coll))
    assert hit_ids(ro.client.search(world.coll, [world.v[2].tolist()], limit=1)[0]) == [2]
    assert len(ro.client.query(world.coll, filter="id < 3")) == 3
    assert ro.client.describe_collection(world.coll)["collection_name"] == world.coll
    assert "p_keep" in ro.client.list_partitions(world.coll)
    expect_denied(lambda: ro.client.insert(world.coll, [{"id": next(_ids), "vector": [0.1] * DIM}]))
    expect_denied(lambda: ro.client.create_partition(world.coll, uniq("p")))

    rw = new_user(server, admin, ("CollectionReadWrite", "default", world.coll))
    rid = next(_ids)
    rw.client.insert(world.coll, [{"id": rid, "vector": [0.1] * DIM}])
    rw.client.delete(world.coll, filter=f"id == {rid}")
    part = uniq("p")
    rw.client.create_partition(world.coll, part)
    rw.client.drop_partition(world.coll, part)
    expect_denied(lambda: rw.client.create_alias(world.coll, uniq("al")))

    adm = new_user(server, admin, ("CollectionAdmin", "default", world.coll))
    alias = uniq("al")
    adm.client.create_alias(world.coll, alias)
    adm.client.drop_alias(alias)
    # Collection groups act on that collection only, and not on the database.
    expect_denied(lambda: adm.client.create_collection(uniq("nope"), schema=plain_schema()))


def test_builtin_database_and_cluster_groups(server, admin, world):
    dbro = new_user(server, admin, ("DatabaseReadOnly", "default", "*"))
    assert dbro.client.describe_database("default")["name"] == "default"
    expect_denied(lambda: dbro.client.create_collection(uniq("nope"), schema=plain_schema()))

    dbadm = new_user(server, admin, ("DatabaseAdmin", "default", "*"))
    name = uniq("by_dbadmin")
    dbadm.client.create_collection(name, schema=plain_schema())
    dbadm.client.drop_collection(name)
    expect_denied(lambda: dbadm.client.create_database(uniq("nope")))

    clro = new_user(server, admin, ("ClusterReadOnly", "*", "*"))
    assert "root" in clro.client.list_users()
    assert "admin" in clro.client.list_roles()
    expect_denied(lambda: clro.client.create_user(user_name("nope"), strong_password()))
    expect_denied(lambda: clro.client.create_database(uniq("nope")))

    cladm = new_user(server, admin, ("ClusterAdmin", "*", "*"))
    db = uniq("by_cladmin")
    cladm.client.create_database(db)
    cladm.client.drop_database(db)
    made = user_name("by_cladmin")
    cladm.client.create_user(made, strong_password())
    cladm.client.drop_user(made)
    # Levels do not cascade: cluster administration grants no data access.
    expect_denied(lambda: cladm.client.search(world.coll, [world.v[0].tolist()], limit=1))


def test_custom_privilege_group(server, admin, world):
    group = uniq("grp")
    admin.create_privilege_group(group)
    admin.add_privileges_to_group(group, ["Query", "Search"])
    listed = {g["privilege_group"]: set(g["privileges"]) for g in admin.list_privilege_groups()}
    assert listed[group] == {"Query", "Search"}
    user = new_user(server, admin, (group, "default", world.coll))
    assert len(user.client.query(world.coll, filter="id < 2")) == 2
    assert hit_ids(user.client.search(world.coll, [world.v[3].tolist()], limit=1)[0]) == [3]
    expect_denied(lambda: user.client.insert(world.coll, [{"id": next(_ids), "vector": [0.1] * DIM}]))
    # Changing the group changes what its holders may do, at once.
    admin.remove_privileges_from_group(group, ["Query"])
    expect_denied(lambda: user.client.query(world.coll, filter="id < 2"))
    user.client.search(world.coll, [world.v[3].tolist()], limit=1)
    admin.add_privileges_to_group(group, ["Insert", "DescribeCollection"])
    user.client.insert(world.coll, [{"id": next(_ids), "vector": [0.1] * DIM}])


def test_privilege_group_names(admin):
    expect_refused(lambda: admin.create_privilege_group("CollectionReadOnly"))
    expect_refused(lambda: admin.create_privilege_group("Search"))
    expect_refused(lambda: admin.create_privilege_group("bad-name"))
    group = uniq("grp_dup")
    admin.create_privilege_group(group)
    expect_refused(lambda: admin.create_privilege_group(group))
    expect_refused(lambda: admin.add_privileges_to_group(group, ["NoSuchPrivilege"]))
    admin.drop_privilege_group(group)
    assert not any(g["privilege_group"] == group for g in admin.list_privilege_groups())


def test_rbac_changes_need_privileges_even_for_self(server, admin, world):
    user = new_user(server, admin)
    role = user.role
    expect_denied(lambda: user.client.grant_privilege_v2(role, "Search", world.coll, db_name="default"))
    expect_denied(lambda: user.client.grant_role(user.user, "admin"))
    expect_denied(lambda: user.client.create_role(uniq("self_role")))
    expect_denied(lambda: user.client.search(world.coll, [world.v[0].tolist()], limit=1))
    assert count_rows(admin, world.coll, "id < 50") == ROWS
