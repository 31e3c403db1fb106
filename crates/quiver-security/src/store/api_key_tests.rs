//! API keys through the store: creation rules, authentication, revocation, expiry, the role
//! restriction at every decision, throttling, persistence and secrecy.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quiver_storage::{Backend, LocalBackend};

use super::{ApiKeyRef, Principal, SecurityStore};
use crate::api_key::{
    API_KEY_ID_LEN, ApiKeyInfo, ApiKeyRecord, KeyDigest, MAX_API_KEYS, MAX_API_KEYS_PER_USER,
};
use crate::hash::test_hash;
use crate::password::Secret;
use crate::privilege::Privilege;
use crate::rbac::Object;
use crate::state::SecurityState;
use crate::store_codec::SECURITY_FILE;
use crate::{SecurityError, ThrottleConfig};

const ROOT_PW: &str = "first-start superuser secret";
const NOW: u64 = 1_700_000_000;

fn secret(s: &str) -> Secret {
    Secret::new(s.to_owned())
}

fn peer(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(198, 51, 100, last))
}

fn backend(dir: &Path) -> Arc<dyn Backend> {
    Arc::new(LocalBackend::new(dir.to_path_buf()).unwrap())
}

fn reopen(dir: &Path) -> SecurityStore {
    SecurityStore::open(backend(dir)).unwrap().expect("initialized")
}

fn roles(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| (*s).to_owned()).collect()
}

/// root (admin); alice holds `readers` (Search on default.books, anything on default.ledger
/// none) and `writers` (Insert on default.books, Query on default.ledger, DatabaseReadOnly in
/// `finance`); bob holds nothing.
fn fixture(dir: &Path) -> SecurityStore {
    let store = SecurityStore::initialize(backend(dir), &secret(ROOT_PW)).unwrap();
    store.create_user("alice", &secret("a long enough passphrase")).unwrap();
    store.create_user("bob", &secret("another long passphrase")).unwrap();
    for role in ["readers", "writers"] {
        store.create_role(role).unwrap();
        store.add_user_to_role("alice", role).unwrap();
    }
    store.grant_v2("readers", "Search", "default", "books", "root").unwrap();
    store.grant_v2("writers", "Insert", "default", "books", "root").unwrap();
    store.grant_v2("writers", "Query", "default", "ledger", "root").unwrap();
    store.grant_v2("writers", "DatabaseReadOnly", "finance", "*", "root").unwrap();
    store
}

fn create(
    store: &SecurityStore,
    user: &str,
    name: &str,
    key_roles: &[&str],
) -> (ApiKeyInfo, Secret) {
    store.create_api_key(user, name, &roles(key_roles), None, NOW).unwrap()
}

fn key_auth(store: &SecurityStore, token: &str, now: Instant) -> Result<Principal, SecurityError> {
    store.authenticate_key(&secret(token), peer(1), now, NOW)
}

fn allowed(store: &SecurityStore, p: &Principal, privilege: Privilege, collection: &str) -> bool {
    store.check_principal(p, privilege, &Object::Collection(collection), "default").is_ok()
}

/// The token with one hex digit of its secret changed.
fn with_wrong_secret(token: &str) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let last = bytes.len() - 1;
    bytes[last] = if bytes[last] == b'0' { b'1' } else { b'0' };
    String::from_utf8(bytes).unwrap()
}

#[test]
fn a_key_authenticates_until_it_is_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    let t0 = Instant::now();
    let (info, token) = create(&store, "alice", "ci", &["readers"]);
    assert_eq!(
        (info.user.as_str(), info.name.as_str(), info.roles.as_slice()),
        ("alice", "ci", ["readers".to_owned()].as_slice())
    );
    assert_eq!((info.created_unix_secs, info.expires_unix_secs), (NOW, None));
    assert_eq!(info.id.len(), API_KEY_ID_LEN);
    assert!(token.expose().starts_with(&format!("qvk_{}_", info.id)));

    let principal = key_auth(&store, token.expose(), t0).unwrap();
    assert_eq!(
        principal,
        Principal {
            user: "alice".to_owned(),
            roles: Some(roles(&["readers"])),
            api_key: Some(ApiKeyRef { id: info.id.clone(), name: "ci".to_owned() }),
        }
    );
    assert!(principal.is_api_key());
    assert!(allowed(&store, &principal, Privilege::Search, "books"));
    assert_eq!(store.list_api_keys(Some("alice")), [info]);

    store.revoke_api_key("alice", "ci").unwrap();
    assert!(matches!(key_auth(&store, token.expose(), t0), Err(SecurityError::Unauthenticated)));
    assert!(store.list_api_keys(None).is_empty());
    assert!(matches!(
        store.revoke_api_key("alice", "ci"),
        Err(SecurityError::ApiKeyNotFound { .. })
    ));
    assert!(matches!(
        store.revoke_api_key("nobody", "ci"),
        Err(SecurityError::UserNotFound { .. })
    ));
}

