//! The format of `security.qvs`: one block file (kind `QVSECURE`, version 2) with one block.
//!
//! All integers are little-endian; strings and lists are length-prefixed (`u64`), as in
//! `quiver_storage::codec`. Privileges are stored by their API names, not by enum position, so
//! reordering the enum cannot change a file's meaning.
//!
//! ```text
//! next_generation u64
//! groups:   len, then per group (ascending names):  name str, len, privilege names str…
//! roles:    len, then per role (ascending names, `public` included, `admin` never):
//!           name str, len, then per grant (ascending): object_type u8 (0 Global,
//!           1 Collection, 2 User), object_name str, db_name str, privilege str, grantor str
//! users:    len, then per user (ascending names): name str, hash str (PHC),
//!           created_unix_secs u64, generation u64, len, role names str…
//! api_keys: (version 2 only) len, then per key (ascending ids): id str (16 lowercase hex),
//!           user str, name str, digest [u8; 32], created_unix_secs u64,
//!           has_expiry bool (u8), expires_unix_secs u64 (0 when has_expiry is false),
//!           len, role names str… (ascending)
//! ```
//!
//! Version 1 (before API keys) is the same without the `api_keys` section; it is still read
//! (as a state with no keys) and is rewritten as version 2 by the next change.
//!
//! Decoding trusts nothing: the block file's checksums come first, then every count and length
//! is bounded (by the store's limits and the bytes remaining) before anything is allocated,
//! every name, hash and privilege is validated, users, roles and groups are in strictly
//! ascending name order and grants and group members have no duplicates (their order follows
//! enums, which may be reordered, so it is not checked), and the invariants of
//! `SecurityState` are checked. Any failure is [`SecurityError::Corrupt`] naming the file and
//! the offset of the bad record.

use std::collections::{BTreeMap, BTreeSet};

use quiver_storage::codec::{CodecError, Decoder, Encoder};
use quiver_storage::{BlockFile, BlockFileWriter};

use crate::SecurityError;
use crate::api_key::{
    API_KEY_ID_LEN, ApiKeyRecord, KeyDigest, MAX_API_KEY_NAME_LEN, MAX_API_KEYS,
    MAX_API_KEYS_PER_USER, api_key_name_rule, is_key_id,
};
use crate::groups::BuiltinGroup;
use crate::hash::{HashedPassword, MAX_HASH_LEN};
use crate::names::{
    ADMIN_ROLE, ANY, MAX_ROLE_NAME_LEN, MAX_USER_NAME_LEN, PUBLIC_ROLE, ROOT_USER, role_name_rule,
    user_name_rule, validate_db_name, validate_object_name,
};
use crate::privilege::{ObjectType, Privilege};
use crate::rbac::{GrantKey, PrivilegeRef};
use crate::state::{
    MAX_GRANTS, MAX_PRIVILEGE_GROUPS, MAX_ROLES, MAX_USERS, RoleRecord, SecurityState, UserRecord,
    check_group_name,
};

/// The file's key at the root of the backend.
pub const SECURITY_FILE: &str = "security.qvs";
const KIND: [u8; 8] = *b"QVSECURE";
/// The version written.
const VERSION: u32 = 2;
/// The oldest version read.
const OLDEST_VERSION: u32 = 1;
/// Longest privilege name (`PrivilegeGroupCollectionReadWrite` and custom group names).
const MAX_PRIVILEGE_NAME_LEN: u64 = MAX_ROLE_NAME_LEN as u64;
/// Longest object or database name in a grant (`quiver_core::MAX_NAME_LEN`).
const MAX_OBJECT_NAME_LEN: u64 = quiver_core::MAX_NAME_LEN as u64;

