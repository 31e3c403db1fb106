"""Authentication on every RPC: missing, malformed or wrong credentials, dropped users,
changed passwords, the password policy, failed-login throttling, and the root password
when none is given. Quiver only."""

import base64
import stat

import grpc
import pytest
from pymilvus.grpc_gen import common_pb2, milvus_pb2, milvus_pb2_grpc, schema_pb2

from conftest import (
    READY_RE,
    SECRETS,
    QuiverServer,
    auth_header,
    error_text,
    expect_grpc_code,
    expect_login_refused,
    expect_refused,
    requires_quiver,
    strong_password,
    user_name,
    wrong_password,
)

pytestmark = requires_quiver

THROTTLED = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.RESOURCE_EXHAUSTED)


@pytest.fixture(scope="module")
def admin(server):
    return server.client()


def test_root_connects_over_tls(server, admin):
    assert admin.get_server_version()
    assert "root" in admin.list_users()
    assert "admin" in admin.describe_user("root")["roles"]


def test_connect_without_credentials_is_refused(server):
    expect_login_refused(server, lambda: server.client(token=""))


def test_wrong_password_is_refused(server):
    expect_login_refused(server, lambda: server.client("root", wrong_password()))


def test_unknown_user_is_refused(server):
    expect_login_refused(server, lambda: server.client(user_name("ghost"), strong_password()))


def test_token_that_is_no_user_password_pair_is_refused(server):
    # Milvus treats such a token as an API key. Quiver's keys look like qvk_<id>_<secret>:
    # anything else without a colon, and a well-formed key nobody issued, are refused alike.
    expect_login_refused(server, lambda: server.client(token="an-api-key-nobody-issued"))
    forged = "qvk_" + "0" * 16 + "_" + "a" * 64
    expect_login_refused(server, lambda: server.client(token=forged))


def test_new_user_can_connect_and_describe_itself(server, admin):
    user, pw = user_name("fresh"), strong_password()
    admin.create_user(user, pw)
    assert user in admin.list_users()
    me = server.client(user, pw).describe_user(user)
    assert me["user_name"] == user
    assert "admin" not in me["roles"]
    admin.drop_user(user)


def test_dropped_user_is_refused_at_once(server, admin):
    user, pw = user_name("gone"), strong_password()
    admin.create_user(user, pw)
    client = server.client(user, pw)
    assert client.describe_user(user)["user_name"] == user
    admin.drop_user(user)
    assert user not in admin.list_users()
    expect_login_refused(server, lambda: client.describe_user(user))  # the open client
    expect_login_refused(server, lambda: server.client(user, pw))  # a new one


def test_changed_password_takes_effect_at_once(server, admin):
    user, old, new = user_name("chg"), strong_password(), strong_password()
    admin.create_user(user, old)
    client = server.client(user, old)
    client.update_password(user, old, new)  # one's own password: no privilege needed
    expect_login_refused(server, lambda: client.describe_user(user))  # still sends the old one
    expect_login_refused(server, lambda: server.client(user, old))
    assert server.client(user, new).describe_user(user)["user_name"] == user
    admin.drop_user(user)


def test_update_password_needs_the_old_password(server, admin):
    user, pw = user_name("oldpw"), strong_password()
    admin.create_user(user, pw)
    client = server.client(user, pw)
    expect_refused(lambda: client.update_password(user, wrong_password(), strong_password()))
    server.settle()  # in case the wrong old password counted as a failed login
    assert server.client(user, pw).describe_user(user)["user_name"] == user
    admin.drop_user(user)


WEAK = [
    ("Sh0rt-pw", ("12", "length", "characters", "short")),
    ("password1234", ("common", "weak", "guess", "known", "breach")),
]


@pytest.mark.parametrize("password,words", WEAK, ids=["too-short", "common"])
def test_password_policy_on_create_user(admin, password, words):
    user = user_name("weak")
    exc = expect_refused(lambda: admin.create_user(user, password))
    text = error_text(exc)
    assert any(w in text.lower() for w in words), f"the refusal does not say why: {text}"
    assert password not in text, f"the refusal echoes the password: {text}"
    assert user not in admin.list_users()


@pytest.mark.parametrize("password,words", WEAK, ids=["too-short", "common"])
def test_password_policy_on_update_password(server, admin, password, words):
    user, pw = user_name("weakupd"), strong_password()
    admin.create_user(user, pw)
    exc = expect_refused(lambda: server.client(user, pw).update_password(user, pw, password))
    text = error_text(exc)
    assert any(w in text.lower() for w in words), f"the refusal does not say why: {text}"
    assert password not in text
    assert server.client(user, pw).describe_user(user)["user_name"] == user
    admin.drop_user(user)


def test_duplicate_and_invalid_user_names_are_refused(admin):
    user = user_name("dup")
    admin.create_user(user, strong_password())
    expect_refused(lambda: admin.create_user(user, strong_password()))
    expect_refused(lambda: admin.create_user("1starts_with_a_digit", strong_password()))
    expect_refused(lambda: admin.create_user("has-dash", strong_password()))
    expect_refused(lambda: admin.create_user("u" * 33, strong_password()))
    admin.drop_user(user)


def test_root_cannot_be_dropped(server, admin):
    expect_refused(lambda: admin.drop_user("root"))
    assert "root" in admin.list_users()
    assert server.client().get_server_version()


# -- raw gRPC probes: every RPC authenticates, before anything else ---------------------

