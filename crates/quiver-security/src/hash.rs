//! Password hashes: Argon2id in the PHC string form, and their verification.
//!
//! New hashes use OWASP's recommended Argon2id parameters, written out here rather than taken
//! from the `argon2` crate's defaults so that an upgrade of the crate cannot weaken them:
//! m = 19456 KiB, t = 2, p = 1, a 16-byte salt from the operating system's generator and a
//! 32-byte output. Verification reads the parameters from the stored hash (so hashes made with
//! other parameters keep working) after [`HashedPassword::parse`] bounded them: a damaged or
//! hostile security file cannot make a login allocate gigabytes or spin for minutes. The
//! comparison of the outputs is the `password-hash` crate's constant-time one.
//!
//! [`dummy_verify`] does the same work against a hash that matches no password, for the
//! logins of users that do not exist, so that timing does not reveal which users exist.
//!
//! One verification costs about 19 MiB and tens of milliseconds of CPU: callers on an async
//! runtime run it on a blocking thread, and bound how many run at once.

use std::fmt;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use ring::rand::{SecureRandom, SystemRandom};

use crate::SecurityError;
use crate::password::Secret;

/// Memory cost of new hashes, in KiB.
pub(crate) const ARGON2_M_COST: u32 = 19_456;
/// Iterations of new hashes.
pub(crate) const ARGON2_T_COST: u32 = 2;
/// Parallelism of new hashes.
pub(crate) const ARGON2_P_COST: u32 = 1;
/// Salt length of new hashes, in bytes.
pub(crate) const SALT_LEN: usize = 16;
/// Output length of new hashes, in bytes.
pub(crate) const OUTPUT_LEN: usize = 32;
/// Longest PHC string accepted from storage.
pub(crate) const MAX_HASH_LEN: usize = 256;

/// Bounds on the parameters of a stored hash: enough room for stronger settings later,
/// nothing that turns one login into a denial of service.
const MAX_M_COST: u32 = 1 << 20; // 1 GiB
const MAX_T_COST: u32 = 16;
const MAX_P_COST: u32 = 16;

/// A hash with our parameters whose output matches no known password: verifying against it
/// costs what a real verification costs and always fails. Salt and output are the base64 of
/// the texts `quiver-dummy-sal` and `quiver dummy output: no match!!!`, not derived from any
/// password; finding one that hashes to it is a preimage attack on Argon2.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$cXVpdmVyLWR1bW15LXNhbA$\
                          cXVpdmVyIGR1bW15IG91dHB1dDogbm8gbWF0Y2ghISE";

/// A stored Argon2id password hash in PHC string form, already checked by
/// [`HashedPassword::parse`]. `Debug` does not show it: a hash is an offline-guessing target.
#[derive(Clone, PartialEq, Eq)]
pub struct HashedPassword(String);

impl HashedPassword {
    /// Checks a PHC string read from storage: at most 256 bytes, Argon2id
    /// version 19, bounded parameters, a salt of 8 to 64 bytes and an output of 16 to 64 bytes.
    /// The error is the rule broken (the caller names the file).
    pub fn parse(phc: &str) -> Result<HashedPassword, &'static str> {
        if phc.len() > MAX_HASH_LEN {
            return Err("password hash is too long");
        }
        let parsed = PasswordHash::new(phc).map_err(|_| "password hash is not a PHC string")?;
        if parsed.algorithm.as_str() != "argon2id" {
            return Err("password hash is not Argon2id");
        }
        if parsed.version != Some(19) {
            return Err("password hash is not Argon2 version 19");
        }
        let params =
            Params::try_from(&parsed).map_err(|_| "password hash parameters are invalid")?;
        if params.m_cost() > MAX_M_COST
            || params.t_cost() > MAX_T_COST
            || params.p_cost() > MAX_P_COST
        {
            return Err("password hash parameters exceed the limits");
        }
        let mut salt = [0u8; 64];
        let salt_len = parsed
            .salt
            .and_then(|s| s.decode_b64(&mut salt).ok().map(<[u8]>::len))
            .ok_or("password hash has no valid salt")?;
        if salt_len < 8 {
            return Err("password hash salt is too short");
        }
        let output_len = parsed.hash.map(|h| h.len()).ok_or("password hash has no output")?;
        if !(16..=64).contains(&output_len) {
            return Err("password hash output length is invalid");
        }
        Ok(HashedPassword(phc.to_owned()))
    }

    /// The PHC string, for storage.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for HashedPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashedPassword(<redacted>)")
    }
}

fn hasher() -> Result<Argon2<'static>, SecurityError> {
    let params = Params::new(ARGON2_M_COST, ARGON2_T_COST, ARGON2_P_COST, Some(OUTPUT_LEN))
        .map_err(|_| SecurityError::Internal { reason: "invalid Argon2 parameters" })?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes `password` with a fresh random salt. The caller has checked the policy.
pub fn hash_password(password: &Secret) -> Result<HashedPassword, SecurityError> {
    let mut salt = [0u8; SALT_LEN];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| SecurityError::Internal { reason: "the system random generator failed" })?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|_| SecurityError::Internal { reason: "salt encoding failed" })?;
    let hash = hasher()?
        .hash_password(password.expose().as_bytes(), &salt)
        .map_err(|_| SecurityError::Internal { reason: "Argon2 hashing failed" })?;
    Ok(HashedPassword(hash.to_string()))
}

/// True if `password` matches `hash`. Constant-time in the comparison of the outputs; the
/// Argon2 work depends only on the stored parameters.
pub fn verify_password(password: &Secret, hash: &HashedPassword) -> bool {
    let Ok(parsed) = PasswordHash::new(&hash.0) else {
        // Unreachable for a `HashedPassword`, which was parsed when it was made.
        return false;
    };
    Argon2::default().verify_password(password.expose().as_bytes(), &parsed).is_ok()
}

/// Does the work of [`verify_password`] against a hash that matches nothing; used when the
/// user does not exist, so that the reply takes as long as for a wrong password.
pub fn dummy_verify(password: &Secret) {
    if let Ok(parsed) = PasswordHash::new(DUMMY_HASH) {
        let matched = Argon2::default().verify_password(password.expose().as_bytes(), &parsed);
        std::hint::black_box(matched.is_ok());
    }
}

/// A valid stored hash without the cost of Argon2, for tests that need users but never
/// verify their passwords.
#[cfg(test)]
pub(crate) fn test_hash() -> HashedPassword {
    HashedPassword(DUMMY_HASH.to_owned())
}

#[cfg(test)]
mod tests;