pub(crate) fn encode(state: &SecurityState) -> Vec<u8> {
    let mut enc = Encoder::new();
    enc.put_u64(state.next_generation);

    enc.put_len(state.groups.len());
    for (name, privileges) in &state.groups {
        enc.put_str(name);
        enc.put_len(privileges.len());
        for p in privileges {
            enc.put_str(p.name());
        }
    }

    enc.put_len(state.roles.len());
    for (name, role) in &state.roles {
        enc.put_str(name);
        enc.put_len(role.grants.len());
        for (key, grantor) in &role.grants {
            enc.put_u8(object_type_code(key.object_type));
            enc.put_str(&key.object_name);
            enc.put_str(&key.db_name);
            enc.put_str(key.privilege.name());
            enc.put_str(grantor);
        }
    }

    enc.put_len(state.users.len());
    for (name, user) in &state.users {
        enc.put_str(name);
        enc.put_str(user.hash.as_str());
        enc.put_u64(user.created_unix_secs);
        enc.put_u64(user.generation);
        enc.put_len(user.roles.len());
        for role in &user.roles {
            enc.put_str(role);
        }
    }

    enc.put_len(state.api_keys.len());
    for (id, key) in &state.api_keys {
        enc.put_str(id);
        enc.put_str(&key.user);
        enc.put_str(&key.name);
        enc.put_raw(&key.digest.0);
        enc.put_u64(key.created_unix_secs);
        enc.put_bool(key.expires_unix_secs.is_some());
        enc.put_u64(key.expires_unix_secs.unwrap_or(0));
        enc.put_len(key.roles.len());
        for role in &key.roles {
            enc.put_str(role);
        }
    }

    let mut writer = BlockFileWriter::new(KIND, VERSION);
    writer.add_block(enc.as_bytes());
    writer.finish()
}

pub(crate) fn decode(bytes: Vec<u8>) -> Result<SecurityState, SecurityError> {
    let file = BlockFile::parse(SECURITY_FILE, bytes, KIND, VERSION)?;
    let corrupt = |offset: u64, reason: &str| SecurityError::Corrupt {
        path: SECURITY_FILE.to_owned(),
        offset,
        reason: reason.to_owned(),
    };
    let version = file.version();
    if version < OLDEST_VERSION {
        // The header's checksum matched, so this is not damage in transit: no such version.
        return Err(corrupt(8, "unknown format version"));
    }
    if file.num_blocks() != 1 {
        return Err(corrupt(0, "expected exactly one block"));
    }
    let block = file.block(0).ok_or_else(|| corrupt(0, "missing block"))?;
    let base = file.block_offset(0).unwrap_or(0);
    decode_body(&mut Decoder::new(block), version).map_err(|err| {
        corrupt(base.saturating_add(u64::try_from(err.offset).unwrap_or(u64::MAX)), err.reason)
    })
}

fn object_type_code(object_type: ObjectType) -> u8 {
    match object_type {
        ObjectType::Global => 0,
        ObjectType::Collection => 1,
        ObjectType::User => 2,
    }
}

fn fail<T>(offset: usize, reason: &'static str) -> Result<T, CodecError> {
    Err(CodecError { offset, reason })
}

fn decode_body(dec: &mut Decoder<'_>, version: u32) -> Result<SecurityState, CodecError> {
    let next_generation = dec.get_u64()?;
    if next_generation == 0 {
        return fail(0, "next generation is zero");
    }
    let groups = decode_groups(dec)?;
    let roles = decode_roles(dec, &groups)?;
    let users = decode_users(dec, &roles, next_generation)?;
    let api_keys = if version >= 2 { decode_api_keys(dec, &users)? } else { BTreeMap::new() };
    dec.finish()?;
    Ok(SecurityState { next_generation, users, roles, groups, api_keys })
}

fn decode_groups(
    dec: &mut Decoder<'_>,
) -> Result<BTreeMap<String, BTreeSet<Privilege>>, CodecError> {
    let n_groups = dec.get_len(MAX_PRIVILEGE_GROUPS as u64)?;
    let mut groups = BTreeMap::new();
    let mut previous: Option<&str> = None;
    for _ in 0..n_groups {
        let at = dec.position();
        let name = dec.get_str(MAX_ROLE_NAME_LEN as u64)?;
        if check_group_name(name).is_err() {
            return fail(at, "invalid privilege group name");
        }
        if previous.is_some_and(|p| p >= name) {
            return fail(at, "privilege groups are not in ascending order");
        }
        previous = Some(name);
        let n_privileges = dec.get_len(Privilege::VARIANTS.len() as u64)?;
        let mut privileges = BTreeSet::new();
        for _ in 0..n_privileges {
            let at = dec.position();
            let privilege = match Privilege::parse(dec.get_str(MAX_PRIVILEGE_NAME_LEN)?) {
                Some(p) if p != Privilege::All => p,
                Some(_) | None => return fail(at, "invalid privilege in a privilege group"),
            };
            if !privileges.insert(privilege) {
                return fail(at, "duplicate privilege in a privilege group");
            }
        }
        groups.insert(name.to_owned(), privileges);
    }
    Ok(groups)
}

