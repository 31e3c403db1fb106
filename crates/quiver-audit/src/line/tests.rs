use crate::error::ProblemKind;
use crate::event::{Event, Outcome, ReadAction};
use crate::line::{MAC_SUFFIX_LEN, MAX_LINE_LEN, check_record, encode_record};
use crate::test_support::{key, other_key, write_event};
use crate::text::{FilterText, MAX_FILTER_LEN, MAX_TEXT_LEN, Text, UserName};

fn encoded(event: &Event) -> Vec<u8> {
    let mut out = Vec::new();
    encode_record(&key(), 3, 1_700_000_000_123, &[9; 32], event, &mut out).unwrap();
    out
}

#[test]
fn line_is_the_signed_prefix_then_the_mac_field() {
    let line = encoded(&write_event(1));
    let text = std::str::from_utf8(&line).unwrap();
    assert!(
        text.starts_with("{\"seq\":3,\"ts\":\"2023-11-14T22:13:20.123Z\",\"prev\":\"0909"),
        "{text}"
    );
    assert!(text.ends_with("\"}\n"));
    let body = &line[..line.len() - 1];
    let (prefix, suffix) = body.split_at(body.len() - MAC_SUFFIX_LEN);
    assert!(suffix.starts_with(b",\"mac\":\""));
    let mac = crate::hex::encode(&key().sign_record(prefix));
    assert_eq!(&suffix[8..72], mac.as_bytes(), "the MAC covers exactly the bytes before it");
}

#[test]
fn check_needs_the_key_and_the_exact_suffix() {
    let line = encoded(&write_event(1));
    let body = &line[..line.len() - 1];
    assert_eq!(check_record(&key(), body).unwrap().seq, 3);
    assert_eq!(check_record(&other_key(), body).unwrap_err(), ProblemKind::MacMismatch);
    let upper = String::from_utf8(body.to_vec()).unwrap();
    let (head, mac) = upper.split_at(upper.len() - 66);
    let upper = format!("{head}{}", mac.to_uppercase());
    assert!(matches!(check_record(&key(), upper.as_bytes()), Err(ProblemKind::Unparsable { .. })));
    assert!(matches!(check_record(&key(), b""), Err(ProblemKind::Unparsable { .. })));
}

#[test]
fn longest_possible_record_fits_the_line_limit() {
    // Every character a control character (six bytes escaped), every text at its limit.
    let control = "\u{1}";
    let long_text = control.repeat(MAX_TEXT_LEN);
    let event = Event::Read {
        user: UserName::new(&long_text),
        peer: "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535".parse().ok(),
        action: ReadAction::HybridSearch,
        db: Text::new(&long_text),
        collection: Text::new(&long_text),
        nq: u64::MAX,
        limit: u64::MAX,
        filter: Some(FilterText::new(&control.repeat(MAX_FILTER_LEN * 2))),
        outcome: Outcome::RateLimited,
    };
    let line = encoded(&event);
    assert!(line.len() > 6 * MAX_FILTER_LEN, "the case is the worst one");
    assert!(line.len() <= MAX_LINE_LEN / 2, "{} bytes", line.len());
}
