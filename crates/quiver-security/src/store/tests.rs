use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use quiver_storage::{Backend, FaultPlan, FaultyBackend, LocalBackend};

use super::{Principal, SecurityStore};
use crate::hash::test_hash;
use crate::password::Secret;
use crate::privilege::{ObjectType, Privilege};
use crate::rbac::{GrantFilter, GrantTarget, Object, PrivilegeRef};
use crate::state::SecurityState;
use crate::store_codec::{self, SECURITY_FILE};
use crate::{BuiltinGroup, SecurityError};

const ROOT_PW: &str = "first-start superuser secret";
const ALICE_PW: &str = "a long enough passphrase";

fn secret(s: &str) -> Secret {
    Secret::new(s.to_owned())
}

fn peer(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

fn backend(dir: &Path) -> Arc<dyn Backend> {
    Arc::new(LocalBackend::new(dir.to_path_buf()).unwrap())
}

fn initialized(dir: &Path) -> SecurityStore {
    SecurityStore::initialize(backend(dir), &secret(ROOT_PW)).unwrap()
}

fn reopen(dir: &Path) -> SecurityStore {
    SecurityStore::open(backend(dir)).unwrap().expect("initialized")
}

fn auth(
    store: &SecurityStore,
    user: &str,
    pw: &str,
    now: Instant,
) -> Result<Principal, SecurityError> {
    store.authenticate(user, &secret(pw), peer(1), now)
}

/// A store with users, roles, grants of every kind and a custom group.
fn populated(dir: &Path) -> SecurityStore {
    let store = initialized(dir);
    store.create_user("alice", &secret(ALICE_PW)).unwrap();
    store.create_user("bob", &secret("another long passphrase")).unwrap();
    store.create_role("readers").unwrap();
    store.create_role("_ops").unwrap();
    store.add_user_to_role("alice", "readers").unwrap();
    store.add_user_to_role("bob", "admin").unwrap();
    store.create_privilege_group("searchers").unwrap();
    store.add_privileges_to_group("searchers", &["Search", "Query"]).unwrap();
    store.grant_v2("readers", "searchers", "default", "books", "root").unwrap();
    store.grant_v2("readers", "DatabaseReadOnly", "default", "*", "root").unwrap();
    store.grant_v2("public", "ClusterReadOnly", "*", "*", "root").unwrap();
    let user_grant = GrantTarget {
        role: "_ops",
        object_type: ObjectType::User,
        object_name: "alice",
        db_name: "*",
        privilege: "UpdateUser",
    };
    store.grant(&user_grant, "bob").unwrap();
    store.create_api_key("alice", "ci", &["readers".to_owned()], Some(u64::MAX), 1).unwrap();
    store.create_api_key("bob", "ops", &["admin".to_owned()], None, 2).unwrap();
    store
}

#[test]
fn open_is_none_until_initialized_and_initialize_creates_root_as_admin() {
    let dir = tempfile::tempdir().unwrap();
    assert!(SecurityStore::open(backend(dir.path())).unwrap().is_none());
    let store = initialized(dir.path());
    assert_eq!(store.user_roles("root").unwrap(), ["admin"]);
    assert_eq!(store.list_roles(), ["admin", "public"]);
    assert!(store.snapshot().is_admin("root"));
    let t0 = Instant::now();
    assert_eq!(auth(&store, "root", ROOT_PW, t0).unwrap(), Principal::unrestricted("root"));
    assert!(reopen(dir.path()).snapshot().is_admin("root"));
}

#[test]
fn initialize_refuses_an_existing_store_and_a_weak_root_password() {
    let dir = tempfile::tempdir().unwrap();
    let weak = SecurityStore::initialize(backend(dir.path()), &secret("Milvus"));
    assert!(matches!(weak, Err(SecurityError::WeakPassword { .. })));
    let weak = SecurityStore::initialize(backend(dir.path()), &secret("root-and-more-text"));
    assert!(matches!(weak, Err(SecurityError::WeakPassword { .. })), "contains the user name");
    assert!(SecurityStore::open(backend(dir.path())).unwrap().is_none(), "nothing was written");
    initialized(dir.path());
    let again = SecurityStore::initialize(backend(dir.path()), &secret("another root secret"));
    assert!(matches!(again, Err(SecurityError::AlreadyInitialized)));
    assert!(auth(&reopen(dir.path()), "root", ROOT_PW, Instant::now()).is_ok());
}

#[test]
fn wrong_password_and_unknown_user_fail_alike() {
    let dir = tempfile::tempdir().unwrap();
    let store = initialized(dir.path());
    let t0 = Instant::now();
    let wrong = auth(&store, "root", "not the root password", t0).unwrap_err();
    let unknown = auth(&store, "mallory", ROOT_PW, t0).unwrap_err();
    assert!(matches!(wrong, SecurityError::Unauthenticated));
    assert!(matches!(unknown, SecurityError::Unauthenticated));
    assert_eq!(wrong.to_string(), unknown.to_string());
    let huge = auth(&store, "root", &"x".repeat(100_000), t0).unwrap_err();
    assert!(matches!(huge, SecurityError::Unauthenticated));
    let long_name = auth(&store, &"r".repeat(100_000), ROOT_PW, t0).unwrap_err();
    assert!(matches!(long_name, SecurityError::Unauthenticated));
}

#[test]
fn a_locked_user_is_refused_even_with_the_right_password_until_the_lockout_ends() {
    let dir = tempfile::tempdir().unwrap();
    let store = initialized(dir.path());
    let t0 = Instant::now();
    for i in 0..5 {
        // Five addresses, so that only the user key reaches the limit.
        let res = store.authenticate("root", &secret("guess number one!"), peer(10 + i), t0);
        assert!(matches!(res, Err(SecurityError::Unauthenticated)));
    }
    let locked = auth(&store, "root", ROOT_PW, t0);
    assert!(
        matches!(locked, Err(SecurityError::Throttled { retry_after }) if retry_after == Duration::from_secs(1))
    );
    assert!(auth(&store, "root", ROOT_PW, t0 + Duration::from_secs(1)).is_ok());
    // The success reset the user key: four new failures do not lock it.
    for i in 0..4 {
        let res = store.authenticate("root", &secret("guess number two!"), peer(20 + i), t0);
        assert!(matches!(res, Err(SecurityError::Unauthenticated)));
    }
    assert!(auth(&store, "root", ROOT_PW, t0 + Duration::from_secs(1)).is_ok());
}

#[test]
fn unknown_users_are_throttled_like_real_ones() {
    let dir = tempfile::tempdir().unwrap();
    let store = initialized(dir.path());
    let t0 = Instant::now();
    for i in 0..5 {
        let _ = store.authenticate("mallory", &secret("guess"), peer(30 + i), t0);
    }
    let res = store.authenticate("mallory", &secret("guess"), peer(40), t0);
    assert!(matches!(res, Err(SecurityError::Throttled { .. })));
}

#[test]
fn verified_credentials_are_cached_and_die_with_a_password_change() {
    let dir = tempfile::tempdir().unwrap();
    let store = populated(dir.path());
    let t0 = Instant::now();
    auth(&store, "alice", ALICE_PW, t0).unwrap();
    let before = store.credential_cache_stats();
    auth(&store, "alice", ALICE_PW, t0).unwrap();
    let after = store.credential_cache_stats();
    assert_eq!(after.hits, before.hits + 1, "the second login is a cache hit");

    store.set_password("alice", &secret("the new long passphrase")).unwrap();
    assert!(matches!(auth(&store, "alice", ALICE_PW, t0), Err(SecurityError::Unauthenticated)));
    assert!(auth(&store, "alice", "the new long passphrase", t0).is_ok());
}

#[test]
fn cached_credentials_die_with_the_user_even_if_the_name_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = populated(dir.path());
    let t0 = Instant::now();
    auth(&store, "alice", ALICE_PW, t0).unwrap();
    assert_eq!(store.credential_cache_stats().entries, 1);
    store.delete_user("alice").unwrap();
    assert!(matches!(auth(&store, "alice", ALICE_PW, t0), Err(SecurityError::Unauthenticated)));
    store.create_user("alice", &secret("a different passphrase")).unwrap();
    assert!(matches!(auth(&store, "alice", ALICE_PW, t0), Err(SecurityError::Unauthenticated)));
    assert!(auth(&store, "alice", "a different passphrase", t0).is_ok());
}

