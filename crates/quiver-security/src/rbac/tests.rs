use proptest::prelude::*;

use super::{GrantTarget, Object};
use crate::SecurityError;
use crate::groups::BuiltinGroup;
use crate::hash::test_hash;
use crate::privilege::{ObjectType, Privilege, PrivilegeLevel};
use crate::state::SecurityState;
use crate::store::Principal;

const DB: &str = "db1";
const COLL: &str = "c1";

/// Every object shape, in two databases, for exhaustive sweeps.
const OBJECTS: [Object<'static>; 7] = [
    Object::Cluster,
    Object::Database,
    Object::Collection("c1"),
    Object::Collection("c2"),
    Object::User("alice"),
    Object::User("bob"),
    Object::User("nobody"),
];
const DBS: [&str; 2] = ["db1", "db2"];

/// root (admin), alice (role `r`), bob (no roles).
fn state() -> SecurityState {
    let mut state = SecurityState::initial(test_hash(), 0);
    state.create_user("alice", test_hash(), 0).unwrap();
    state.create_user("bob", test_hash(), 0).unwrap();
    state.create_role("r").unwrap();
    state.add_user_to_role("alice", "r").unwrap();
    state
}

fn grant(
    state: &mut SecurityState,
    object_type: ObjectType,
    name: &str,
    db: &str,
    privilege: &str,
) {
    let target = GrantTarget { role: "r", object_type, object_name: name, db_name: db, privilege };
    assert!(state.grant(&target, "root").unwrap());
}

fn grant_v2(state: &mut SecurityState, role: &str, privilege: &str, db: &str, collection: &str) {
    let target = state.grant_target_v2(role, privilege, db, collection).unwrap();
    assert!(state.grant(&target, "root").unwrap());
}

fn allowed(state: &SecurityState, user: &str, p: Privilege, object: Object<'_>, db: &str) -> bool {
    state.is_allowed(user, p, &object, db)
}

fn concrete() -> impl Iterator<Item = Privilege> {
    Privilege::VARIANTS.iter().copied().filter(|p| *p != Privilege::All)
}

#[test]
fn a_collection_grant_allows_exactly_its_privilege_collection_and_database() {
    for p in concrete() {
        let mut s = state();
        grant(&mut s, ObjectType::Collection, COLL, DB, p.name());
        assert!(allowed(&s, "alice", p, Object::Collection(COLL), DB), "{p}");
        for q in Privilege::VARIANTS.iter().copied().filter(|q| *q != p) {
            assert!(
                !allowed(&s, "alice", q, Object::Collection(COLL), DB),
                "{p} granted, {q} allowed"
            );
        }
        assert!(!allowed(&s, "alice", p, Object::Collection("c2"), DB), "{p}: other collection");
        assert!(!allowed(&s, "alice", p, Object::Collection(COLL), "db2"), "{p}: other database");
        for object in [Object::Cluster, Object::Database, Object::User(COLL)] {
            assert!(!allowed(&s, "alice", p, object, DB), "{p} on {object:?}");
        }
        assert!(!allowed(&s, "bob", p, Object::Collection(COLL), DB), "{p}: user without the role");
    }
}

#[test]
fn v2_grants_apply_at_the_level_of_the_privilege() {
    for p in concrete() {
        let mut s = state();
        let (db, collection, object) = match p.level() {
            Some(PrivilegeLevel::Collection) => (DB, COLL, Object::Collection(COLL)),
            Some(PrivilegeLevel::Database) => (DB, "*", Object::Database),
            Some(PrivilegeLevel::Cluster) | None => ("*", "*", Object::Cluster),
        };
        grant_v2(&mut s, "r", p.name(), db, collection);
        assert!(allowed(&s, "alice", p, object, DB), "{p}");
        for q in concrete().filter(|q| *q != p) {
            assert!(!allowed(&s, "alice", q, object, DB), "{p} granted, {q} allowed");
        }
        match p.level() {
            Some(PrivilegeLevel::Collection) => {
                assert!(!allowed(&s, "alice", p, Object::Collection("c2"), DB), "{p}");
                assert!(!allowed(&s, "alice", p, Object::Collection(COLL), "db2"), "{p}");
                assert!(!allowed(&s, "alice", p, Object::Database, DB), "{p}");
            }
            Some(PrivilegeLevel::Database) => {
                assert!(!allowed(&s, "alice", p, Object::Database, "db2"), "{p}");
                assert!(!allowed(&s, "alice", p, Object::Cluster, DB), "{p}");
            }
            Some(PrivilegeLevel::Cluster) | None => {
                assert!(allowed(&s, "alice", p, Object::Cluster, "db2"), "{p} is cluster-wide");
            }
        }
    }
}

