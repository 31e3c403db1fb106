//! Dropped partitions in the recycle bin through the service entry points the server uses:
//! the `RecycleBin` gRPC methods and the REST `partitions/restore` and `partitions/trash/*`
//! endpoints, with the real audit log read back.

use std::time::Duration;

use quiver_audit::{AdminAction, Outcome};
use tonic::Code;

use crate::proto::admin as adm;
use crate::proto::admin::recycle_bin_server::RecycleBin;
use crate::proto::milvus as pb;
use crate::proto::milvus::milvus_service_server::MilvusService;
use crate::service::protection_tests::{Fixture, fixture, request, rest, search_ids};

/// Collection `docs` with rows `0..10` in `_default` and `100..110` in partition `p1`.
async fn docs_with_partition() -> Fixture {
    let f = fixture(Duration::from_secs(3600));
    f.docs(10).await;
    f.fill_partition("p1", 100..110).await;
    f
}

async fn drop_p1(f: &Fixture) {
    let drop = pb::DropPartitionRequest {
        collection_name: "docs".into(),
        partition_name: "p1".into(),
        ..Default::default()
    };
    let status = MilvusService::drop_partition(&f.api, request(drop, "root", false)).await;
    assert_eq!(status.unwrap().into_inner().code, 0);
}

fn partitions(f: &Fixture) -> Vec<String> {
    f.api.db.collection("default", "docs").unwrap().partitions()
}

fn admin_outcomes(f: &Fixture) -> Vec<(AdminAction, Outcome)> {
    f.admin_actions().into_iter().map(|(action, _, outcome)| (action, outcome)).collect()
}

#[tokio::test]
async fn a_dropped_partition_is_listed_and_restored_over_grpc_by_an_admin_only() {
    let f = docs_with_partition().await;
    let before = search_ids(&f, "docs").await;
    drop_p1(&f).await;
    assert_eq!(search_ids(&f, "docs").await, (0..10).collect::<Vec<_>>());
    assert_eq!(partitions(&f), ["_default"]);

    let list = |user: &str| {
        let req = adm::ListTrashedPartitionsRequest {
            collection_name: "docs".into(),
            ..Default::default()
        };
        RecycleBin::list_trashed_partitions(&f.api, request(req, user, false))
    };
    assert_eq!(list("alice").await.unwrap_err().code(), Code::PermissionDenied);
    let listed = list("root").await.unwrap().into_inner().partitions;
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].partition_name.as_str(), listed[0].rows), ("p1", 10));
    assert_eq!(listed[0].expires_ms, listed[0].dropped_ms + 3_600_000);

    let restore = adm::RestorePartitionRequest {
        collection_name: "docs".into(),
        partition_name: "p1".into(),
        ..Default::default()
    };
    let denied = RecycleBin::restore_partition(&f.api, request(restore.clone(), "alice", false))
        .await
        .unwrap_err();
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert_eq!(partitions(&f), ["_default"]);
    let restored = RecycleBin::restore_partition(&f.api, request(restore, "root", false))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(restored.status.unwrap().code, 0);
    assert_eq!(
        (restored.partition_id, restored.partition_name.as_str()),
        (listed[0].partition_id, "p1")
    );
    assert_eq!(search_ids(&f, "docs").await, before);
    assert!(partitions(&f).contains(&"p1".to_owned()));
    assert!(list("root").await.unwrap().into_inner().partitions.is_empty());
    assert_eq!(
        admin_outcomes(&f),
        [(AdminAction::Restore, Outcome::Denied), (AdminAction::Restore, Outcome::Ok)]
    );
}