#[test]
fn the_store_round_trips_through_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = populated(dir.path());
    let before = store.snapshot();
    let reopened = reopen(dir.path());
    assert_eq!(*reopened.snapshot(), *before);
    assert!(auth(&reopened, "alice", ALICE_PW, Instant::now()).is_ok());
    let alice_db =
        reopened.check("alice", Privilege::Search, &Object::Collection("books"), "default");
    assert!(alice_db.is_ok());
    let denied =
        reopened.check("alice", Privilege::Insert, &Object::Collection("books"), "default");
    assert!(matches!(denied, Err(SecurityError::PermissionDenied { .. })));
}

#[test]
fn every_mutation_survives_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let store = populated(dir.path());
    type Mutation = Box<dyn Fn(&SecurityStore)>;
    let mutations: Vec<Mutation> = vec![
        Box::new(|s| s.set_password("bob", &secret("second long phrase for b")).unwrap()),
        Box::new(|s| drop(s.create_api_key("alice", "more", &[], Some(9), 8).unwrap())),
        Box::new(|s| s.revoke_api_key("alice", "more").unwrap()),
        Box::new(|s| s.delete_user("bob").unwrap()),
        Box::new(|s| s.create_role("writers").unwrap()),
        Box::new(|s| s.add_user_to_role("alice", "writers").unwrap()),
        Box::new(|s| s.remove_user_from_role("alice", "readers").unwrap()),
        Box::new(|s| assert!(s.revoke_v2("readers", "DatabaseReadOnly", "default", "*").unwrap())),
        Box::new(|s| s.add_privileges_to_group("searchers", &["Insert"]).unwrap()),
        Box::new(|s| s.remove_privileges_from_group("searchers", &["Search"]).unwrap()),
        Box::new(|s| s.drop_role("_ops", true).unwrap()),
        Box::new(|s| assert!(s.revoke_v2("readers", "searchers", "default", "books").unwrap())),
        Box::new(|s| s.drop_privilege_group("searchers").unwrap()),
        Box::new(|s| s.drop_role("readers", true).unwrap()),
    ];
    for mutation in mutations {
        let before = store.snapshot();
        mutation(&store);
        let after = store.snapshot();
        assert_ne!(*after, *before, "every mutation changes something");
        assert_eq!(*reopen(dir.path()).snapshot(), *after);
    }
}

