//! The REST API through the real server on a loopback port: a minimal HTTP/1.1 client over a
//! TCP (or TLS) stream, `Connection: close`, JSON bodies.

use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value as Json, json};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::proto::milvus as pb;
use crate::ratelimit::{ClassLimits, Rate, RateLimits, RequestClass};
use crate::service::data::testkit;
use crate::service::{Ctx, MilvusApi, search};

const ROOT: &str = "Bearer root:a-Strong-admin-passw0rd";

struct Server {
    addr: SocketAddr,
    env: testkit::Env,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    async fn start(limits: Option<RateLimits>) -> Server {
        let env = testkit::env();
        let mut api = env.api.clone();
        if let Some(limits) = limits {
            api = api.with_rate_limits(limits);
        }
        Server::start_with(env, api, None).await
    }

    async fn start_with(
        env: testkit::Env,
        api: MilvusApi,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(async move {
            crate::serve(listener, tls, api, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Server { addr, env, stop: Some(stop), done: Some(done) }
    }

    async fn post(&self, path: &str, auth: Option<&str>, body: &str) -> Response {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        exchange(stream, "POST", path, auth, body.as_bytes(), &[]).await
    }

    /// POST as root; asserts HTTP 200 and returns the envelope.
    async fn root(&self, path: &str, body: Json) -> Json {
        let response = self.post(path, Some(ROOT), &body.to_string()).await;
        assert_eq!(response.status, 200, "{path}: {}", response.body);
        response.json()
    }

    /// POST as root; asserts code 0 and returns `data`.
    async fn ok(&self, path: &str, body: Json) -> Json {
        let envelope = self.root(path, body).await;
        assert_eq!(envelope["code"], 0, "{path}: {envelope}");
        envelope["data"].clone()
    }

    async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            done.await.unwrap();
        }
    }
}

#[derive(Debug)]
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn json(&self) -> Json {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &[u8],
    extra_headers: &[(&str, &str)],
) -> Response {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
         Content-Type: application/json\r\n"
    );
    if !extra_headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("content-length")) {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    if let Some(auth) = auth {
        head.push_str(&format!("Authorization: {auth}\r\n"));
    }
    for (name, value) in extra_headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    stream.flush().await.unwrap();
    read_response(&mut stream).await
}

