//! Request rate limits: token buckets per user and per client address, by request class.
//!
//! # Model
//! Every request belongs to a [`RequestClass`]: reads, writes, DDL/DCL (metadata changes), and
//! logins (authentication attempts). For each class there is one bucket per user and one per
//! client address, each holding up to `burst` tokens and refilled at `per_second` tokens a
//! second ([`Rate`]). A request of cost `c` is allowed iff **both** its user's and its
//! address's buckets hold `c` tokens; then both are debited. A refused request debits
//! neither, so a client that keeps retrying while limited does not dig itself deeper, and the
//! refusal says how long until the request would pass ([`RetryAfter`]).
//!
//! Costs: reads, DDL and logins cost 1 per request. Writes are counted in rows: an insert or
//! upsert costs its rows plus [`WRITE_REQUEST_COST`] (the log record, its share of an fsync,
//! the response), a delete [`WRITE_REQUEST_COST`], a flush or a compaction [`FLUSH_COST`]
//! (each seals segments and writes files). A cost above a bucket's burst counts as the burst:
//! the request passes only when the bucket is full, and empties it.
//!
//! # Defaults ([`RateLimits::default`])
//! | class | per user (rate/s, burst) | per address |
//! |-------|--------------------------|-------------|
//! | read  | 2 000, 4 000 requests | 4 × |
//! | write | 200 000, 1 000 000 row units | 4 × |
//! | DDL   | 50, 500 requests | 4 × |
//! | login | 5 000, 10 000 attempts | 4 × |
//!
//! They are meant to catch floods, never normal use: one user's serial searches run at well
//! under 2 000 a second, a 100 000-row load in 5 000-row batches costs 102 000 units (a tenth
//! of the write burst), and test suites and setup scripts create tens of collections and users
//! in a burst. Addresses get four times the user figures because several users (or clients of
//! one user) may share an address (NAT, a proxy), while the address bucket still catches one
//! host that spreads a flood over many user names. Milvus clients authenticate every RPC, so
//! the login class counts every request that reaches authentication and its figures exceed
//! the other classes' sums; password guessing is throttled separately and much more strictly
//! by `quiver_security::Throttle` (failures per user and per address, with lockouts).
//!
//! # Keys and memory
//! User names are keyed by their first `quiver_security::MAX_TRACKED_NAME_LEN` bytes; IPv4-mapped IPv6
//! addresses count as their IPv4 address and other IPv6 addresses by their /64 prefix (one
//! host usually controls a whole /64), as the login throttle keys them.
//!
//! Each class keeps at most [`RateLimits::max_tracked_keys`] user buckets and as many address
//! buckets. A full bucket behaves exactly like an untracked key, so dropping it loses nothing:
//! when a table is full, the buckets that have refilled completely are swept out (at most once
//! until the earliest remaining bucket can be full again, so a full table does not cost a scan
//! per request). If no bucket is full, a request with a key not yet tracked is refused (scope
//! [`LimitScope::Tracking`]) rather than evicting a bucket that is being drained: evicting
//! would hand a limited client a full burst. Pinning the table takes touching every tracked
//! key at least once per `1 / per_second` seconds, which the address buckets themselves stop.
//! Apart from the key of a newly tracked user, checking a request allocates nothing.
//!
//! Time is passed in (`now`), so the tests need no sleeping; arithmetic is in integer
//! nano-tokens, exact and without overflow.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use quiver_security::{address_key, user_key};

/// Cost of a write request on top of its rows (the write class counts row units).
pub const WRITE_REQUEST_COST: u64 = 100;
/// Cost of a flush or a manual compaction, in the write class's row units.
pub const FLUSH_COST: u64 = 10_000;

/// Nano-tokens per token: buckets count in nano-tokens so that refills are exact integers.
const SCALE: u64 = 1_000_000_000;

/// The kinds of request that are limited separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestClass {
    /// Search, hybrid search, query (and get), and every RPC that only reads metadata or
    /// state (describe, list, has, show, statistics, progress, session RPCs).
    Read,
    /// Insert, upsert, delete, flush and compaction; counted in row units.
    Write,
    /// RPCs that change metadata: collections, partitions, indexes, aliases, databases,
    /// load and release, users, roles, grants and privilege groups.
    Ddl,
    /// Authentication attempts (checked by the authentication layer, before any handler).
    Login,
}

impl RequestClass {
    /// Every class, in the order of their tables.
    pub const ALL: [RequestClass; 4] =
        [RequestClass::Read, RequestClass::Write, RequestClass::Ddl, RequestClass::Login];