#[test]
fn a_flipped_byte_anywhere_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path());
    let path = dir.path().join(SECURITY_FILE);
    let original = std::fs::read(&path).unwrap();
    for offset in 0..original.len() {
        let mut bytes = original.clone();
        bytes[offset] ^= 0x40;
        std::fs::write(&path, &bytes).unwrap();
        match SecurityStore::open(backend(dir.path())) {
            Err(SecurityError::Corrupt { path, .. }) => assert_eq!(path, SECURITY_FILE),
            // The version field may read as a newer version.
            Err(SecurityError::Storage(err)) if (8..12).contains(&offset) => {
                assert!(err.to_string().contains(SECURITY_FILE), "{err}");
            }
            Err(other) => panic!("byte {offset}: unexpected {other:?}"),
            Ok(_) => panic!("byte {offset}: a damaged file was accepted"),
        }
    }
    // Truncations too.
    for len in [0, 10, original.len() / 2, original.len() - 1] {
        std::fs::write(&path, &original[..len]).unwrap();
        let res = SecurityStore::open(backend(dir.path()));
        assert!(matches!(res, Err(SecurityError::Corrupt { .. })), "truncated to {len}");
    }
    // Never silently reinitialized.
    let again = SecurityStore::initialize(backend(dir.path()), &secret("another root secret"));
    assert!(matches!(again, Err(SecurityError::AlreadyInitialized)));
}

/// Encodes a state that breaks an invariant, with valid checksums, and opens it.
#[track_caller]
fn check_refused(dir: &Path, damage: impl FnOnce(&mut SecurityState), reason: &str) {
    let mut state = SecurityState::initial(test_hash(), 0);
    state.create_user("alice", test_hash(), 0).unwrap();
    state.create_role("readers").unwrap();
    damage(&mut state);
    std::fs::write(dir.join(SECURITY_FILE), store_codec::encode(&state)).unwrap();
    match SecurityStore::open(backend(dir)) {
        Err(SecurityError::Corrupt { path, reason: got, offset }) => {
            assert_eq!(path, SECURITY_FILE);
            assert!(got.contains(reason), "expected {reason:?}, got {got:?}");
            assert!(offset >= 16, "offset {offset} points into the block");
        }
        other => panic!("expected corruption {reason:?}, got {other:?}"),
    }
}