#[test]
fn an_expired_key_fails_like_a_wrong_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    let t0 = Instant::now();
    let (info, token) = store
        .create_api_key("alice", "nightly", &roles(&["readers"]), Some(NOW + 100), NOW)
        .unwrap();
    assert_eq!(info.expires_unix_secs, Some(NOW + 100));
    let at = |unix| store.authenticate_key(&token, peer(2), t0, unix);
    assert!(at(NOW + 99).is_ok());
    let expired = at(NOW + 100).unwrap_err();
    let wrong = key_auth(&store, &with_wrong_secret(token.expose()), t0).unwrap_err();
    assert!(matches!(expired, SecurityError::Unauthenticated));
    assert_eq!(expired.to_string(), wrong.to_string());

    for expiry in [NOW, NOW - 1, 0] {
        let res = store.create_api_key("alice", "past", &[], Some(expiry), NOW);
        assert!(matches!(res, Err(SecurityError::InvalidApiKey { .. })), "{expiry}: {res:?}");
    }
}

#[test]
fn key_roles_must_be_held_by_the_user_at_creation() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    let file = dir.path().join(SECURITY_FILE);
    let bytes = std::fs::read(&file).unwrap();
    let refuse = |user: &str, key_roles: &[&str]| {
        store.create_api_key(user, "k", &roles(key_roles), None, NOW).unwrap_err()
    };
    assert!(matches!(refuse("alice", &["admin"]), SecurityError::ApiKeyRoleNotHeld { .. }));
    assert!(matches!(
        refuse("bob", &["readers"]),
        SecurityError::ApiKeyRoleNotHeld { ref role, .. } if role == "readers"
    ));
    assert!(matches!(refuse("alice", &["readers", "nope"]), SecurityError::RoleNotFound { .. }));
    assert!(matches!(refuse("nobody", &[]), SecurityError::UserNotFound { .. }));
    assert!(matches!(refuse("alice", &["Bad Name"]), SecurityError::RoleNotFound { .. }));
    assert_eq!(std::fs::read(&file).unwrap(), bytes, "refused creations write nothing");

    // `public` is implicit; duplicates collapse.
    let (info, _) = create(&store, "bob", "only_public", &["public"]);
    assert!(info.roles.is_empty());
    let (info, _) = create(&store, "alice", "dup", &["writers", "readers", "writers"]);
    assert_eq!(info.roles, ["readers", "writers"]);
}

#[test]
fn a_key_restricted_to_one_role_is_denied_what_the_user_holds_through_another() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    let t0 = Instant::now();
    let (_, reader) = create(&store, "alice", "reader", &["readers"]);
    let (_, public_only) = create(&store, "alice", "nothing", &[]);
    let reader = key_auth(&store, reader.expose(), t0).unwrap();
    let public_only = key_auth(&store, public_only.expose(), t0).unwrap();
    let password = Principal::unrestricted("alice");

    // The user may insert (through `writers`); the key restricted to `readers` may not.
    assert!(
        store.check("alice", Privilege::Insert, &Object::Collection("books"), "default").is_ok()
    );
    assert!(allowed(&store, &password, Privilege::Insert, "books"));
    let denied =
        store.check_principal(&reader, Privilege::Insert, &Object::Collection("books"), "default");
    assert!(
        matches!(denied, Err(SecurityError::PermissionDenied { ref user, .. }) if user == "alice")
    );
    assert!(allowed(&store, &reader, Privilege::Search, "books"));
    assert!(!allowed(&store, &public_only, Privilege::Search, "books"));

    // Listings follow the restriction too.
    assert!(store.visible("alice", "default", "ledger"));
    assert!(store.visible_principal(&password, "default", "ledger"));
    assert!(!store.visible_principal(&reader, "default", "ledger"));
    assert!(store.visible_principal(&reader, "default", "books"));
    assert!(store.visible_database("alice", "finance"));
    assert!(!store.visible_database_principal(&reader, "finance"));
    assert!(store.visible_database_principal(&password, "finance"));
    let snapshot = store.snapshot();
    assert_eq!(snapshot.effective_roles(&reader), ["readers"]);
    assert_eq!(snapshot.effective_roles(&password), ["readers", "writers"]);
    assert!(snapshot.effective_roles(&public_only).is_empty());

    // The own-user exception is about the user, not roles: it holds for keys.
    let own = Object::User("alice");
    assert!(store.check_principal(&public_only, Privilege::SelectUser, &own, "default").is_ok());
}

