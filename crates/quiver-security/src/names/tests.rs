use super::*;

#[test]
fn user_names_follow_milvus() {
    for ok in ["root", "alice", "a1_b2", &"a".repeat(32)] {
        assert_eq!(user_name_rule(ok), None, "{ok}");
    }
    for (bad, reason) in [
        ("", "must not be empty"),
        ("_alice", "must start with a letter"),
        ("1alice", "must start with a letter"),
        ("al ice", "may contain only letters, digits and underscores"),
        ("al\0ice", "may contain only letters, digits and underscores"),
    ] {
        assert_eq!(user_name_rule(bad), Some(reason), "{bad:?}");
        assert!(validate_user_name(bad).is_err(), "{bad:?}");
    }
    assert_eq!(user_name_rule(&"a".repeat(33)), Some("must be at most 32 characters"));
}

#[test]
fn role_names_allow_leading_underscore_and_255_chars() {
    assert_eq!(role_name_rule("_readers"), None);
    assert_eq!(role_name_rule(&"r".repeat(255)), None);
    assert_eq!(role_name_rule(&"r".repeat(256)), Some("must be at most 255 characters"));
    assert_eq!(role_name_rule(""), Some("must not be empty"));
    assert_eq!(role_name_rule("9lives"), Some("must start with a letter or an underscore"));
}

#[test]
fn grant_targets_accept_wildcards_and_refuse_named_global_objects() {
    assert!(validate_object_name(ObjectType::Global, ANY).is_ok());
    assert!(matches!(
        validate_object_name(ObjectType::Global, "books"),
        Err(SecurityError::InvalidGrant { .. })
    ));
    assert!(validate_object_name(ObjectType::Collection, "books").is_ok());
    assert!(validate_object_name(ObjectType::Collection, "../books").is_err());
    assert!(validate_object_name(ObjectType::User, "alice").is_ok());
    assert!(validate_db_name(ANY).is_ok());
    assert!(validate_db_name("default").is_ok());
    assert!(validate_db_name("de fault").is_err());
}

#[test]
fn error_echo_is_bounded() {
    let err = validate_user_name(&"x-".repeat(10_000)).unwrap_err();
    assert!(err.to_string().len() < 200, "{err}");
}
