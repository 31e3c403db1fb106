//! The data-protection requests through the service entry points the server uses: the
//! mass-deletion guard on Delete (gRPC metadata and REST body), and the recycle bin's gRPC
//! service and REST endpoints. Each test reads the real audit log back.

use std::sync::Arc;
use std::time::Duration;

use quiver_audit::{
    AdminAction, AuditKey, AuditLog, AuditOptions, Event, Outcome, RecordFilter, WriteAction,
    read_records,
};
use quiver_engine::{Database, Options};
use quiver_security::{Principal, Secret, SecurityStore};
use quiver_storage::LocalBackend;
use tonic::Request;
use tower::Service;

use crate::deletion_guard::{DeletionGuard, FORCE_DELETE_HEADER};
use crate::listener::PeerInfo;
use crate::proto::admin as adm;
use crate::proto::admin::recycle_bin_server::RecycleBin;
use crate::proto::milvus as pb;
use crate::proto::milvus::milvus_service_server::MilvusService;
use crate::service::audit::{AuditTrail, ReadAuditing};
use crate::service::data::testkit::{longs, vectors};
use crate::service::{Ctx, MilvusApi};

const KEY: [u8; 32] = [9; 32];
const ROOT_PASSWORD: &str = "a-Strong-admin-passw0rd";
const ALICE_PASSWORD: &str = "Str0ng-Kestrel-Passphrase";

pub(super) struct Fixture {
    pub(super) api: MilvusApi,
    audit_dir: tempfile::TempDir,
    _data: tempfile::TempDir,
}

/// A service whose engine keeps dropped data for `retention` and whose guard allows at most
/// 40% of a collection above 10 rows, or 100 rows.
pub(super) fn fixture(retention: Duration) -> Fixture {
    let data = tempfile::tempdir().unwrap();
    let options =
        Options { maintenance_interval: None, trash_retention: retention, ..Options::default() };
    let db = Database::open(&data.path().join("data"), options).unwrap();
    let backend = Arc::new(LocalBackend::new(data.path().join("security")).unwrap());
    let security = SecurityStore::initialize(backend, &Secret::new(ROOT_PASSWORD.into())).unwrap();
    security.create_user("alice", &Secret::new(ALICE_PASSWORD.into())).unwrap();
    security.create_role("writers").unwrap();
    security.add_user_to_role("alice", "writers").unwrap();
    security.grant_v2("writers", "CollectionReadWrite", "default", "docs", "root").unwrap();
    let audit_dir = tempfile::tempdir().unwrap();
    let log = AuditLog::open(audit_dir.path(), AuditKey::from_bytes(KEY), AuditOptions::default())
        .unwrap();
    let trail = AuditTrail::new(Arc::new(log), ReadAuditing::Off);
    let api = MilvusApi::audited(Arc::new(db), Arc::new(security), trail)
        .with_deletion_guard(DeletionGuard::new(40, 100, 10).unwrap());
    Fixture { api, audit_dir, _data: data }
}

impl Fixture {
    fn events(&self) -> Vec<Event> {
        self.api.audit.sync().unwrap();
        read_records(self.audit_dir.path(), &AuditKey::from_bytes(KEY), RecordFilter::default())
            .unwrap()
            .map(|record| record.unwrap().event)
            .filter(|event| !matches!(event, Event::Lifecycle { .. }))
            .collect()
    }

    /// The admin records: action, detail and outcome.
    pub(super) fn admin_actions(&self) -> Vec<(AdminAction, String, Outcome)> {
        self.events()
            .into_iter()
            .filter_map(|event| match event {
                Event::Admin { action, detail, outcome, .. } => {
                    Some((action, detail.as_str().to_owned(), outcome))
                }
                _ => None,
            })
            .collect()
    }

