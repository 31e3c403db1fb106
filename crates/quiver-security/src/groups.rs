//! Milvus's nine built-in privilege groups, with the contents of Milvus's defaults
//! (`common.security.rbac.*` in `configure_common.md` and `paramtable/rbac_param.go`).
//!
//! Each level has a read-only, a read-write and an admin group, each containing the one before.
//! Levels do not cascade: `ClusterAdmin` holds no collection privilege, so granting it does not
//! let anyone search. Quiver does not let operators redefine the built-in groups (Milvus's
//! `overrideBuiltInPrivilegeGroups`); custom groups serve that need.

use std::fmt;

use crate::privilege::{Privilege, PrivilegeLevel};

use Privilege as P;

const COLLECTION_READ_ONLY: &[Privilege] = &[
    P::Query,
    P::Search,
    P::IndexDetail,
    P::GetFlushState,
    P::GetLoadState,
    P::GetLoadingProgress,
    P::HasPartition,
    P::ShowPartitions,
    P::DescribeCollection,
    P::DescribeAlias,
    P::GetStatistics,
    P::ListAliases,
];

const COLLECTION_READ_WRITE: &[Privilege] = &[
    P::Query,
    P::Search,
    P::IndexDetail,
    P::GetFlushState,
    P::GetLoadState,
    P::GetLoadingProgress,
    P::HasPartition,
    P::ShowPartitions,
    P::DescribeCollection,
    P::DescribeAlias,
    P::GetStatistics,
    P::ListAliases,
    P::Load,
    P::Release,
    P::Insert,
    P::Delete,
    P::Upsert,
    P::Import,
    P::Flush,
    P::Compaction,
    P::LoadBalance,
    P::CreateIndex,
    P::DropIndex,
    P::CreatePartition,
    P::DropPartition,
];

const COLLECTION_ADMIN: &[Privilege] = &[
    P::Query,
    P::Search,
    P::IndexDetail,
    P::GetFlushState,
    P::GetLoadState,
    P::GetLoadingProgress,
    P::HasPartition,
    P::ShowPartitions,
    P::DescribeCollection,
    P::DescribeAlias,
    P::GetStatistics,
    P::ListAliases,
    P::Load,
    P::Release,
    P::Insert,
    P::Delete,
    P::Upsert,
    P::Import,
    P::Flush,
    P::Compaction,
    P::LoadBalance,
    P::CreateIndex,
    P::DropIndex,
    P::CreatePartition,
    P::DropPartition,
    P::CreateAlias,
    P::DropAlias,
];

const DATABASE_READ_ONLY: &[Privilege] = &[P::ShowCollections, P::DescribeDatabase];

const DATABASE_READ_WRITE: &[Privilege] =
    &[P::ShowCollections, P::DescribeDatabase, P::AlterDatabase];

const DATABASE_ADMIN: &[Privilege] = &[
    P::ShowCollections,
    P::DescribeDatabase,
    P::AlterDatabase,
    P::CreateCollection,
    P::DropCollection,
];

const CLUSTER_READ_ONLY: &[Privilege] = &[
    P::ListDatabases,
    P::SelectOwnership,
    P::SelectUser,
    P::DescribeResourceGroup,
    P::ListResourceGroups,
    P::ListPrivilegeGroups,
];

const CLUSTER_READ_WRITE: &[Privilege] = &[
    P::ListDatabases,
    P::SelectOwnership,
    P::SelectUser,
    P::DescribeResourceGroup,
    P::ListResourceGroups,
    P::ListPrivilegeGroups,
    P::FlushAll,
    P::TransferNode,
    P::TransferReplica,
    P::UpdateResourceGroups,
];

const CLUSTER_ADMIN: &[Privilege] = &[
    P::ListDatabases,
    P::SelectOwnership,
    P::SelectUser,
    P::DescribeResourceGroup,
    P::ListResourceGroups,
    P::ListPrivilegeGroups,
    P::FlushAll,
    P::TransferNode,
    P::TransferReplica,
    P::UpdateResourceGroups,
    P::BackupRBAC,
    P::RestoreRBAC,
    P::CreateDatabase,
    P::DropDatabase,
    P::CreateOwnership,
    P::DropOwnership,
    P::ManageOwnership,
    P::CreateResourceGroup,
    P::DropResourceGroup,
    P::UpdateUser,
    P::RenameCollection,
    P::CreatePrivilegeGroup,
    P::DropPrivilegeGroup,
    P::OperatePrivilegeGroup,
];