    /// The class's name in messages and metrics.
    pub fn name(self) -> &'static str {
        match self {
            RequestClass::Read => "read",
            RequestClass::Write => "write",
            RequestClass::Ddl => "DDL",
            RequestClass::Login => "login",
        }
    }

    fn index(self) -> usize {
        match self {
            RequestClass::Read => 0,
            RequestClass::Write => 1,
            RequestClass::Ddl => 2,
            RequestClass::Login => 3,
        }
    }
}

/// One token bucket's shape: `per_second` tokens added each second, up to `burst`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rate {
    pub per_second: u32,
    pub burst: u32,
}

impl Rate {
    pub const fn new(per_second: u32, burst: u32) -> Rate {
        Rate { per_second, burst }
    }

    /// `factor` times this rate and burst (saturating).
    pub const fn times(self, factor: u32) -> Rate {
        Rate {
            per_second: self.per_second.saturating_mul(factor),
            burst: self.burst.saturating_mul(factor),
        }
    }

    /// Zero values would refuse everything forever; they count as 1 (see
    /// [`RateLimits::validate`], which configuration should call).
    fn per_second(self) -> u64 {
        u64::from(self.per_second.max(1))
    }

    fn capacity(self) -> u64 {
        u64::from(self.burst.max(1)) * SCALE
    }
}

/// The limits of one class: per user and per address; `None` leaves that side unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClassLimits {
    pub per_user: Option<Rate>,
    pub per_address: Option<Rate>,
}

impl ClassLimits {
    /// `per_user` for each user, and four times that for each address.
    pub const fn user_and_address(per_user: Rate) -> ClassLimits {
        ClassLimits { per_user: Some(per_user), per_address: Some(per_user.times(4)) }
    }

    pub const UNLIMITED: ClassLimits = ClassLimits { per_user: None, per_address: None };
}

/// Every rate limit of the API; see the module documentation for the defaults and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimits {
    pub read: ClassLimits,
    /// In row units (see [`WRITE_REQUEST_COST`] and [`FLUSH_COST`]).
    pub write: ClassLimits,
    pub ddl: ClassLimits,
    pub login: ClassLimits,
    /// Most user buckets, and most address buckets, tracked per class.
    pub max_tracked_keys: usize,
}

impl Default for RateLimits {
    fn default() -> RateLimits {
        RateLimits {
            read: ClassLimits::user_and_address(Rate::new(2_000, 4_000)),
            write: ClassLimits::user_and_address(Rate::new(200_000, 1_000_000)),
            ddl: ClassLimits::user_and_address(Rate::new(50, 500)),
            login: ClassLimits::user_and_address(Rate::new(5_000, 10_000)),
            max_tracked_keys: 16_384,
        }
    }
}

impl RateLimits {
    /// No limit at all (embedded use, benchmarks of the server itself).
    pub fn unlimited() -> RateLimits {
        RateLimits {
            read: ClassLimits::UNLIMITED,
            write: ClassLimits::UNLIMITED,
            ddl: ClassLimits::UNLIMITED,
            login: ClassLimits::UNLIMITED,
            ..RateLimits::default()
        }
    }

    /// The limits of `class`.
    pub fn class(&self, class: RequestClass) -> ClassLimits {
        match class {
            RequestClass::Read => self.read,
            RequestClass::Write => self.write,
            RequestClass::Ddl => self.ddl,
            RequestClass::Login => self.login,
        }
    }

    /// Refuses zero rates, zero bursts and a zero key cap, naming the setting.
    pub fn validate(&self) -> Result<(), String> {
        for class in RequestClass::ALL {
            let limits = self.class(class);
            for (scope, rate) in
                [("per user", limits.per_user), ("per address", limits.per_address)]
            {
                if let Some(rate) = rate
                    && (rate.per_second == 0 || rate.burst == 0)
                {
                    return Err(format!(
                        "the {} rate limit {scope} must have a rate and a burst of at least 1 \
                         (leave it unset for no limit)",
                        class.name()
                    ));
                }
            }
        }
        if self.max_tracked_keys == 0 {
            return Err("the rate limiter must track at least 1 key".into());
        }
        Ok(())
    }
}

/// Which bucket refused a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitScope {
    /// The user's bucket of the class is empty.
    User,
    /// The client address's bucket of the class is empty.
    Address,
    /// The key is new and the class's table is full of buckets still refilling.
    Tracking,
}

/// A refusal: the class and bucket that refused, and how long until the same request would
/// pass if nothing else drained the bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryAfter {
    pub class: RequestClass,
    pub scope: LimitScope,
    pub wait: Duration,
}

