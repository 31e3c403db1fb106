use super::*;

fn secret(s: &str) -> Secret {
    Secret::new(s.to_owned())
}

#[test]
fn hash_then_verify_round_trips_and_refuses_a_wrong_password() {
    let hash = hash_password(&secret("a long enough passphrase")).unwrap();
    assert!(verify_password(&secret("a long enough passphrase"), &hash));
    assert!(!verify_password(&secret("a long enough passphrasf"), &hash));
    assert!(!verify_password(&secret(""), &hash));
}

#[test]
fn new_hashes_are_argon2id_with_the_explicit_parameters_and_fresh_salts() {
    let first = hash_password(&secret("same password here")).unwrap();
    let second = hash_password(&secret("same password here")).unwrap();
    assert!(first.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{}", first.as_str());
    assert_ne!(first, second, "two hashes of one password must differ by their salt");
    assert_eq!(HashedPassword::parse(first.as_str()).unwrap(), first);
    let parsed = PasswordHash::new(first.as_str()).unwrap();
    let mut salt = [0u8; 64];
    assert_eq!(parsed.salt.unwrap().decode_b64(&mut salt).unwrap().len(), SALT_LEN);
    assert_eq!(parsed.hash.unwrap().len(), OUTPUT_LEN);
}

#[test]
fn dummy_hash_is_valid_with_our_parameters_and_matches_nothing_tried() {
    let dummy = HashedPassword::parse(DUMMY_HASH).unwrap();
    assert!(DUMMY_HASH.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
    for guess in ["", "password1234", "quiver-dummy-sal", "quiver dummy output: no match!!!"] {
        assert!(!verify_password(&secret(guess), &dummy));
    }
    dummy_verify(&secret("anything at all"));
}

#[test]
fn malformed_or_hostile_stored_hashes_are_refused_not_panics() {
    let good = hash_password(&secret("a long enough passphrase")).unwrap();
    let good = good.as_str();
    let cases = [
        String::new(),
        "not a hash".to_owned(),
        "$argon2id$".to_owned(),
        good.replace("argon2id", "argon2i"),
        good.replace("v=19", "v=16"),
        good.replace("m=19456", "m=4294967295"),
        good.replace("t=2", "t=100000"),
        good.replace("p=1", "p=255"),
        good.rsplit_once('$').unwrap().0.to_owned(),
        format!("{good}{}", "A".repeat(300)),
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$cXVpdmVyIGR1bW15IG91dHB1dDogbm8gbWF0Y2ghISE"
            .to_owned(),
        "$argon2id$v=19$m=19456,t=2,p=1$cXVpdmVyLWR1bW15LXNhbA$c2hvcnQ".to_owned(),
    ];
    for case in &cases {
        assert!(HashedPassword::parse(case).is_err(), "{case:?} was accepted");
    }
    for len in 0..good.len() {
        if let Some(prefix) = good.get(..len) {
            let _ = HashedPassword::parse(prefix);
        }
    }
}

#[test]
fn hash_debug_is_redacted() {
    let hash = hash_password(&secret("a long enough passphrase")).unwrap();
    let shown = format!("{hash:?}");
    assert!(!shown.contains("argon2"), "{shown}");
    assert!(!shown.contains(hash.as_str()), "{shown}");
}
