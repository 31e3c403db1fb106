use proptest::prelude::*;

use super::{MAX_UNIX_MS, TIMESTAMP_LEN, format_timestamp, parse_timestamp};

#[test]
fn known_instants_format_as_rfc3339_utc_with_milliseconds() {
    assert_eq!(format_timestamp(0), "1970-01-01T00:00:00.000Z");
    assert_eq!(format_timestamp(951_782_400_000), "2000-02-29T00:00:00.000Z");
    assert_eq!(format_timestamp(1_735_689_599_999), "2024-12-31T23:59:59.999Z");
    assert_eq!(format_timestamp(4_107_542_400_123), "2100-03-01T00:00:00.123Z");
    assert_eq!(format_timestamp(u64::MAX), "9999-12-31T23:59:59.999Z", "clamped");
}

#[test]
fn parse_refuses_every_other_form() {
    for text in [
        "2024-12-31T23:59:59Z",
        "2024-12-31T23:59:59.999+00:00",
        "2024-12-31 23:59:59.999Z",
        "2023-02-29T00:00:00.000Z",
        "2100-02-29T00:00:00.000Z",
        "2024-13-01T00:00:00.000Z",
        "2024-12-31T24:00:00.000Z",
        "2024-12-31T23:59:60.000Z",
        "1969-12-31T23:59:59.999Z",
        "2024-12-3lT23:59:59.999Z",
        "",
    ] {
        assert_eq!(parse_timestamp(text), None, "{text}");
    }
    assert_eq!(parse_timestamp("2000-02-29T00:00:00.000Z"), Some(951_782_400_000));
}

proptest! {
    #[test]
    fn parse_inverts_format(unix_ms in 0..=MAX_UNIX_MS) {
        let text = format_timestamp(unix_ms);
        prop_assert_eq!(text.len(), TIMESTAMP_LEN);
        prop_assert_eq!(parse_timestamp(&text), Some(unix_ms));
    }
}