#[test]
fn v2_refuses_a_privilege_granted_below_its_level() {
    let s = state();
    let cases = [
        ("CreateDatabase", DB, "*"),
        ("ClusterReadOnly", "*", COLL),
        ("ShowCollections", DB, COLL),
        ("DatabaseAdmin", "*", COLL),
    ];
    for (privilege, db, collection) in cases {
        assert!(
            matches!(
                s.grant_target_v2("r", privilege, db, collection),
                Err(SecurityError::InvalidGrant { .. })
            ),
            "{privilege} on {db}.{collection}"
        );
    }
    let global = s.grant_target_v2("r", "Search", "*", "*").unwrap();
    assert_eq!(
        (global.object_type, global.object_name, global.db_name),
        (ObjectType::Global, "*", "*")
    );
    let db_level = s.grant_target_v2("r", "DatabaseReadOnly", DB, "*").unwrap();
    assert_eq!((db_level.object_type, db_level.object_name), (ObjectType::Collection, "*"));
}

#[test]
fn wildcards_cover_any_collection_or_any_database() {
    let mut s = state();
    grant(&mut s, ObjectType::Collection, "*", DB, "Search");
    assert!(allowed(&s, "alice", Privilege::Search, Object::Collection("anything"), DB));
    assert!(!allowed(&s, "alice", Privilege::Search, Object::Collection("anything"), "db2"));

    let mut s = state();
    grant(&mut s, ObjectType::Collection, COLL, "*", "Query");
    assert!(allowed(&s, "alice", Privilege::Query, Object::Collection(COLL), "db2"));
    assert!(!allowed(&s, "alice", Privilege::Query, Object::Collection("c2"), "db2"));

    let mut s = state();
    grant(&mut s, ObjectType::Global, "*", "*", "Insert");
    for db in DBS {
        assert!(allowed(&s, "alice", Privilege::Insert, Object::Collection("c9"), db));
    }
    assert!(!allowed(&s, "alice", Privilege::Delete, Object::Collection("c9"), DB));

    let mut s = state();
    grant(&mut s, ObjectType::User, "*", "*", "UpdateUser");
    assert!(allowed(&s, "alice", Privilege::UpdateUser, Object::User("bob"), DB));
    assert!(!allowed(&s, "alice", Privilege::UpdateUser, Object::Cluster, DB));
}

#[test]
fn all_covers_every_privilege_on_its_object() {
    let mut s = state();
    grant(&mut s, ObjectType::Collection, COLL, DB, "*");
    for p in Privilege::VARIANTS.iter().copied() {
        assert!(allowed(&s, "alice", p, Object::Collection(COLL), DB), "{p}");
        assert!(!allowed(&s, "alice", p, Object::Collection("c2"), DB), "{p}");
    }
}