#[test]
fn a_key_loses_a_role_when_its_user_does_and_does_not_get_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    let t0 = Instant::now();
    let (_, token) = create(&store, "alice", "both", &["readers", "writers"]);
    let before = key_auth(&store, token.expose(), t0).unwrap();
    assert!(allowed(&store, &before, Privilege::Insert, "books"));

    store.remove_user_from_role("alice", "writers").unwrap();
    // A principal authenticated before the change is decided against the user's roles now.
    assert!(!allowed(&store, &before, Privilege::Insert, "books"));
    assert!(allowed(&store, &before, Privilege::Search, "books"));
    let after = key_auth(&store, token.expose(), t0).unwrap();
    assert_eq!(after.roles, Some(roles(&["readers"])));
    assert_eq!(store.list_api_keys(Some("alice"))[0].roles, ["readers"]);

    // Giving the role back to the user does not give it back to the key.
    store.add_user_to_role("alice", "writers").unwrap();
    let again = key_auth(&store, token.expose(), t0).unwrap();
    assert!(!allowed(&store, &again, Privilege::Insert, "books"));
    assert!(allowed(&store, &Principal::unrestricted("alice"), Privilege::Insert, "books"));

    // Dropping a role (with force) takes it from keys too.
    store.drop_role("readers", true).unwrap();
    let dropped = key_auth(&store, token.expose(), t0).unwrap();
    assert_eq!(dropped.roles, Some(Vec::new()));
    assert!(!allowed(&store, &dropped, Privilege::Search, "books"));
    assert!(store.list_api_keys(Some("alice"))[0].roles.is_empty());
}

#[test]
fn an_admin_key_needs_the_admin_role() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    let t0 = Instant::now();
    let (_, plain) = create(&store, "root", "plain", &[]);
    let (_, admin) = create(&store, "root", "admin", &["admin"]);
    let plain = key_auth(&store, plain.expose(), t0).unwrap();
    let admin = key_auth(&store, admin.expose(), t0).unwrap();
    let snapshot = store.snapshot();
    assert!(snapshot.is_admin("root"));
    assert!(!snapshot.is_admin_principal(&plain));
    assert!(snapshot.is_admin_principal(&admin));
    let create_db = |p: &Principal| {
        store.check_principal(p, Privilege::CreateDatabase, &Object::Cluster, "default").is_ok()
    };
    assert!(!create_db(&plain));
    assert!(create_db(&admin));
    assert!(!store.visible_principal(&plain, "default", "books"));
    assert!(store.visible_principal(&admin, "default", "books"));
    assert!(!store.visible_database_principal(&plain, "default"));
}

#[test]
fn deleting_the_user_kills_their_keys_for_good() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    let t0 = Instant::now();
    let (_, token) = create(&store, "alice", "ci", &["readers"]);
    let before = key_auth(&store, token.expose(), t0).unwrap();
    create(&store, "bob", "ci", &[]);
    store.delete_user("alice").unwrap();
    assert!(matches!(key_auth(&store, token.expose(), t0), Err(SecurityError::Unauthenticated)));
    assert!(!allowed(&store, &before, Privilege::Search, "books"), "a deleted user holds nothing");
    assert_eq!(store.list_api_keys(None).len(), 1, "bob's key stays");
    store.create_user("alice", &secret("a brand new passphrase")).unwrap();
    store.add_user_to_role("alice", "readers").unwrap();
    assert!(matches!(key_auth(&store, token.expose(), t0), Err(SecurityError::Unauthenticated)));
    assert!(store.list_api_keys(Some("alice")).is_empty());
}

