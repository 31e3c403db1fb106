//! The audit records of requests, through the same entry points the server uses (the gRPC
//! service methods, the authentication layer, the REST router), with a real audit log in a
//! temporary directory, read back with `quiver_audit::read_records` and checked with
//! `quiver_audit::verify`.

use std::path::Path;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use prost::Message;
use quiver_audit::{
    AuditKey, AuditLog, AuditOptions, AuthMethod, AuthOutcome, DclAction, DdlAction, Event,
    Outcome, ReadAction, RecordFilter, WriteAction, read_records, verify,
};
use quiver_core::{DataType, FieldSpec, Schema, SchemaSpec};
use quiver_security::{Principal, Secret};
use quiver_storage::{Backend, FaultPlan, FaultyBackend, LocalBackend};
use tonic::Request;
use tower::{Layer, Service};

use crate::convert::schema::schema_to_wire;
use crate::listener::PeerInfo;
use crate::proto::milvus as pb;
use crate::proto::milvus::milvus_service_server::MilvusService;
use crate::service::MilvusApi;
use crate::service::audit::{AUDIT_UNAVAILABLE, AUDIT_UNAVAILABLE_CODE, AuditTrail, ReadAuditing};
use crate::service::data::testkit::{self, Env, longs, vectors};

const KEY: [u8; 32] = [7; 32];
const ROOT_PASSWORD: &str = "a-Strong-admin-passw0rd";
const ALICE_PASSWORD: &str = "Str0ng-Kestrel-Passphrase";
const PEER: &str = "127.0.0.1:40000";

/// A service over a test environment whose audit log is in `dir` (written through `backend`
/// when given, so that a test can make it fail).
struct Fixture {
    api: MilvusApi,
    dir: tempfile::TempDir,
    _env: Env,
}

fn fixture_with(reads: ReadAuditing, plan: Option<&FaultPlan>) -> Fixture {
    let env = testkit::env();
    let dir = tempfile::tempdir().unwrap();
    let backend = plan.map(|plan| {
        let local: Arc<dyn Backend> = Arc::new(LocalBackend::new(dir.path().to_owned()).unwrap());
        Arc::new(FaultyBackend::new(local, plan.clone())) as Arc<dyn Backend>
    });
    let options = AuditOptions { backend, ..AuditOptions::default() };
    let log = AuditLog::open(dir.path(), AuditKey::from_bytes(KEY), options).unwrap();
    let api = MilvusApi { audit: AuditTrail::new(Arc::new(log), reads), ..env.api.clone() };
    Fixture { api, dir, _env: env }
}

fn fixture() -> Fixture {
    fixture_with(ReadAuditing::Off, None)
}

impl Fixture {
    /// Every record's event, after checking the whole log verifies.
    fn events(&self) -> Vec<Event> {
        self.api.audit.sync().unwrap();
        let key = AuditKey::from_bytes(KEY);
        let report = verify(self.dir.path(), &key, None).unwrap();
        assert!(report.is_intact(), "{report:?}");
        read_records(self.dir.path(), &key, RecordFilter::default())
            .unwrap()
            .map(|record| record.unwrap().event)
            .filter(|event| !matches!(event, Event::Lifecycle { .. }))
            .collect()
    }

    /// The one event of the log (besides lifecycle records).
    #[track_caller]
    fn only_event(&self) -> Event {
        let events = self.events();
        assert_eq!(events.len(), 1, "{events:?}");
        events.into_iter().next().unwrap()
    }

    fn create_alice(&self) {
        self.api.security.create_user("alice", &Secret::new(ALICE_PASSWORD.into())).unwrap();
    }
}

/// A request from `user` (password sign-in) at [`PEER`].
fn request<T>(body: T, user: &str) -> Request<T> {
    let mut request = Request::new(body);
    request.extensions_mut().insert(Principal::unrestricted(user));
    request
        .extensions_mut()
        .insert(PeerInfo { addr: PEER.parse().unwrap(), client_certificate: false });
    request
}

fn create_req(name: &str) -> pb::CreateCollectionRequest {
    let spec = SchemaSpec {
        description: String::new(),
        fields: vec![
            FieldSpec::primary("id", DataType::Int64),
            FieldSpec::new("vector", DataType::FloatVector { dim: 2 }),
        ],
        enable_dynamic_field: false,
    };
    let schema = Schema::new(spec).unwrap();
    pb::CreateCollectionRequest {
        collection_name: name.into(),
        schema: schema_to_wire(&schema, name).encode_to_vec(),
        ..Default::default()
    }
}