impl fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = match self.scope {
            LimitScope::User => "for this user",
            LimitScope::Address => "from this client address",
            LimitScope::Tracking => "from new clients",
        };
        // Rounded up, and at least 1 ms, so that "retry after 0 ms" never appears.
        let millis = self.wait.as_nanos().div_ceil(1_000_000).max(1);
        write!(
            f,
            "rate limit exceeded: too many {} requests {who}; retry after {millis} ms",
            self.class.name()
        )
    }
}

impl RetryAfter {
    /// The gRPC status for a refusal made before any handler runs (the login class, in the
    /// authentication layer): RESOURCE_EXHAUSTED, which pymilvus raises at once without
    /// retrying. Refusals inside the service travel as Milvus code 8 instead (see
    /// `Failure::rate_limited`), which pymilvus retries with backoff.
    pub fn to_grpc_status(self) -> tonic::Status {
        tonic::Status::resource_exhausted(self.to_string())
    }
}

/// The rate limiter of the API; see the module documentation.
#[derive(Debug)]
pub struct RateLimiter {
    limits: RateLimits,
    classes: [Mutex<ClassState>; 4],
    rejected: [AtomicU64; 4],
}

#[derive(Debug, Default)]
struct ClassState {
    users: Table<Box<str>>,
    addresses: Table<IpAddr>,
}

impl Default for RateLimiter {
    fn default() -> RateLimiter {
        RateLimiter::new(RateLimits::default())
    }
}

impl RateLimiter {
    /// A limiter with these limits and no tracked key.
    pub fn new(limits: RateLimits) -> RateLimiter {
        RateLimiter { limits, classes: Default::default(), rejected: Default::default() }
    }

    pub fn limits(&self) -> &RateLimits {
        &self.limits
    }

    /// A request of cost 1 from `user` at `addr`.
    pub fn check(
        &self,
        class: RequestClass,
        user: &str,
        addr: IpAddr,
        now: Instant,
    ) -> Result<(), RetryAfter> {
        self.check_cost(class, Some(user), addr, 1, now)
    }

    /// A request of cost 1 that names no user (an API key before it is resolved): only the
    /// address bucket applies.
    pub fn check_address(
        &self,
        class: RequestClass,
        addr: IpAddr,
        now: Instant,
    ) -> Result<(), RetryAfter> {
        self.check_cost(class, None, addr, 1, now)
    }

    /// A request of `cost` tokens (at least 1; at most a bucket's burst): allowed and
    /// debited from both buckets iff both hold enough; otherwise neither is debited.
    pub fn check_cost(
        &self,
        class: RequestClass,
        user: Option<&str>,
        addr: IpAddr,
        cost: u64,
        now: Instant,
    ) -> Result<(), RetryAfter> {
        let limits = self.limits.class(class);
        if limits.per_user.is_none() && limits.per_address.is_none() {
            return Ok(());
        }
        let cap = self.limits.max_tracked_keys.max(1);
        let user = user.map(user_key);
        let addr = address_key(addr);
        let cost = cost.max(1);
        let refuse = |scope, wait| {
            self.rejected[class.index()].fetch_add(1, Ordering::Relaxed);
            Err(RetryAfter { class, scope, wait })
        };

        let mut state = self.classes[class.index()].lock();
        let state = &mut *state;
        let user_rate = limits.per_user.filter(|_| user.is_some());
        if let (Some(rate), Some(user)) = (user_rate, user)
            && let Err(denial) = state.users.admit(user, rate, cost, cap, now)
        {
            let scope = denial.scope(LimitScope::User);
            return refuse(scope, denial.wait);
        }
        if let Some(rate) = limits.per_address
            && let Err(denial) = state.addresses.admit(&addr, rate, cost, cap, now)
        {
            let scope = denial.scope(LimitScope::Address);
            return refuse(scope, denial.wait);
        }
        if let (Some(rate), Some(user)) = (user_rate, user) {
            state.users.take(user, |u| u.into(), rate, cost, now);
        }
        if let Some(rate) = limits.per_address {
            state.addresses.take(&addr, |a| *a, rate, cost, now);
        }
        Ok(())
    }

    /// Requests of `class` refused so far (for metrics).
    pub fn rejected(&self, class: RequestClass) -> u64 {
        self.rejected[class.index()].load(Ordering::Relaxed)
    }

    /// User and address buckets tracked for `class` (for tests and metrics).
    pub fn tracked(&self, class: RequestClass) -> (usize, usize) {
        let state = self.classes[class.index()].lock();
        (state.users.buckets.len(), state.addresses.buckets.len())
    }
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    /// Nano-tokens held as of `last`.
    tokens: u64,
    last: Instant,
}