    /// Collection `docs` (id, 2-d vector) with rows `0..rows`, loaded.
    pub(super) async fn docs(&self, rows: i64) {
        let spec = quiver_core::SchemaSpec {
            description: String::new(),
            fields: vec![
                quiver_core::FieldSpec::primary("id", quiver_core::DataType::Int64),
                quiver_core::FieldSpec::new(
                    "vector",
                    quiver_core::DataType::FloatVector { dim: 2 },
                ),
            ],
            enable_dynamic_field: false,
        };
        self.api.db.create_collection("default", "docs", spec).unwrap();
        self.api.db.set_loaded("default", "docs", true).unwrap();
        let ids: Vec<i64> = (0..rows).collect();
        let insert = pb::InsertRequest {
            collection_name: "docs".into(),
            fields_data: vec![
                longs("id", ids.clone()),
                vectors("vector", 2, ids.iter().flat_map(|&i| [i as f32, 1.0]).collect()),
            ],
            num_rows: rows as u32,
            ..Default::default()
        };
        let result = MilvusService::insert(&self.api, request(insert, "root", false)).await;
        assert_eq!(result.unwrap().into_inner().status.unwrap().code, 0);
    }

    /// New partition `name` of `docs` with the rows `ids`.
    pub(super) async fn fill_partition(&self, name: &str, ids: std::ops::Range<i64>) {
        self.api.db.collection("default", "docs").unwrap().create_partition(name).unwrap();
        let ids: Vec<i64> = ids.collect();
        let insert = pb::InsertRequest {
            collection_name: "docs".into(),
            partition_name: name.into(),
            fields_data: vec![
                longs("id", ids.clone()),
                vectors("vector", 2, ids.iter().flat_map(|&i| [i as f32, 1.0]).collect()),
            ],
            num_rows: ids.len() as u32,
            ..Default::default()
        };
        let result = MilvusService::insert(&self.api, request(insert, "root", false)).await;
        assert_eq!(result.unwrap().into_inner().status.unwrap().code, 0);
    }

    fn count(&self, name: &str) -> u64 {
        self.api.db.collection("default", name).unwrap().count()
    }

    async fn delete(&self, expr: &str, user: &str, force: bool) -> pb::MutationResult {
        let req = pb::DeleteRequest {
            collection_name: "docs".into(),
            expr: expr.into(),
            ..Default::default()
        };
        MilvusService::delete(&self.api, request(req, user, force)).await.unwrap().into_inner()
    }
}

pub(super) fn request<T>(body: T, user: &str, force: bool) -> Request<T> {
    let mut request = Request::new(body);
    request.extensions_mut().insert(Principal::unrestricted(user));
    request
        .extensions_mut()
        .insert(PeerInfo { addr: "127.0.0.1:40000".parse().unwrap(), client_certificate: false });
    if force {
        request.metadata_mut().insert(FORCE_DELETE_HEADER, "true".parse().unwrap());
    }
    request
}

fn code(result: &pb::MutationResult) -> i32 {
    result.status.as_ref().unwrap().code
}

#[tokio::test]
async fn a_mass_delete_is_refused_without_force_and_deletes_nothing() {
    let f = fixture(Duration::ZERO);
    f.docs(50).await;
    // 20 of 50 is 40%: allowed. One more row would not be.
    let refused = f.delete("id >= 0", "root", false).await;
    assert_eq!(code(&refused), 1100, "{refused:?}");
    let reason = &refused.status.as_ref().unwrap().reason;
    assert!(reason.contains("50 of 50") && reason.contains(FORCE_DELETE_HEADER), "{reason}");
    assert_eq!(f.count("docs"), 50);
    let refused = f.delete("id < 21", "root", false).await;
    assert_eq!(code(&refused), 1100);
    assert_eq!(f.count("docs"), 50);
    let allowed = f.delete("id < 20", "root", false).await;
    assert_eq!((code(&allowed), allowed.delete_cnt), (0, 20));
    // The refusals are in the audit log as refused writes, and nothing was forced.
    let writes: Vec<_> = f
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::Write { action: WriteAction::Delete, outcome, .. } => Some(outcome),
            _ => None,
        })
        .collect();
    assert_eq!(writes, [Outcome::Invalid, Outcome::Invalid, Outcome::Ok]);
    assert!(f.admin_actions().is_empty());
}

#[tokio::test]
async fn small_deletes_and_short_key_lists_pass_the_guard() {
    let f = fixture(Duration::ZERO);
    f.docs(12).await;
    // 10 rows are never a mass deletion, even 10 of 12.
    let keys = f.delete("id in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]", "root", false).await;
    assert_eq!((code(&keys), keys.delete_cnt), (0, 10));
    assert_eq!(f.count("docs"), 2);
}

