//! Authentication and authorization: who is calling, and may they do this.
//!
//! Module map:
//!
//! * `store` — [`SecurityStore`]: the one entry point of the API layer. Persists users, roles,
//!   grants, privilege groups and API keys in `security.qvs`, authenticates (`authenticate`
//!   for passwords, `authenticate_key` for API keys, both giving a [`Principal`]) and
//!   authorizes (`check_principal`, `visible_principal`, `visible_database_principal`; the
//!   by-name `check`, `visible`, `visible_database` are the same for a password login).
//!   `store_codec` is the file's format.
//! * `api_key` — API keys: the token form (`qvk_<id>_<secret>`), generation, the stored digest
//!   and its verification, the rules ([`ApiKeyInfo`]).
//! * `state` — [`SecurityState`]: the whole security state as a value, its rules and listings.
//! * `rbac` — the authorization decision over a state: [`Object`], grants, deny by default.
//! * `privilege` — Milvus's [`Privilege`]s, [`ObjectType`]s and [`PrivilegeLevel`]s.
//! * `groups` — the nine built-in privilege groups ([`BuiltinGroup`]).
//! * `password` — [`Secret`], the password policy, generated passwords
//!   (`common_passwords.txt` is the embedded list of refused passwords).
//! * `hash` — Argon2id hashes in PHC form, verification, and the dummy verification for
//!   unknown users.
//! * `throttle` — failed-login throttling per user name and per client address.
//! * `cache` — the verified-credential cache that spares Argon2 on every request.
//! * `limiter` — the bound on Argon2 operations running at once (memory and CPU).
//! * `names` — naming rules, wildcards and the built-in names (`root`, `admin`, `public`).
//! * `error` — [`SecurityError`], the crate's one error type.
//!
//! **Invariant:** no password, hash, MAC or key appears in an error, a `Debug` output or a log.
//!
//! **Invariant:** an unknown user and a wrong password are indistinguishable to the caller:
//! same error, same work (a dummy Argon2 verification), same throttling. Likewise an unknown
//! API key id, a wrong secret, a malformed token and an expired or revoked key.
//!
//! **Invariant:** an API key never holds more than its user: its roles are intersected with
//! the user's current roles at every decision.

mod api_key;
mod cache;
mod error;
mod groups;
mod hash;
mod limiter;
mod names;
mod password;
mod privilege;
mod rbac;
mod state;
mod store;
mod store_codec;
mod throttle;

pub use api_key::{
    API_KEY_ID_LEN, API_KEY_PREFIX, API_KEY_TOKEN_LEN, ApiKeyInfo, MAX_API_KEY_NAME_LEN,
    MAX_API_KEYS, MAX_API_KEYS_PER_USER, is_api_key_token,
};
pub use cache::{CREDENTIAL_CACHE_CAPACITY, CREDENTIAL_CACHE_TTL, CredentialCacheStats};
pub use error::SecurityError;
pub use groups::BuiltinGroup;
pub use hash::{HashedPassword, dummy_verify, hash_password, verify_password};
pub use limiter::MAX_CONCURRENT_ARGON2;
pub use names::{ADMIN_ROLE, ANY, MAX_ROLE_NAME_LEN, MAX_USER_NAME_LEN, PUBLIC_ROLE, ROOT_USER};
pub use password::{
    GENERATED_PASSWORD_LEN, MAX_PASSWORD_LEN, MIN_PASSWORD_LEN, Secret, check_password_policy,
    generate_password,
};
pub use privilege::{ObjectType, Privilege, PrivilegeLevel};
pub use rbac::{Grant, GrantFilter, GrantTarget, Object, PrivilegeRef};
pub use state::{
    MAX_GRANTS, MAX_PRIVILEGE_GROUPS, MAX_ROLES, MAX_USERS, PrivilegeGroupInfo, SecurityState,
    UserInfo,
};
pub use store::{ApiKeyRef, Principal, SecurityStore, Verification};
pub use store_codec::SECURITY_FILE;
pub use throttle::{MAX_TRACKED_NAME_LEN, Throttle, ThrottleConfig, address_key, user_key};