#[tokio::test]
async fn a_dropped_partition_is_restored_under_a_new_name_and_purged_over_rest() {
    let f = docs_with_partition().await;
    let before = search_ids(&f, "docs").await;
    drop_p1(&f).await;
    // A new partition takes the old name: the restore needs another one.
    f.api.db.collection("default", "docs").unwrap().create_partition("p1").unwrap();
    let mut router = crate::rest::router(&f.api);
    let listed =
        rest(&mut router, "/v2/vectordb/partitions/trash/list", r#"{"collectionName": "docs"}"#)
            .await;
    assert_eq!(listed["code"], 0, "{listed}");
    assert_eq!(listed["data"][0]["partitionName"], "p1", "{listed}");
    assert_eq!(listed["data"][0]["rows"], 10, "{listed}");
    let id = listed["data"][0]["partitionId"].as_i64().unwrap();

    let path = "/v2/vectordb/partitions/restore";
    let taken = format!(r#"{{"collectionName": "docs", "partitionId": {id}}}"#);
    let refused = rest(&mut router, path, &taken).await;
    assert_eq!(refused["code"], 1100, "{refused}");
    let renamed = format!(
        r#"{{"collectionName": "docs", "partitionId": {id}, "newPartitionName": "p1_back"}}"#
    );
    let restored = rest(&mut router, path, &renamed).await;
    assert_eq!(restored["code"], 0, "{restored}");
    assert_eq!(restored["data"]["partitionName"], "p1_back");
    assert_eq!(search_ids(&f, "docs").await, before);

    // Dropped again, then purged for good: a second purge and a restore find nothing.
    let drop = pb::DropPartitionRequest {
        collection_name: "docs".into(),
        partition_name: "p1_back".into(),
        ..Default::default()
    };
    MilvusService::drop_partition(&f.api, request(drop, "root", false)).await.unwrap();
    let purge = format!(r#"{{"collectionName": "docs", "partitionId": {id}}}"#);
    let purged = rest(&mut router, "/v2/vectordb/partitions/trash/purge", &purge).await;
    assert_eq!(purged["code"], 0, "{purged}");
    assert_eq!(search_ids(&f, "docs").await, (0..10).collect::<Vec<_>>());
    let again = rest(&mut router, "/v2/vectordb/partitions/trash/purge", &purge).await;
    assert_eq!(again["code"], 1100, "{again}");
    let gone = rest(&mut router, path, &renamed).await;
    assert_eq!(gone["code"], 1100, "{gone}");
    let empty =
        rest(&mut router, "/v2/vectordb/partitions/trash/list", r#"{"collectionName": "docs"}"#)
            .await;
    assert_eq!(empty["data"], serde_json::json!([]), "{empty}");
    assert_eq!(
        admin_outcomes(&f),
        [
            (AdminAction::Restore, Outcome::Invalid),
            (AdminAction::Restore, Outcome::Ok),
            (AdminAction::Purge, Outcome::Ok),
            (AdminAction::Purge, Outcome::Invalid),
            (AdminAction::Restore, Outcome::Invalid),
        ]
    );
}

#[tokio::test]
async fn partition_bin_requests_without_a_collection_or_partition_are_refused() {
    let f = docs_with_partition().await;
    drop_p1(&f).await;
    let mut router = crate::rest::router(&f.api);
    for (path, body) in [
        ("/v2/vectordb/partitions/trash/list", r#"{"collectionName": ""}"#),
        ("/v2/vectordb/partitions/trash/list", r#"{"collectionName": "nope"}"#),
        ("/v2/vectordb/partitions/restore", r#"{"collectionName": "docs"}"#),
        ("/v2/vectordb/partitions/restore", r#"{"collectionName": "docs", "partitionName": "p9"}"#),
        ("/v2/vectordb/partitions/restore", r#"{"collectionName": "docs", "partitionId": 999}"#),
        ("/v2/vectordb/partitions/restore", r#"{"collectionName": "docs", "partitionId": -1}"#),
        ("/v2/vectordb/partitions/trash/purge", r#"{"collectionName": "docs", "partitionId": 0}"#),
        ("/v2/vectordb/partitions/trash/purge", r#"{"collectionName": "docs", "partitionId": 1}"#),
        ("/v2/vectordb/partitions/trash/purge", r#"{"collectionName": "docs"}"#),
    ] {
        let answer = rest(&mut router, path, body).await;
        assert_ne!(answer["code"], 0, "{path} {body}: {answer}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()), "{answer}");
    }
    // Purging the live default partition's id (1) touched nothing; p1 is still in the bin.
    let collection = f.api.db.collection("default", "docs").unwrap();
    assert_eq!(collection.count(), 10);
    assert_eq!(collection.list_trashed_partitions().len(), 1);
}