#[test]
fn builtin_groups_grant_their_contents_and_levels_do_not_cascade() {
    let mut s = state();
    grant_v2(&mut s, "r", "CollectionReadOnly", DB, COLL);
    grant_v2(&mut s, "r", "DatabaseAdmin", DB, "*");
    grant_v2(&mut s, "r", "ClusterAdmin", "*", "*");
    for p in concrete() {
        let on_collection = allowed(&s, "alice", p, Object::Collection(COLL), DB);
        let on_database = allowed(&s, "alice", p, Object::Database, DB);
        let on_cluster = allowed(&s, "alice", p, Object::Cluster, DB);
        // Each grant holds its group's privileges and nothing more. ClusterAdmin is a Global
        // grant, which matches every object, and DatabaseAdmin a Collection grant on `*`,
        // which matches the database and its collections: harmless, since the API checks
        // each privilege against the object of its level only.
        let cluster = BuiltinGroup::ClusterAdmin.contains(p);
        let database = BuiltinGroup::DatabaseAdmin.contains(p);
        let collection = BuiltinGroup::CollectionReadOnly.contains(p);
        assert_eq!(on_cluster, cluster, "{p}");
        assert_eq!(on_database, database || cluster, "{p}");
        assert_eq!(on_collection, collection || database || cluster, "{p}");
    }
    assert!(!allowed(&s, "alice", Privilege::Insert, Object::Collection(COLL), DB));
    assert!(!allowed(&s, "alice", Privilege::Search, Object::Collection("c2"), DB));
}

#[test]
fn custom_groups_grant_their_current_members() {
    let mut s = state();
    s.create_privilege_group("readers").unwrap();
    s.add_privileges_to_group("readers", &["Search", "PrivilegeQuery"]).unwrap();
    grant_v2(&mut s, "r", "readers", DB, COLL);
    let search = |s: &SecurityState, p| allowed(s, "alice", p, Object::Collection(COLL), DB);
    assert!(search(&s, Privilege::Search) && search(&s, Privilege::Query));
    assert!(!search(&s, Privilege::Insert));
    s.add_privileges_to_group("readers", &["Insert"]).unwrap();
    assert!(search(&s, Privilege::Insert));
    s.remove_privileges_from_group("readers", &["Insert", "Search"]).unwrap();
    assert!(!search(&s, Privilege::Insert) && !search(&s, Privilege::Search));
    assert!(search(&s, Privilege::Query));
    assert!(matches!(
        s.add_privileges_to_group("readers", &["All"]),
        Err(SecurityError::InvalidPrivilege { .. })
    ));
    assert!(matches!(
        s.add_privileges_to_group("readers", &["CollectionReadOnly"]),
        Err(SecurityError::InvalidPrivilege { .. })
    ));
}

#[test]
fn admin_is_allowed_everything_everywhere() {
    let s = state();
    for p in Privilege::VARIANTS.iter().copied() {
        for object in OBJECTS {
            for db in DBS {
                assert!(allowed(&s, "root", p, object, db), "{p} {object:?} {db}");
            }
        }
    }
    assert!(s.visible("root", "db9", "c9") && s.visible_database("root", "db9"));
}

#[test]
fn public_grants_nothing_by_default_but_applies_to_every_user_when_granted() {
    let mut s = state();
    for p in concrete().filter(|p| !matches!(p, Privilege::UpdateUser | Privilege::SelectUser)) {
        for object in OBJECTS {
            for db in DBS {
                assert!(!allowed(&s, "bob", p, object, db), "{p} {object:?} {db}");
                assert!(!allowed(&s, "alice", p, object, db), "{p} {object:?} {db}");
            }
        }
    }
    grant_v2(&mut s, "public", "DescribeCollection", DB, "*");
    for user in ["alice", "bob"] {
        assert!(allowed(&s, user, Privilege::DescribeCollection, Object::Collection("c7"), DB));
    }
    assert!(!allowed(&s, "ghost", Privilege::DescribeCollection, Object::Collection("c7"), DB));
}

#[test]
fn own_user_object_allows_update_and_select_user_only() {
    let s = state();
    for p in concrete() {
        let own = allowed(&s, "bob", p, Object::User("bob"), DB);
        assert_eq!(own, matches!(p, Privilege::UpdateUser | Privilege::SelectUser), "{p}");
        assert!(!allowed(&s, "bob", p, Object::User("alice"), DB), "{p}");
    }
}

#[test]
fn check_denies_in_milvus_wording() {
    let s = state();
    let err = s.check("bob", Privilege::Search, &Object::Collection(COLL), "default").unwrap_err();
    assert!(matches!(err, SecurityError::PermissionDenied { privilege: Privilege::Search, .. }));
    assert_eq!(
        err.to_string(),
        "PrivilegeSearch: permission deny to bob in the `default` database"
    );
    assert!(s.check("root", Privilege::Search, &Object::Collection(COLL), "default").is_ok());
}