async fn read_response<S: AsyncRead + Unpin>(stream: &mut S) -> Response {
    let mut raw = Vec::new();
    // The server may close before reading an unread body: keep what arrived.
    let _ = stream.read_to_end(&mut raw).await;
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or_else(|| panic!("{text:?}"));
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked { dechunk(body) } else { body.to_owned() };
    Response { status, headers, body }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

fn vector(i: usize) -> Vec<f32> {
    (0..4).map(|d| ((i * 7 + d * 3) % 11) as f32 / 10.0 - 0.5).collect()
}

/// A quick-setup collection `docs` (dim 4, L2) with 20 rows; `color` and `likes` dynamic.
async fn docs(server: &Server) {
    server
        .ok(
            "/v2/vectordb/collections/create",
            json!({"collectionName": "docs", "dimension": 4, "metricType": "L2"}),
        )
        .await;
    let rows: Vec<Json> = (0..20)
        .map(|i| json!({"id": i, "vector": vector(i), "color": format!("c{}", i % 3), "likes": i}))
        .collect();
    let inserted = server
        .ok("/v2/vectordb/entities/insert", json!({"collectionName": "docs", "data": rows}))
        .await;
    assert_eq!(inserted["insertCount"], 20, "{inserted}");
    assert_eq!(inserted["insertIds"].as_array().unwrap().len(), 20);
}

#[tokio::test(flavor = "multi_thread")]
async fn quick_setup_insert_search_query_get_delete_and_count() {
    let server = Server::start(None).await;
    docs(&server).await;
    let described =
        server.ok("/v2/vectordb/collections/describe", json!({"collectionName": "docs"})).await;
    assert_eq!(described["load"], "LoadStateLoaded", "{described}");
    assert_eq!(described["enableDynamicField"], true);
    assert_eq!(described["indexes"][0]["metricType"], "L2", "{described}");
    let names = server.ok("/v2/vectordb/collections/list", json!({})).await;
    assert_eq!(names, json!(["docs"]));
    let has = server.ok("/v2/vectordb/collections/has", json!({"collectionName": "docs"})).await;
    assert_eq!(has, json!({"has": true}));
    let state = server
        .ok("/v2/vectordb/collections/get_load_state", json!({"collectionName": "docs"}))
        .await;
    assert_eq!(state["loadState"], "LoadStateLoaded");

    let search = server
        .root(
            "/v2/vectordb/entities/search",
            json!({
                "collectionName": "docs",
                "data": [vector(3)],
                "annsField": "vector",
                "filter": "likes >= {min}",
                "exprParams": {"min": 2},
                "limit": 3,
                "outputFields": ["color", "likes"],
            }),
        )
        .await;
    assert_eq!(search["code"], 0, "{search}");
    assert_eq!(search["topks"], json!([3]));
    let hits = search["data"].as_array().unwrap();
    assert_eq!(hits.len(), 3);
    assert_eq!(hits[0]["id"], 3, "{search}");
    assert_eq!(hits[0]["distance"], 0.0);
    assert_eq!(hits[0]["color"], "c0");
    assert_eq!(hits[0]["likes"], 3);

    // Two queries: hits one after the other, topks per query.
    let two = server
        .root(
            "/v2/vectordb/entities/search",
            json!({"collectionName": "docs", "data": [vector(1), vector(2)], "limit": 2}),
        )
        .await;
    assert_eq!(two["topks"], json!([2, 2]), "{two}");
    assert_eq!(two["data"][0]["id"], 1);
    assert_eq!(two["data"][2]["id"], 2);

    let query = server
        .ok(
            "/v2/vectordb/entities/query",
            json!({"collectionName": "docs", "filter": "color == \"c1\"", "outputFields": ["likes"], "limit": 3}),
        )
        .await;
    assert_eq!(query, json!([{"id": 1, "likes": 1}, {"id": 4, "likes": 4}, {"id": 7, "likes": 7}]));

    let got = server
        .ok(
            "/v2/vectordb/entities/get",
            json!({"collectionName": "docs", "id": [5, 6], "outputFields": ["color"]}),
        )
        .await;
    assert_eq!(got, json!([{"id": 5, "color": "c2"}, {"id": 6, "color": "c0"}]));
    let one =
        server.ok("/v2/vectordb/entities/get", json!({"collectionName": "docs", "id": 2})).await;
    assert_eq!(one[0]["vector"].as_array().unwrap().len(), 4, "{one}");

    let upserted = server
        .ok(
            "/v2/vectordb/entities/upsert",
            json!({"collectionName": "docs", "data": [{"id": 0, "vector": vector(0), "color": "new", "likes": 100}]}),
        )
        .await;
    assert_eq!(upserted, json!({"upsertCount": 1, "upsertIds": [0]}));

    server
        .ok(
            "/v2/vectordb/entities/delete",
            json!({"collectionName": "docs", "filter": "likes < 5"}),
        )
        .await;
    let count = server
        .ok(
            "/v2/vectordb/entities/query",
            json!({"collectionName": "docs", "outputFields": ["count(*)"]}),
        )
        .await;
    assert_eq!(count, json!([{"count(*)": 16}]));
    let stats =
        server.ok("/v2/vectordb/collections/get_stats", json!({"collectionName": "docs"})).await;
    assert_eq!(stats, json!({"rowCount": 16}));

    let hybrid = server
        .root(
            "/v2/vectordb/entities/hybrid_search",
            json!({
                "collectionName": "docs",
                "search": [{"data": [vector(9)], "annsField": "vector", "limit": 5},
                           {"data": [vector(9)], "annsField": "vector", "filter": "likes > 10", "limit": 5}],
                "rerank": {"strategy": "rrf", "params": {"k": 60}},
                "limit": 2,
                "outputFields": ["likes"],
            }),
        )
        .await;
    assert_eq!(hybrid["code"], 0, "{hybrid}");
    assert_eq!(hybrid["data"].as_array().unwrap().len(), 2);
    assert!(hybrid["data"][0]["likes"].is_number(), "{hybrid}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_schema_indexes_partitions_aliases_and_databases() {
    let server = Server::start(None).await;
    server
        .ok(
            "/v2/vectordb/collections/create",
            json!({
                "collectionName": "custom",
                "schema": {"autoId": false, "enabledDynamicField": false, "fields": [
                    {"fieldName": "my_id", "dataType": "Int64", "isPrimary": true},
                    {"fieldName": "title", "dataType": "VarChar", "elementTypeParams": {"max_length": 64}},
                    {"fieldName": "my_vector", "dataType": "FloatVector", "elementTypeParams": {"dim": "5"}}]},
                "indexParams": [{"fieldName": "my_vector", "metricType": "COSINE", "indexName": "my_vector",
                                 "params": {"index_type": "HNSW", "M": 8, "efConstruction": 64}}],
            }),
        )
        .await;
    let indexes = server.ok("/v2/vectordb/indexes/list", json!({"collectionName": "custom"})).await;
    assert_eq!(indexes, json!(["my_vector"]));
    let described = server
        .ok(
            "/v2/vectordb/indexes/describe",
            json!({"collectionName": "custom", "indexName": "my_vector"}),
        )
        .await;
    assert_eq!(described[0]["indexType"], "HNSW", "{described}");
    assert_eq!(described[0]["metricType"], "COSINE");
    server
        .ok(
            "/v2/vectordb/indexes/create",
            json!({"collectionName": "custom", "indexParams": [{"fieldName": "my_id", "indexName": "pk", "params": {"index_type": "STL_SORT"}}]}),
        )
        .await;
    server
        .ok("/v2/vectordb/indexes/drop", json!({"collectionName": "custom", "indexName": "pk"}))
        .await;

    let p = json!({"collectionName": "custom", "partitionName": "p1"});
    server.ok("/v2/vectordb/partitions/create", p.clone()).await;
    assert_eq!(server.ok("/v2/vectordb/partitions/has", p.clone()).await, json!({"has": true}));
    let list = server.ok("/v2/vectordb/partitions/list", json!({"collectionName": "custom"})).await;
    assert_eq!(list, json!(["_default", "p1"]));
    let loaded = json!({"collectionName": "custom", "partitionNames": ["p1"]});
    server.ok("/v2/vectordb/partitions/load", loaded.clone()).await;
    // As over gRPC: Quiver refuses to release part of a loaded collection (code 3000).
    let release = server.root("/v2/vectordb/partitions/release", loaded).await;
    assert_eq!(release["code"], 3000, "{release}");
    server
        .ok(
            "/v2/vectordb/entities/insert",
            json!({"collectionName": "custom", "partitionName": "p1",
                   "data": [{"my_id": 1, "title": "a", "my_vector": [1, 0, 0, 0, 0]}]}),
        )
        .await;
    let stats = server.ok("/v2/vectordb/partitions/get_stats", p.clone()).await;
    assert_eq!(stats, json!({"rowCount": 1}));

    let alias = json!({"aliasName": "nick", "collectionName": "custom"});
    server.ok("/v2/vectordb/aliases/create", alias.clone()).await;
    let described = server.ok("/v2/vectordb/aliases/describe", json!({"aliasName": "nick"})).await;
    assert_eq!(
        described,
        json!({"aliasName": "nick", "collectionName": "custom", "dbName": "default"})
    );
    assert_eq!(server.ok("/v2/vectordb/aliases/list", json!({})).await, json!(["nick"]));
    server.ok("/v2/vectordb/aliases/drop", json!({"aliasName": "nick"})).await;

    server.ok("/v2/vectordb/databases/create", json!({"dbName": "other"})).await;
    let dbs = server.ok("/v2/vectordb/databases/list", json!({})).await;
    assert!(dbs.as_array().unwrap().contains(&json!("other")), "{dbs}");
    let db = server.ok("/v2/vectordb/databases/describe", json!({"dbName": "other"})).await;
    assert_eq!(db["dbName"], "other");
    // The DB-Name header addresses a database when the body names none.
    let response = server
        .post_with_headers("/v2/vectordb/collections/list", "{}", &[("DB-Name", "other")])
        .await;
    assert_eq!(response.json(), json!({"code": 0, "data": []}));
    server.ok("/v2/vectordb/databases/drop", json!({"dbName": "other"})).await;

    server
        .ok(
            "/v2/vectordb/collections/rename",
            json!({"collectionName": "custom", "newCollectionName": "renamed"}),
        )
        .await;
    server.ok("/v2/vectordb/collections/release", json!({"collectionName": "renamed"})).await;
    let state = server
        .ok("/v2/vectordb/collections/get_load_state", json!({"collectionName": "renamed"}))
        .await;
    assert_eq!(state, json!({"loadState": "LoadStateNotLoad"}));
    server.ok("/v2/vectordb/collections/load", json!({"collectionName": "renamed"})).await;
    server.ok("/v2/vectordb/collections/drop", json!({"collectionName": "renamed"})).await;
    assert_eq!(
        server.ok("/v2/vectordb/collections/has", json!({"collectionName": "renamed"})).await,
        json!({"has": false})
    );
    // A Milvus failure is HTTP 200 with its code.
    let missing = server
        .root("/v2/vectordb/collections/describe", json!({"collectionName": "renamed"}))
        .await;
    assert_eq!(missing["code"], 100, "{missing}");
    server.stop().await;
}

impl Server {
    async fn post_with_headers(
        &self,
        path: &str,
        body: &str,
        headers: &[(&str, &str)],
    ) -> Response {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        exchange(stream, "POST", path, Some(ROOT), body.as_bytes(), headers).await
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_bearer_basic_and_refusals() {
    let server = Server::start(None).await;
    let list = "/v2/vectordb/collections/list";
    let basic = format!("Basic {}", STANDARD.encode("root:a-Strong-admin-passw0rd"));
    for auth in [ROOT, basic.as_str(), "bearer root:a-Strong-admin-passw0rd"] {
        let response = server.post(list, Some(auth), "{}").await;
        assert_eq!(response.status, 200, "{auth}: {}", response.body);
        assert_eq!(response.json()["code"], 0);
    }
    for auth in [
        None,
        Some("Bearer root:wrong-password-here"),
        Some("Bearer nobody:whatever-password"),
        Some("Bearer not-a-key"),
        Some("Digest abc"),
        Some(ROOT.trim_start_matches("Bearer ")),
    ] {
        let response = server.post(list, auth, "{}").await;
        assert_eq!(response.status, 401, "{auth:?}: {}", response.body);
        let body = response.json();
        assert_eq!(body["code"], 1800, "{auth:?}: {body}");
        assert!(!response.body.contains("wrong-password"), "{}", response.body);
    }
    // An API key works as a bearer token.
    let security = &server.env.api.security;
    let (_, token) = security.create_api_key("root", "ci", &[], None, 1).unwrap();
    let response = server.post(list, Some(&format!("Bearer {}", token.expose())), "{}").await;
    assert_eq!(response.status, 200, "{}", response.body);
    // Unknown endpoints and methods get envelopes too (after authentication).
    let response = server.post("/v2/vectordb/collections/nope", Some(ROOT), "{}").await;
    assert_eq!(response.status, 404);
    assert_eq!(response.json()["code"], 10);
    let response = server.post("/v2/vectordb/collections/nope", None, "{}").await;
    assert_eq!(response.status, 401);
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let response = exchange(stream, "GET", list, Some(ROOT), b"", &[]).await;
    assert_eq!(response.status, 405, "{}", response.body);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_user_without_the_privilege_gets_403() {
    let server = Server::start(None).await;
    docs(&server).await;
    let _ = server.env.stranger();
    let alice = "Bearer alice:Another-str0ng-pass";
    let insert = json!({"collectionName": "docs", "data": [{"id": 99, "vector": vector(1)}]});
    let response =
        server.post("/v2/vectordb/entities/insert", Some(alice), &insert.to_string()).await;
    assert_eq!(response.status, 403, "{}", response.body);
    assert_eq!(response.json()["code"], 1401);
    // Nothing about the collection is disclosed: a missing one is refused the same way.
    let missing = json!({"collectionName": "nothing", "data": [{"id": 1}]});
    let response =
        server.post("/v2/vectordb/entities/insert", Some(alice), &missing.to_string()).await;
    assert_eq!(response.status, 403, "{}", response.body);
    // Lists show only what the caller may see.
    let response = server.post("/v2/vectordb/collections/list", Some(alice), "{}").await;
    assert_eq!(response.json(), json!({"code": 0, "data": []}));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_are_parsed_strictly() {
    let server = Server::start(None).await;
    docs(&server).await;
    let describe = "/v2/vectordb/collections/describe";
    let unknown = server.root(describe, json!({"collectionName": "docs", "colour": 1})).await;
    assert_eq!(unknown["code"], 1801, "{unknown}");
    assert!(unknown["message"].as_str().unwrap().contains("colour"), "{unknown}");
    let wrong_type = server.root(describe, json!({"collectionName": 5})).await;
    assert_eq!(wrong_type["code"], 1801, "{wrong_type}");
    assert!(wrong_type["message"].as_str().unwrap().contains("collectionName"), "{wrong_type}");
    let nested = server
        .root("/v2/vectordb/entities/search", json!({"collectionName": "docs", "data": [[1, 2, 3, 4]], "searchParams": {"nprobe": 1}}))
        .await;
    assert_eq!(nested["code"], 1801, "{nested}");
    assert!(nested["message"].as_str().unwrap().contains("nprobe"), "{nested}");
    for malformed in ["{", "[1,2]", "null", "{\"collectionName\": \"docs\",}", ""] {
        let response = server.post(describe, Some(ROOT), malformed).await;
        assert_eq!(response.status, 200);
        assert_eq!(response.json()["code"], 1801, "{malformed:?}: {}", response.body);
    }
    let missing = server.root(describe, json!({})).await;
    assert_eq!(missing["code"], 1802, "{missing}");
    assert_eq!(missing["message"], "missing required parameters: collectionName", "{missing}");
    let nested = server
        .root(
            "/v2/vectordb/collections/create",
            json!({"collectionName": "c", "schema": {"fields": [{"dataType": "Int64"}]}}),
        )
        .await;
    assert_eq!(nested["code"], 1802, "{nested}");
    assert_eq!(nested["message"], "missing required parameters: schema.fields[0].fieldName");
    let no_data =
        server.root("/v2/vectordb/entities/insert", json!({"collectionName": "docs"})).await;
    assert_eq!(no_data["code"], 1802, "{no_data}");
    let bad_rows = server
        .root(
            "/v2/vectordb/entities/insert",
            json!({"collectionName": "docs", "data": [{"id": 1, "vector": [1, 2]}]}),
        )
        .await;
    assert_eq!(bad_rows["code"], 1804, "{bad_rows}");
    let grouping = server
        .root(
            "/v2/vectordb/entities/search",
            json!({"collectionName": "docs", "data": [vector(1)], "groupingField": "color"}),
        )
        .await;
    assert_eq!(grouping["code"], 3000, "{grouping}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_body_is_refused_without_reading_it() {
    let server = Server::start(None).await;
    let declared = (crate::RequestLimits::default().max_message_bytes() + 1).to_string();
    // Declares more than the limit and sends almost nothing: answered at once.
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let response = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        exchange(
            stream,
            "POST",
            "/v2/vectordb/collections/list",
            Some(ROOT),
            b"{}",
            &[("Content-Length", &declared)],
        ),
    )
    .await
    .unwrap();
    assert_eq!(response.status, 413, "{}", response.body);
    assert_eq!(response.json()["code"], 1102);
    // A chunked body that grows past the limit is cut off as it arrives.
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let head = format!(
        "POST /v2/vectordb/collections/list HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Authorization: {ROOT}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = vec![b' '; 1 << 20];
    let mut sent = 0;
    while sent <= crate::RequestLimits::default().max_message_bytes() {
        let frame = format!("{:x}\r\n", chunk.len());
        if stream.write_all(frame.as_bytes()).await.is_err()
            || stream.write_all(&chunk).await.is_err()
            || stream.write_all(b"\r\n").await.is_err()
        {
            break;
        }
        sent += chunk.len();
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let response = read_response(&mut stream).await;
    assert_eq!(response.status, 413, "{}", response.body);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn search_over_rest_equals_the_grpc_handler() {
    let server = Server::start(None).await;
    docs(&server).await;
    let query = vector(7);
    let rest = server
        .ok(
            "/v2/vectordb/entities/search",
            json!({"collectionName": "docs", "data": [query], "limit": 5, "filter": "likes > 2"}),
        )
        .await;
    let placeholder = super::values::placeholder_group(std::slice::from_ref(&query));
    let grpc = search::search(
        &server.env.api,
        &Ctx::local("root", "default"),
        pb::SearchRequest {
            collection_name: "docs".into(),
            dsl: "likes > 2".into(),
            search_input: Some(pb::search_request::SearchInput::PlaceholderGroup(placeholder)),
            search_params: testkit::kv(&[("topk", "5"), ("anns_field", "vector")]),
            nq: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let results = grpc.results.unwrap();
    let ids: Vec<i64> =
        super::values::ids_json(results.ids.as_ref()).iter().map(|v| v.as_i64().unwrap()).collect();
    let rest_ids: Vec<i64> =
        rest.as_array().unwrap().iter().map(|h| h["id"].as_i64().unwrap()).collect();
    assert_eq!(rest_ids, ids);
    let rest_scores: Vec<f32> =
        rest.as_array().unwrap().iter().map(|h| h["distance"].as_f64().unwrap() as f32).collect();
    assert_eq!(rest_scores, results.scores);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_needs_no_credentials_and_reveals_nothing() {
    let server = Server::start(None).await;
    let stream = TcpStream::connect(server.addr).await.unwrap();
    let response = exchange(stream, "GET", "/healthz", None, b"", &[]).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.body, "ok");
    assert!(response.header("server").is_none(), "{:?}", response.headers);
    // Nothing else is reachable without credentials, however the path is spelled.
    for path in ["/healthz/", "/healthz/../v2/vectordb/collections/list", "/v2/healthz", "/"] {
        let stream = TcpStream::connect(server.addr).await.unwrap();
        let response = exchange(stream, "POST", path, None, b"{}", &[]).await;
        assert_ne!(response.body, "ok", "{path}");
        assert!(!response.body.contains("\"data\""), "{path}: {}", response.body);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn over_the_rate_limit_a_request_gets_429() {
    let reads = ClassLimits { per_user: Some(Rate::new(1, 2)), per_address: None };
    let server = Server::start(Some(RateLimits { read: reads, ..RateLimits::unlimited() })).await;
    let list = "/v2/vectordb/collections/list";
    for _ in 0..2 {
        assert_eq!(server.post(list, Some(ROOT), "{}").await.status, 200);
    }
    let refused = server.post(list, Some(ROOT), "{}").await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.json()["code"], 8);
    assert!(refused.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    // DDL has its own bucket.
    let ddl =
        server.post("/v2/vectordb/collections/drop", Some(ROOT), r#"{"collectionName":"x"}"#).await;
    assert_eq!(ddl.status, 200);
    server.stop().await;

    // The login limit refuses before any password check, with the same envelope.
    let logins = ClassLimits { per_user: Some(Rate::new(1, 1)), per_address: None };
    let server = Server::start(Some(RateLimits { login: logins, ..RateLimits::unlimited() })).await;
    let bad = "Bearer root:not-the-password";
    assert_eq!(server.post(list, Some(bad), "{}").await.status, 401);
    let refused = server.post(list, Some(bad), "{}").await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.json()["code"], 8);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_over_tls_on_the_grpc_port() {
    let dir = tempfile::tempdir().unwrap();
    let tls = crate::server_tls(dir.path(), &crate::TlsSettings::default()).unwrap();
    let env = testkit::env();
    let api = env.api.clone();
    let server = Server::start_with(env, api, Some(tls.config.clone())).await;
    let ca = std::fs::read(dir.path().join("tls/ca.pem")).unwrap();
    let mut roots = rustls::RootCertStore::empty();
    use rustls::pki_types::pem::PemObject;
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&ca) {
        roots.add(cert.unwrap()).unwrap();
    }
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    for (path, auth) in [("/healthz", None), ("/v2/vectordb/collections/list", Some(ROOT))] {
        let tcp = TcpStream::connect(server.addr).await.unwrap();
        let stream = connector.connect(name.clone(), tcp).await.unwrap();
        assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"http/1.1"[..]));
        let method = if auth.is_some() { "POST" } else { "GET" };
        let response = exchange(stream, method, path, auth, b"{}", &[]).await;
        assert_eq!(response.status, 200, "{path}: {}", response.body);
    }
    server.stop().await;
}

/// Walks the registry the router is built from: a new endpoint cannot miss its class.
#[test]
fn every_endpoint_has_a_rate_limit_class() {
    let env = testkit::env();
    let built = super::endpoints(&env.api);
    assert!(built.endpoints.len() >= 66, "{}", built.endpoints.len());
    let mut paths = std::collections::BTreeSet::new();
    for endpoint in &built.endpoints {
        assert!(endpoint.class.resolve().is_some(), "{}: {:?}", endpoint.path, endpoint.class);
        assert!(endpoint.path.starts_with("/v2/vectordb/"), "{}", endpoint.path);
        assert!(!endpoint.summary.is_empty(), "{}", endpoint.path);
        assert!(paths.insert(endpoint.path.clone()), "registered twice: {}", endpoint.path);
    }
    // The classes follow what an endpoint does, as over gRPC.
    let class = |path: &str| {
        let endpoint = built.endpoints.iter().find(|e| e.path == path).unwrap();
        endpoint.class.resolve().unwrap()
    };
    assert_eq!(class("/v2/vectordb/entities/search"), RequestClass::Read);
    assert_eq!(class("/v2/vectordb/entities/insert"), RequestClass::Write);
    assert_eq!(class("/v2/vectordb/collections/flush"), RequestClass::Write);
    assert_eq!(class("/v2/vectordb/users/create"), RequestClass::Ddl);
    assert_eq!(class("/v2/vectordb/roles/describe"), RequestClass::Read);
    assert_eq!(class("/v2/vectordb/api_keys/create"), RequestClass::Ddl);
    assert_eq!(class("/v2/vectordb/api_keys/list"), RequestClass::Read);
}

impl Server {
    async fn get(&self, path: &str, auth: Option<&str>) -> Response {
        let stream = TcpStream::connect(self.addr).await.unwrap();
        exchange(stream, "GET", path, auth, b"", &[]).await
    }

    /// POST as `auth`; returns the envelope, whatever the status.
    async fn as_user(&self, auth: &str, path: &str, body: Json) -> (u16, Json) {
        let response = self.post(path, Some(auth), &body.to_string()).await;
        (response.status, response.json())
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_lists_exactly_the_served_endpoints() {
    let server = Server::start(None).await;
    // Authenticated like everything under /v2/.
    let anonymous = server.get("/v2/openapi.json", None).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.body);
    assert_eq!(anonymous.json()["code"], 1800);
    let response = server.get("/v2/openapi.json", Some(ROOT)).await;
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.header("content-type"), Some("application/json"));
    let document = response.json();
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["security"], json!([{"bearer": []}]));
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"], "bearer",
        "{document}"
    );

    let registered: std::collections::BTreeSet<String> =
        super::endpoints(&server.env.api).endpoints.into_iter().map(|e| e.path).collect();
    let documented: std::collections::BTreeSet<String> =
        document["paths"].as_object().unwrap().keys().cloned().collect();
    assert_eq!(documented, registered);
    // Every documented path is served (it answers with an envelope, not 404) ...
    for path in &documented {
        let response = server.post(path, Some(ROOT), "{}").await;
        assert_ne!(response.status, 404, "{path}: {}", response.body);
        assert!(response.json()["code"].is_i64(), "{path}: {}", response.body);
        let operation = &document["paths"][path.as_str()]["post"];
        let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
        assert!(schema["$ref"].as_str().unwrap().starts_with("#/components/schemas/"), "{path}");
        for status in ["200", "401", "403", "413", "429"] {
            assert!(operation["responses"][status].is_object(), "{path} {status}");
        }
    }
    // ... and what is not documented is not served: Milvus endpoints Quiver lacks get 404.
    for path in ["collections/refresh_load", "jobs/import/create", "indexes/alter_properties"] {
        let response = server.post(&format!("/v2/vectordb/{path}"), Some(ROOT), "{}").await;
        assert_eq!(response.status, 404, "{path}: {}", response.body);
    }

    // The schemas are the parsing types' own: camelCase, no unknown fields, defaults optional.
    let schemas = &document["components"]["schemas"];
    let describe = &document["paths"]["/v2/vectordb/collections/describe"]["post"];
    let reference =
        describe["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str().unwrap();
    let body = &schemas[reference.rsplit('/').next().unwrap()];
    assert_eq!(body["additionalProperties"], false, "{body}");
    assert!(body["properties"]["collectionName"].is_object(), "{body}");
    // Required: what the endpoint refuses with 1802 when missing (serde gives it a default).
    assert_eq!(body["required"], json!(["collectionName"]), "{body}");
    assert!(body["properties"]["dbName"].is_object(), "{body}");
    assert_eq!(schemas["Envelope"]["properties"]["topks"]["items"]["type"], "integer");
    let keys = &schemas["CreateKeyBody"]["properties"];
    assert!(keys["ttlSeconds"].is_object() && keys["keyName"].is_object(), "{keys}");
    assert!(schemas["CompactionStateBody"]["properties"]["jobID"].is_object());
    // A POST of the document is refused like any other wrong method.
    let wrong = server.post("/v2/openapi.json", Some(ROOT), "{}").await;
    assert_eq!(wrong.status, 405, "{}", wrong.body);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn users_roles_and_grants_over_rest() {
    let server = Server::start(None).await;
    docs(&server).await;
    let bob_pw = "Tall-lighthouse-keeper-42";
    server.ok("/v2/vectordb/users/create", json!({"userName": "bob", "password": bob_pw})).await;
    let users = server.ok("/v2/vectordb/users/list", json!({})).await;
    assert_eq!(users, json!(["bob", "root"]));
    let bob = format!("Bearer bob:{bob_pw}");
    // A new user can do nothing: 403.
    let describe = json!({"collectionName": "docs"});
    let (status, denied) =
        server.as_user(&bob, "/v2/vectordb/collections/describe", describe.clone()).await;
    assert_eq!((status, denied["code"].clone()), (403, json!(1401)), "{denied}");

    server.ok("/v2/vectordb/roles/create", json!({"roleName": "readers"})).await;
    assert_eq!(
        server.ok("/v2/vectordb/roles/list", json!({})).await,
        json!(["admin", "public", "readers"])
    );
    server
        .ok("/v2/vectordb/users/grant_role", json!({"userName": "bob", "roleName": "readers"}))
        .await;
    assert_eq!(
        server.ok("/v2/vectordb/users/describe", json!({"userName": "bob"})).await,
        json!(["readers"])
    );
    server
        .ok(
            "/v2/vectordb/roles/grant_privilege_v2",
            json!({"roleName": "readers", "privilege": "CollectionReadOnly", "dbName": "default", "collectionName": "docs"}),
        )
        .await;
    server
        .ok(
            "/v2/vectordb/roles/grant_privilege",
            json!({"roleName": "readers", "objectType": "Collection", "objectName": "docs", "privilege": "Query"}),
        )
        .await;
    let grants = server.ok("/v2/vectordb/roles/describe", json!({"roleName": "readers"})).await;
    let mut grants: Vec<(String, String, String, String, String)> = grants
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            let s = |k: &str| g[k].as_str().unwrap().to_owned();
            (s("objectType"), s("objectName"), s("privilege"), s("dbName"), s("grantor"))
        })
        .collect();
    grants.sort();
    let own = |t: &str, n: &str, p: &str| {
        (t.to_owned(), n.to_owned(), p.to_owned(), "default".to_owned(), "root".to_owned())
    };
    assert_eq!(
        grants,
        [own("Collection", "docs", "CollectionReadOnly"), own("Collection", "docs", "Query")]
    );
    // What REST granted is what the gRPC handler lists and enforces.
    let listed = crate::service::access::select_grant(
        &server.env.api,
        &Ctx::local("root", "default"),
        pb::SelectGrantRequest {
            entity: Some(pb::GrantEntity {
                role: Some(pb::RoleEntity { name: "readers".into(), ..Default::default() }),
                ..Default::default()
            }),
            base: None,
        },
    )
    .unwrap();
    assert_eq!(listed.entities.len(), 2);
    let (status, described) =
        server.as_user(&bob, "/v2/vectordb/collections/describe", describe.clone()).await;
    assert_eq!((status, described["code"].clone()), (200, json!(0)), "{described}");
    server
        .ok(
            "/v2/vectordb/roles/revoke_privilege",
            json!({"roleName": "readers", "objectType": "Collection", "objectName": "docs", "privilege": "Query"}),
        )
        .await;
    server
        .ok(
            "/v2/vectordb/roles/revoke_privilege_v2",
            json!({"roleName": "readers", "privilege": "CollectionReadOnly", "dbName": "default", "collectionName": "docs"}),
        )
        .await;
    let (status, _) = server.as_user(&bob, "/v2/vectordb/collections/describe", describe).await;
    assert_eq!(status, 403);

    // Privilege groups.
    server
        .ok("/v2/vectordb/privilege_groups/create", json!({"privilegeGroupName": "finders"}))
        .await;
    server
        .ok(
            "/v2/vectordb/privilege_groups/add_privileges_to_group",
            json!({"privilegeGroupName": "finders", "privileges": ["Search", "Query"]}),
        )
        .await;
    let groups = server.ok("/v2/vectordb/privilege_groups/list", json!({})).await;
    let finders = groups["privilegeGroups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["privilegeGroupName"] == "finders")
        .unwrap()
        .clone();
    let mut members: Vec<&str> = finders["privileges"].as_str().unwrap().split(',').collect();
    members.sort_unstable();
    assert_eq!(members, ["Query", "Search"]);
    server
        .ok(
            "/v2/vectordb/privilege_groups/remove_privileges_from_group",
            json!({"privilegeGroupName": "finders", "privileges": ["Query"]}),
        )
        .await;
    server.ok("/v2/vectordb/privilege_groups/drop", json!({"privilegeGroupName": "finders"})).await;
    let (_, refused) = server
        .as_user(
            ROOT,
            "/v2/vectordb/privilege_groups/drop",
            json!({"privilegeGroupName": "finders"}),
        )
        .await;
    assert_eq!(refused["code"], 1100, "{refused}");

    // Passwords: own change needs the old one; a refusal never echoes a password.
    let new_pw = "Seven-windy-harbour-nights";
    let (_, wrong) = server
        .as_user(
            &bob,
            "/v2/vectordb/users/update_password",
            json!({"userName": "bob", "password": "Not-bobs-password-1", "newPassword": new_pw}),
        )
        .await;
    assert_eq!(wrong["code"], 1100, "{wrong}");
    assert!(!wrong.to_string().contains(new_pw) && !wrong.to_string().contains("Not-bobs"));
    server
        .as_user(
            &bob,
            "/v2/vectordb/users/update_password",
            json!({"userName": "bob", "password": bob_pw, "newPassword": new_pw}),
        )
        .await;
    let (status, _) =
        server.as_user(&bob, "/v2/vectordb/users/describe", json!({"userName": "bob"})).await;
    assert_eq!(status, 401, "the old password still works");
    let bob = format!("Bearer bob:{new_pw}");
    let (status, roles) =
        server.as_user(&bob, "/v2/vectordb/users/describe", json!({"userName": "bob"})).await;
    assert_eq!((status, roles["data"].clone()), (200, json!(["readers"])));
    let (_, weak) = server
        .as_user(
            ROOT,
            "/v2/vectordb/users/create",
            json!({"userName": "carol", "password": "tiny"}),
        )
        .await;
    assert_eq!(weak["code"], 1100, "{weak}");
    assert!(!weak["message"].as_str().unwrap().contains("tiny"), "{weak}");
    let (_, missing) =
        server.as_user(ROOT, "/v2/vectordb/users/create", json!({"userName": "carol"})).await;
    assert_eq!(missing["code"], 1802, "{missing}");

    server
        .ok("/v2/vectordb/users/revoke_role", json!({"userName": "bob", "roleName": "readers"}))
        .await;
    server.ok("/v2/vectordb/roles/drop", json!({"roleName": "readers"})).await;
    server.ok("/v2/vectordb/users/drop", json!({"userName": "bob"})).await;
    assert_eq!(server.ok("/v2/vectordb/users/list", json!({})).await, json!(["root"]));
    let (status, _) = server.as_user(&bob, "/v2/vectordb/users/list", json!({})).await;
    assert_eq!(status, 401);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn collection_properties_flush_and_compaction_over_rest() {
    let server = Server::start(None).await;
    docs(&server).await;
    server
        .ok(
            "/v2/vectordb/collections/alter_properties",
            json!({"collectionName": "docs", "properties": {"mmap.enabled": true, "note": "x"}}),
        )
        .await;
    let described =
        server.ok("/v2/vectordb/collections/describe", json!({"collectionName": "docs"})).await;
    let properties = described["properties"].as_array().unwrap();
    assert!(properties.contains(&json!({"key": "mmap.enabled", "value": "true"})), "{described}");
    assert!(properties.contains(&json!({"key": "note", "value": "x"})), "{described}");
    server
        .ok(
            "/v2/vectordb/collections/drop_properties",
            json!({"collectionName": "docs", "propertyKeys": ["note"]}),
        )
        .await;
    let described =
        server.ok("/v2/vectordb/collections/describe", json!({"collectionName": "docs"})).await;
    assert_eq!(described["properties"], json!([{"key": "mmap.enabled", "value": "true"}]));
    // What the handler refuses, REST refuses the same way.
    let ttl = server
        .root(
            "/v2/vectordb/collections/alter_properties",
            json!({"collectionName": "docs", "properties": {"collection.ttl.seconds": 60}}),
        )
        .await;
    assert_eq!(ttl["code"], 3000, "{ttl}");
    let nested = server
        .root(
            "/v2/vectordb/collections/alter_properties",
            json!({"collectionName": "docs", "properties": {"k": {"nested": 1}}}),
        )
        .await;
    assert_eq!(nested["code"], 1801, "{nested}");

    server
        .ok("/v2/vectordb/entities/delete", json!({"collectionName": "docs", "filter": "id < 5"}))
        .await;
    assert_eq!(
        server.ok("/v2/vectordb/collections/flush", json!({"collectionName": "docs"})).await,
        json!({})
    );
    let compacted =
        server.ok("/v2/vectordb/collections/compact", json!({"collectionName": "docs"})).await;
    let id = compacted["compactionID"].as_i64().unwrap();
    let state =
        server.ok("/v2/vectordb/collections/get_compaction_state", json!({"jobID": id})).await;
    assert_eq!(state["state"], "Completed", "{state}");
    assert_eq!(state["compactionID"], id);
    let count = server
        .ok(
            "/v2/vectordb/entities/query",
            json!({"collectionName": "docs", "outputFields": ["count(*)"]}),
        )
        .await;
    assert_eq!(count, json!([{"count(*)": 15}]));
    let missing =
        server.root("/v2/vectordb/collections/flush", json!({"collectionName": "nope"})).await;
    assert_eq!(missing["code"], 100, "{missing}");
    server.stop().await;
}

/// Creates `alice` (no grants) holding the role `r`, and `bob`.
fn alice_with_role(server: &Server) -> (String, String) {
    let _ = server.env.stranger();
    let security = &server.env.api.security;
    security.create_role("r").unwrap();
    security.add_user_to_role("alice", "r").unwrap();
    security
        .create_user("bob", &quiver_security::Secret::new("Tall-lighthouse-keeper-42".into()))
        .unwrap();
    (
        "Bearer alice:Another-str0ng-pass".to_owned(),
        "Bearer bob:Tall-lighthouse-keeper-42".to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn api_keys_are_shown_once_listed_without_secrets_and_revoked_at_once() {
    let server = Server::start(None).await;
    let (alice, _) = alice_with_role(&server);
    let created = server
        .ok(
            "/v2/vectordb/api_keys/create",
            json!({"keyName": "ci", "userName": "alice", "roles": ["r"], "ttlSeconds": 3600}),
        )
        .await;
    let token = created["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("qvk_") && token.contains(created["keyId"].as_str().unwrap()));
    assert_eq!(created["roles"], json!(["r"]));
    assert_eq!(
        created["expireAt"].as_u64().unwrap(),
        created["createdAt"].as_u64().unwrap() + 3600
    );
    let by_key = format!("Bearer {token}");
    let (status, _) = server.as_user(&by_key, "/v2/vectordb/collections/list", json!({})).await;
    assert_eq!(status, 200);

    // Listings: the key's public facts, never its secret or digest.
    let response = server.post("/v2/vectordb/api_keys/list", Some(&alice), "{}").await;
    assert_eq!(response.status, 200, "{}", response.body);
    let secret = token.rsplit('_').next().unwrap();
    assert!(!response.body.contains(secret), "{}", response.body);
    let listed = response.json()["data"].clone();
    assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    let mut fields: Vec<&str> = listed[0].as_object().unwrap().keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["createdAt", "expireAt", "keyId", "keyName", "roles", "userName"]);
    // An admin lists anyone's.
    let by_root = server.ok("/v2/vectordb/api_keys/list", json!({"userName": "alice"})).await;
    assert_eq!(by_root, listed);

    // Revoked: refused from the very next request, by REST and by what gRPC authenticates with.
    let (status, revoked) =
        server.as_user(&alice, "/v2/vectordb/api_keys/revoke", json!({"keyName": "ci"})).await;
    assert_eq!((status, revoked["code"].clone()), (200, json!(0)), "{revoked}");
    let (status, refused) =
        server.as_user(&by_key, "/v2/vectordb/collections/list", json!({})).await;
    assert_eq!((status, refused["code"].clone()), (401, json!(1800)));
    let grpc = server.env.api.security.authenticate_key(
        &quiver_security::Secret::new(token.clone()),
        std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
        std::time::Instant::now(),
        created["createdAt"].as_u64().unwrap(),
    );
    assert!(grpc.is_err());
    assert_eq!(
        server.ok("/v2/vectordb/api_keys/list", json!({"userName": "alice"})).await,
        json!([])
    );
    let (_, again) =
        server.as_user(&alice, "/v2/vectordb/api_keys/revoke", json!({"keyName": "ci"})).await;
    assert_eq!(again["code"], 1100, "{again}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_authenticated_with_an_api_key_cannot_manage_keys() {
    let server = Server::start(None).await;
    // Even root's own key, holding admin, cannot mint, list or revoke keys.
    let created = server
        .ok("/v2/vectordb/api_keys/create", json!({"keyName": "ops", "roles": ["admin"]}))
        .await;
    let by_key = format!("Bearer {}", created["token"].as_str().unwrap());
    let (status, _) = server.as_user(&by_key, "/v2/vectordb/users/list", json!({})).await;
    assert_eq!(status, 200, "the key itself works");
    for (path, body) in [
        ("create", json!({"keyName": "longer", "roles": ["admin"]})),
        ("list", json!({})),
        ("revoke", json!({"keyName": "ops"})),
    ] {
        let (status, refused) =
            server.as_user(&by_key, &format!("/v2/vectordb/api_keys/{path}"), body).await;
        assert_eq!((status, refused["code"].clone()), (403, json!(1401)), "{path}: {refused}");
        assert!(refused["message"].as_str().unwrap().contains("API key"), "{refused}");
    }
    assert_eq!(server.env.api.security.list_api_keys(Some("root")).len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn another_users_api_keys_need_the_admin_role() {
    let server = Server::start(None).await;
    let (alice, bob) = alice_with_role(&server);
    // Her own: allowed without any privilege.
    let (status, own) = server
        .as_user(&alice, "/v2/vectordb/api_keys/create", json!({"keyName": "mine", "roles": []}))
        .await;
    assert_eq!((status, own["code"].clone()), (200, json!(0)), "{own}");
    assert_eq!(own["data"]["userName"], "alice");
    // Someone else's: 403, whatever the operation, and nothing is disclosed or changed.
    for (path, body) in [
        ("create", json!({"keyName": "theirs", "userName": "alice", "roles": []})),
        ("list", json!({"userName": "alice"})),
        ("revoke", json!({"keyName": "mine", "userName": "alice"})),
    ] {
        let (status, refused) =
            server.as_user(&bob, &format!("/v2/vectordb/api_keys/{path}"), body).await;
        assert_eq!((status, refused["code"].clone()), (403, json!(1401)), "{path}: {refused}");
    }
    assert_eq!(server.env.api.security.list_api_keys(Some("alice")).len(), 1);
    // root (admin) may.
    server
        .ok(
            "/v2/vectordb/api_keys/create",
            json!({"keyName": "theirs", "userName": "alice", "roles": ["r"]}),
        )
        .await;
    server
        .ok("/v2/vectordb/api_keys/revoke", json!({"keyName": "mine", "userName": "alice"}))
        .await;
    let names: Vec<String> =
        server.env.api.security.list_api_keys(Some("alice")).into_iter().map(|k| k.name).collect();
    assert_eq!(names, ["theirs"]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn api_key_roles_must_be_held_by_the_user_and_settings_are_checked() {
    let server = Server::start(None).await;
    let (alice, _) = alice_with_role(&server);
    let create = |body: Json| server.as_user(&alice, "/v2/vectordb/api_keys/create", body);
    let (_, not_held) = create(json!({"keyName": "k", "roles": ["admin"]})).await;
    assert_eq!(not_held["code"], 1100, "{not_held}");
    assert!(not_held["message"].as_str().unwrap().contains("subset"), "{not_held}");
    let (_, unknown) = create(json!({"keyName": "k", "roles": ["nope"]})).await;
    assert_eq!(unknown["code"], 1100, "{unknown}");
    let (_, no_roles) = create(json!({"keyName": "k"})).await;
    assert_eq!(no_roles["code"], 1802, "{no_roles}");
    let (_, no_name) = create(json!({"roles": []})).await;
    assert_eq!(no_name["code"], 1802, "{no_name}");
    for ttl in [0, super::api_keys::MAX_TTL_SECONDS + 1] {
        let (_, bad) = create(json!({"keyName": "k", "roles": [], "ttlSeconds": ttl})).await;
        assert_eq!(bad["code"], 1100, "{ttl}: {bad}");
    }
    let (_, bad_name) = create(json!({"keyName": "not a name", "roles": []})).await;
    assert_eq!(bad_name["code"], 1100, "{bad_name}");
    let (_, ok) = create(json!({"keyName": "k", "roles": ["r", "public"]})).await;
    assert_eq!(ok["code"], 0, "{ok}");
    assert_eq!(ok["data"]["roles"], json!(["r"]));
    assert_eq!(ok["data"]["expireAt"], Json::Null);
    let (_, twice) = create(json!({"keyName": "k", "roles": []})).await;
    assert_eq!(twice["code"], 1100, "{twice}");
    assert!(server.env.api.security.list_api_keys(None).len() == 1);
    server.stop().await;
}
