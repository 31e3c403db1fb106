use std::collections::BTreeSet;

use super::BuiltinGroup;
use crate::privilege::{Privilege, PrivilegeLevel};

fn names(group: BuiltinGroup) -> BTreeSet<&'static str> {
    group.privileges().iter().map(|p| p.name()).collect()
}

fn set(list: &[&'static str]) -> BTreeSet<&'static str> {
    list.iter().copied().collect()
}

/// The documented contents (milvus-reference.md 4.2), written out independently of the code.
#[test]
fn builtin_groups_contain_exactly_the_documented_privileges() {
    let coll_ro = [
        "Query",
        "Search",
        "IndexDetail",
        "GetFlushState",
        "GetLoadState",
        "GetLoadingProgress",
        "HasPartition",
        "ShowPartitions",
        "DescribeCollection",
        "DescribeAlias",
        "GetStatistics",
        "ListAliases",
    ];
    let coll_rw_extra = [
        "Load",
        "Release",
        "Insert",
        "Delete",
        "Upsert",
        "Import",
        "Flush",
        "Compaction",
        "LoadBalance",
        "CreateIndex",
        "DropIndex",
        "CreatePartition",
        "DropPartition",
    ];
    let coll_admin_extra = ["CreateAlias", "DropAlias"];
    let db_ro = ["ShowCollections", "DescribeDatabase"];
    let cluster_ro = [
        "ListDatabases",
        "SelectOwnership",
        "SelectUser",
        "DescribeResourceGroup",
        "ListResourceGroups",
        "ListPrivilegeGroups",
    ];
    let cluster_rw_extra = ["FlushAll", "TransferNode", "TransferReplica", "UpdateResourceGroups"];
    let cluster_admin_extra = [
        "BackupRBAC",
        "RestoreRBAC",
        "CreateDatabase",
        "DropDatabase",
        "CreateOwnership",
        "DropOwnership",
        "ManageOwnership",
        "CreateResourceGroup",
        "DropResourceGroup",
        "UpdateUser",
        "RenameCollection",
        "CreatePrivilegeGroup",
        "DropPrivilegeGroup",
        "OperatePrivilegeGroup",
    ];

    let coll_rw: Vec<_> = coll_ro.iter().chain(&coll_rw_extra).copied().collect();
    let coll_admin: Vec<_> = coll_rw.iter().chain(&coll_admin_extra).copied().collect();
    let cluster_rw: Vec<_> = cluster_ro.iter().chain(&cluster_rw_extra).copied().collect();
    let cluster_admin: Vec<_> = cluster_rw.iter().chain(&cluster_admin_extra).copied().collect();

    assert_eq!(names(BuiltinGroup::CollectionReadOnly), set(&coll_ro));
    assert_eq!(names(BuiltinGroup::CollectionReadWrite), set(&coll_rw));
    assert_eq!(names(BuiltinGroup::CollectionAdmin), set(&coll_admin));
    assert_eq!(names(BuiltinGroup::DatabaseReadOnly), set(&db_ro));
    assert_eq!(
        names(BuiltinGroup::DatabaseReadWrite),
        set(&["ShowCollections", "DescribeDatabase", "AlterDatabase"])
    );
    assert_eq!(
        names(BuiltinGroup::DatabaseAdmin),
        set(&[
            "ShowCollections",
            "DescribeDatabase",
            "AlterDatabase",
            "CreateCollection",
            "DropCollection"
        ])
    );
    assert_eq!(names(BuiltinGroup::ClusterReadOnly), set(&cluster_ro));
    assert_eq!(names(BuiltinGroup::ClusterReadWrite), set(&cluster_rw));
    assert_eq!(names(BuiltinGroup::ClusterAdmin), set(&cluster_admin));

    for &group in BuiltinGroup::VARIANTS {
        assert_eq!(names(group).len(), group.privileges().len(), "{group} lists a duplicate");
    }
}

#[test]
fn every_privilege_of_a_group_has_the_group_level_and_admin_groups_cover_all_but_all_and_force_delete()
 {
    for &group in BuiltinGroup::VARIANTS {
        for &p in group.privileges() {
            assert_eq!(p.level(), Some(group.level()), "{p} in {group}");
        }
    }
    let admins =
        [BuiltinGroup::CollectionAdmin, BuiltinGroup::DatabaseAdmin, BuiltinGroup::ClusterAdmin];
    // `ForceDelete` (Quiver's, for the mass-deletion guard) is in no built-in group: it is
    // held only through the admin role or an explicit grant.
    for &p in Privilege::VARIANTS {
        let covered = admins.iter().any(|g| g.contains(p));
        assert_eq!(covered, p != Privilege::All && p != Privilege::ForceDelete, "{p}");
    }
    assert_eq!(BuiltinGroup::DatabaseAdmin.level(), PrivilegeLevel::Database);
}

#[test]
fn group_names_parse_in_both_forms_and_do_not_collide_with_privileges() {
    for &group in BuiltinGroup::VARIANTS {
        assert_eq!(BuiltinGroup::parse(group.name()), Some(group));
        assert_eq!(BuiltinGroup::parse(&format!("PrivilegeGroup{}", group.name())), Some(group));
        assert_eq!(Privilege::parse(group.name()), None);
    }
    assert_eq!(BuiltinGroup::parse("collectionreadonly"), None);
    assert_eq!(BuiltinGroup::parse("Search"), None);
}
