use super::*;

#[track_caller]
fn check(user: &str, password: &str, expect: Option<&str>) {
    let res = check_password_policy(user, &Secret::new(password.to_owned()));
    match (res, expect) {
        (Ok(()), None) => {}
        (Err(SecurityError::WeakPassword { reason }), Some(expected)) => {
            assert_eq!(reason, expected, "{password:?}");
        }
        (other, _) => panic!("{password:?}: expected {expect:?}, got {other:?}"),
    }
}

#[test]
fn policy_accepts_long_unusual_passwords() {
    check("alice", "correct-horse-staple-9", None);
    check("alice", "Tr0ub4dor&3xyz", None);
    check("alice", &("ab1".repeat(2) + "zzzzzzz"), None);
    check("root", "día-de-lluvia-42", None);
    check("al", "al-is-short-so-allowed", None);
    check("alice", &("x".repeat(255) + "y"), None);
}

#[test]
fn policy_refuses_with_the_rule_broken() {
    check("alice", "short-pw-11", Some("must be at least 12 bytes long"));
    check("alice", "", Some("must be at least 12 bytes long"));
    check("alice", &("xy".repeat(128) + "z"), Some("must be at most 256 bytes long"));
    check("alice", "aaaaaaaaaaaaaaaa", Some("must not be one character repeated"));
    check("alice", "éééééééééééé", Some("must not be one character repeated"));
    check("alice", "abababababab", Some("must not be a short pattern repeated"));
    check("alice", "abcdabcdabcdab", Some("must not be a short pattern repeated"));
    check("alice", "password1234", Some("is a commonly used password"));
    check("alice", "PassWord1234", Some("is a commonly used password"));
    check("alice", "123456789012", Some("is a commonly used password"));
    check("alice", "qwertyuiopasdf", Some("is a commonly used password"));
    check("alice", "iloveyou1234", Some("is a commonly used password"));
    check("alice", "milvusmilvus", Some("is a commonly used password"));
    check("alice", "RootPassword", Some("is a commonly used password"));
    check("alice", "Administrator", Some("is a commonly used password"));
    check("alice", "my-Alice-is-great", Some("must not contain the user name"));
    check("Bob", "xxBOBxx-long-one", Some("must not contain the user name"));
}

#[test]
fn common_list_has_several_hundred_entries_all_at_least_twelve_bytes() {
    let entries: Vec<&str> =
        COMMON_PASSWORDS.lines().filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
    assert!(entries.len() >= 300, "{}", entries.len());
    for entry in entries {
        assert!(entry.len() >= MIN_PASSWORD_LEN && entry.is_ascii(), "{entry:?}");
        assert_eq!(entry, entry.trim(), "{entry:?}");
    }
}

#[test]
fn generated_passwords_pass_the_policy_and_differ() {
    let first = generate_password("root").unwrap();
    let second = generate_password("root").unwrap();
    for password in [&first, &second] {
        assert_eq!(password.len(), GENERATED_PASSWORD_LEN);
        assert!(password.expose().bytes().all(|b| UNAMBIGUOUS_ALPHABET.contains(&b)));
        check_password_policy("root", password).unwrap();
    }
    assert_ne!(first.expose(), second.expose());
}

#[test]
fn generated_symbols_are_roughly_uniform() {
    // 56 symbols; 24 * 200 = 4800 draws, about 86 per symbol. A modulo bias towards the
    // first symbols or a missing symbol would show; the bounds are loose enough never to flake.
    let rng = SystemRandom::new();
    let mut counts = [0u32; 256];
    for _ in 0..200 {
        let s = random_string(&rng, GENERATED_PASSWORD_LEN).unwrap();
        for b in s.expose().bytes() {
            counts[usize::from(b)] += 1;
        }
    }
    for &symbol in UNAMBIGUOUS_ALPHABET {
        let n = counts[usize::from(symbol)];
        assert!((30..=170).contains(&n), "{} drawn {n} times", char::from(symbol));
    }
    assert_eq!(counts.iter().sum::<u32>(), 4800);
}

#[test]
fn secret_debug_never_shows_the_password() {
    let secret = Secret::new("hunter2-but-longer".to_owned());
    let shown = format!("{secret:?} {:?}", Some(secret.clone()));
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("redacted"), "{shown}");
}

#[test]
fn invalid_utf8_is_refused() {
    assert!(Secret::from_utf8(vec![0xff, 0xfe, b'a']).is_none());
    assert_eq!(Secret::from_utf8(b"fine".to_vec()).unwrap().expose(), "fine");
}
