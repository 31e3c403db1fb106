use std::collections::BTreeSet;

use crate::event::{Event, EventKind};
use crate::line::{GENESIS, check_record, encode_record};
use crate::test_support::{every_kind, key};
use crate::text::{FilterText, Text, UserName};

/// The field names of every event kind. A new field must be added here, after checking that
/// it cannot carry a credential.
const FIELDS: &[(&str, &[&str])] = &[
    ("auth", &["kind", "user", "key_id", "peer", "method", "outcome"]),
    ("ddl", &["kind", "user", "peer", "action", "db", "collection", "object", "outcome"]),
    ("dcl", &["kind", "user", "peer", "action", "target", "detail", "outcome"]),
    (
        "write",
        &[
            "kind",
            "user",
            "peer",
            "action",
            "db",
            "collection",
            "partition",
            "rows",
            "filter",
            "outcome",
        ],
    ),
    (
        "read",
        &["kind", "user", "peer", "action", "db", "collection", "nq", "limit", "filter", "outcome"],
    ),
    ("admin", &["kind", "user", "peer", "action", "detail", "outcome"]),
    ("lifecycle", &["kind", "action", "detail"]),
];

const SECRET_WORDS: &[&str] =
    &["pass", "pwd", "secret", "token", "credential", "hash", "salt", "private"];

#[test]
fn no_secret_fields() {
    let events = every_kind();
    assert_eq!(events.len(), FIELDS.len(), "every kind is covered");
    for event in &events {
        let json = serde_json::to_value(event).unwrap();
        let object = json.as_object().unwrap();
        let kind = object["kind"].as_str().unwrap();
        let names: BTreeSet<&str> = object.keys().map(String::as_str).collect();
        let expected = FIELDS.iter().find(|(name, _)| *name == kind).unwrap().1;
        assert_eq!(names, expected.iter().copied().collect(), "fields of {kind}");
        for name in &names {
            for word in SECRET_WORDS {
                assert!(!name.contains(word), "{kind}.{name} looks like it holds a secret");
            }
        }
        // The filter is the only nested object; its fields are fixed too.
        if let Some(filter) = object.get("filter").and_then(|filter| filter.as_object()) {
            let names: BTreeSet<&str> = filter.keys().map(String::as_str).collect();
            assert_eq!(names, BTreeSet::from(["text", "bytes", "truncated"]));
        }
    }
}

#[test]
fn every_event_kind_round_trips_through_a_signed_line() {
    for event in every_kind() {
        let mut line = Vec::new();
        encode_record(&key(), 0, 1_700_000_000_000, &GENESIS, &event, &mut line).unwrap();
        let checked = check_record(&key(), line.strip_suffix(b"\n").unwrap()).unwrap();
        assert_eq!(checked.event, event);
        assert_eq!(checked.event.kind(), event.kind());
    }
}

#[test]
fn accessors_name_user_db_and_collection() {
    let events = every_kind();
    let users: Vec<Option<&str>> = events.iter().map(Event::user).collect();
    assert_eq!(
        users,
        [
            Some("alice"),
            Some("alice"),
            Some("root"),
            Some("bob"),
            Some("carol"),
            Some("root"),
            None
        ]
    );
    let collections: Vec<Option<&str>> = events.iter().map(Event::collection).collect();
    assert_eq!(collections, [None, Some("books"), None, Some("books"), Some("books"), None, None]);
    assert_eq!(events[3].db(), Some("default"));
    assert_eq!(events[6].kind(), EventKind::Lifecycle);
}

#[test]
fn text_with_newlines_and_quotes_stays_on_one_line() {
    let injected = "x\"}\n{\"seq\":1,\"ts\":\"2025-01-01T00:00:00.000Z\"";
    let event = Event::Write {
        user: UserName::new(injected),
        peer: None,
        action: crate::event::WriteAction::Delete,
        db: Text::new(injected),
        collection: Text::new(injected),
        partition: None,
        rows: 1,
        filter: Some(FilterText::new(injected)),
        outcome: crate::event::Outcome::Ok,
    };
    let mut line = Vec::new();
    encode_record(&key(), 0, 0, &GENESIS, &event, &mut line).unwrap();
    assert_eq!(line.iter().filter(|&&byte| byte == b'\n').count(), 1);
    let checked = check_record(&key(), line.strip_suffix(b"\n").unwrap()).unwrap();
    assert_eq!(checked.event, event);
}

#[test]
fn unknown_fields_and_kinds_are_refused() {
    let unknown_field = r#"{"kind":"lifecycle","action":"opened","detail":"x","extra":1}"#;
    assert!(serde_json::from_str::<Event>(unknown_field).is_err());
    let unknown_kind = r#"{"kind":"shell","action":"opened","detail":"x"}"#;
    assert!(serde_json::from_str::<Event>(unknown_kind).is_err());
}