fn insert_req(name: &str, ids: &[i64]) -> pb::InsertRequest {
    pb::InsertRequest {
        collection_name: name.into(),
        fields_data: vec![
            longs("id", ids.to_vec()),
            vectors("vector", 2, ids.iter().flat_map(|&i| [i as f32, 1.0]).collect()),
        ],
        num_rows: ids.len() as u32,
        ..Default::default()
    }
}

async fn create_docs(f: &Fixture) {
    let status = MilvusService::create_collection(&f.api, request(create_req("docs"), "root"));
    assert_eq!(status.await.unwrap().into_inner().code, 0);
}

fn row_count(f: &Fixture, name: &str) -> u64 {
    f.api.db.collection("default", name).unwrap().count()
}

#[tokio::test]
async fn a_create_collection_is_recorded_with_user_peer_database_and_outcome() {
    let f = fixture();
    create_docs(&f).await;
    let Event::Ddl { user, peer, action, db, collection, object, outcome } = f.only_event() else {
        panic!("not a DDL record");
    };
    assert_eq!(user.as_str(), "root");
    assert_eq!(peer, Some(PEER.parse().unwrap()));
    assert_eq!(action, DdlAction::CreateCollection);
    assert_eq!(db.as_str(), "default");
    assert_eq!(collection.unwrap().as_str(), "docs");
    assert_eq!(object, None);
    assert_eq!(outcome, Outcome::Ok);
}

#[tokio::test]
async fn an_insert_is_recorded_with_collection_partition_and_row_count() {
    let f = fixture();
    create_docs(&f).await;
    let reply = MilvusService::insert(&f.api, request(insert_req("docs", &[1, 2, 3]), "root"));
    assert_eq!(reply.await.unwrap().into_inner().insert_cnt, 3);
    let events = f.events();
    let Event::Write { action, collection, partition, rows, filter, outcome, .. } = &events[1]
    else {
        panic!("{events:?}");
    };
    assert_eq!(*action, WriteAction::Insert);
    assert_eq!(collection.as_str(), "docs");
    assert_eq!(partition, &None);
    assert_eq!(*rows, 3);
    assert_eq!(filter, &None);
    assert_eq!(*outcome, Outcome::Ok);
}

#[tokio::test]
async fn a_delete_by_filter_is_recorded_with_its_filter_and_the_rows_it_deleted() {
    let f = fixture();
    create_docs(&f).await;
    MilvusService::insert(&f.api, request(insert_req("docs", &[1, 2, 3, 4]), "root"))
        .await
        .unwrap();
    let delete = pb::DeleteRequest {
        collection_name: "docs".into(),
        expr: "id < 3".into(),
        ..Default::default()
    };
    let reply = MilvusService::delete(&f.api, request(delete, "root")).await.unwrap();
    assert_eq!(reply.into_inner().delete_cnt, 2);
    let events = f.events();
    let Event::Write { action, rows, filter, outcome, .. } = &events[2] else {
        panic!("{events:?}");
    };
    assert_eq!(*action, WriteAction::Delete);
    assert_eq!(*rows, 2);
    assert_eq!(filter.as_ref().unwrap().text(), "id < 3");
    assert_eq!(*outcome, Outcome::Ok);
}