impl Bucket {
    /// Adds the tokens earned since `last`, up to the burst. Time never runs backwards for a
    /// bucket: a `now` older than `last` (another thread read the clock later but locked
    /// first) adds nothing.
    fn refill(&mut self, rate: Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_nanos();
        let earned = elapsed.saturating_mul(u128::from(rate.per_second()));
        let tokens = self.tokens.min(rate.capacity());
        let room = rate.capacity() - tokens;
        // The sum is at most the capacity: `earned.min(room)` fits a u64.
        self.tokens = tokens + u64::try_from(earned.min(u128::from(room))).unwrap_or(room);
        self.last = self.last.max(now);
    }

    /// When this bucket will be full, if nothing takes from it.
    fn full_at(&self, rate: Rate) -> Instant {
        let missing = rate.capacity().saturating_sub(self.tokens);
        self.last + Duration::from_nanos(missing.div_ceil(rate.per_second()))
    }
}

/// Why [`Table::admit`] refused.
struct Denial {
    /// The key is new and there is no room to track it (else its bucket is short).
    tracking: bool,
    wait: Duration,
}

impl Denial {
    fn scope(&self, bucket: LimitScope) -> LimitScope {
        if self.tracking { LimitScope::Tracking } else { bucket }
    }
}

/// The buckets of one class and one kind of key.
#[derive(Debug)]
struct Table<K> {
    buckets: HashMap<K, Bucket>,
    /// No sweep before this: the earliest time a bucket could be full, as of the last sweep
    /// (lowered by each bucket added since; taking from a bucket only makes it later).
    next_sweep: Option<Instant>,
}

impl<K> Default for Table<K> {
    fn default() -> Table<K> {
        Table { buckets: HashMap::new(), next_sweep: None }
    }
}

impl<K: Eq + Hash> Table<K> {
    /// Whether `key` may spend `cost` tokens now; refills its bucket, and makes room for it
    /// if it is new and the table is full. Takes nothing.
    fn admit<Q>(
        &mut self,
        key: &Q,
        rate: Rate,
        cost: u64,
        cap: usize,
        now: Instant,
    ) -> Result<(), Denial>
    where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let need = cost_in_nano_tokens(cost, rate);
        if let Some(bucket) = self.buckets.get_mut(key) {
            bucket.refill(rate, now);
            if bucket.tokens >= need {
                return Ok(());
            }
            let missing = need - bucket.tokens;
            let wait = Duration::from_nanos(missing.div_ceil(rate.per_second()));
            return Err(Denial { tracking: false, wait });
        }
        // An untracked key is a full bucket, which holds any (clamped) cost.
        if self.buckets.len() < cap || self.sweep(rate, cap, now) {
            return Ok(());
        }
        let wait = self.next_sweep.map_or(Duration::ZERO, |t| t.saturating_duration_since(now));
        Err(Denial { tracking: true, wait: wait.max(Duration::from_millis(1)) })
    }

    /// Spends `cost` tokens of `key`, which [`Table::admit`] has just admitted.
    fn take<Q>(
        &mut self,
        key: &Q,
        to_key: impl FnOnce(&Q) -> K,
        rate: Rate,
        cost: u64,
        now: Instant,
    ) where
        K: Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let need = cost_in_nano_tokens(cost, rate);
        match self.buckets.get_mut(key) {
            Some(bucket) => bucket.tokens = bucket.tokens.saturating_sub(need),
            None => {
                let bucket = Bucket { tokens: rate.capacity() - need, last: now };
                // The next sweep must not wait past the moment this bucket is full again.
                self.next_sweep = self.next_sweep.map(|t| t.min(bucket.full_at(rate)));
                self.buckets.insert(to_key(key), bucket);
            }
        }
    }

    /// Drops the buckets that are full at `now` (indistinguishable from untracked keys);
    /// returns whether there is room for one more. Scans at most once until the earliest
    /// remaining bucket can be full.
    fn sweep(&mut self, rate: Rate, cap: usize, now: Instant) -> bool {
        if self.next_sweep.is_some_and(|t| now < t) {
            return false;
        }
        let mut earliest: Option<Instant> = None;
        self.buckets.retain(|_, bucket| {
            bucket.refill(rate, now);
            let full = bucket.tokens >= rate.capacity();
            if !full {
                let at = bucket.full_at(rate);
                earliest = Some(earliest.map_or(at, |e| e.min(at)));
            }
            !full
        });
        self.next_sweep = earliest;
        self.buckets.len() < cap
    }
}

/// `cost` tokens (at least 1, at most the burst) in nano-tokens.
fn cost_in_nano_tokens(cost: u64, rate: Rate) -> u64 {
    cost.clamp(1, u64::from(rate.burst.max(1))) * SCALE
}

#[cfg(test)]
mod tests;
