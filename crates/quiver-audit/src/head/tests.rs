use crate::error::AuditError;
use crate::head::{Head, HeadFile, HeadRef, decode_head, encode_head};
use crate::test_support::{key, other_key};

#[test]
fn head_ref_text_round_trips() {
    let head = HeadRef { seq: 42, hash: [0xab; 32] };
    let text = head.to_string();
    assert_eq!(text, format!("42:{}", "ab".repeat(32)));
    assert_eq!(HeadRef::parse(&text).unwrap(), head);
    for bad in ["42", "x:ab", &format!("-1:{}", "ab".repeat(32)), &format!("1:{}", "AB".repeat(32))]
    {
        assert!(matches!(HeadRef::parse(bad), Err(AuditError::InvalidHeadRef { .. })), "{bad}");
    }
}

#[test]
fn head_needs_the_key_and_tells_a_wrong_key() {
    let head = Head { records: 9, last: [3; 32] };
    let bytes = encode_head(&key(), &head).unwrap();
    assert_eq!(decode_head(&key(), &bytes), HeadFile::Valid(head));
    assert_eq!(decode_head(&other_key(), &bytes), HeadFile::WrongKey);
    let edited = String::from_utf8(bytes).unwrap().replace("\"records\":9", "\"records\":8");
    assert!(matches!(decode_head(&key(), edited.as_bytes()), HeadFile::Invalid { .. }));
}