#[test]
fn unknown_ids_wrong_secrets_and_malformed_tokens_fail_alike() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    let t0 = Instant::now();
    let (info, token) = create(&store, "alice", "ci", &["readers"]);
    let token = token.expose();
    let unknown_id = token.replacen(&info.id, "0123456789abcdef", 1);
    let cases = [
        unknown_id,
        with_wrong_secret(token),
        token.to_uppercase(),
        token[..token.len() - 1].to_owned(),
        format!("{token}0"),
        "qvk_".to_owned(),
        "qvk_not-a-key".to_owned(),
        String::new(),
        "x".repeat(10_000),
        token.replacen('_', ":", 1),
    ];
    let expected = SecurityError::Unauthenticated.to_string();
    for (i, case) in cases.iter().enumerate() {
        // One address each, so that throttling stays out of the way.
        let err = store.authenticate_key(&secret(case), peer(100 + i as u8), t0, NOW).unwrap_err();
        assert!(matches!(err, SecurityError::Unauthenticated), "{i}: {err:?}");
        assert_eq!(err.to_string(), expected);
    }
    assert!(key_auth(&store, token, t0).is_ok());
}

#[test]
fn key_guesses_are_throttled_per_address_and_share_the_budget_of_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    let t0 = Instant::now();
    let (_, token) = create(&store, "alice", "ci", &["readers"]);
    let guess = with_wrong_secret(token.expose());
    let limit = ThrottleConfig::default().max_address_failures;
    let guesser = peer(50);
    for _ in 0..limit {
        let res = store.authenticate_key(&secret(&guess), guesser, t0, NOW);
        assert!(matches!(res, Err(SecurityError::Unauthenticated)));
    }
    // Locked: even the right key, and passwords, from that address.
    let locked = store.authenticate_key(&token, guesser, t0, NOW);
    assert!(matches!(locked, Err(SecurityError::Throttled { .. })), "{locked:?}");
    let password = store.authenticate("root", &secret(ROOT_PW), guesser, t0);
    assert!(matches!(password, Err(SecurityError::Throttled { .. })));
    // Other addresses are not affected, and there is no per-key lockout.
    assert!(store.authenticate_key(&token, peer(51), t0, NOW).is_ok());
    // The lockout ends.
    assert!(store.authenticate_key(&token, guesser, t0 + Duration::from_secs(1), NOW).is_ok());

    // Password and key failures from one address count together.
    let mixed = peer(60);
    for i in 0..limit / 2 {
        let user = format!("nobody{i}");
        let res = store.authenticate(&user, &secret("some guess"), mixed, t0);
        assert!(matches!(res, Err(SecurityError::Unauthenticated)));
    }
    for _ in limit / 2..limit {
        let res = store.authenticate_key(&secret(&guess), mixed, t0, NOW);
        assert!(matches!(res, Err(SecurityError::Unauthenticated)));
    }
    let res = store.authenticate_key(&token, mixed, t0, NOW);
    assert!(matches!(res, Err(SecurityError::Throttled { .. })), "{res:?}");
}

#[test]
fn names_are_unique_per_user_and_follow_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    create(&store, "alice", "ci", &[]);
    let again = store.create_api_key("alice", "ci", &[], None, NOW);
    assert!(matches!(again, Err(SecurityError::ApiKeyExists { .. })));
    create(&store, "bob", "ci", &[]);
    for bad in ["", "1st", "has-dash", "qvk key", &"k".repeat(65)] {
        let res = store.create_api_key("alice", bad, &[], None, NOW);
        assert!(
            matches!(res, Err(SecurityError::InvalidName { kind: "API key", .. })),
            "{bad:?}: {res:?}"
        );
    }
    // A revoked key's name can be used again (with a new id and secret).
    let old = store.list_api_keys(Some("alice"))[0].id.clone();
    store.revoke_api_key("alice", "ci").unwrap();
    let (info, _) = create(&store, "alice", "ci", &[]);
    assert_ne!(info.id, old);
}