#[tokio::test]
async fn a_forced_mass_delete_needs_the_force_delete_privilege_and_is_audited() {
    let f = fixture(Duration::ZERO);
    f.docs(200).await;
    // alice may delete (CollectionReadWrite) but not force.
    let denied =
        MilvusService::delete(&f.api, request(delete_all(), "alice", true)).await.unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    assert!(denied.message().contains("ForceDelete"), "{}", denied.message());
    assert_eq!(f.count("docs"), 200);
    // Without force she gets the guard's refusal, not a permission error.
    assert_eq!(code(&f.delete("id >= 0", "alice", false).await), 1100);
    // A grant of ForceDelete lets the forced request through.
    f.api.security.grant_v2("writers", "ForceDelete", "default", "docs", "root").unwrap();
    let forced = f.delete("id >= 0", "alice", true).await;
    assert_eq!((code(&forced), forced.delete_cnt), (0, 200));
    assert_eq!(f.count("docs"), 0);
    let admin = f.admin_actions();
    assert_eq!(admin.len(), 1, "{admin:?}");
    assert_eq!((admin[0].0, admin[0].2), (AdminAction::MassDeletion, Outcome::Ok));
    assert!(admin[0].1.contains("rows=200 of 200") && admin[0].1.contains("id >= 0"), "{admin:?}");
}

#[tokio::test]
async fn with_the_recycle_bin_off_a_large_collection_drop_needs_force() {
    let f = fixture(Duration::ZERO);
    f.docs(30).await;
    let drop =
        || pb::DropCollectionRequest { collection_name: "docs".into(), ..Default::default() };
    let refused = MilvusService::drop_collection(&f.api, request(drop(), "root", false)).await;
    let refused = refused.unwrap().into_inner();
    assert_eq!(refused.code, 1100, "{refused:?}");
    assert!(refused.reason.contains("30 of 30"), "{}", refused.reason);
    assert_eq!(f.count("docs"), 30);
    let forced = MilvusService::drop_collection(&f.api, request(drop(), "root", true)).await;
    assert_eq!(forced.unwrap().into_inner().code, 0);
    assert!(f.api.db.collection("default", "docs").is_err());
    assert!(f.api.db.list_trash().is_empty(), "retention zero keeps nothing");
    // A drop the guard allows (5 rows, under its floor of 10) needs no flag.
    f.docs(5).await;
    let small = MilvusService::drop_collection(&f.api, request(drop(), "root", false)).await;
    assert_eq!(small.unwrap().into_inner().code, 0);
    let admin = f.admin_actions();
    assert_eq!(admin.len(), 1, "{admin:?}");
    assert_eq!((admin[0].0, admin[0].2), (AdminAction::MassDeletion, Outcome::Ok));
    assert!(admin[0].1.contains("rows=30 of 30 drop collection"), "{admin:?}");
}

#[tokio::test]
async fn with_the_recycle_bin_off_a_large_partition_drop_needs_force_and_the_privilege() {
    let f = fixture(Duration::ZERO);
    f.docs(30).await;
    f.fill_partition("p1", 100..125).await;
    // 25 of 55 rows (45%) is over the fixture's 40%.
    let drop = pb::DropPartitionRequest {
        collection_name: "docs".into(),
        partition_name: "p1".into(),
        ..Default::default()
    };
    let denied = MilvusService::drop_partition(&f.api, request(drop, "alice", true)).await;
    let denied = denied.unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    assert!(denied.message().contains("ForceDelete"), "{}", denied.message());
    let mut router = crate::rest::router(&f.api);
    let path = "/v2/vectordb/partitions/drop";
    let body = r#"{"collectionName": "docs", "partitionName": "p1"}"#;
    let refused = rest(&mut router, path, body).await;
    assert_eq!(refused["code"], 1100, "{refused}");
    assert_eq!(f.count("docs"), 55);
    let forced = r#"{"collectionName": "docs", "partitionName": "p1", "force": true}"#;
    let dropped = rest(&mut router, path, forced).await;
    assert_eq!(dropped["code"], 0, "{dropped}");
    assert_eq!(f.count("docs"), 30);
    let massive: Vec<_> =
        f.admin_actions().into_iter().filter(|(a, _, _)| *a == AdminAction::MassDeletion).collect();
    assert_eq!(massive.len(), 1, "{massive:?}");
    assert!(massive[0].1.contains("rows=25 of 55 drop partition \"p1\""), "{massive:?}");
}