/// A built-in privilege group; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BuiltinGroup {
    CollectionReadOnly,
    CollectionReadWrite,
    CollectionAdmin,
    DatabaseReadOnly,
    DatabaseReadWrite,
    DatabaseAdmin,
    ClusterReadOnly,
    ClusterReadWrite,
    ClusterAdmin,
}

impl BuiltinGroup {
    /// Every built-in group, in Milvus's listing order by level.
    pub const VARIANTS: &'static [BuiltinGroup] = &[
        BuiltinGroup::CollectionReadOnly,
        BuiltinGroup::CollectionReadWrite,
        BuiltinGroup::CollectionAdmin,
        BuiltinGroup::DatabaseReadOnly,
        BuiltinGroup::DatabaseReadWrite,
        BuiltinGroup::DatabaseAdmin,
        BuiltinGroup::ClusterReadOnly,
        BuiltinGroup::ClusterReadWrite,
        BuiltinGroup::ClusterAdmin,
    ];

    /// The API form of the name: `CollectionReadOnly`.
    pub fn name(self) -> &'static str {
        match self {
            BuiltinGroup::CollectionReadOnly => "CollectionReadOnly",
            BuiltinGroup::CollectionReadWrite => "CollectionReadWrite",
            BuiltinGroup::CollectionAdmin => "CollectionAdmin",
            BuiltinGroup::DatabaseReadOnly => "DatabaseReadOnly",
            BuiltinGroup::DatabaseReadWrite => "DatabaseReadWrite",
            BuiltinGroup::DatabaseAdmin => "DatabaseAdmin",
            BuiltinGroup::ClusterReadOnly => "ClusterReadOnly",
            BuiltinGroup::ClusterReadWrite => "ClusterReadWrite",
            BuiltinGroup::ClusterAdmin => "ClusterAdmin",
        }
    }

    /// The group named `name` in the API form (`CollectionReadOnly`) or the proto form
    /// (`PrivilegeGroupCollectionReadOnly`). Case-sensitive, like [`Privilege::parse`].
    pub fn parse(name: &str) -> Option<BuiltinGroup> {
        let api = name.strip_prefix("PrivilegeGroup").unwrap_or(name);
        BuiltinGroup::VARIANTS.iter().copied().find(|g| g.name() == api)
    }

    /// The privileges the group grants, exactly Milvus's default list.
    pub fn privileges(self) -> &'static [Privilege] {
        match self {
            BuiltinGroup::CollectionReadOnly => COLLECTION_READ_ONLY,
            BuiltinGroup::CollectionReadWrite => COLLECTION_READ_WRITE,
            BuiltinGroup::CollectionAdmin => COLLECTION_ADMIN,
            BuiltinGroup::DatabaseReadOnly => DATABASE_READ_ONLY,
            BuiltinGroup::DatabaseReadWrite => DATABASE_READ_WRITE,
            BuiltinGroup::DatabaseAdmin => DATABASE_ADMIN,
            BuiltinGroup::ClusterReadOnly => CLUSTER_READ_ONLY,
            BuiltinGroup::ClusterReadWrite => CLUSTER_READ_WRITE,
            BuiltinGroup::ClusterAdmin => CLUSTER_ADMIN,
        }
    }

    /// True if the group grants `privilege`.
    pub fn contains(self, privilege: Privilege) -> bool {
        self.privileges().contains(&privilege)
    }

    /// The level of every privilege in the group.
    pub fn level(self) -> PrivilegeLevel {
        match self {
            BuiltinGroup::CollectionReadOnly
            | BuiltinGroup::CollectionReadWrite
            | BuiltinGroup::CollectionAdmin => PrivilegeLevel::Collection,
            BuiltinGroup::DatabaseReadOnly
            | BuiltinGroup::DatabaseReadWrite
            | BuiltinGroup::DatabaseAdmin => PrivilegeLevel::Database,
            BuiltinGroup::ClusterReadOnly
            | BuiltinGroup::ClusterReadWrite
            | BuiltinGroup::ClusterAdmin => PrivilegeLevel::Cluster,
        }
    }
}

impl fmt::Display for BuiltinGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests;