#[test]
fn key_counts_are_bounded_per_user_and_in_all() {
    let mut state = SecurityState::initial(test_hash(), 0);
    state.create_user("alice", test_hash(), 0).unwrap();
    let digest = || KeyDigest([0; 32]);
    for i in 0..MAX_API_KEYS_PER_USER {
        let id = format!("{i:016x}");
        state.create_api_key("alice", &format!("k{i}"), &[], None, NOW, id, digest()).unwrap();
    }
    let res = state.create_api_key("alice", "one_more", &[], None, NOW, "f".repeat(16), digest());
    assert!(
        matches!(res, Err(SecurityError::LimitExceeded { max, .. }) if max == MAX_API_KEYS_PER_USER)
    );

    let mut state = SecurityState::initial(test_hash(), 0);
    state.create_user("alice", test_hash(), 0).unwrap();
    for i in 0..MAX_API_KEYS {
        let record = ApiKeyRecord {
            user: format!("u{}", i / MAX_API_KEYS_PER_USER),
            name: format!("k{i}"),
            digest: digest(),
            created_unix_secs: NOW,
            expires_unix_secs: None,
            roles: Default::default(),
        };
        state.api_keys.insert(format!("{i:016x}"), record);
    }
    let res = state.create_api_key("alice", "k", &[], None, NOW, "f".repeat(16), digest());
    assert!(matches!(res, Err(SecurityError::LimitExceeded { max, .. }) if max == MAX_API_KEYS));
}

#[test]
fn keys_and_revocations_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    let t0 = Instant::now();
    let (_, kept) =
        store.create_api_key("alice", "kept", &roles(&["writers"]), Some(NOW + 60), NOW).unwrap();
    let (_, revoked) = create(&store, "root", "gone", &["admin"]);
    store.revoke_api_key("root", "gone").unwrap();
    let before = store.snapshot();
    let reopened = reopen(dir.path());
    assert_eq!(*reopened.snapshot(), *before);
    let principal = key_auth(&reopened, kept.expose(), t0).unwrap();
    assert!(allowed(&reopened, &principal, Privilege::Insert, "books"));
    assert!(!allowed(&reopened, &principal, Privilege::Search, "books"));
    assert!(reopened.authenticate_key(&kept, peer(3), t0, NOW + 60).is_err(), "expiry persisted");
    assert!(matches!(
        key_auth(&reopened, revoked.expose(), t0),
        Err(SecurityError::Unauthenticated)
    ));
}

#[test]
fn listings_are_sorted_and_filtered_by_user() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    create(&store, "bob", "b", &[]);
    create(&store, "alice", "z", &[]);
    create(&store, "alice", "a", &["writers"]);
    let all: Vec<(String, String)> =
        store.list_api_keys(None).into_iter().map(|k| (k.user, k.name)).collect();
    let expected = [("alice", "a"), ("alice", "z"), ("bob", "b")];
    assert_eq!(all, expected.map(|(u, n)| (u.to_owned(), n.to_owned())));
    assert_eq!(store.list_api_keys(Some("bob")).len(), 1);
    assert!(store.list_api_keys(Some("nobody")).is_empty());
}

#[test]
fn the_secret_and_its_digest_never_show_in_listings_debug_output_or_errors() {
    let dir = tempfile::tempdir().unwrap();
    let store = fixture(dir.path());
    let t0 = Instant::now();
    let (info, token) = create(&store, "alice", "ci", &["readers"]);
    let secret_hex = token.expose()[5 + API_KEY_ID_LEN..].to_owned();
    let snapshot = store.snapshot();
    let digest_hex: String =
        snapshot.api_keys[&info.id].digest.0.iter().map(|b| format!("{b:02x}")).collect();
    let principal = key_auth(&store, token.expose(), t0).unwrap();
    let wrong = key_auth(&store, &with_wrong_secret(token.expose()), t0).unwrap_err();
    let exists = store.create_api_key("alice", "ci", &[], None, NOW).unwrap_err();
    let shown = format!(
        "{store:?} {snapshot:?} {:?} {info:?} {token:?} {principal:?} {wrong} {wrong:?} {exists} \
         {exists:?}",
        store.list_api_keys(None),
    );
    assert!(!shown.contains(&secret_hex), "{shown}");
    assert!(!shown.contains(&secret_hex[..16]), "not even a prefix: {shown}");
    assert!(!shown.contains(&digest_hex[..16]), "{shown}");
    assert!(shown.contains(&info.id), "the id is not secret and is listed");
    let file = std::fs::read(dir.path().join(SECURITY_FILE)).unwrap();
    assert!(!file.windows(secret_hex.len()).any(|w| w == secret_hex.as_bytes()));
}
