//! The verified-credential cache: Argon2 only for the first request of a connection.
//!
//! Milvus clients send the user name and password with every request, hundreds a second, and
//! one Argon2 verification costs tens of milliseconds. After a successful verification the
//! store remembers the credential here for [`CREDENTIAL_CACHE_TTL`]; later requests with the
//! same credential are a MAC and a map lookup.
//!
//! What is remembered is `HMAC-SHA256(k, user ‖ 0x00 ‖ password)` with a key `k` drawn at
//! process start and never stored: not the password, and nothing that outlives the process.
//! The 0x00 separator makes the encoding injective because user names never contain NUL
//! (see `names`). Each entry also holds the user's password generation at verification time;
//! a hit requires the user's current generation, and every password change (and every deletion:
//! a deleted user has no generation, and a re-created one gets a new one) changes it, so a
//! cached credential dies the moment its password does.
//!
//! The map is keyed by the MAC itself, so a hit is the map's equality test on the MAC. That
//! comparison is not constant-time, and need not be: the MAC of a guess is a pseudorandom value
//! under a key the attacker does not know, so learning how many leading bytes of it match a
//! cached MAC tells them nothing about which password to try next (exploiting it would mean
//! computing HMAC without the key). The map's hasher is std's randomly keyed SipHash.
//!
//! The trade-off: someone who can read this process's memory gets MACs and the key, and can
//! test guesses at HMAC speed rather than Argon2 speed for users that logged in recently; they
//! could as well read the passwords from request buffers. Size is bounded by
//! [`CREDENTIAL_CACHE_CAPACITY`]: when full, expired entries go first, then the oldest.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use ring::hmac;
use ring::rand::SystemRandom;

use crate::SecurityError;
use crate::password::Secret;

/// How long a verified credential is trusted without Argon2.
pub const CREDENTIAL_CACHE_TTL: Duration = Duration::from_secs(5 * 60);
/// Most credentials remembered.
pub const CREDENTIAL_CACHE_CAPACITY: usize = 10_000;

type Mac = [u8; 32];

struct CacheEntry {
    generation: u64,
    expires: Instant,
}

/// Counters of the cache, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CredentialCacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that needed Argon2 (absent, expired or stale).
    pub misses: u64,
    /// Credentials remembered now.
    pub entries: usize,
}

/// See the module documentation.
pub(crate) struct CredentialCache {
    key: hmac::Key,
    entries: Mutex<HashMap<Mac, CacheEntry>>,
    capacity: usize,
    ttl: Duration,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl CredentialCache {
    /// An empty cache with a fresh random key.
    pub(crate) fn new(capacity: usize, ttl: Duration) -> Result<CredentialCache, SecurityError> {
        let key = hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new()).map_err(|_| {
            SecurityError::Internal { reason: "the system random generator failed" }
        })?;
        Ok(CredentialCache {
            key,
            entries: Mutex::new(HashMap::new()),
            capacity,
            ttl,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    fn mac(&self, user: &str, password: &Secret) -> Mac {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(user.as_bytes());
        ctx.update(&[0]);
        ctx.update(password.expose().as_bytes());
        let tag = ctx.sign();
        let mut mac = [0u8; 32];
        mac.copy_from_slice(tag.as_ref());
        mac
    }

    /// True if `user` with `password` was verified within the TTL while the user's password
    /// generation was `generation`. Drops the entry if it is expired or stale.
    pub(crate) fn lookup(
        &self,
        user: &str,
        password: &Secret,
        generation: u64,
        now: Instant,
    ) -> bool {
        let mac = self.mac(user, password);
        let mut entries = self.entries.lock();
        let hit = match entries.get(&mac) {
            None => false,
            Some(entry) if entry.generation == generation && now < entry.expires => true,
            Some(_) => {
                entries.remove(&mac);
                false
            }
        };
        drop(entries);
        let counter = if hit { &self.hits } else { &self.misses };
        counter.fetch_add(1, Ordering::Relaxed);
        hit
    }

    /// Remembers a credential that Argon2 just verified.
    pub(crate) fn insert(&self, user: &str, password: &Secret, generation: u64, now: Instant) {
        let mac = self.mac(user, password);
        let mut entries = self.entries.lock();
        if !entries.contains_key(&mac) && entries.len() >= self.capacity {
            // Rare (only after an Argon2 verification), so a linear pass is fine.
            entries.retain(|_, e| now < e.expires);
            if entries.len() >= self.capacity {
                let oldest = entries.iter().min_by_key(|(_, e)| e.expires).map(|(mac, _)| *mac);
                if let Some(oldest) = oldest {
                    entries.remove(&oldest);
                }
            }
        }
        if self.capacity > 0 {
            entries.insert(mac, CacheEntry { generation, expires: now + self.ttl });
        }
    }

    pub(crate) fn stats(&self) -> CredentialCacheStats {
        CredentialCacheStats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: self.entries.lock().len(),
        }
    }
}

impl fmt::Debug for CredentialCache {
    /// Shows the counters only: never the key or a MAC.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialCache").field("stats", &self.stats()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests;