#[test]
fn dropping_a_role_or_user_removes_its_power() {
    let mut s = state();
    grant(&mut s, ObjectType::Collection, COLL, DB, "Search");
    assert!(matches!(s.drop_role("r", false), Err(SecurityError::RoleInUse { .. })));
    assert!(allowed(&s, "alice", Privilege::Search, Object::Collection(COLL), DB));
    s.drop_role("r", true).unwrap();
    assert!(!allowed(&s, "alice", Privilege::Search, Object::Collection(COLL), DB));
    assert_eq!(s.user_roles("alice").unwrap(), Vec::<String>::new());

    // A new role of the same name starts empty.
    s.create_role("r").unwrap();
    s.add_user_to_role("alice", "r").unwrap();
    assert!(!allowed(&s, "alice", Privilege::Search, Object::Collection(COLL), DB));

    // A user deleted and created again does not keep their roles.
    grant(&mut s, ObjectType::Collection, COLL, DB, "Search");
    s.delete_user("alice").unwrap();
    s.create_user("alice", test_hash(), 0).unwrap();
    assert!(!allowed(&s, "alice", Privilege::Search, Object::Collection(COLL), DB));
}

#[test]
fn revoking_removes_exactly_that_grant() {
    let mut s = state();
    grant(&mut s, ObjectType::Collection, COLL, DB, "Search");
    grant(&mut s, ObjectType::Collection, COLL, DB, "Query");
    let search = GrantTarget {
        role: "r",
        object_type: ObjectType::Collection,
        object_name: COLL,
        db_name: DB,
        privilege: "PrivilegeSearch",
    };
    assert!(s.revoke(&search).unwrap());
    assert!(!s.revoke(&search).unwrap(), "second revoke is a no-op");
    assert!(!allowed(&s, "alice", Privilege::Search, Object::Collection(COLL), DB));
    assert!(allowed(&s, "alice", Privilege::Query, Object::Collection(COLL), DB));
}

