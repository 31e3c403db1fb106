//! Milvus's privileges, object types and privilege levels.
//!
//! [`Privilege`] covers the `ObjectPrivilege` values that Milvus's RPCs check (the privilege
//! groups of `common.proto` are [`crate::BuiltinGroup`]s instead). Each has two spellings: the
//! API form (`Search`), which clients send and list, and the proto form (`PrivilegeSearch`),
//! which Milvus stores and puts in denial messages. Parsing is exact and case-sensitive, like
//! Milvus's lookup in the proto enum, so a name that Milvus would refuse is refused here too.
//!
//! Every privilege but `All` has a [`PrivilegeLevel`], taken from Milvus's built-in groups:
//! collection-level privileges act on one collection, database-level ones on a database (its
//! list of collections, its properties), cluster-level ones on the whole server.

use std::fmt;

/// The level at which a privilege acts; also the level of a built-in privilege group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PrivilegeLevel {
    Cluster,
    Database,
    Collection,
}

impl PrivilegeLevel {
    /// Milvus's name of the level (`milvuspb.PrivilegeLevel`).
    pub fn name(self) -> &'static str {
        match self {
            PrivilegeLevel::Cluster => "Cluster",
            PrivilegeLevel::Database => "Database",
            PrivilegeLevel::Collection => "Collection",
        }
    }
}

/// The object type of a Milvus (v1) grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ObjectType {
    /// The whole server, or everything in the grant's database.
    Global,
    /// One collection (or `*`: every collection) of the grant's database.
    Collection,
    /// One user (or `*`: every user).
    User,
}

impl ObjectType {
    /// Every object type.
    pub const VARIANTS: &'static [ObjectType] =
        &[ObjectType::Global, ObjectType::Collection, ObjectType::User];

    /// Milvus's name (`commonpb.ObjectType`).
    pub fn name(self) -> &'static str {
        match self {
            ObjectType::Global => "Global",
            ObjectType::Collection => "Collection",
            ObjectType::User => "User",
        }
    }

    /// The object type named exactly `name` (case-sensitive, as in Milvus).
    pub fn parse(name: &str) -> Option<ObjectType> {
        ObjectType::VARIANTS.iter().copied().find(|t| t.name() == name)
    }
}

impl fmt::Display for ObjectType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

macro_rules! privileges {
    ($($variant:ident => $level:expr,)*) => {
        /// A Milvus object privilege; see the module documentation.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Privilege {
            $($variant,)*
        }

        impl Privilege {
            /// Every privilege, `All` first.
            pub const VARIANTS: &'static [Privilege] = &[$(Privilege::$variant,)*];

            /// The API form, as clients send it: `Search`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Privilege::$variant => stringify!($variant),)*
                }
            }

            /// The proto form, as Milvus stores it and names it in denials: `PrivilegeSearch`.
            pub fn proto_name(self) -> &'static str {
                match self {
                    $(Privilege::$variant => concat!("Privilege", stringify!($variant)),)*
                }
            }

            /// The level the privilege acts at; `None` for `All`, which is every level.
            pub fn level(self) -> Option<PrivilegeLevel> {
                use PrivilegeLevel::{Cluster, Collection, Database};
                match self {
                    $(Privilege::$variant => $level,)*
                }
            }
        }
    };
}

privileges! {
    All => None,
    CreateCollection => Some(Database),
    DropCollection => Some(Database),
    DescribeCollection => Some(Collection),
    ShowCollections => Some(Database),
    Load => Some(Collection),
    Release => Some(Collection),
    Compaction => Some(Collection),
    Insert => Some(Collection),
    Delete => Some(Collection),
    Upsert => Some(Collection),
    GetStatistics => Some(Collection),
    CreateIndex => Some(Collection),
    IndexDetail => Some(Collection),
    DropIndex => Some(Collection),
    Search => Some(Collection),
    Flush => Some(Collection),
    Query => Some(Collection),
    LoadBalance => Some(Collection),
    Import => Some(Collection),
    CreateOwnership => Some(Cluster),
    UpdateUser => Some(Cluster),
    DropOwnership => Some(Cluster),
    SelectOwnership => Some(Cluster),
    ManageOwnership => Some(Cluster),
    SelectUser => Some(Cluster),
    CreateResourceGroup => Some(Cluster),
    DropResourceGroup => Some(Cluster),
    DescribeResourceGroup => Some(Cluster),
    ListResourceGroups => Some(Cluster),
    UpdateResourceGroups => Some(Cluster),
    TransferNode => Some(Cluster),
    TransferReplica => Some(Cluster),
    GetLoadingProgress => Some(Collection),
    GetLoadState => Some(Collection),
    RenameCollection => Some(Cluster),
    CreateDatabase => Some(Cluster),
    DropDatabase => Some(Cluster),
    ListDatabases => Some(Cluster),
    AlterDatabase => Some(Database),
    DescribeDatabase => Some(Database),
    FlushAll => Some(Cluster),
    CreatePartition => Some(Collection),
    DropPartition => Some(Collection),
    ShowPartitions => Some(Collection),
    HasPartition => Some(Collection),
    GetFlushState => Some(Collection),
    CreateAlias => Some(Collection),
    DropAlias => Some(Collection),
    DescribeAlias => Some(Collection),
    ListAliases => Some(Collection),
    BackupRBAC => Some(Cluster),
    RestoreRBAC => Some(Cluster),
    CreatePrivilegeGroup => Some(Cluster),
    DropPrivilegeGroup => Some(Cluster),
    ListPrivilegeGroups => Some(Cluster),
    OperatePrivilegeGroup => Some(Cluster),
    // Quiver's own: a delete or drop past the mass-deletion guard needs it (besides the
    // request's force flag). No built-in group holds it; admin, a grant of it or `*` does.
    ForceDelete => Some(Collection),
}

impl Privilege {
    /// The privilege named `name` in the API form (`Search`) or the proto form
    /// (`PrivilegeSearch`); `*`, Milvus's "any word", is `All`. Case-sensitive.
    pub fn parse(name: &str) -> Option<Privilege> {
        if name == crate::names::ANY {
            return Some(Privilege::All);
        }
        let api = name.strip_prefix("Privilege").unwrap_or(name);
        Privilege::VARIANTS.iter().copied().find(|p| p.name() == api)
    }
}

impl fmt::Display for Privilege {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests;
