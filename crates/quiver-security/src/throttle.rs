//! Throttling of failed logins, per user name and per client address.
//!
//! API keys name no user: their attempts are checked and counted against the address only
//! ([`Throttle::check_address`], [`Throttle::record_address_failure`]), in the same table, so
//! an address guessing keys and passwords has one budget for both. Keys get no per-key entry:
//! a key's secret has 256 bits, so locking one key protects nothing, and key ids are not
//! secret, so a per-key lockout would let anyone who saw an id lock its owner out.
//!
//! A user name may fail [`ThrottleConfig::max_failures`] times and a client address
//! [`ThrottleConfig::max_address_failures`] times within [`ThrottleConfig::window`]; the failure that reaches the limit locks the key. While a
//! key is locked every attempt it is part of is refused, even one with the right password, so a
//! guesser learns nothing during the lockout. The first lockout lasts
//! [`ThrottleConfig::first_lockout`], and each further lockout of the same key twice as long as
//! the one before, up to [`ThrottleConfig::max_lockout`]. A key is forgotten (its next lockout
//! back to the first duration) once it has been quiet, not locked and without a failure, for
//! `max_lockout`; a successful login forgets the user key at once but not the address key, so
//! one good login from a guessing host does not reset that host's budget.
//!
//! With the defaults (5 per user and 20 per address in 60 s, 1 s doubling to 15 min) a guesser
//! gets about 50 guesses at one user in the first 17 minutes and then 5 per 15 minutes. Blocking a user is the price: anyone can
//! lock `root` out for up to 15 minutes at a time by failing as `root`; the operator's local
//! tools are the way in meanwhile.
//!
//! Addresses: IPv4-mapped IPv6 addresses count as their IPv4 address, and other IPv6 addresses
//! by their /64 prefix, since one host usually controls a whole /64. User names are keyed by
//! their first [`MAX_TRACKED_NAME_LEN`] bytes (longer names cannot exist, so merging them
//! weakens nothing).
//!
//! Memory is bounded by [`ThrottleConfig::capacity`] keys. When the table is full, forgotten
//! keys are swept out first (at most once until the earliest entry can next expire); if it is
//! still full, attempts involving a key not already tracked are refused ([`SecurityError::Throttled`])
//! rather than evicting a live entry: evicting would let a flood of addresses wash out the
//! lockout of the one being used to guess. The cost is that a flood can refuse new clients
//! until its entries expire; it cannot unlock anyone.
//!
//! Attempts in flight are not counted: N concurrent guesses before the first failure is
//! recorded can exceed the budget by N − 1. The API layer bounds concurrent verifications
//! (Argon2 needs that anyway), which bounds this too. Time is passed in (`now`), so tests need
//! no sleeping.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::SecurityError;

/// Longest prefix of a user name used as its key.
pub const MAX_TRACKED_NAME_LEN: usize = 64;

/// The limits of a [`Throttle`]; see the module documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failures allowed per user name within `window`; the one that reaches it locks the key.
    pub max_failures: u32,
    /// Failures allowed per client address within `window`. Higher than per user: many
    /// clients may share one address (NAT, a proxy), and guessing one user is already capped
    /// by the user key; this cap bounds a host that guesses across many user names.
    pub max_address_failures: u32,
    /// The window failures are counted in.
    pub window: Duration,
    /// Length of a key's first lockout; each further one doubles.
    pub first_lockout: Duration,
    /// Longest lockout; also how long a key must be quiet to be forgotten.
    pub max_lockout: Duration,
    /// Most keys tracked at once.
    pub capacity: usize,
}

impl Default for ThrottleConfig {
    fn default() -> ThrottleConfig {
        ThrottleConfig {
            max_failures: 5,
            max_address_failures: 20,
            window: Duration::from_secs(60),
            first_lockout: Duration::from_secs(1),
            max_lockout: Duration::from_secs(15 * 60),
            capacity: 100_000,
        }
    }
}

/// What a throttle entry is about.
/// The key a user name is tracked by: its first [`MAX_TRACKED_NAME_LEN`] bytes (longer names
/// cannot exist, so merging them weakens nothing). Shared with the API's rate limiter.
pub fn user_key(name: &str) -> &str {
    let mut end = name.len().min(MAX_TRACKED_NAME_LEN);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    &name[..end]
}

/// The key a client address is tracked by: IPv4 as is, IPv4-mapped IPv6 as IPv4, other IPv6
/// by its /64 prefix (one host usually controls a whole /64). Shared with the API's rate
/// limiter.
pub fn address_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    User(String),
    Addr(IpAddr),
}

impl Key {
    fn user(name: &str) -> Key {
        Key::User(user_key(name).to_owned())
    }

    fn addr(addr: IpAddr) -> Key {
        let addr = address_key(addr);
        Key::Addr(addr)
    }
}

#[derive(Clone, Debug)]
struct Entry {
    window_start: Instant,
    failures: u32,
    /// How many lockouts this key has had since it was last forgotten.
    lockouts: u32,
    locked_until: Option<Instant>,
    last_failure: Instant,
}

impl Entry {
    fn new(now: Instant) -> Entry {
        Entry { window_start: now, failures: 0, lockouts: 0, locked_until: None, last_failure: now }
    }

    fn locked(&self, now: Instant) -> Option<Duration> {
        self.locked_until.filter(|until| *until > now).map(|until| until - now)
    }