#[tokio::test]
async fn a_created_user_is_recorded_and_the_password_is_in_no_byte_of_the_log() {
    let f = fixture();
    let password = "Zebra-Quartz-9-Unique-Passw0rd";
    let create = pb::CreateCredentialRequest {
        username: "bob".into(),
        password: STANDARD.encode(password),
        ..Default::default()
    };
    let status = MilvusService::create_credential(&f.api, request(create, "root")).await;
    assert_eq!(status.unwrap().into_inner().code, 0);
    let new_password = "Walrus-Ember-7-Other-Passw0rd";
    let update = pb::UpdateCredentialRequest {
        username: "bob".into(),
        old_password: STANDARD.encode(password),
        new_password: STANDARD.encode(new_password),
        ..Default::default()
    };
    let status = MilvusService::update_credential(&f.api, request(update, "root")).await;
    assert_eq!(status.unwrap().into_inner().code, 0);
    let events = f.events();
    let actions: Vec<_> = events
        .iter()
        .map(|event| match event {
            Event::Dcl { action, target, outcome, .. } => (*action, target.as_str(), *outcome),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        actions,
        [
            (DclAction::CreateUser, "bob", Outcome::Ok),
            (DclAction::UpdatePassword, "bob", Outcome::Ok)
        ]
    );
    for secret in [password, new_password] {
        assert_no_bytes(f.dir.path(), secret.as_bytes());
        assert_no_bytes(f.dir.path(), STANDARD.encode(secret).as_bytes());
    }
}

/// No file under `root` contains `needle`.
#[track_caller]
fn assert_no_bytes(root: &Path, needle: &[u8]) {
    let mut seen = 0;
    for entry in std::fs::read_dir(root.join("audit")).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        assert!(!bytes.windows(needle.len()).any(|w| w == needle), "a secret reached the log");
        seen += bytes.len();
    }
    assert!(seen > 0);
}

#[tokio::test]
async fn a_grant_is_recorded_with_role_privilege_and_object() {
    let f = fixture();
    f.api.security.create_role("reader").unwrap();
    let grant = pb::OperatePrivilegeV2Request {
        role: Some(pb::RoleEntity { name: "reader".into(), ..Default::default() }),
        grantor: Some(pb::GrantorEntity {
            privilege: Some(pb::PrivilegeEntity { name: "Search".into() }),
            ..Default::default()
        }),
        r#type: pb::OperatePrivilegeType::Grant as i32,
        db_name: "default".into(),
        collection_name: "docs".into(),
        ..Default::default()
    };
    let status = MilvusService::operate_privilege_v2(&f.api, request(grant, "root")).await;
    assert_eq!(status.unwrap().into_inner().code, 0);
    let Event::Dcl { action, target, detail, outcome, .. } = f.only_event() else {
        panic!("not a DCL record");
    };
    assert_eq!(action, DclAction::GrantPrivilege);
    assert_eq!(target.as_str(), "reader");
    assert_eq!(detail.unwrap().as_str(), "privilege Search on default.docs");
    assert_eq!(outcome, Outcome::Ok);
}

#[tokio::test]
async fn a_denied_request_is_recorded_as_denied_and_changes_nothing() {
    let f = fixture();
    create_docs(&f).await;
    f.create_alice();
    let refused = MilvusService::insert(&f.api, request(insert_req("docs", &[1]), "alice")).await;
    assert_eq!(refused.unwrap_err().code(), tonic::Code::PermissionDenied);
    let drop = pb::DropCollectionRequest { collection_name: "docs".into(), ..Default::default() };
    let refused = MilvusService::drop_collection(&f.api, request(drop, "alice")).await;
    assert_eq!(refused.unwrap_err().code(), tonic::Code::PermissionDenied);
    assert_eq!(row_count(&f, "docs"), 0);
    let events = f.events();
    let Event::Write { user, action, outcome, .. } = &events[1] else { panic!("{events:?}") };
    assert_eq!((user.as_str(), *action, *outcome), ("alice", WriteAction::Insert, Outcome::Denied));
    let Event::Ddl { user, action, outcome, .. } = &events[2] else { panic!("{events:?}") };
    assert_eq!(
        (user.as_str(), *action, *outcome),
        ("alice", DdlAction::DropCollection, Outcome::Denied)
    );
}

#[tokio::test]
async fn searches_are_recorded_only_when_reads_are_audited() {
    for (reads, expected) in [(ReadAuditing::Off, 2), (ReadAuditing::On, 3)] {
        let f = fixture_with(reads, None);
        create_docs(&f).await;
        let load =
            pb::LoadCollectionRequest { collection_name: "docs".into(), ..Default::default() };
        MilvusService::load_collection(&f.api, request(load, "root")).await.unwrap();
        let query = pb::QueryRequest {
            collection_name: "docs".into(),
            expr: "id > 0".into(),
            ..Default::default()
        };
        MilvusService::query(&f.api, request(query, "root")).await.unwrap();
        let events = f.events();
        assert_eq!(events.len(), expected, "{events:?}");
        if reads == ReadAuditing::On {
            let Event::Read { action, collection, filter, outcome, .. } = &events[2] else {
                panic!("{events:?}");
            };
            assert_eq!((*action, collection.as_str()), (ReadAction::Query, "docs"));
            assert_eq!(filter.as_ref().unwrap().text(), "id > 0");
            assert_eq!(*outcome, Outcome::Ok);
        }
    }
}

