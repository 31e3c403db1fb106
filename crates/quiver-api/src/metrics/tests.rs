//! The metrics, request ids and access log.
//!
//! Unit tests render the registry and parse the text back strictly (every line well formed,
//! each family's `# HELP` and `# TYPE` before its samples, escapes undone). The rest runs
//! real requests: REST over a loopback TCP port against the real server, and gRPC requests
//! (protobuf in gRPC frames) through the same layers and routes the server stacks, called
//! without a network.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body as AxumBody;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use prost::Message;
use quiver_security::{BuiltinGroup, Secret};
use serde_json::{Value as Json, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tonic::service::Routes;
use tower::{Layer, Service};

use super::*;
use crate::auth::Authenticated;
use crate::listener::PeerInfo;
use crate::metrics::collections::OTHER;
use crate::metrics::endpoint::METRICS_PRIVILEGE;
use crate::metrics::exposition::{is_label_name, is_metric_name};
use crate::metrics::histogram::Histogram;
use crate::metrics::layer::{ACCESS_LOG_TARGET, Observed};
use crate::metrics::request_id::{MAX_CLIENT_ID_LEN, RequestId};
use crate::metrics::requests::{MAX_MILVUS_CODES_PER_METHOD, grpc_method_name};
use crate::proto::common::{PlaceholderGroup, PlaceholderType, PlaceholderValue};
use crate::proto::milvus as pb;
use crate::ratelimit::{ClassLimits, Rate, RateLimits};
use crate::service::data::testkit;
use crate::service::{MilvusApi, RPC_CLASSES};

const ROOT_PASSWORD: &str = "a-Strong-admin-passw0rd";
const ROOT: &str = "Bearer root:a-Strong-admin-passw0rd";

// -- the exposition format, parsed back ---------------------------------------------------

#[derive(Clone, Debug, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses a scrape strictly; panics naming the line that is not Prometheus text 0.0.4.
fn parse(text: &str) -> Vec<Sample> {
    assert!(text.ends_with('\n'), "a scrape ends with a line feed");
    let mut helps = HashSet::new();
    let mut kinds: HashMap<String, String> = HashMap::new();
    let mut current: Option<String> = None;
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or_else(|| panic!("{line}"));
            assert!(is_metric_name(name), "{line}");
            assert!(!help.trim().is_empty(), "{line}");
            assert_valid_escapes(help, &['\\', 'n'], line);
            assert!(helps.insert(name.to_owned()), "two HELP lines: {line}");
            current = None;
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap_or_else(|| panic!("{line}"));
            assert!(helps.contains(name), "TYPE without HELP first: {line}");
            assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
            assert!(kinds.insert(name.to_owned(), kind.to_owned()).is_none(), "{line}");
            current = Some(name.to_owned());
        } else {
            assert!(!line.starts_with('#'), "unexpected comment: {line}");
            let sample = parse_sample(line);
            let family = current.as_deref().unwrap_or_else(|| panic!("sample before TYPE: {line}"));
            let kind = &kinds[family];
            let belongs = if kind == "histogram" {
                ["_bucket", "_sum", "_count"].iter().any(|s| sample.name == format!("{family}{s}"))
            } else {
                sample.name == family
            };
            assert!(belongs, "sample outside its family {family}: {line}");
            samples.push(sample);
        }
    }
    check_histograms(&samples, &kinds);
    samples
}

fn assert_valid_escapes(text: &str, allowed: &[char], line: &str) {
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            let next = chars.next();
            assert!(next.is_some_and(|n| allowed.contains(&n)), "bad escape in {line}");
        }
    }
}

fn parse_sample(line: &str) -> Sample {
    let name_end = line.find(['{', ' ']).unwrap_or_else(|| panic!("no value: {line}"));
    let name = &line[..name_end];
    assert!(is_metric_name(name), "{line}");
    let mut rest = &line[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        let mut chars = inner.char_indices();
        loop {
            let mut label = String::new();
            loop {
                let (_, c) = chars.next().unwrap_or_else(|| panic!("unterminated: {line}"));
                if c == '=' {
                    break;
                }
                label.push(c);
            }
            assert!(is_label_name(&label), "label name {label:?}: {line}");
            assert_eq!(chars.next().map(|(_, c)| c), Some('"'), "{line}");
            let mut value = String::new();
            loop {
                match chars.next().unwrap_or_else(|| panic!("unterminated: {line}")).1 {
                    '"' => break,
                    '\\' => match chars.next().map(|(_, c)| c) {
                        Some('\\') => value.push('\\'),
                        Some('"') => value.push('"'),
                        Some('n') => value.push('\n'),
                        other => panic!("bad escape {other:?}: {line}"),
                    },
                    c => value.push(c),
                }
            }
            assert!(labels.insert(label, value).is_none(), "repeated label: {line}");
            match chars.next() {
                Some((_, ',')) => {}
                Some((i, '}')) => {
                    rest = &inner[i + 1..];
                    break;
                }
                other => panic!("{other:?} after a label: {line}"),
            }
        }
    }
    let value = rest.strip_prefix(' ').unwrap_or_else(|| panic!("no space: {line}"));
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse().unwrap_or_else(|e| panic!("{e}: {line}")),
    };
    Sample { name: name.to_owned(), labels, value }
}

/// A series' labels.
type Labels = BTreeMap<String, String>;

/// Every histogram series: cumulative buckets in increasing `le`, `+Inf` last and equal to
/// `_count`, one `_sum`.
fn check_histograms(samples: &[Sample], kinds: &HashMap<String, String>) {
    for (family, _) in kinds.iter().filter(|(_, k)| *k == "histogram") {
        let mut series: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
        for s in samples.iter().filter(|s| s.name == format!("{family}_bucket")) {
            let mut labels = s.labels.clone();
            let le = match labels.remove("le").unwrap().as_str() {
                "+Inf" => f64::INFINITY,
                le => le.parse().unwrap(),
            };
            series.entry(labels).or_default().push((le, s.value));
        }
        for (labels, buckets) in series {
            assert!(buckets.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1), "{labels:?}");
            assert_eq!(buckets.last().unwrap().0, f64::INFINITY, "{labels:?}");
            let of = |suffix: &str| {
                let name = format!("{family}{suffix}");
                let found: Vec<&Sample> =
                    samples.iter().filter(|s| s.name == name && s.labels == labels).collect();
                assert_eq!(found.len(), 1, "{name} {labels:?}");
                found[0].value
            };
            assert_eq!(of("_count"), buckets.last().unwrap().1);
            assert!(of("_sum") >= 0.0);
        }
    }
}

