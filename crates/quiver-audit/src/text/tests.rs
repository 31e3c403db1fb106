use crate::text::{FilterText, MAX_FILTER_LEN, MAX_TEXT_LEN, Text, UserName};

const TOKEN: &str =
    "qvk_0123456789abcdef_8f3a0c5e7b9d1f2a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c";

#[test]
fn api_key_secrets_are_redacted_in_every_text() {
    let redacted = "qvk_0123456789abcdef_<redacted>";
    assert_eq!(Text::new(TOKEN).as_str(), redacted);
    assert_eq!(Text::new(&format!("key {TOKEN} used")).as_str(), format!("key {redacted} used"));
    assert_eq!(UserName::new(TOKEN).as_str(), redacted);
    let filter = FilterText::new(&format!("tag == \"{TOKEN}\" or tag == \"{TOKEN}\""));
    assert_eq!(filter.text(), format!("tag == \"{redacted}\" or tag == \"{redacted}\""));
    // A cut-off secret is still a secret.
    assert_eq!(Text::new(&TOKEN[..30]).as_str(), "qvk_0123456789abcdef_<redacted>");
    // Not a token: left alone.
    assert_eq!(Text::new("qvk_notatoken").as_str(), "qvk_notatoken");
    assert_eq!(Text::new("qvk_0123456789abcdef_").as_str(), "qvk_0123456789abcdef_");
}

#[test]
fn user_name_drops_the_password_of_a_milvus_token() {
    assert_eq!(UserName::new("alice:Tr0ub4dor&3-horse").as_str(), "alice");
    assert_eq!(UserName::new("alice").as_str(), "alice");
    assert_eq!(UserName::new(":only-a-password").as_str(), "");
}

#[test]
fn long_text_is_cut_on_a_character_boundary_with_a_marker() {
    let long = "é".repeat(MAX_TEXT_LEN);
    let text = Text::new(&long);
    assert!(text.as_str().len() <= MAX_TEXT_LEN);
    assert!(text.as_str().ends_with('…'));
    assert!(text.as_str().trim_end_matches('…').chars().all(|c| c == 'é'));
    let exact = "a".repeat(MAX_TEXT_LEN);
    assert_eq!(Text::new(&exact).as_str(), exact, "at the limit nothing is cut");
}

#[test]
fn long_filter_is_cut_and_marked() {
    let long = format!("{} and x > 1", "a".repeat(MAX_FILTER_LEN));
    let filter = FilterText::new(&long);
    assert!(filter.is_truncated());
    assert_eq!(filter.text().len(), MAX_FILTER_LEN);
    let json = serde_json::to_value(&filter).unwrap();
    assert_eq!(json["bytes"], long.len());
    assert_eq!(json["truncated"], true);
    let short = FilterText::new("x > 1");
    assert!(!short.is_truncated());
    assert_eq!(short.text(), "x > 1");
}