    /// When the key may be forgotten: `quiet` after its last failure or the end of its
    /// lockout, whichever is later.
    fn forget_at(&self, quiet: Duration) -> Instant {
        let busy_until = self.locked_until.map_or(self.last_failure, |u| u.max(self.last_failure));
        busy_until + quiet
    }
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<Key, Entry>,
    /// No sweep before this: the earliest time any entry could be forgotten, as of the last
    /// sweep that left the table full.
    next_sweep: Option<Instant>,
}

/// Failed-login throttling; see the module documentation.
#[derive(Debug)]
pub struct Throttle {
    config: ThrottleConfig,
    state: Mutex<State>,
}

impl Throttle {
    /// An empty throttle with these limits.
    pub fn new(config: ThrottleConfig) -> Throttle {
        Throttle { config, state: Mutex::new(State::default()) }
    }

    /// Refuses the attempt if the user name or the address is locked, or if either is new
    /// while the table is full of live entries.
    pub fn check(&self, user: &str, addr: IpAddr, now: Instant) -> Result<(), SecurityError> {
        self.check_keys(&[Key::user(user), Key::addr(addr)], now)
    }

    /// [`Throttle::check`] for an attempt that names no user (an API key): only the address
    /// is checked. Key guesses and password guesses from one address share its budget.
    pub fn check_address(&self, addr: IpAddr, now: Instant) -> Result<(), SecurityError> {
        self.check_keys(&[Key::addr(addr)], now)
    }

    fn check_keys(&self, keys: &[Key], now: Instant) -> Result<(), SecurityError> {
        let mut state = self.state.lock();
        let mut retry_after = None;
        for key in keys {
            if let Some(wait) = state.entries.get(key).and_then(|e| e.locked(now)) {
                retry_after = retry_after.max(Some(wait));
            }
        }
        if let Some(retry_after) = retry_after {
            return Err(SecurityError::Throttled { retry_after });
        }
        let untracked = keys.iter().filter(|k| !state.entries.contains_key(k)).count();
        if untracked > 0 && !self.make_room(&mut state, untracked, now) {
            let retry_after =
                state.next_sweep.map_or(Duration::ZERO, |t| t.saturating_duration_since(now));
            return Err(SecurityError::Throttled {
                retry_after: retry_after.max(Duration::from_secs(1)),
            });
        }
        Ok(())
    }

    /// Counts a failed attempt against both keys, locking those that reach the limit.
    pub fn record_failure(&self, user: &str, addr: IpAddr, now: Instant) {
        self.record_failure_keys([Key::user(user), Key::addr(addr)], now);
    }

    /// Counts a failed attempt that named no user (an API key) against the address only.
    pub fn record_address_failure(&self, addr: IpAddr, now: Instant) {
        self.record_failure_keys([Key::addr(addr)], now);
    }

    fn record_failure_keys<const N: usize>(&self, keys: [Key; N], now: Instant) {
        let mut state = self.state.lock();
        for key in keys {
            if !state.entries.contains_key(&key) && !self.make_room(&mut state, 1, now) {
                // Only when another attempt filled the table since `check`: the next check of
                // this untracked key is refused anyway while the table stays full.
                continue;
            }
            let max_failures = match key {
                Key::User(_) => self.config.max_failures,
                Key::Addr(_) => self.config.max_address_failures,
            };
            let entry = state.entries.entry(key).or_insert_with(|| Entry::new(now));
            self.count_failure(entry, max_failures, now);
            // Keep `next_sweep` a lower bound on when any entry can be forgotten.
            let forget_at = entry.forget_at(self.config.max_lockout);
            state.next_sweep = state.next_sweep.map(|t| t.min(forget_at));
        }
    }

    /// A successful login: forgets the user key (the address key keeps its count).
    pub fn record_success(&self, user: &str) {
        self.state.lock().entries.remove(&Key::user(user));
    }

    /// How many keys are tracked.
    pub fn tracked_keys(&self) -> usize {
        self.state.lock().entries.len()
    }

    fn count_failure(&self, entry: &mut Entry, max_failures: u32, now: Instant) {
        let config = &self.config;
        if entry.locked(now).is_none() && now >= entry.forget_at(config.max_lockout) {
            *entry = Entry::new(now);
        }
        if now.saturating_duration_since(entry.window_start) >= config.window {
            entry.window_start = now;
            entry.failures = 0;
        }
        entry.failures = entry.failures.saturating_add(1);
        entry.last_failure = now;
        if entry.failures >= max_failures {
            let factor = 1u32.checked_shl(entry.lockouts).unwrap_or(u32::MAX);
            let lockout = config.first_lockout.saturating_mul(factor).min(config.max_lockout);
            entry.locked_until = Some(now + lockout);
            entry.lockouts = entry.lockouts.saturating_add(1);
            entry.failures = 0;
            entry.window_start = now;
        }
    }

    /// Ensures room for `needed` new keys, sweeping forgotten entries if the table is full.
    /// False if there is still no room.
    fn make_room(&self, state: &mut State, needed: usize, now: Instant) -> bool {
        let capacity = self.config.capacity;
        if state.entries.len() + needed <= capacity {
            return true;
        }
        if state.next_sweep.is_some_and(|t| now < t) {
            return false;
        }
        let quiet = self.config.max_lockout;
        state.entries.retain(|_, e| e.locked(now).is_some() || now < e.forget_at(quiet));
        state.next_sweep = state.entries.values().map(|e| e.forget_at(quiet)).min();
        state.entries.len() + needed <= capacity
    }
}

#[cfg(test)]
mod tests;