#[tokio::test]
async fn when_the_log_has_failed_writes_and_ddl_are_refused_and_not_applied() {
    let plan = FaultPlan::new();
    let f = fixture_with(ReadAuditing::Off, Some(&plan));
    create_docs(&f).await;
    // The next record's fsync fails: that insert is applied (its handler ran), but its answer
    // is the refusal, and the log stops.
    plan.fail_nth_sync(1);
    let reply = MilvusService::insert(&f.api, request(insert_req("docs", &[1]), "root")).await;
    let status = reply.unwrap().into_inner().status.unwrap();
    assert_eq!((status.code, status.reason.as_str()), (AUDIT_UNAVAILABLE_CODE, AUDIT_UNAVAILABLE));
    assert!(f.api.audit.log().is_failed());
    let applied = row_count(&f, "docs");

    // From now on, every change is refused before its handler runs.
    let reply = MilvusService::insert(&f.api, request(insert_req("docs", &[2, 3]), "root")).await;
    let status = reply.unwrap().into_inner().status.unwrap();
    assert_eq!((status.code, status.reason.as_str()), (AUDIT_UNAVAILABLE_CODE, AUDIT_UNAVAILABLE));
    assert_eq!(status.error_code, crate::proto::common::ErrorCode::UnexpectedError as i32);
    assert_eq!(row_count(&f, "docs"), applied);
    let drop = pb::DropCollectionRequest { collection_name: "docs".into(), ..Default::default() };
    let status = MilvusService::drop_collection(&f.api, request(drop, "root")).await;
    assert_eq!(status.unwrap().into_inner().code, AUDIT_UNAVAILABLE_CODE);
    assert!(f.api.db.collection("default", "docs").is_ok(), "the drop was applied");
    let create = pb::CreateCredentialRequest {
        username: "carol".into(),
        password: STANDARD.encode("Carol-Long-Passw0rd-1"),
        ..Default::default()
    };
    let status = MilvusService::create_credential(&f.api, request(create, "root")).await;
    assert_eq!(status.unwrap().into_inner().code, AUDIT_UNAVAILABLE_CODE);
    assert!(!f.api.security.list_users().iter().any(|user| user.name == "carol"));
    // Reads that are not audited go on.
    let has = pb::HasCollectionRequest { collection_name: "docs".into(), ..Default::default() };
    let has = MilvusService::has_collection(&f.api, request(has, "root")).await.unwrap();
    assert!(has.into_inner().value);
}

// -- Authentication and REST, through the server's layers --------------------------------

type Stack = crate::auth::Authenticated<tonic::service::Routes>;

fn stack(api: &MilvusApi) -> Stack {
    crate::server::auth_layer(api).layer(crate::server::routes(api.clone()))
}