#[test]
fn a_well_checksummed_file_breaking_an_invariant_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    check_refused(d, |s| drop(s.users.remove("root")), "root user is missing");
    check_refused(d, |s| s.users.get_mut("root").unwrap().roles.clear(), "root user");
    check_refused(
        d,
        |s| {
            s.users.get_mut("alice").unwrap().roles.insert("ghosts".to_owned());
        },
        "unknown role",
    );
    check_refused(
        d,
        |s| {
            s.users.get_mut("alice").unwrap().roles.insert("public".to_owned());
        },
        "unknown role",
    );
    check_refused(d, |s| drop(s.roles.remove("public")), "public role is missing");
    check_refused(
        d,
        |s| drop(s.roles.insert("admin".to_owned(), Default::default())),
        "invalid role name",
    );
    check_refused(d, |s| s.next_generation = 1, "generation");
    check_refused(
        d,
        |s| drop(s.users.insert("9lives".to_owned(), s.users["alice"].clone())),
        "invalid user name",
    );
    check_refused(
        d,
        |s| {
            s.create_privilege_group("g").unwrap();
            let target = s.grant_target_v2("readers", "g", "*", "*").unwrap();
            s.grant(&target, "root").unwrap();
            s.groups.remove("g");
        },
        "unknown privilege or group",
    );
    check_refused(
        d,
        |s| drop(s.groups.insert("Search".to_owned(), Default::default())),
        "group name",
    );
}

#[test]
fn a_failed_write_leaves_memory_equal_to_disk() {
    let dir = tempfile::tempdir().unwrap();
    populated(dir.path());
    let plan = FaultPlan::new();
    let faulty: Arc<dyn Backend> = Arc::new(FaultyBackend::new(backend(dir.path()), plan.clone()));
    let store = SecurityStore::open(faulty).unwrap().unwrap();

    // The write fails before touching the file: nothing changes.
    let before = store.snapshot();
    plan.fail_nth_write(1);
    assert!(matches!(store.create_role("writers"), Err(SecurityError::Storage(_))));
    assert_eq!(*store.snapshot(), *before);
    assert_eq!(*reopen(dir.path()).snapshot(), *before);

    // The fsync fails after the rename: the file holds the new state, and so does memory.
    plan.fail_nth_sync(1);
    assert!(matches!(store.create_role("writers"), Err(SecurityError::Storage(_))));
    assert_eq!(*store.snapshot(), *reopen(dir.path()).snapshot());
    assert!(store.list_roles().contains(&"writers".to_owned()));

    // And the store keeps working.
    store.create_role("auditors").unwrap();
    assert_eq!(*reopen(dir.path()).snapshot(), *store.snapshot());
}

#[test]
fn refused_changes_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = populated(dir.path());
    let file = dir.path().join(SECURITY_FILE);
    let bytes = std::fs::read(&file).unwrap();
    assert!(matches!(store.delete_user("root"), Err(SecurityError::RootProtected)));
    assert!(matches!(
        store.remove_user_from_role("root", "admin"),
        Err(SecurityError::RootProtected)
    ));
    assert!(matches!(store.create_role("admin"), Err(SecurityError::BuiltinRole { .. })));
    assert!(matches!(store.drop_role("public", true), Err(SecurityError::BuiltinRole { .. })));
    assert!(matches!(
        store.remove_user_from_role("alice", "public"),
        Err(SecurityError::BuiltinRole { .. })
    ));
    assert!(matches!(store.drop_role("readers", false), Err(SecurityError::RoleInUse { .. })));
    assert!(matches!(
        store.create_user("alice", &secret("yet another passphrase")),
        Err(SecurityError::UserExists { .. })
    ));
    assert!(matches!(
        store.create_user("carol", &secret("carol")),
        Err(SecurityError::WeakPassword { .. })
    ));
    assert!(matches!(
        store.set_password("nobody", &secret("some long passphrase")),
        Err(SecurityError::UserNotFound { .. })
    ));
    assert!(matches!(
        store.drop_privilege_group("searchers"),
        Err(SecurityError::PrivilegeGroupInUse { .. })
    ));
    assert!(matches!(
        store.add_user_to_role("alice", "nope"),
        Err(SecurityError::RoleNotFound { .. })
    ));
    assert_eq!(std::fs::read(&file).unwrap(), bytes);
    // A no-op change (granting twice) does not rewrite the file either.
    assert!(!store.grant_v2("readers", "DatabaseReadOnly", "default", "*", "root").unwrap());
    assert_eq!(std::fs::read(&file).unwrap(), bytes);
}