fn decode_roles(
    dec: &mut Decoder<'_>,
    groups: &BTreeMap<String, BTreeSet<Privilege>>,
) -> Result<BTreeMap<String, RoleRecord>, CodecError> {
    let at_roles = dec.position();
    let n_roles = dec.get_len(MAX_ROLES as u64 + 1)?;
    let mut roles = BTreeMap::new();
    let mut previous: Option<&str> = None;
    let mut n_grants_total = 0usize;
    for _ in 0..n_roles {
        let at = dec.position();
        let name = dec.get_str(MAX_ROLE_NAME_LEN as u64)?;
        if role_name_rule(name).is_some() || name == ADMIN_ROLE {
            return fail(at, "invalid role name");
        }
        if previous.is_some_and(|p| p >= name) {
            return fail(at, "roles are not in ascending order");
        }
        previous = Some(name);
        let n_grants = dec.get_len(MAX_GRANTS as u64)?;
        n_grants_total = n_grants_total.saturating_add(n_grants);
        if n_grants_total > MAX_GRANTS {
            return fail(at, "too many grants");
        }
        let mut grants = BTreeMap::new();
        for _ in 0..n_grants {
            let at = dec.position();
            let (key, grantor) = decode_grant(dec, groups)?;
            if grants.insert(key, grantor).is_some() {
                return fail(at, "duplicate grant");
            }
        }
        roles.insert(name.to_owned(), RoleRecord { grants });
    }
    if !roles.contains_key(PUBLIC_ROLE) {
        return fail(at_roles, "the public role is missing");
    }
    Ok(roles)
}

/// One grant; an invalid field is reported at the start of the grant.
fn decode_grant(
    dec: &mut Decoder<'_>,
    groups: &BTreeMap<String, BTreeSet<Privilege>>,
) -> Result<(GrantKey, String), CodecError> {
    let at = dec.position();
    let invalid = |reason| CodecError { offset: at, reason };
    let object_type = match dec.get_u8()? {
        0 => ObjectType::Global,
        1 => ObjectType::Collection,
        2 => ObjectType::User,
        _ => return Err(invalid("invalid grant object type")),
    };
    let object_name = dec.get_str(MAX_OBJECT_NAME_LEN)?;
    if validate_object_name(object_type, object_name).is_err() {
        return Err(invalid("invalid grant object name"));
    }
    let db_name = dec.get_str(MAX_OBJECT_NAME_LEN)?;
    if db_name != ANY && validate_db_name(db_name).is_err() {
        return Err(invalid("invalid grant database name"));
    }
    let privilege_name = dec.get_str(MAX_PRIVILEGE_NAME_LEN)?;
    let privilege = if let Some(p) = Privilege::parse(privilege_name) {
        PrivilegeRef::Privilege(p)
    } else if let Some(g) = BuiltinGroup::parse(privilege_name) {
        PrivilegeRef::Builtin(g)
    } else if groups.contains_key(privilege_name) {
        PrivilegeRef::Custom(privilege_name.to_owned())
    } else {
        return Err(invalid("grant names an unknown privilege or group"));
    };
    let grantor = dec.get_str(MAX_USER_NAME_LEN as u64)?;
    if user_name_rule(grantor).is_some() {
        return Err(invalid("invalid grantor name"));
    }
    let key = GrantKey {
        object_type,
        object_name: object_name.to_owned(),
        db_name: db_name.to_owned(),
        privilege,
    };
    Ok((key, grantor.to_owned()))
}