/// Sends `request` through the stack from [`PEER`]; returns the HTTP status, the gRPC status
/// header and the body.
async fn send(
    stack: &mut Stack,
    mut request: http::Request<axum::body::Body>,
) -> (http::StatusCode, Option<String>, Vec<u8>) {
    let peer = PeerInfo { addr: PEER.parse().unwrap(), client_certificate: false };
    request.extensions_mut().insert(peer);
    std::future::poll_fn(|cx| Service::<http::Request<axum::body::Body>>::poll_ready(stack, cx))
        .await
        .unwrap();
    let response = stack.call(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(axum::body::Body::new(body), usize::MAX).await.unwrap();
    let grpc = parts.headers.get("grpc-status").and_then(|v| v.to_str().ok()).map(str::to_owned);
    (parts.status, grpc, bytes.to_vec())
}

fn grpc_has_collection(auth: &str) -> http::Request<axum::body::Body> {
    let message = pb::HasCollectionRequest { collection_name: "docs".into(), ..Default::default() };
    let body = message.encode_to_vec();
    // gRPC's frame: no compression, then the length as a big-endian u32.
    let len = body.len() as u32;
    let mut frame = vec![0, (len >> 24) as u8, (len >> 16) as u8, (len >> 8) as u8, len as u8];
    frame.extend(body);
    http::Request::builder()
        .method("POST")
        .uri("/milvus.proto.milvus.MilvusService/HasCollection")
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("authorization", STANDARD.encode(auth))
        .body(axum::body::Body::from(frame))
        .unwrap()
}

fn auth_events(f: &Fixture) -> Vec<(Option<String>, AuthMethod, AuthOutcome, bool)> {
    f.events()
        .into_iter()
        .filter_map(|event| match event {
            Event::Auth { user, peer, method, outcome, .. } => Some((
                user.map(|u| u.as_str().to_owned()),
                method,
                outcome,
                peer == Some(PEER.parse().unwrap()),
            )),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn a_failed_login_is_recorded_and_a_cached_success_is_not_recorded_again() {
    let f = fixture();
    f.create_alice();
    let mut stack = stack(&f.api);
    let wrong = "alice:Not-Her-Passw0rd-at-all";
    let (_, grpc, _) = send(&mut stack, grpc_has_collection(wrong)).await;
    assert_eq!(grpc.as_deref(), Some("16"), "UNAUTHENTICATED");
    let right = format!("alice:{ALICE_PASSWORD}");
    for _ in 0..3 {
        let (_, grpc, _) = send(&mut stack, grpc_has_collection(&right)).await;
        assert_ne!(grpc.as_deref(), Some("16"));
    }
    let events = auth_events(&f);
    let alice = Some("alice".to_owned());
    assert_eq!(
        events,
        [
            (alice.clone(), AuthMethod::Password, AuthOutcome::BadCredentials, true),
            // One record for the Argon2 verification; the two cache hits add none.
            (alice, AuthMethod::Password, AuthOutcome::Ok, true),
        ]
    );
    assert_no_bytes(f.dir.path(), b"Not-Her-Passw0rd-at-all");
    assert_no_bytes(f.dir.path(), ALICE_PASSWORD.as_bytes());
}

#[tokio::test]
async fn a_request_without_a_readable_credential_is_recorded() {
    let f = fixture();
    let mut stack = stack(&f.api);
    let (_, grpc, _) = send(&mut stack, grpc_has_collection("no-colon-here")).await;
    assert_eq!(grpc.as_deref(), Some("16"));
    let mut missing = grpc_has_collection("x:y");
    missing.headers_mut().remove("authorization");
    let (_, grpc, _) = send(&mut stack, missing).await;
    assert_eq!(grpc.as_deref(), Some("16"));
    assert_eq!(
        auth_events(&f),
        [
            (None, AuthMethod::Missing, AuthOutcome::Malformed, true),
            (None, AuthMethod::Missing, AuthOutcome::MissingCredential, true),
        ]
    );
}

#[tokio::test]
async fn a_rest_insert_and_delete_are_recorded_like_the_grpc_ones() {
    let f = fixture();
    create_docs(&f).await;
    let mut stack = stack(&f.api);
    let body = r#"{"collectionName":"docs","data":[{"id":1,"vector":[0.1,0.2]},{"id":2,"vector":[0.3,0.4]}]}"#;
    let request = http::Request::builder()
        .method("POST")
        .uri("/v2/vectordb/entities/insert")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer root:{ROOT_PASSWORD}"))
        .body(axum::body::Body::from(body))
        .unwrap();
    let (status, _, reply) = send(&mut stack, request).await;
    assert_eq!(status, http::StatusCode::OK, "{}", String::from_utf8_lossy(&reply));
    let events = f.events();
    let Event::Write { user, action, collection, rows, outcome, .. } = &events[2] else {
        panic!("{events:?}");
    };
    assert_eq!(user.as_str(), "root");
    assert_eq!((*action, collection.as_str(), *rows), (WriteAction::Insert, "docs", 2));
    assert_eq!(*outcome, Outcome::Ok);
    assert!(matches!(events[1], Event::Auth { outcome: AuthOutcome::Ok, .. }), "{events:?}");

    // A delete records the rows it removed (one of the two) and its filter.
    let body = r#"{"collectionName":"docs","filter":"id in [2, 3]"}"#;
    let (status, _, reply) =
        send(&mut stack, rest_post("entities/delete", &format!("root:{ROOT_PASSWORD}"), body))
            .await;
    assert_eq!(status, http::StatusCode::OK, "{}", String::from_utf8_lossy(&reply));
    let answer: serde_json::Value = serde_json::from_slice(&reply).unwrap();
    assert_eq!(answer["data"]["deleteCount"], 1, "{answer}");
    let events = f.events();
    let deletes: Vec<_> = events
        .iter()
        .filter_map(|event| match event {
            Event::Write { action: WriteAction::Delete, rows, filter, outcome, .. } => {
                Some((*rows, filter.as_ref().map(|f| f.text().to_owned()), *outcome))
            }
            _ => None,
        })
        .collect();
    assert_eq!(deletes, [(1, Some("id in [2, 3]".to_owned()), Outcome::Ok)], "{events:?}");
}

fn rest_post(path: &str, auth: &str, body: &str) -> http::Request<axum::body::Body> {
    http::Request::builder()
        .method("POST")
        .uri(format!("/v2/vectordb/{path}"))
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {auth}"))
        .body(axum::body::Body::from(body.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn an_api_key_is_recorded_by_id_at_creation_and_use_and_its_secret_never() {
    let f = fixture();
    let mut stack = stack(&f.api);
    let root = format!("root:{ROOT_PASSWORD}");
    let create = rest_post("api_keys/create", &root, r#"{"keyName":"ci","roles":[]}"#);
    let (status, _, reply) = send(&mut stack, create).await;
    assert_eq!(status, http::StatusCode::OK);
    let reply: serde_json::Value = serde_json::from_slice(&reply).unwrap();
    let token = reply["data"]["token"].as_str().unwrap().to_owned();
    let key_id = reply["data"]["keyId"].as_str().unwrap().to_owned();
    let (_, grpc, _) = send(&mut stack, grpc_has_collection(&token)).await;
    assert_ne!(grpc.as_deref(), Some("16"), "the key authenticates");
    let revoke = rest_post("api_keys/revoke", &root, r#"{"keyName":"ci"}"#);
    assert_eq!(send(&mut stack, revoke).await.0, http::StatusCode::OK);
    let (_, grpc, _) = send(&mut stack, grpc_has_collection(&token)).await;
    assert_eq!(grpc.as_deref(), Some("16"), "a revoked key is refused");

    let events = f.events();
    let dcl: Vec<_> = events
        .iter()
        .filter_map(|event| match event {
            Event::Dcl { action, target, detail, outcome, .. } => {
                Some((*action, target.as_str(), detail.clone().unwrap(), *outcome))
            }
            _ => None,
        })
        .collect();
    let detail = format!("key ci (id {key_id})");
    assert_eq!(dcl[0], (DclAction::CreateApiKey, "root", detail.as_str().into(), Outcome::Ok));
    assert_eq!(dcl[1].0, DclAction::RevokeApiKey);
    let keyed: Vec<_> = events
        .iter()
        .filter_map(|event| match event {
            Event::Auth { method: AuthMethod::ApiKey, key_id, outcome, user, .. } => Some((
                key_id.as_ref().map(|id| id.as_str().to_owned()),
                *outcome,
                user.as_ref().map(|u| u.as_str().to_owned()),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(
        keyed,
        [
            (Some(key_id.clone()), AuthOutcome::Ok, Some("root".to_owned())),
            (Some(key_id.clone()), AuthOutcome::BadCredentials, None),
        ]
    );
    let secret = token.rsplit('_').next().unwrap();
    assert!(secret.len() >= 32, "{token}");
    assert_no_bytes(f.dir.path(), secret.as_bytes());
}

#[tokio::test]
async fn throttled_logins_are_recorded_as_throttled() {
    let f = fixture();
    f.create_alice();
    let mut stack = stack(&f.api);
    for _ in 0..8 {
        let (_, grpc, _) =
            send(&mut stack, grpc_has_collection("alice:Wrong-Guess-Passw0rd")).await;
        assert_eq!(grpc.as_deref(), Some("16"));
    }
    let outcomes: Vec<_> = auth_events(&f).into_iter().map(|(_, _, outcome, _)| outcome).collect();
    assert_eq!(outcomes.len(), 8, "{outcomes:?}");
    assert_eq!(outcomes[0], AuthOutcome::BadCredentials);
    assert_eq!(outcomes[7], AuthOutcome::Throttled, "{outcomes:?}");
}