fn delete_all() -> pb::DeleteRequest {
    pb::DeleteRequest {
        collection_name: "docs".into(),
        expr: "id >= 0".into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn the_force_header_takes_only_the_word_true() {
    let f = fixture(Duration::ZERO);
    f.docs(50).await;
    for value in ["1", "yes", "", "true "] {
        let mut req = request(delete_all(), "root", false);
        req.metadata_mut().insert(FORCE_DELETE_HEADER, value.parse().unwrap());
        let result = MilvusService::delete(&f.api, req).await.unwrap().into_inner();
        assert_eq!(code(&result), 1100, "{value:?}");
    }
    assert_eq!(f.count("docs"), 50);
    let result = f.delete("id >= 0", "root", true).await;
    assert_eq!(code(&result), 0);
}

#[tokio::test]
async fn a_rest_delete_passes_the_guard_only_with_force() {
    let f = fixture(Duration::ZERO);
    f.docs(50).await;
    let mut router = crate::rest::router(&f.api);
    let body = r#"{"collectionName": "docs", "filter": "id >= 0"}"#;
    let refused = rest(&mut router, "/v2/vectordb/entities/delete", body).await;
    assert_eq!(refused["code"], 1100, "{refused}");
    assert_eq!(f.count("docs"), 50);
    let body = r#"{"collectionName": "docs", "filter": "id >= 0", "force": true}"#;
    let forced = rest(&mut router, "/v2/vectordb/entities/delete", body).await;
    assert_eq!(forced["code"], 0, "{forced}");
    assert_eq!(f.count("docs"), 0);
}

pub(super) async fn rest(router: &mut axum::Router, path: &str, body: &str) -> serde_json::Value {
    let mut req = http::Request::post(path)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_owned()))
        .unwrap();
    req.extensions_mut().insert(Principal::unrestricted("root"));
    req.extensions_mut()
        .insert(PeerInfo { addr: "127.0.0.1:40000".parse().unwrap(), client_certificate: false });
    let resp = router.call(req).await.unwrap();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub(super) async fn search_ids(f: &Fixture, name: &str) -> Vec<i64> {
    let rows = f
        .api
        .db
        .collection("default", name)
        .unwrap()
        .query(&quiver_engine::QueryRequest {
            filter: None,
            partitions: &[],
            output_fields: &[],
            offset: 0,
            limit: None,
        })
        .unwrap();
    let mut ids: Vec<i64> = rows
        .into_iter()
        .map(|row| match row.pk {
            quiver_core::PkValue::Int64(id) => id,
            other => panic!("{other:?}"),
        })
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test]
async fn a_dropped_collection_is_listed_and_restored_over_grpc_by_an_admin_only() {
    let f = fixture(Duration::from_secs(3600));
    f.docs(30).await;
    let before = search_ids(&f, "docs").await;
    let drop = pb::DropCollectionRequest { collection_name: "docs".into(), ..Default::default() };
    let status = MilvusService::drop_collection(&f.api, request(drop, "root", false)).await;
    assert_eq!(status.unwrap().into_inner().code, 0);
    assert!(f.api.db.collection("default", "docs").is_err());

    let list = |user: &str| {
        RecycleBin::list_trash(&f.api, request(adm::ListTrashRequest::default(), user, false))
    };
    let denied = list("alice").await.unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    let listed = list("root").await.unwrap().into_inner();
    assert_eq!(listed.collections.len(), 1);
    let entry = &listed.collections[0];
    assert_eq!((entry.db_name.as_str(), entry.collection_name.as_str()), ("default", "docs"));
    assert_eq!(entry.expires_ms, entry.dropped_ms + 3_600_000);

    let restore =
        adm::RestoreCollectionRequest { collection_name: "docs".into(), ..Default::default() };
    let denied = RecycleBin::restore_collection(&f.api, request(restore.clone(), "alice", false))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), tonic::Code::PermissionDenied);
    assert!(f.api.db.collection("default", "docs").is_err());
    let restored = RecycleBin::restore_collection(&f.api, request(restore, "root", false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(restored.status.unwrap().code, 0);
    assert_eq!((restored.collection_name.as_str(), restored.trash_id), ("docs", entry.trash_id));
    assert_eq!(search_ids(&f, "docs").await, before);
    assert!(list("root").await.unwrap().into_inner().collections.is_empty());
    // Both attempts are recorded: alice's refused, root's done.
    let admin: Vec<_> = f.admin_actions().into_iter().map(|(a, _, o)| (a, o)).collect();
    assert_eq!(
        admin,
        [(AdminAction::Restore, Outcome::Denied), (AdminAction::Restore, Outcome::Ok)]
    );
}

#[tokio::test]
async fn a_point_in_time_restore_over_rest_brings_back_deleted_rows() {
    let f = fixture(Duration::from_secs(3600));
    f.docs(30).await;
    let before = search_ids(&f, "docs").await;
    // The timeline has a resolution of one second: let the inserts' second end.
    std::thread::sleep(Duration::from_millis(1100));
    let at = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
        as u64;
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(code(&f.delete("id < 10", "root", false).await), 0);
    assert_eq!(f.count("docs"), 20);

    let mut router = crate::rest::router(&f.api);
    let no_target = format!(r#"{{"collectionName": "docs", "pointInTimeMs": {at}}}"#);
    let refused = rest(&mut router, "/v2/vectordb/collections/restore", &no_target).await;
    assert_eq!(refused["code"], 1100, "{refused}");
    let body = format!(
        r#"{{"collectionName": "docs", "pointInTimeMs": {at}, "newCollectionName": "docs_then"}}"#
    );
    let restored = rest(&mut router, "/v2/vectordb/collections/restore", &body).await;
    assert_eq!(restored["code"], 0, "{restored}");
    assert_eq!(restored["data"]["collectionName"], "docs_then");
    assert_eq!(search_ids(&f, "docs_then").await, before);
    assert_eq!(f.count("docs"), 20);
}

#[tokio::test]
async fn purge_over_rest_removes_a_dropped_collection_for_good_and_is_audited() {
    let f = fixture(Duration::from_secs(3600));
    f.docs(5).await;
    f.api.db.drop_collection("default", "docs").unwrap();
    let id = f.api.db.list_trash()[0].id;
    let mut router = crate::rest::router(&f.api);
    let listed = rest(&mut router, "/v2/vectordb/collections/trash/list", "{}").await;
    assert_eq!(listed["data"][0]["trashId"], id, "{listed}");
    let purged = rest(
        &mut router,
        "/v2/vectordb/collections/trash/purge",
        &format!(r#"{{"trashId": {id}}}"#),
    )
    .await;
    assert_eq!(purged["code"], 0, "{purged}");
    assert!(f.api.db.list_trash().is_empty());
    let again = rest(
        &mut router,
        "/v2/vectordb/collections/trash/purge",
        &format!(r#"{{"trashId": {id}}}"#),
    )
    .await;
    assert_eq!(again["code"], 1100, "{again}");
    let body = r#"{"collectionName": "docs"}"#;
    let gone = rest(&mut router, "/v2/vectordb/collections/restore", body).await;
    assert_ne!(gone["code"], 0, "{gone}");
    let actions: Vec<_> = f.admin_actions().into_iter().map(|(a, _, o)| (a, o)).collect();
    let expected = [
        (AdminAction::Purge, Outcome::Ok),
        (AdminAction::Purge, Outcome::Invalid),
        (AdminAction::Restore, Outcome::Invalid),
    ];
    assert_eq!(actions, expected);
}

#[test]
fn a_context_is_unforced_unless_asked() {
    let ctx = Ctx::local("root", "default");
    assert!(!ctx.force);
    assert!(ctx.forced(true).force);
}
