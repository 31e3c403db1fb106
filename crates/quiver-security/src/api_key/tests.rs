use super::{
    API_KEY_ID_LEN, API_KEY_PREFIX, API_KEY_TOKEN_LEN, KeyDigest, SecretBytes, api_key_name_rule,
    digest, generate, is_api_key_token, parse_token, verify,
};

#[test]
fn generated_tokens_have_the_documented_form_and_parse_back() {
    let key = generate().unwrap();
    let token = key.token.expose();
    assert_eq!(token.len(), API_KEY_TOKEN_LEN);
    assert_eq!(API_KEY_TOKEN_LEN, 85);
    assert!(token.starts_with(API_KEY_PREFIX));
    assert!(is_api_key_token(token));
    assert_eq!(&token[4..4 + API_KEY_ID_LEN], key.id);
    assert_eq!(&token[4 + API_KEY_ID_LEN..5 + API_KEY_ID_LEN], "_");
    assert!(token[5 + API_KEY_ID_LEN..].bytes().all(|b| b.is_ascii_hexdigit()));
    let parsed = parse_token(token).unwrap();
    assert_eq!(parsed.id, key.id);
    assert!(verify(parsed.id, parsed.secret.as_bytes(), &key.digest));
    assert_eq!(digest(parsed.id, parsed.secret.as_bytes()), key.digest);
}

#[test]
fn two_keys_never_share_an_id_or_secret() {
    let a = generate().unwrap();
    let b = generate().unwrap();
    assert_ne!(a.id, b.id);
    assert_ne!(a.token.expose(), b.token.expose());
    assert_ne!(a.digest, b.digest);
}

#[test]
fn a_wrong_secret_or_another_keys_id_does_not_verify() {
    let key = generate().unwrap();
    let parsed = parse_token(key.token.expose()).unwrap();
    let mut other = parsed.secret.as_bytes().to_vec();
    other[31] ^= 1;
    assert!(!verify(parsed.id, &other, &key.digest));
    // The digest binds the id: the same secret under another id does not verify.
    assert!(!verify("ffffffffffffffff", parsed.secret.as_bytes(), &key.digest));
    // Wrong lengths never verify (and never panic).
    assert!(!verify(parsed.id, &other[..31], &key.digest));
    assert!(!verify("abc", parsed.secret.as_bytes(), &key.digest));
}

#[test]
fn malformed_tokens_do_not_parse() {
    let key = generate().unwrap();
    let good = key.token.expose().to_owned();
    let upper = good.to_uppercase().replacen("QVK_", "qvk_", 1);
    let cases = [
        String::new(),
        "qvk_".to_owned(),
        good[..good.len() - 1].to_owned(),
        format!("{good}0"),
        good.replacen("qvk_", "qvx_", 1),
        upper,
        format!("{}-{}", &good[..20], &good[21..]),
        format!("{}g{}", &good[..30], &good[31..]),
        format!("{}g{}", &good[..10], &good[11..]),
        // Same length, non-ASCII: must not panic on a char boundary.
        format!("qvk_é{}", &good[6..]),
    ];
    for case in &cases {
        assert!(parse_token(case).is_none(), "{case:?}");
    }
    assert!(parse_token(&good).is_some());
}

#[test]
fn nothing_secret_shows_in_debug_output() {
    let key = generate().unwrap();
    let parsed = parse_token(key.token.expose()).unwrap();
    let secret_hex = &key.token.expose()[5 + API_KEY_ID_LEN..];
    for debug in [
        format!("{:?}", key.token),
        format!("{:?}", key.digest),
        format!("{parsed:?}"),
        format!("{:?}", SecretBytes([7; 32])),
    ] {
        assert!(!debug.contains(secret_hex), "{debug}");
        assert!(debug.contains("redacted"), "{debug}");
    }
    assert_eq!(format!("{:?}", KeyDigest([1; 32])), "KeyDigest(<redacted>)");
}

#[test]
fn key_names_follow_the_milvus_rule() {
    for ok in ["ci", "_bot", "Nightly_Export_2", &"k".repeat(64)] {
        assert_eq!(api_key_name_rule(ok), None, "{ok}");
    }
    for bad in ["", "1st", "with-dash", "with space", "é", &"k".repeat(65)] {
        assert!(api_key_name_rule(bad).is_some(), "{bad}");
    }
}