PROBES = [
    ("Connect", milvus_pb2.ConnectRequest()),
    ("GetVersion", milvus_pb2.GetVersionRequest()),
    ("CheckHealth", milvus_pb2.CheckHealthRequest()),
    ("ListDatabases", milvus_pb2.ListDatabasesRequest()),
    ("ShowCollections", milvus_pb2.ShowCollectionsRequest()),
    ("HasCollection", milvus_pb2.HasCollectionRequest(collection_name="probe_coll")),
    ("DescribeCollection", milvus_pb2.DescribeCollectionRequest(collection_name="probe_coll")),
    (
        "CreateCollection",
        milvus_pb2.CreateCollectionRequest(
            collection_name="probe_coll",
            schema=schema_pb2.CollectionSchema(
                name="probe_coll",
                fields=[
                    schema_pb2.FieldSchema(name="id", is_primary_key=True, data_type=schema_pb2.DataType.Int64),
                    schema_pb2.FieldSchema(
                        name="v",
                        data_type=schema_pb2.DataType.FloatVector,
                        type_params=[common_pb2.KeyValuePair(key="dim", value="4")],
                    ),
                ],
            ).SerializeToString(),
        ),
    ),
    ("CreateDatabase", milvus_pb2.CreateDatabaseRequest(db_name="probe_db")),
    ("Query", milvus_pb2.QueryRequest(collection_name="probe_coll", expr="id > 0")),
    ("Search", milvus_pb2.SearchRequest(collection_name="probe_coll")),
    ("ListCredUsers", milvus_pb2.ListCredUsersRequest()),
    (
        "CreateCredential",
        milvus_pb2.CreateCredentialRequest(
            username="probe_user", password=base64.b64encode(b"Probe-Password-4821").decode()
        ),
    ),
]
SECRETS.add("Probe-Password-4821")


def test_every_rpc_refuses_missing_credentials(spawn):
    srv = spawn("auth_probe")
    for method, request in PROBES:
        expect_login_refused(srv, lambda: srv.raw_call(method, request))
    admin = srv.client()
    assert not admin.has_collection("probe_coll")
    assert "probe_db" not in admin.list_databases()
    assert "probe_user" not in admin.list_users()


MEMBER_BYPASS = base64.b64encode(b"@@milvus-member@@").decode()
BAD_HEADERS = {
    "empty authorization": [("authorization", "")],
    "authorization not base64": [("authorization", "!!not base64!!")],
    "no colon": [("authorization", base64.b64encode(b"root").decode())],
    # CVE-2025-64513: Milvus skipped authentication for this internal marker.
    "milvus member sourceId": [("sourceid", MEMBER_BYPASS)],
    "member sourceId with root and no password": [("sourceid", MEMBER_BYPASS), ("authorization", base64.b64encode(b"root:").decode())],
}


def test_malformed_and_bypass_headers_are_refused(spawn):
    srv = spawn("auth_headers")
    for what, metadata in BAD_HEADERS.items():
        for method, request in (("GetVersion", milvus_pb2.GetVersionRequest()), ("ListCredUsers", milvus_pb2.ListCredUsersRequest())):
            try:
                expect_login_refused(srv, lambda: srv.raw_call(method, request, metadata))
            except AssertionError as exc:
                raise AssertionError(f"{what}, {method}: {exc}") from exc
    # The raw path itself works with real credentials.
    resp = srv.raw_call("ListCredUsers", milvus_pb2.ListCredUsersRequest(), [auth_header("root", srv.root_password)])
    assert resp.status.code == 0 and "root" in resp.usernames


# -- throttling ---------------------------------------------------------------------------


def test_failed_logins_throttle_the_user(spawn):
    srv = spawn("throttle")
    admin = srv.client()
    user, pw = user_name("victim"), strong_password()
    admin.create_user(user, pw)
    request = milvus_pb2.GetVersionRequest()
    with srv.raw_channel() as channel:
        stub = milvus_pb2_grpc.MilvusServiceStub(channel)
        ok = stub.GetVersion(request, metadata=[auth_header(user, pw)], timeout=10)
        assert ok.status.code == 0
        for attempt in range(5):
            try:
                expect_grpc_code(lambda: stub.GetVersion(request, metadata=[auth_header(user, wrong_password())], timeout=10), *THROTTLED)
            except AssertionError as exc:
                raise AssertionError(f"wrong password #{attempt + 1}: {exc}") from exc
        # Locked: the right password is refused too (asserted at once; the lock expires).
        expect_grpc_code(lambda: stub.GetVersion(request, metadata=[auth_header(user, pw)], timeout=10), *THROTTLED)


# -- the root password ------------------------------------------------------------------


def test_generated_root_password(spawn):
    srv = spawn("genpw", root_password=None)
    path = srv.data_dir / "initial-root-password"
    assert path.is_file(), f"no {path}\n{srv.logs()}"
    mode = stat.S_IMODE(path.stat().st_mode)
    assert mode == 0o600, oct(mode)
    password = path.read_text().strip()
    SECRETS.add(password)
    assert len(password) >= 12
    assert srv.client("root", password).get_server_version()
    out = srv.output()
    assert password not in out, "the generated password is in the server's output"
    assert "initial-root-password" in out, "the server does not say where the password is"


@pytest.mark.parametrize("password", ["Sh0rt-pw", "password1234"], ids=["too-short", "common"])
def test_weak_root_password_refuses_to_start(tmp_path_factory, password):
    srv = QuiverServer(tmp_path_factory.mktemp("weakroot"), name="weakroot", root_password=password)
    srv.start(wait_ready=False)
    rc = srv.wait_exit(30)
    assert rc != 0, f"started with a weak root password\n{srv.logs()}"
    stdout = [line.split("| ", 1)[1] for line in srv.lines if line.startswith("stdout| ")]
    assert not any(READY_RE.match(line) for line in stdout)
    assert password not in srv.output()