fn decode_users(
    dec: &mut Decoder<'_>,
    roles: &BTreeMap<String, RoleRecord>,
    next_generation: u64,
) -> Result<BTreeMap<String, UserRecord>, CodecError> {
    let at_users = dec.position();
    let n_users = dec.get_len(MAX_USERS as u64)?;
    let mut users = BTreeMap::new();
    let mut previous: Option<&str> = None;
    for _ in 0..n_users {
        let at = dec.position();
        let name = dec.get_str(MAX_USER_NAME_LEN as u64)?;
        if user_name_rule(name).is_some() {
            return fail(at, "invalid user name");
        }
        if previous.is_some_and(|p| p >= name) {
            return fail(at, "users are not in ascending order");
        }
        previous = Some(name);
        let at_hash = dec.position();
        let hash = match HashedPassword::parse(dec.get_str(MAX_HASH_LEN as u64)?) {
            Ok(hash) => hash,
            Err(reason) => return fail(at_hash, reason),
        };
        let created_unix_secs = dec.get_u64()?;
        let at_generation = dec.position();
        let generation = dec.get_u64()?;
        if generation == 0 || generation >= next_generation {
            return fail(at_generation, "user generation is zero or not below the next generation");
        }
        let n_roles = dec.get_len(MAX_ROLES as u64 + 1)?;
        let mut user_roles = BTreeSet::new();
        let mut previous_role: Option<&str> = None;
        for _ in 0..n_roles {
            let at = dec.position();
            let role = dec.get_str(MAX_ROLE_NAME_LEN as u64)?;
            if role == PUBLIC_ROLE || !(role == ADMIN_ROLE || roles.contains_key(role)) {
                return fail(at, "user holds an unknown role");
            }
            if previous_role.is_some_and(|p| p >= role) {
                return fail(at, "user roles are not in ascending order");
            }
            previous_role = Some(role);
            user_roles.insert(role.to_owned());
        }
        users.insert(
            name.to_owned(),
            UserRecord { hash, created_unix_secs, generation, roles: user_roles },
        );
    }
    let root_is_admin = users.get(ROOT_USER).is_some_and(|root| root.roles.contains(ADMIN_ROLE));
    if !root_is_admin {
        return fail(at_users, "the root user is missing or does not hold admin");
    }
    Ok(users)
}

fn decode_api_keys(
    dec: &mut Decoder<'_>,
    users: &BTreeMap<String, UserRecord>,
) -> Result<BTreeMap<String, ApiKeyRecord>, CodecError> {
    let n_keys = dec.get_len(MAX_API_KEYS as u64)?;
    let mut keys = BTreeMap::new();
    // (user, name) of every key: names are unique per user.
    let mut names: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut per_user: BTreeMap<&str, usize> = BTreeMap::new();
    let mut previous: Option<&str> = None;
    for _ in 0..n_keys {
        let at = dec.position();
        let id = dec.get_str(API_KEY_ID_LEN as u64)?;
        if !is_key_id(id) {
            return fail(at, "invalid API key id");
        }
        if previous.is_some_and(|p| p >= id) {
            return fail(at, "API keys are not in ascending order");
        }
        previous = Some(id);
        let at_user = dec.position();
        let user = dec.get_str(MAX_USER_NAME_LEN as u64)?;
        let Some(owner) = users.get(user) else {
            return fail(at_user, "API key of an unknown user");
        };
        let at_name = dec.position();
        let name = dec.get_str(MAX_API_KEY_NAME_LEN as u64)?;
        if api_key_name_rule(name).is_some() {
            return fail(at_name, "invalid API key name");
        }
        if !names.insert((user, name)) {
            return fail(at_name, "duplicate API key name for a user");
        }
        let count = per_user.entry(user).or_insert(0);
        *count += 1;
        if *count > MAX_API_KEYS_PER_USER {
            return fail(at, "too many API keys for a user");
        }
        let digest = KeyDigest(dec.get_array::<32>()?);
        let created_unix_secs = dec.get_u64()?;
        let at_expiry = dec.position();
        let has_expiry = dec.get_bool()?;
        let expires = dec.get_u64()?;
        let expires_unix_secs = match (has_expiry, expires) {
            (false, 0) => None,
            (true, expires) if expires > created_unix_secs => Some(expires),
            (false, _) | (true, _) => {
                return fail(at_expiry, "invalid API key expiry");
            }
        };
        let n_roles = dec.get_len(MAX_ROLES as u64 + 1)?;
        let mut key_roles = BTreeSet::new();
        let mut previous_role: Option<&str> = None;
        for _ in 0..n_roles {
            let at = dec.position();
            let role = dec.get_str(MAX_ROLE_NAME_LEN as u64)?;
            if !owner.roles.contains(role) {
                return fail(at, "API key holds a role its user does not");
            }
            if previous_role.is_some_and(|p| p >= role) {
                return fail(at, "API key roles are not in ascending order");
            }
            previous_role = Some(role);
            key_roles.insert(role.to_owned());
        }
        let record = ApiKeyRecord {
            user: user.to_owned(),
            name: name.to_owned(),
            digest,
            created_unix_secs,
            expires_unix_secs,
            roles: key_roles,
        };
        keys.insert(id.to_owned(), record);
    }
    Ok(keys)
}

#[cfg(test)]
mod tests;
