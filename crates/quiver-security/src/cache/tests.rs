use std::time::{Duration, Instant};

use super::{CREDENTIAL_CACHE_TTL, CredentialCache};
use crate::password::Secret;

fn secret(s: &str) -> Secret {
    Secret::new(s.to_owned())
}

fn cache(capacity: usize) -> CredentialCache {
    CredentialCache::new(capacity, CREDENTIAL_CACHE_TTL).unwrap()
}

#[test]
fn hit_after_insert_only_for_the_same_user_password_and_generation() {
    let cache = cache(10);
    let t0 = Instant::now();
    let pw = secret("the right password");
    assert!(!cache.lookup("alice", &pw, 1, t0));
    cache.insert("alice", &pw, 1, t0);
    assert!(cache.lookup("alice", &pw, 1, t0));
    assert!(!cache.lookup("alice", &secret("the wrong password"), 1, t0));
    assert!(!cache.lookup("bob", &pw, 1, t0));
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses, stats.entries), (1, 3, 1));
}

#[test]
fn user_password_boundary_is_unambiguous() {
    // ("ab", "c...") and ("a", "bc...") must not share a MAC.
    let cache = cache(10);
    let t0 = Instant::now();
    cache.insert("ab", &secret("cdefghijklmnop"), 1, t0);
    assert!(!cache.lookup("a", &secret("bcdefghijklmnop"), 1, t0));
}

#[test]
fn a_new_generation_misses_and_drops_the_stale_entry() {
    let cache = cache(10);
    let t0 = Instant::now();
    let pw = secret("the right password");
    cache.insert("alice", &pw, 1, t0);
    assert!(!cache.lookup("alice", &pw, 2, t0));
    assert_eq!(cache.stats().entries, 0);
    assert!(!cache.lookup("alice", &pw, 1, t0), "the stale entry is gone");
}

#[test]
fn entries_expire_after_five_minutes() {
    let cache = cache(10);
    let t0 = Instant::now();
    let pw = secret("the right password");
    cache.insert("alice", &pw, 1, t0);
    assert!(cache.lookup("alice", &pw, 1, t0 + CREDENTIAL_CACHE_TTL - Duration::from_millis(1)));
    assert!(!cache.lookup("alice", &pw, 1, t0 + CREDENTIAL_CACHE_TTL));
}

#[test]
fn size_is_bounded_evicting_expired_then_oldest() {
    let cache = cache(3);
    let t0 = Instant::now();
    let pw = secret("the right password");
    for (i, user) in ["u0", "u1", "u2"].iter().enumerate() {
        cache.insert(user, &pw, 1, t0 + Duration::from_secs(i as u64));
    }
    cache.insert("u3", &pw, 1, t0 + Duration::from_secs(3));
    assert_eq!(cache.stats().entries, 3);
    let at = t0 + Duration::from_secs(4);
    assert!(!cache.lookup("u0", &pw, 1, at), "the oldest was evicted");
    assert!(cache.lookup("u1", &pw, 1, at));
    assert!(cache.lookup("u3", &pw, 1, at));
    // Once u1 and u2 have expired, a new entry displaces them rather than u3.
    let late = t0 + CREDENTIAL_CACHE_TTL + Duration::from_secs(2);
    cache.insert("u4", &pw, 1, late);
    assert!(cache.lookup("u3", &pw, 1, late));
    assert!(cache.lookup("u4", &pw, 1, late));
}

#[test]
fn debug_shows_no_key_or_mac() {
    let cache = cache(3);
    cache.insert("alice", &secret("the right password"), 1, Instant::now());
    let shown = format!("{cache:?}");
    assert!(shown.contains("entries: 1"), "{shown}");
    assert!(!shown.contains("the right password") && !shown.contains("alice"), "{shown}");
}