/// The value of the sample with exactly these labels.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let labels: BTreeMap<String, String> =
        labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    samples.iter().find(|s| s.name == name && s.labels == labels).map(|s| s.value)
}

fn scrape(api: &MilvusApi) -> Vec<Sample> {
    parse(&api.metrics.render(&api.limiter))
}

fn requests(samples: &[Sample], protocol: &str, method: &str, status: &str) -> f64 {
    let labels = [("protocol", protocol), ("method", method), ("status", status)];
    value(samples, "quiver_requests_total", &labels).unwrap_or(0.0)
}

fn metrics() -> Metrics {
    Metrics::new(crate::service::grpc_methods())
}

#[test]
fn the_exposition_parses_back_with_help_type_and_escaped_labels() {
    let metrics = metrics();
    let names = ["plain", "back\\slash", "quo\"te", "line\nfeed", "all \\\"\n three", "ünï"];
    for (i, name) in names.iter().enumerate() {
        metrics.rows_inserted("default", name, i as u64 + 1);
    }
    metrics.rows_deleted("db\"x", "plain", 7);
    let search = metrics.requests.method("/milvus.proto.milvus.MilvusService/Search");
    metrics.requests.record(search, StatusLabel::Ok, Duration::from_millis(3));
    metrics.requests.record(search, StatusLabel::Milvus(100), Duration::from_micros(40));
    let denied = StatusLabel::Grpc(tonic::Code::PermissionDenied);
    metrics.requests.record(search, denied, Duration::from_secs(90));
    metrics.auth_failure(AuthFailure::BadPassword);
    let limiter = RateLimiter::new(RateLimits::default());
    let text = metrics.render(&limiter);
    let samples = parse(&text);

    for (i, name) in names.iter().enumerate() {
        let labels = [("db", "default"), ("collection", *name)];
        assert_eq!(value(&samples, "quiver_rows_inserted_total", &labels), Some(i as f64 + 1.0));
        assert_eq!(value(&samples, "quiver_rows_deleted_total", &labels), Some(0.0));
    }
    let labels = [("db", "db\"x"), ("collection", "plain")];
    assert_eq!(value(&samples, "quiver_rows_deleted_total", &labels), Some(7.0));
    assert!(text.contains(r#"collection="all \\\"\n three""#), "{text}");
    assert!(!text.contains("line\nfeed"));

    assert_eq!(requests(&samples, "grpc", "Search", "ok"), 1.0);
    assert_eq!(requests(&samples, "grpc", "Search", "100"), 1.0);
    assert_eq!(requests(&samples, "grpc", "Search", "PERMISSION_DENIED"), 1.0);
    let bucket = |le: &str| {
        let labels = [("protocol", "grpc"), ("method", "Search"), ("le", le)];
        value(&samples, "quiver_request_duration_seconds_bucket", &labels).unwrap()
    };
    assert_eq!(
        (bucket("0.0001"), bucket("0.005"), bucket("60"), bucket("+Inf")),
        (1.0, 2.0, 2.0, 3.0)
    );
    let sum = value(
        &samples,
        "quiver_request_duration_seconds_sum",
        &[("protocol", "grpc"), ("method", "Search")],
    );
    assert!((sum.unwrap() - 90.00304).abs() < 1e-9, "{sum:?}");
    assert_eq!(
        value(&samples, "quiver_auth_failures_total", &[("reason", "bad_password")]),
        Some(1.0)
    );
    assert_eq!(value(&samples, "quiver_auth_failures_total", &[("reason", "missing")]), Some(0.0));
    for class in ["read", "write", "ddl", "login"] {
        assert_eq!(value(&samples, "quiver_rate_limited_total", &[("class", class)]), Some(0.0));
    }
    assert!(value(&samples, "quiver_uptime_seconds", &[]).unwrap() >= 0.0);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    let started = value(&samples, "quiver_start_time_seconds", &[]).unwrap();
    assert!(started <= now && started > now - 60.0, "{started} {now}");
    // Only methods that served requests have series.
    assert!(samples.iter().all(|s| s.labels.get("method").is_none_or(|m| m == "Search")));
}

#[test]
fn families_come_in_a_fixed_order_and_series_sorted() {
    let metrics = metrics();
    for (db, collection) in [("b", "z"), ("a", "y"), ("b", "a"), ("a", "z")] {
        metrics.rows_inserted(db, collection, 1);
    }
    let limiter = RateLimiter::new(RateLimits::default());
    let families = |text: &str| -> Vec<String> {
        text.lines().filter_map(|l| l.strip_prefix("# TYPE ")).map(str::to_owned).collect()
    };
    let first = metrics.render(&limiter);
    assert_eq!(
        families(&first),
        [
            "quiver_requests_total counter",
            "quiver_request_duration_seconds histogram",
            "quiver_rows_inserted_total counter",
            "quiver_rows_deleted_total counter",
            "quiver_auth_failures_total counter",
            "quiver_rate_limited_total counter",
            "quiver_uptime_seconds gauge",
            "quiver_start_time_seconds gauge",
        ]
    );
    let pairs: Vec<(String, String)> = parse(&first)
        .into_iter()
        .filter(|s| s.name == "quiver_rows_inserted_total")
        .map(|s| (s.labels["db"].clone(), s.labels["collection"].clone()))
        .collect();
    let owned = |a: &str, b: &str| (a.to_owned(), b.to_owned());
    assert_eq!(pairs, [owned("a", "y"), owned("a", "z"), owned("b", "a"), owned("b", "z")]);
    let without_uptime = |text: &str| {
        text.lines().filter(|l| !l.starts_with("quiver_uptime")).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(without_uptime(&first), without_uptime(&metrics.render(&limiter)));
}

#[test]
fn histogram_buckets_cover_100_microseconds_to_60_seconds_inclusively() {
    let histogram = Histogram::default();
    for micros in [1, 100, 101, 1_000_000, 60_000_000, 60_000_001] {
        histogram.observe(Duration::from_micros(micros));
    }
    let snapshot = histogram.snapshot();
    let buckets: Vec<(f64, u64)> = snapshot.buckets().collect();
    assert_eq!(buckets.first(), Some(&(0.0001, 2)), "le is inclusive: 100 µs is in the first");
    assert_eq!(buckets[1], (0.00025, 1));
    assert_eq!(buckets.iter().find(|(le, _)| *le == 1.0), Some(&(1.0, 1)));
    assert_eq!(buckets[buckets.len() - 2], (60.0, 1));
    assert_eq!(buckets.last(), Some(&(f64::INFINITY, 1)));
    assert_eq!(snapshot.count(), 6);
    assert!((snapshot.sum_seconds() - 121.000203).abs() < 1e-9, "{}", snapshot.sum_seconds());
}

#[test]
fn collection_series_are_capped_then_folded_into_other() {
    let metrics = Metrics::with_collection_cap(crate::service::grpc_methods(), 3);
    for i in 0..3 {
        metrics.rows_inserted("default", &format!("c{i}"), 10);
    }
    // Past the cap: new pairs fold into one series, known ones keep counting.
    for i in 3..500 {
        metrics.rows_inserted("default", &format!("c{i}"), 1);
        metrics.rows_deleted(&format!("db{i}"), "c0", 2);
    }
    metrics.rows_inserted("default", "c0", 5);
    metrics.rows_deleted("default", "c1", 0);
    let samples = parse(&metrics.render(&RateLimiter::new(RateLimits::default())));
    let inserted: Vec<&Sample> =
        samples.iter().filter(|s| s.name == "quiver_rows_inserted_total").collect();
    assert_eq!(inserted.len(), 4, "{inserted:?}");
    let rows = |name: &str, db: &str, c: &str| {
        value(&samples, name, &[("db", db), ("collection", c)]).unwrap()
    };
    assert_eq!(rows("quiver_rows_inserted_total", "default", "c0"), 15.0);
    assert_eq!(rows("quiver_rows_inserted_total", "default", "c2"), 10.0);
    assert_eq!(rows("quiver_rows_inserted_total", OTHER, OTHER), 497.0);
    assert_eq!(rows("quiver_rows_deleted_total", OTHER, OTHER), 994.0);
    assert_eq!(rows("quiver_rows_deleted_total", "default", "c1"), 0.0);
}

#[test]
fn status_and_method_labels_come_from_fixed_sets() {
    let metrics = metrics();
    // Every RPC of the proto has its own method label, spelled as in the request path.
    let proto = include_str!("../../proto/milvus.proto");
    let rpcs: Vec<&str> = proto
        .lines()
        .filter_map(|l| l.trim().strip_prefix("rpc "))
        .map(|rest| rest.split('(').next().unwrap().trim())
        .collect();
    assert_eq!(rpcs.len(), RPC_CLASSES.len());
    for rpc in &rpcs {
        let method = metrics.requests.method(&format!("/milvus.proto.milvus.MilvusService/{rpc}"));
        assert_eq!(metrics.requests.method_name(method), *rpc);
    }
    for rpc in ["ListTrash", "RestoreCollection", "PurgeTrash"] {
        let method = metrics.requests.method(&format!("/quiver.admin.v1.RecycleBin/{rpc}"));
        assert_eq!(metrics.requests.method_name(method), rpc);
    }
    assert_eq!(grpc_method_name("operate_privilege_v2"), "OperatePrivilegeV2");
    for path in [
        "/milvus.proto.milvus.MilvusService/search",
        "/milvus.proto.milvus.MilvusService/Search/x",
        "/grpc.health.v1.Health/Check",
        "/",
        "/v2/vectordb/entities/../search",
        "/v2/vectordb/no/such",
        "/v2/vectordb/entities/search/",
        "/healthz/",
    ] {
        assert_eq!(
            metrics.requests.method_name(metrics.requests.method(path)),
            "unknown",
            "{path}"
        );
    }
    let name = |path| metrics.requests.method_name(metrics.requests.method(path)).to_owned();
    assert_eq!(name("/healthz"), "healthz");
    assert_eq!(name("/metrics"), "metrics");
    // REST endpoints are known once the router's record is in.
    assert_eq!(name("/v2/vectordb/entities/search"), "unknown");
    metrics.requests.set_rest_endpoints(["/v2/vectordb/entities/search", "/elsewhere/x"]);
    assert_eq!(name("/v2/vectordb/entities/search"), "entities/search");
    assert_eq!(name("/elsewhere/x"), "unknown");

    // At most MAX_MILVUS_CODES_PER_METHOD codes per method; then `other`.
    let method = metrics.requests.method("/milvus.proto.milvus.MilvusService/Query");
    for code in 1..=(MAX_MILVUS_CODES_PER_METHOD as i32 + 10) {
        metrics.requests.record(method, StatusLabel::Milvus(code), Duration::ZERO);
    }
    let samples = scrape_metrics(&metrics);
    let statuses: Vec<&str> = samples
        .iter()
        .filter(|s| s.name == "quiver_requests_total")
        .map(|s| s.labels["status"].as_str())
        .collect();
    assert_eq!(statuses.len(), MAX_MILVUS_CODES_PER_METHOD + 1);
    assert_eq!(statuses.last(), Some(&"other"));
    assert_eq!(requests(&samples, "grpc", "Query", "other"), 10.0);

    let response = |status: u16, grpc: Option<&str>| {
        let mut response = http::Response::new(());
        *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
        if let Some(code) = grpc {
            response
                .headers_mut()
                .insert("grpc-status", http::HeaderValue::from_str(code).unwrap());
        }
        StatusLabel::of_response(&response).label()
    };
    assert_eq!(response(200, Some("0")), "ok");
    assert_eq!(response(200, Some("12")), "UNIMPLEMENTED");
    assert_eq!(response(200, Some("junk")), "UNKNOWN");
    assert_eq!(response(200, None), "ok");
    assert_eq!(response(401, None), "UNAUTHENTICATED");
    assert_eq!(response(403, None), "PERMISSION_DENIED");
    assert_eq!(response(404, None), "UNIMPLEMENTED");
    assert_eq!(response(429, None), "RESOURCE_EXHAUSTED");
    assert_eq!(response(502, None), "INTERNAL");
    assert_eq!(StatusLabel::Milvus(1100).label(), "1100");
}

fn scrape_metrics(metrics: &Metrics) -> Vec<Sample> {
    parse(&metrics.render(&RateLimiter::new(RateLimits::default())))
}

#[test]
fn request_ids_are_unique_hex_and_client_ids_are_bounded() {
    let ids = RequestIds::new();
    let generated: HashSet<String> = (0..10_000).map(|_| ids.next_id().to_string()).collect();
    assert_eq!(generated.len(), 10_000);
    assert!(generated.iter().all(|id| id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())));
    // Another process (key) gives other ids.
    let other: HashSet<String> =
        (0..100).map(|_| RequestIds::new().next_id().to_string()).collect();
    assert!(other.len() > 90, "{other:?}");

    let client = |text: &str| RequestId::from_client(&http::HeaderValue::from_str(text).unwrap());
    let longest = "a".repeat(MAX_CLIENT_ID_LEN);
    for good in ["abc", "trace-1.2_3", longest.as_str()] {
        assert_eq!(client(good).map(|id| id.to_string()), Some(good.to_owned()));
    }
    let too_long = "a".repeat(MAX_CLIENT_ID_LEN + 1);
    for bad in ["", "a b", "a/b", "a\"b", "x=y", "é", too_long.as_str(), "a\tb"] {
        if let Ok(value) = http::HeaderValue::from_str(bad) {
            assert_eq!(RequestId::from_client(&value), None, "{bad:?}");
        }
    }
    let opaque = http::HeaderValue::from_bytes(b"id\xff").unwrap();
    assert_eq!(RequestId::from_client(&opaque), None);
}

#[test]
fn the_metrics_privilege_is_cluster_level_read_only() {
    assert_eq!(METRICS_PRIVILEGE.level(), Some(quiver_security::PrivilegeLevel::Cluster));
    assert!(BuiltinGroup::ClusterReadOnly.privileges().contains(&METRICS_PRIVILEGE));
    for group in [BuiltinGroup::CollectionAdmin, BuiltinGroup::DatabaseAdmin] {
        assert!(!group.privileges().contains(&METRICS_PRIVILEGE), "{group:?}");
    }
}

// -- logs ---------------------------------------------------------------------------------

/// The output of a process-wide subscriber (debug level, no colours) that the log tests read.
/// Every test of this binary logs into it; tests look for their own request ids.
fn captured_logs() -> String {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    let buffer = LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(move || LogWriter(writer.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("only this module installs a global subscriber");
        buffer
    });
    String::from_utf8_lossy(&buffer.lock().unwrap()).into_owned()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl io::Write for LogWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A field of a formatted log line: `name=value` or `name="value"`.
fn field(line: &str, name: &str) -> Option<String> {
    let start = line.find(&format!(" {name}="))? + name.len() + 2;
    let rest = &line[start..];
    match rest.strip_prefix('"') {
        Some(quoted) => Some(quoted[..quoted.find('"')?].to_owned()),
        None => Some(rest.split(' ').next()?.to_owned()),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn what_a_handler_logs_on_its_blocking_thread_carries_the_request_span() {
    captured_logs();
    let span = tracing::info_span!("request", request_id = "span-test-7731");
    let (inside, outside) = {
        let _entered = span.enter();
        let inside = spawn_blocking_in_span(|| tracing::info!("handler event with span"));
        let outside = tokio::task::spawn_blocking(|| tracing::info!("handler event without span"));
        (inside, outside)
    };
    inside.await.unwrap();
    outside.await.unwrap();
    let logs = captured_logs();
    let line = |text: &str| logs.lines().find(|l| l.contains(text)).unwrap().to_owned();
    assert!(line("handler event with span").contains("span-test-7731"), "{logs}");
    // The control: a plain spawn_blocking loses the span.
    assert!(!line("handler event without span").contains("span-test-7731"));
}

// -- the real server: REST and /metrics ---------------------------------------------------

struct Server {
    addr: SocketAddr,
    api: MilvusApi,
    _env: testkit::Env,
    stop: Option<oneshot::Sender<()>>,
    done: Option<tokio::task::JoinHandle<()>>,
}

#[derive(Debug)]
struct HttpResponse {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl HttpResponse {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Json {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    fn request_id(&self) -> String {
        self.header("x-request-id").unwrap_or_else(|| panic!("no request id: {self:?}")).to_owned()
    }
}

impl Server {
    async fn start(limits: Option<RateLimits>) -> Server {
        let env = testkit::env();
        let mut api = env.api.clone();
        if let Some(limits) = limits {
            api = api.with_rate_limits(limits);
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let served = api.clone();
        let done = tokio::spawn(async move {
            crate::serve(listener, None, served, async {
                let _ = stopped.await;
            })
            .await
            .unwrap();
        });
        Server { addr, api, _env: env, stop: Some(stop), done: Some(done) }
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> HttpResponse {
        let mut stream = TcpStream::connect(self.addr).await.unwrap();
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
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
        HttpResponse { status, headers, body }
    }

    async fn post(&self, path: &str, auth: Option<&str>, body: Json) -> HttpResponse {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", *a)).collect();
        self.request("POST", &format!("/v2/vectordb/{path}"), &headers, &body.to_string()).await
    }

    /// POST as root; asserts code 0.
    async fn ok(&self, path: &str, body: Json) -> Json {
        let response = self.post(path, Some(ROOT), body).await;
        let envelope = response.json();
        assert_eq!((response.status, &envelope["code"]), (200, &json!(0)), "{path}: {envelope}");
        envelope
    }

    async fn get_metrics(&self, auth: Option<&str>) -> HttpResponse {
        let headers: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", *a)).collect();
        self.request("GET", "/metrics", &headers, "").await
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

fn bearer(user: &str, password: &str) -> String {
    format!("Bearer {user}:{password}")
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_require_authentication() {
    let server = Server::start(None).await;
    let before = scrape(&server.api);
    let reason = |samples: &[Sample], r: &str| {
        value(samples, "quiver_auth_failures_total", &[("reason", r)]).unwrap()
    };
    let cases = [
        (None, "missing"),
        (Some("Bearer root"), "malformed"),
        (Some("Digest abc"), "malformed"),
        (Some("Bearer root:Not-the-right-pass-1"), "bad_password"),
        (
            Some(
                "Bearer qvk_0123456789abcdef_00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
            ),
            "bad_api_key",
        ),
    ];
    for (auth, _) in cases {
        let response = server.get_metrics(auth).await;
        assert_eq!(response.status, 401, "{auth:?}: {response:?}");
        assert_eq!(response.json()["code"], 1800, "{auth:?}");
        assert!(!response.body.contains("quiver_"), "{auth:?}");
        response.request_id();
    }
    let after = scrape(&server.api);
    for reason_label in ["missing", "bad_password", "bad_api_key"] {
        assert_eq!(
            reason(&after, reason_label) - reason(&before, reason_label),
            1.0,
            "{reason_label}"
        );
    }
    assert_eq!(reason(&after, "malformed") - reason(&before, "malformed"), 2.0);
    // Refused scrapes are requests too, with their status.
    assert_eq!(requests(&after, "rest", "metrics", "UNAUTHENTICATED"), 5.0);

    let response = server.get_metrics(Some(ROOT)).await;
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.header("content-type"), Some("text/plain; version=0.0.4; charset=utf-8"));
    let samples = parse(&response.body);
    assert_eq!(requests(&samples, "rest", "metrics", "UNAUTHENTICATED"), 5.0);
    assert_eq!(
        value(&samples, "quiver_auth_failures_total", &[("reason", "malformed")]),
        Some(2.0)
    );
    // No label carries a user name or an address.
    assert!(!response.body.contains("root") && !response.body.contains("127.0.0.1"));
    // Only GET.
    let post = server.request("POST", "/metrics", &[("Authorization", ROOT)], "{}").await;
    assert_eq!(post.status, 405);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_require_the_describe_resource_group_privilege() {
    let server = Server::start(None).await;
    let security = &server.api.security;
    let password = "Scrape-only-pass-7Kq";
    security.create_user("watcher", &Secret::new(password.into())).unwrap();
    let watcher = bearer("watcher", password);

    // Authenticated, but no privilege: 403 with Milvus's code, nothing revealed.
    let response = server.get_metrics(Some(&watcher)).await;
    assert_eq!(response.status, 403, "{response:?}");
    assert_eq!(response.json()["code"], 1401);
    assert!(!response.body.contains("quiver_"));
    // Collection privileges everywhere are not enough.
    security.create_role("readers").unwrap();
    security.add_user_to_role("watcher", "readers").unwrap();
    security.grant_v2("readers", "CollectionReadOnly", "*", "*", "root").unwrap();
    assert_eq!(server.get_metrics(Some(&watcher)).await.status, 403);

    security.create_role("monitoring").unwrap();
    security.add_user_to_role("watcher", "monitoring").unwrap();
    security.grant_v2("monitoring", METRICS_PRIVILEGE.name(), "*", "*", "root").unwrap();
    let response = server.get_metrics(Some(&watcher)).await;
    assert_eq!(response.status, 200, "{response:?}");
    parse(&response.body);

    // An API key acts with its roles only.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let (_, readers_key) = security
        .create_api_key("watcher", "readers_key", &["readers".to_owned()], None, now)
        .unwrap();
    let (_, monitoring_key) = security
        .create_api_key("watcher", "monitoring_key", &["monitoring".to_owned()], None, now)
        .unwrap();
    let by_key = |key: &Secret| format!("Bearer {}", key.expose());
    assert_eq!(server.get_metrics(Some(&by_key(&readers_key))).await.status, 403);
    assert_eq!(server.get_metrics(Some(&by_key(&monitoring_key))).await.status, 200);

    // The built-in group that holds it is enough too.
    security.revoke_v2("monitoring", METRICS_PRIVILEGE.name(), "*", "*").unwrap();
    assert_eq!(server.get_metrics(Some(&watcher)).await.status, 403);
    security.grant_v2("monitoring", "ClusterReadOnly", "*", "*", "root").unwrap();
    assert_eq!(server.get_metrics(Some(&watcher)).await.status, 200);

    let samples = scrape(&server.api);
    assert_eq!(requests(&samples, "rest", "metrics", "PERMISSION_DENIED"), 4.0);
    assert_eq!(requests(&samples, "rest", "metrics", "ok"), 3.0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_answers_ok_and_reveals_nothing_else() {
    let server = Server::start(None).await;
    for headers in [vec![], vec![("Authorization", "Bearer nobody:Wrong-password-12")]] {
        let response = server.request("GET", "/healthz", &headers, "").await;
        assert_eq!((response.status, response.body.as_str()), (200, "ok"));
        let mut names: Vec<String> =
            response.headers.iter().map(|(n, _)| n.to_ascii_lowercase()).collect();
        names.sort();
        // `connection: close` answers the client's; nothing names the server or its state.
        assert_eq!(names, ["connection", "content-length", "content-type", "date", "x-request-id"]);
        assert_eq!(response.request_id().len(), 16);
    }
    let samples = scrape(&server.api);
    assert_eq!(requests(&samples, "rest", "healthz", "ok"), 2.0);
    // The probe's credential, even a wrong one, is never checked.
    assert_eq!(
        value(&samples, "quiver_auth_failures_total", &[("reason", "bad_password")]),
        Some(0.0)
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rest_requests_are_counted_by_endpoint_and_status() {
    let server = Server::start(None).await;
    server
        .ok(
            "collections/create",
            json!({"collectionName": "docs", "dimension": 2, "metricType": "L2"}),
        )
        .await;
    let rows: Vec<Json> = (0..5).map(|i| json!({"id": i, "vector": [i as f32, 1.0]})).collect();
    server.ok("entities/insert", json!({"collectionName": "docs", "data": rows})).await;
    let search = json!({"collectionName": "docs", "data": [[0.0, 1.0]], "limit": 3});
    server.ok("entities/search", search.clone()).await;
    server.ok("entities/search", search).await;
    // Refused by the handler: HTTP 200 with the Milvus code, counted with that code.
    let missing = json!({"collectionName": "missing", "data": [[0.0, 1.0]], "limit": 3});
    let refused = server.post("entities/search", Some(ROOT), missing).await;
    assert_eq!(refused.json()["code"], 100);
    // Malformed body: 1801.
    let bad = server.post("entities/search", Some(ROOT), json!({"nope": 1})).await;
    assert_eq!(bad.json()["code"], 1801);
    // Refused by authentication before routing: still the endpoint's method.
    let anonymous = server.post("collections/list", None, json!({})).await;
    assert_eq!(anonymous.status, 401);
    // Unknown endpoints and methods fold into `unknown`.
    for i in 0..20 {
        let response = server.post(&format!("made/up{i}"), Some(ROOT), json!({})).await;
        assert_eq!(response.status, 404);
    }
    let get =
        server.request("GET", "/v2/vectordb/entities/search", &[("Authorization", ROOT)], "").await;
    assert_eq!(get.status, 405);

    let samples = scrape(&server.api);
    assert_eq!(requests(&samples, "rest", "collections/create", "ok"), 1.0);
    assert_eq!(requests(&samples, "rest", "entities/insert", "ok"), 1.0);
    assert_eq!(requests(&samples, "rest", "entities/search", "ok"), 2.0);
    assert_eq!(requests(&samples, "rest", "entities/search", "100"), 1.0);
    assert_eq!(requests(&samples, "rest", "entities/search", "1801"), 1.0);
    assert_eq!(requests(&samples, "rest", "entities/search", "UNIMPLEMENTED"), 1.0);
    assert_eq!(requests(&samples, "rest", "collections/list", "UNAUTHENTICATED"), 1.0);
    assert_eq!(requests(&samples, "rest", "unknown", "UNIMPLEMENTED"), 20.0);
    let methods: HashSet<&str> =
        samples.iter().filter_map(|s| s.labels.get("method").map(String::as_str)).collect();
    assert!(methods.iter().all(|m| !m.starts_with("made/")), "{methods:?}");
    let histogram = [("protocol", "rest"), ("method", "entities/search")];
    assert_eq!(value(&samples, "quiver_request_duration_seconds_count", &histogram), Some(5.0));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rows_inserted_and_deleted_are_counted_per_collection() {
    let server = Server::start(None).await;
    for name in ["docs", "other"] {
        server
            .ok(
                "collections/create",
                json!({"collectionName": name, "dimension": 2, "metricType": "L2"}),
            )
            .await;
    }
    server.ok("aliases/create", json!({"collectionName": "docs", "aliasName": "nick"})).await;
    let rows = |ids: std::ops::Range<i64>| -> Vec<Json> {
        ids.map(|i| json!({"id": i, "vector": [i as f32, 0.5]})).collect()
    };
    server.ok("entities/insert", json!({"collectionName": "docs", "data": rows(0..10)})).await;
    // Through an alias: counted under the collection's own name.
    server.ok("entities/insert", json!({"collectionName": "nick", "data": rows(10..13)})).await;
    // Upsert: its rows count as inserted (the engine does not report which it replaced).
    server.ok("entities/upsert", json!({"collectionName": "docs", "data": rows(8..12)})).await;
    server.ok("entities/insert", json!({"collectionName": "other", "data": rows(0..2)})).await;
    server.ok("entities/delete", json!({"collectionName": "docs", "filter": "id < 4"})).await;
    // Deleting rows that do not exist counts nothing; a refused insert counts nothing.
    server.ok("entities/delete", json!({"collectionName": "docs", "filter": "id > 100"})).await;
    let duplicate = server
        .post("entities/insert", Some(ROOT), json!({"collectionName": "docs", "data": rows(5..6)}))
        .await;
    assert_ne!(duplicate.json()["code"], 0);

    let samples = scrape(&server.api);
    let rows = |name: &str, c: &str| value(&samples, name, &[("db", "default"), ("collection", c)]);
    assert_eq!(rows("quiver_rows_inserted_total", "docs"), Some(17.0));
    assert_eq!(rows("quiver_rows_deleted_total", "docs"), Some(4.0));
    assert_eq!(rows("quiver_rows_inserted_total", "other"), Some(2.0));
    assert_eq!(rows("quiver_rows_deleted_total", "other"), Some(0.0));
    assert_eq!(rows("quiver_rows_inserted_total", "nick"), None);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limited_requests_are_counted_by_class_and_status() {
    // One read a second (burst 1): the requests after the first are refused with code 8
    // unless a second has passed, which a slow machine may take; the counts must agree with
    // what the client saw either way.
    let one = ClassLimits { per_user: Some(Rate::new(1, 1)), per_address: None };
    let limits = RateLimits { read: one, ..RateLimits::unlimited() };
    let server = Server::start(Some(limits)).await;
    let mut refused = 0.0;
    for _ in 0..4 {
        let response = server.post("collections/list", Some(ROOT), json!({})).await;
        match response.status {
            200 => {}
            429 => {
                assert_eq!(response.json()["code"], 8);
                refused += 1.0;
            }
            other => panic!("{other}: {response:?}"),
        }
    }
    assert!(refused >= 1.0);
    let samples = scrape(&server.api);
    assert_eq!(requests(&samples, "rest", "collections/list", "ok"), 4.0 - refused);
    assert_eq!(requests(&samples, "rest", "collections/list", "8"), refused);
    assert_eq!(value(&samples, "quiver_rate_limited_total", &[("class", "read")]), Some(refused));
    assert_eq!(value(&samples, "quiver_rate_limited_total", &[("class", "login")]), Some(0.0));
    server.stop().await;

    // The login class is checked by the authentication layer, before any handler: HTTP 429
    // without a handler's code, counted as RESOURCE_EXHAUSTED.
    let login = ClassLimits { per_user: Some(Rate::new(1, 1)), per_address: None };
    let server = Server::start(Some(RateLimits { login, ..RateLimits::unlimited() })).await;
    let mut refused = 0.0;
    for _ in 0..4 {
        match server.post("collections/list", Some(ROOT), json!({})).await.status {
            200 => {}
            429 => refused += 1.0,
            other => panic!("{other}"),
        }
    }
    assert!(refused >= 1.0);
    let samples = scrape(&server.api);
    assert_eq!(requests(&samples, "rest", "collections/list", "RESOURCE_EXHAUSTED"), refused);
    assert_eq!(value(&samples, "quiver_rate_limited_total", &[("class", "login")]), Some(refused));
    assert_eq!(value(&samples, "quiver_rate_limited_total", &[("class", "read")]), Some(0.0));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_request_gets_its_own_request_id_and_a_bounded_client_id_is_kept() {
    let server = Server::start(None).await;
    let mut seen = HashSet::new();
    for auth in [Some(ROOT), None, Some("Bearer root:Wrong-password-99")] {
        for _ in 0..3 {
            let id = server.post("collections/list", auth, json!({})).await.request_id();
            assert!(id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
            assert!(seen.insert(id), "ids repeat");
        }
    }
    let unknown = server.request("POST", "/no/such/path", &[], "").await;
    assert!(seen.insert(unknown.request_id()));

    async fn sent(server: &Server, id: &str) -> HttpResponse {
        let headers = [("Authorization", ROOT), ("x-request-id", id)];
        server.request("POST", "/v2/vectordb/collections/list", &headers, "{}").await
    }
    assert_eq!(sent(&server, "client-trace.42_a").await.request_id(), "client-trace.42_a");
    let too_long = "x".repeat(MAX_CLIENT_ID_LEN + 1);
    for bad in [too_long.as_str(), "has space", "a/b", "x=\"y\""] {
        let id = sent(&server, bad).await.request_id();
        assert_ne!(id, bad);
        assert_eq!(id.len(), 16, "{bad}: {id}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_access_log_has_one_line_per_request_and_no_secret() {
    captured_logs();
    let server = Server::start(None).await;
    let wrong = "Wrong-secret-pw-5521";
    // A body with a secret in it: the request is refused (unknown field) and the secret
    // must not reach the logs either.
    let leaky = json!({"collectionName": "docs", "password": ROOT_PASSWORD});
    let cases = [
        (
            "access-ok-1",
            Some(ROOT.to_owned()),
            json!({"collectionName": "docs"}),
            "ok",
            Some("root"),
        ),
        ("access-body-1", Some(ROOT.to_owned()), leaky.clone(), "1801", Some("root")),
        ("access-denied-1", Some(bearer("root", wrong)), leaky.clone(), "UNAUTHENTICATED", None),
        ("access-anon-1", None, leaky, "UNAUTHENTICATED", None),
    ];
    for (id, auth, body, _, _) in &cases {
        let mut headers = vec![("x-request-id", *id)];
        if let Some(auth) = auth {
            headers.push(("Authorization", auth.as_str()));
        }
        server.request("POST", "/v2/vectordb/collections/has", &headers, &body.to_string()).await;
    }
    server.stop().await;
    let logs = captured_logs();
    for (id, _, _, status, user) in cases {
        let lines: Vec<&str> = logs
            .lines()
            .filter(|l| {
                l.contains(ACCESS_LOG_TARGET) && field(l, "request_id").as_deref() == Some(id)
            })
            .collect();
        assert_eq!(lines.len(), 1, "{id}: {lines:?}");
        let line = lines[0];
        assert!(line.contains(" INFO "), "{line}");
        assert_eq!(field(line, "protocol").as_deref(), Some("rest"), "{line}");
        assert_eq!(field(line, "method").as_deref(), Some("collections/has"), "{line}");
        assert_eq!(field(line, "status").as_deref(), Some(status), "{line}");
        assert_eq!(field(line, "user").as_deref(), user, "{line}");
        assert!(field(line, "peer").is_some_and(|p| p.starts_with("127.0.0.1:")), "{line}");
        let duration: f64 = field(line, "duration_ms").unwrap().parse().unwrap();
        assert!(duration >= 0.0);
    }
    assert!(!logs.contains(ROOT_PASSWORD), "a password reached the logs");
    assert!(!logs.contains(wrong), "a password reached the logs");
}

// -- gRPC through the server's layers and routes ------------------------------------------

type Stack = Observed<Authenticated<Routes>>;

/// The server's service stack (request layer, authentication, routes) without the network.
fn grpc_stack(api: &MilvusApi) -> Stack {
    let routes = crate::server::routes(api.clone());
    RequestLayer::new(api.metrics.clone()).layer(crate::server::auth_layer(api).layer(routes))
}

struct GrpcReply {
    headers: http::HeaderMap,
    message: Vec<u8>,
}

impl GrpcReply {
    fn grpc_status(&self) -> Option<&str> {
        self.headers.get("grpc-status").and_then(|v| v.to_str().ok())
    }

    fn decode<M: Message + Default>(&self) -> M {
        M::decode(&self.message[5..]).unwrap()
    }
}

async fn grpc(
    stack: &mut Stack,
    method: &str,
    auth: Option<&str>,
    message: &impl Message,
) -> GrpcReply {
    let body = message.encode_to_vec();
    let len = body.len() as u32;
    let mut frame = vec![0, (len >> 24) as u8, (len >> 16) as u8, (len >> 8) as u8, len as u8];
    frame.extend(body);
    let mut builder = http::Request::builder()
        .method("POST")
        .uri(format!("/milvus.proto.milvus.MilvusService/{method}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(auth) = auth {
        builder = builder.header("authorization", STANDARD.encode(auth));
    }
    let mut request = builder.body(AxumBody::from(frame)).unwrap();
    let peer = PeerInfo { addr: "127.0.0.1:40000".parse().unwrap(), client_certificate: false };
    request.extensions_mut().insert(peer);
    std::future::poll_fn(|cx| Service::<http::Request<AxumBody>>::poll_ready(stack, cx))
        .await
        .unwrap();
    let response = stack.call(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let message = axum::body::to_bytes(AxumBody::new(body), usize::MAX).await.unwrap().to_vec();
    GrpcReply { headers: parts.headers, message }
}

fn search_request(collection: &str) -> pb::SearchRequest {
    let vector: Vec<u8> = [0.5f32, 0.5].iter().flat_map(|x| x.to_le_bytes()).collect();
    let group = PlaceholderGroup {
        placeholders: vec![PlaceholderValue {
            tag: "$0".into(),
            r#type: PlaceholderType::FloatVector as i32,
            values: vec![vector],
            element_level: false,
        }],
    };
    pb::SearchRequest {
        collection_name: collection.into(),
        search_input: Some(pb::search_request::SearchInput::PlaceholderGroup(
            group.encode_to_vec(),
        )),
        nq: 1,
        search_params: testkit::kv(&[("topk", "2"), ("metric_type", "L2")]),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn grpc_requests_are_counted_with_milvus_codes_and_grpc_status() {
    let env = testkit::env();
    env.simple("docs", 2);
    env.insert_rows("docs", &[(1, vec![0.0, 1.0], "{}"), (2, vec![1.0, 0.0], "{}")]);
    let one_read = ClassLimits { per_user: Some(Rate::new(1, 1)), per_address: None };
    let limited_api =
        env.api.clone().with_rate_limits(RateLimits { read: one_read, ..RateLimits::unlimited() });
    env.api.security.create_user("alice", &Secret::new("Another-str0ng-pass".into())).unwrap();
    let mut stack = grpc_stack(&limited_api);
    let root = format!("root:{ROOT_PASSWORD}");

    let found = grpc(&mut stack, "Search", Some(&root), &search_request("docs")).await;
    let results: pb::SearchResults = found.decode();
    assert_eq!(results.status.unwrap().code, 0);
    assert_eq!(results.results.unwrap().topks, [2]);
    let ids: HashSet<String> = [found.headers["x-request-id"].to_str().unwrap().to_owned()].into();
    // Over the read limit: Milvus code 8 inside a successful RPC.
    let limited = grpc(&mut stack, "Search", Some(&root), &search_request("docs")).await;
    assert_eq!(limited.decode::<pb::SearchResults>().status.unwrap().code, 8);
    // Denied (alice holds nothing): a gRPC status.
    let denied =
        grpc(&mut stack, "Search", Some("alice:Another-str0ng-pass"), &search_request("docs"))
            .await;
    assert_eq!(denied.grpc_status(), Some("7"));
    let anonymous = grpc(&mut stack, "Search", None, &search_request("docs")).await;
    assert_eq!(anonymous.grpc_status(), Some("16"));
    let malformed = grpc(&mut stack, "Search", Some("no-colon"), &search_request("docs")).await;
    assert_eq!(malformed.grpc_status(), Some("16"));
    let unknown =
        grpc(&mut stack, "ListImportJobs", Some(&root), &pb::GetVersionRequest::default()).await;
    assert_eq!(unknown.grpc_status(), Some("12"));
    let mut all_ids = ids;
    for reply in [&limited, &denied, &anonymous, &malformed, &unknown] {
        let id = reply.headers["x-request-id"].to_str().unwrap().to_owned();
        assert!(all_ids.insert(id), "request ids repeat");
    }

    // The Milvus code of a missing collection (through a stack without the read limit; the
    // metrics are the service's, shared by both).
    let mut stack = grpc_stack(&env.api);
    let missing = grpc(&mut stack, "Search", Some(&root), &search_request("missing")).await;
    assert_eq!(missing.decode::<pb::SearchResults>().status.unwrap().code, 100);

    let samples = scrape(&limited_api);
    assert_eq!(requests(&samples, "grpc", "Search", "ok"), 1.0);
    assert_eq!(requests(&samples, "grpc", "Search", "8"), 1.0);
    assert_eq!(requests(&samples, "grpc", "Search", "100"), 1.0);
    assert_eq!(requests(&samples, "grpc", "Search", "PERMISSION_DENIED"), 1.0);
    assert_eq!(requests(&samples, "grpc", "Search", "UNAUTHENTICATED"), 2.0);
    assert_eq!(requests(&samples, "grpc", "unknown", "UNIMPLEMENTED"), 1.0);
    assert_eq!(value(&samples, "quiver_rate_limited_total", &[("class", "read")]), Some(1.0));
    let reason = |r: &str| value(&samples, "quiver_auth_failures_total", &[("reason", r)]).unwrap();
    assert_eq!((reason("missing"), reason("malformed")), (1.0, 1.0));
    let count = value(
        &samples,
        "quiver_request_duration_seconds_count",
        &[("protocol", "grpc"), ("method", "Search")],
    );
    assert_eq!(count, Some(6.0));
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_logins_are_counted_by_reason_until_throttled() {
    let env = testkit::env();
    let mut stack = grpc_stack(&env.api);
    let started = Instant::now();
    for _ in 0..8 {
        let reply = grpc(
            &mut stack,
            "GetVersion",
            Some("ghost:Wrong-password-771"),
            &pb::GetVersionRequest::default(),
        )
        .await;
        assert_eq!(reply.grpc_status(), Some("16"));
    }
    assert!(started.elapsed() < Duration::from_secs(60), "the throttle window is a minute");
    let samples = scrape(&env.api);
    let reason = |r: &str| value(&samples, "quiver_auth_failures_total", &[("reason", r)]).unwrap();
    assert_eq!(reason("bad_password") + reason("throttled"), 8.0);
    assert!(reason("bad_password") >= 1.0 && reason("throttled") >= 1.0, "{samples:?}");
    assert_eq!(requests(&samples, "grpc", "GetVersion", "UNAUTHENTICATED"), 8.0);
}