#[test]
fn privilege_group_names_follow_milvus_1402() {
    let dir = tempfile::tempdir().unwrap();
    let store = initialized(dir.path());
    for bad in [
        "Search",
        "PrivilegeSearch",
        "CollectionReadOnly",
        "PrivilegeGroupClusterAdmin",
        "1st",
        "a-b",
        "",
        "*",
    ] {
        let res = store.create_privilege_group(bad);
        assert!(
            matches!(res, Err(SecurityError::InvalidPrivilegeGroupName { .. })),
            "{bad:?}: {res:?}"
        );
    }
    store.create_privilege_group("_mine").unwrap();
    assert!(matches!(
        store.create_privilege_group("_mine"),
        Err(SecurityError::PrivilegeGroupExists { .. })
    ));
    assert!(matches!(
        store.drop_privilege_group("nope"),
        Err(SecurityError::PrivilegeGroupNotFound { .. })
    ));
    assert!(matches!(
        store.add_privileges_to_group("ClusterAdmin", &["Search"]),
        Err(SecurityError::BuiltinPrivilegeGroup { .. })
    ));
    let groups = store.list_privilege_groups();
    assert_eq!(groups.len(), 10);
    assert!(groups[..9].iter().all(|g| g.builtin));
    assert_eq!(groups[0].name, "CollectionReadOnly");
    assert_eq!(groups[0].privileges, BuiltinGroup::CollectionReadOnly.privileges());
    assert_eq!((groups[9].name.as_str(), groups[9].builtin), ("_mine", false));
}

#[test]
fn grants_are_listed_with_their_grantor_and_filtered() {
    let dir = tempfile::tempdir().unwrap();
    let store = populated(dir.path());
    let all = store.grants_of_role("readers", &GrantFilter::default()).unwrap();
    assert_eq!(all.len(), 2);
    let books = GrantFilter { object_name: Some("books"), ..GrantFilter::default() };
    let listed = store.grants_of_role("readers", &books).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].privilege, PrivilegeRef::Custom("searchers".to_owned()));
    assert_eq!(
        (listed[0].object_type, listed[0].db_name.as_str()),
        (ObjectType::Collection, "default")
    );
    assert_eq!(listed[0].grantor, "root");
    let ops = store.grants_of_role("_ops", &GrantFilter::default()).unwrap();
    assert_eq!((ops[0].privilege.name(), ops[0].grantor.as_str()), ("UpdateUser", "bob"));
    assert!(store.grants_of_role("admin", &GrantFilter::default()).unwrap().is_empty());
    assert!(matches!(
        store.grants_of_role("nope", &GrantFilter::default()),
        Err(SecurityError::RoleNotFound { .. })
    ));
    assert_eq!(store.users_of_role("readers").unwrap(), ["alice"]);
    assert_eq!(store.users_of_role("public").unwrap(), ["alice", "bob", "root"]);
}

#[test]
fn debug_output_never_contains_passwords_or_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let store = populated(dir.path());
    auth(&store, "alice", ALICE_PW, Instant::now()).unwrap();
    let snapshot = store.snapshot();
    let shown = format!("{store:?} {snapshot:?} {:?} {:?}", store.list_users(), secret(ALICE_PW));
    assert!(!shown.contains(ALICE_PW) && !shown.contains(ROOT_PW), "{shown}");
    assert!(!shown.contains("$argon2"), "{shown}");
    for user in snapshot.users.values() {
        assert!(!shown.contains(user.hash.as_str()));
    }
    let err = auth(&store, "alice", "wrong password here", Instant::now()).unwrap_err();
    assert!(!format!("{err} {err:?}").contains("wrong password here"));
}