#[test]
fn grants_are_validated() {
    let mut s = state();
    let base = GrantTarget {
        role: "r",
        object_type: ObjectType::Collection,
        object_name: COLL,
        db_name: DB,
        privilege: "Search",
    };
    type Expect = fn(&SecurityError) -> bool;
    let cases: [(GrantTarget<'_>, Expect); 6] = [
        (GrantTarget { role: "admin", ..base }, |e| matches!(e, SecurityError::BuiltinRole { .. })),
        (GrantTarget { role: "nope", ..base }, |e| matches!(e, SecurityError::RoleNotFound { .. })),
        (GrantTarget { privilege: "search", ..base }, |e| {
            matches!(e, SecurityError::InvalidPrivilege { .. })
        }),
        (GrantTarget { object_type: ObjectType::Global, ..base }, |e| {
            matches!(e, SecurityError::InvalidGrant { .. })
        }),
        (GrantTarget { object_name: "bad name", ..base }, |e| {
            matches!(e, SecurityError::InvalidName { .. })
        }),
        (GrantTarget { db_name: "", ..base }, |e| matches!(e, SecurityError::InvalidName { .. })),
    ];
    for (target, expected) in cases {
        let err = s.grant(&target, "root").unwrap_err();
        assert!(expected(&err), "{target:?}: {err:?}");
    }
    assert!(s.grant(&base, "root").unwrap());
    assert!(!s.grant(&base, "root").unwrap(), "granting twice is a no-op");
}

#[test]
fn visibility_follows_collection_privileges_and_database_grants() {
    let mut s = state();
    assert!(!s.visible("alice", DB, COLL) && !s.visible_database("alice", DB));
    grant_v2(&mut s, "r", "DatabaseReadOnly", DB, "*");
    assert!(s.visible_database("alice", DB) && !s.visible_database("alice", "db2"));
    assert!(!s.visible("alice", DB, COLL), "database privileges do not reveal collections");
    grant_v2(&mut s, "r", "Query", DB, COLL);
    assert!(s.visible("alice", DB, COLL));
    assert!(!s.visible("alice", DB, "c2") && !s.visible("alice", "db2", COLL));
    grant_v2(&mut s, "r", "CollectionReadOnly", "*", "*");
    assert!(s.visible("alice", "db2", "c2") && s.visible_database("alice", "db7"));
    assert!(!s.visible("bob", DB, COLL) && !s.visible_database("bob", DB));
}

fn arb_grant() -> impl Strategy<Value = (usize, ObjectType, &'static str, &'static str, String)> {
    let privileges: Vec<String> = Privilege::VARIANTS
        .iter()
        .map(|p| p.name().to_owned())
        .chain(BuiltinGroup::VARIANTS.iter().map(|g| g.name().to_owned()))
        .chain(["g1".to_owned(), "*".to_owned()])
        .collect();
    (
        0..3usize,
        prop::sample::select(ObjectType::VARIANTS.to_vec()),
        prop::sample::select(vec!["*", "c1", "c2", "alice", "nobody"]),
        prop::sample::select(vec!["*", "db1", "db2"]),
        prop::sample::select(privileges),
    )
}

proptest! {
    /// Whatever grants roles hold (public excluded), a user without roles may do nothing but
    /// read and update their own user object.
    #[test]
    fn a_user_without_roles_is_denied_everything_but_their_own_user_object(
        grants in prop::collection::vec(arb_grant(), 0..40),
        members in prop::collection::vec(prop::sample::select(vec!["All", "Search", "CreateDatabase", "UpdateUser"]), 0..4),
        memberships in prop::collection::vec((0..3usize, prop::bool::ANY), 0..6),
    ) {
        let mut s = SecurityState::initial(test_hash(), 0);
        s.create_user("alice", test_hash(), 0).unwrap();
        s.create_user("nobody", test_hash(), 0).unwrap();
        s.create_privilege_group("g1").unwrap();
        let members: Vec<&str> = members.into_iter().filter(|m| *m != "All").collect();
        s.add_privileges_to_group("g1", &members).unwrap();
        let roles = ["r0", "r1", "r2"];
        for role in roles {
            s.create_role(role).unwrap();
        }
        for (role, admin) in memberships {
            s.add_user_to_role("alice", roles[role]).unwrap();
            if admin {
                s.add_user_to_role("alice", "admin").unwrap();
            }
        }
        for (role, object_type, name, db, privilege) in grants {
            let name = if object_type == ObjectType::Global { "*" } else { name };
            let target = GrantTarget { role: roles[role], object_type, object_name: name, db_name: db, privilege: &privilege };
            s.grant(&target, "root").unwrap();
        }
        for p in Privilege::VARIANTS.iter().copied() {
            for object in OBJECTS {
                for db in DBS {
                    let own = object == Object::User("nobody")
                        && matches!(p, Privilege::UpdateUser | Privilege::SelectUser);
                    prop_assert_eq!(s.is_allowed("nobody", p, &object, db), own, "{} {:?} {}", p, object, db);
                    prop_assert_eq!(s.is_allowed("ghost", p, &object, db), false);
                }
            }
        }
        prop_assert!(!s.visible("nobody", "db1", "c1") && !s.visible_database("nobody", "db1"));
    }
}

#[test]
fn a_principal_from_a_key_counts_only_the_roles_of_both_key_and_user() {
    let mut s = state();
    s.create_role("w").unwrap();
    s.add_user_to_role("alice", "w").unwrap();
    grant(&mut s, ObjectType::Collection, COLL, DB, "Search");
    grant_v2(&mut s, "w", "Insert", DB, COLL);
    let key = |roles: &[&str]| Principal {
        user: "alice".to_owned(),
        roles: Some(roles.iter().map(|r| (*r).to_owned()).collect()),
        api_key: None,
    };
    let object = Object::Collection(COLL);
    assert!(s.is_allowed_principal(&key(&["r"]), Privilege::Search, &object, DB));
    assert!(!s.is_allowed_principal(&key(&["r"]), Privilege::Insert, &object, DB));
    assert!(s.is_allowed_principal(&key(&["w"]), Privilege::Insert, &object, DB));
    // A role the user does not hold counts for nothing, even if the key names it.
    assert!(!s.is_allowed_principal(&key(&["admin"]), Privilege::Insert, &object, DB));
    assert!(!s.is_admin_principal(&key(&["admin"])));
    let denied = s.check_principal(&key(&[]), Privilege::Search, &object, DB).unwrap_err();
    assert_eq!(
        denied.to_string(),
        "PrivilegeSearch: permission deny to alice in the `db1` database"
    );
    let everything = Principal::unrestricted("alice");
    assert!(s.is_allowed_principal(&everything, Privilege::Insert, &object, DB));
    assert_eq!(s.effective_roles(&key(&["w", "admin", "ghost"])), ["w"]);
}

proptest! {
    /// A principal restricted to some roles is decided exactly like a user holding the
    /// intersection of those roles and the user's: never more than the user, whatever the
    /// grants, groups and memberships.
    #[test]
    fn a_restricted_principal_is_the_user_with_fewer_roles(
        grants in prop::collection::vec(arb_grant(), 0..40),
        memberships in prop::collection::vec((0..3usize, prop::bool::ANY), 0..6),
        restriction in prop::collection::vec(prop::sample::select(vec!["r0", "r1", "r2", "admin", "ghost"]), 0..5),
    ) {
        let mut s = SecurityState::initial(test_hash(), 0);
        s.create_user("alice", test_hash(), 0).unwrap();
        s.create_user("twin", test_hash(), 0).unwrap();
        s.create_privilege_group("g1").unwrap();
        s.add_privileges_to_group("g1", &["Search", "CreateDatabase"]).unwrap();
        let roles = ["r0", "r1", "r2"];
        for role in roles {
            s.create_role(role).unwrap();
        }
        for (role, admin) in memberships {
            s.add_user_to_role("alice", roles[role]).unwrap();
            if admin {
                s.add_user_to_role("alice", "admin").unwrap();
            }
        }
        for (role, object_type, name, db, privilege) in grants {
            let name = if object_type == ObjectType::Global { "*" } else { name };
            let target = GrantTarget { role: roles[role], object_type, object_name: name, db_name: db, privilege: &privilege };
            s.grant(&target, "root").unwrap();
        }
        let alice_roles = s.user_roles("alice").unwrap();
        for role in &alice_roles {
            if restriction.contains(&role.as_str()) {
                s.add_user_to_role("twin", role).unwrap();
            }
        }
        let key = Principal {
            user: "alice".to_owned(),
            roles: Some(restriction.iter().map(|r| (*r).to_owned()).collect()),
            api_key: None,
        };
        let full = Principal::unrestricted("alice");
        for p in Privilege::VARIANTS.iter().copied() {
            for object in OBJECTS {
                for db in DBS {
                    let restricted = s.is_allowed_principal(&key, p, &object, db);
                    let user = s.is_allowed("alice", p, &object, db);
                    prop_assert!(!restricted || user, "{} {:?} {}", p, object, db);
                    prop_assert_eq!(s.is_allowed_principal(&full, p, &object, db), user);
                    let own = object == Object::User("alice")
                        && matches!(p, Privilege::UpdateUser | Privilege::SelectUser);
                    if !own {
                        prop_assert_eq!(restricted, s.is_allowed("twin", p, &object, db), "{} {:?} {}", p, object, db);
                    }
                }
            }
            for (db, collection) in [("db1", "c1"), ("db2", "c2")] {
                prop_assert_eq!(s.visible_principal(&key, db, collection), s.visible("twin", db, collection));
                prop_assert_eq!(s.visible_database_principal(&key, db), s.visible_database("twin", db));
            }
        }
        prop_assert_eq!(s.is_admin_principal(&key), s.is_admin("twin"));
        prop_assert_eq!(s.effective_roles(&key), s.user_roles("twin").unwrap());
    }
}
