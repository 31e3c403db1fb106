use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use super::*;

const HOST: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
const OTHER_HOST: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Reads limited to `per_user` per user and `per_address` per address; other classes
/// unlimited.
fn reads(
    per_user: Option<Rate>,
    per_address: Option<Rate>,
    max_tracked_keys: usize,
) -> RateLimiter {
    RateLimiter::new(RateLimits {
        read: ClassLimits { per_user, per_address },
        max_tracked_keys,
        ..RateLimits::unlimited()
    })
}

fn user_only(rate: Rate) -> RateLimiter {
    reads(Some(rate), None, 1000)
}

#[test]
fn a_burst_passes_then_requests_wait_for_the_refill() {
    let limiter = user_only(Rate::new(10, 3));
    let t0 = Instant::now();
    for _ in 0..3 {
        limiter.check(RequestClass::Read, "alice", HOST, t0).unwrap();
    }
    let refused = limiter.check(RequestClass::Read, "alice", HOST, t0).unwrap_err();
    assert_eq!(
        refused,
        RetryAfter { class: RequestClass::Read, scope: LimitScope::User, wait: ms(100) }
    );
    // One token takes 100 ms at 10 a second: not before.
    limiter.check(RequestClass::Read, "alice", HOST, t0 + ms(99)).unwrap_err();
    limiter.check(RequestClass::Read, "alice", HOST, t0 + ms(100)).unwrap();
    let refused = limiter.check(RequestClass::Read, "alice", HOST, t0 + ms(100)).unwrap_err();
    assert_eq!(refused.wait, ms(100));
    assert_eq!(limiter.rejected(RequestClass::Read), 3);
}

#[test]
fn the_refill_stops_at_the_burst() {
    let limiter = user_only(Rate::new(10, 3));
    let t0 = Instant::now();
    limiter.check(RequestClass::Read, "alice", HOST, t0).unwrap();
    // An hour idle earns 36 000 tokens, but the bucket holds 3.
    let later = t0 + Duration::from_secs(3600);
    for _ in 0..3 {
        limiter.check(RequestClass::Read, "alice", HOST, later).unwrap();
    }
    limiter.check(RequestClass::Read, "alice", HOST, later).unwrap_err();
}

#[test]
fn partial_refills_accumulate_exactly() {
    // 3 a second: one token every 333.33 ms; three refills of 111.11 ms make one.
    let limiter = user_only(Rate::new(3, 1));
    let t0 = Instant::now();
    limiter.check(RequestClass::Read, "alice", HOST, t0).unwrap();
    let step = Duration::from_nanos(111_111_111);
    limiter.check(RequestClass::Read, "alice", HOST, t0 + step).unwrap_err();
    limiter.check(RequestClass::Read, "alice", HOST, t0 + step * 2).unwrap_err();
    // 333 333 333 ns earn 999 999 999 nano-tokens: one short.
    let refused = limiter.check(RequestClass::Read, "alice", HOST, t0 + step * 3).unwrap_err();
    assert_eq!(refused.wait, Duration::from_nanos(1));
    limiter
        .check(RequestClass::Read, "alice", HOST, t0 + step * 3 + Duration::from_nanos(1))
        .unwrap();
}

#[test]
fn classes_have_separate_buckets() {
    let one = ClassLimits::user_and_address(Rate::new(1, 1));
    let limiter = RateLimiter::new(RateLimits {
        read: one,
        write: one,
        ddl: one,
        login: one,
        max_tracked_keys: 100,
    });
    let t0 = Instant::now();
    for class in RequestClass::ALL {
        limiter.check(class, "alice", HOST, t0).unwrap();
    }
    for class in RequestClass::ALL {
        assert_eq!(limiter.check(class, "alice", HOST, t0).unwrap_err().class, class);
        assert_eq!(limiter.rejected(class), 1);
    }
}

#[test]
fn users_have_separate_buckets() {
    let limiter = user_only(Rate::new(1, 2));
    let t0 = Instant::now();
    limiter.check(RequestClass::Read, "alice", HOST, t0).unwrap();
    limiter.check(RequestClass::Read, "alice", HOST, t0).unwrap();
    limiter.check(RequestClass::Read, "alice", HOST, t0).unwrap_err();
    // Same address, other user: untouched.
    limiter.check(RequestClass::Read, "bob", HOST, t0).unwrap();
    limiter.check(RequestClass::Read, "bob", HOST, t0).unwrap();
    // The same user from another address shares the user's bucket.
    limiter.check(RequestClass::Read, "alice", OTHER_HOST, t0).unwrap_err();
}

#[test]
fn the_address_limit_catches_many_users_from_one_address() {
    let limiter = reads(Some(Rate::new(100, 100)), Some(Rate::new(5, 5)), 1000);
    let t0 = Instant::now();
    for i in 0..5 {
        limiter.check(RequestClass::Read, &format!("user{i}"), HOST, t0).unwrap();
    }
    let refused = limiter.check(RequestClass::Read, "user5", HOST, t0).unwrap_err();
    assert_eq!(refused.scope, LimitScope::Address);
    assert_eq!(refused.wait, ms(200));
    // Another address is not affected, nor a user refused only by the address.
    limiter.check(RequestClass::Read, "user5", OTHER_HOST, t0).unwrap();
}

#[test]
fn a_refused_request_takes_from_neither_bucket() {
    let limiter = reads(Some(Rate::new(1, 1)), Some(Rate::new(1, 2)), 1000);
    let t0 = Instant::now();
    limiter.check(RequestClass::Read, "alice", HOST, t0).unwrap();
    // Alice's bucket is empty: refused by the user bucket, and the address keeps its token.
    for _ in 0..10 {
        let refused = limiter.check(RequestClass::Read, "alice", HOST, t0).unwrap_err();
        assert_eq!(refused.scope, LimitScope::User);
    }
    limiter.check(RequestClass::Read, "bob", HOST, t0).unwrap();
    // Now the address is empty: carol is refused by it, and her own bucket keeps its token.
    let refused = limiter.check(RequestClass::Read, "carol", HOST, t0).unwrap_err();
    assert_eq!(refused.scope, LimitScope::Address);
    limiter.check(RequestClass::Read, "carol", OTHER_HOST, t0).unwrap();
}

#[test]
fn cost_is_counted_in_tokens_and_capped_at_the_burst() {
    let limiter = user_only(Rate::new(10, 5));
    let t0 = Instant::now();
    limiter.check_cost(RequestClass::Read, Some("alice"), HOST, 3, t0).unwrap();
    let refused = limiter.check_cost(RequestClass::Read, Some("alice"), HOST, 3, t0).unwrap_err();
    assert_eq!(refused.wait, ms(100));
    limiter.check_cost(RequestClass::Read, Some("alice"), HOST, 2, t0).unwrap();
    // A cost above the burst counts as the burst: it passes from a full bucket only.
    limiter.check_cost(RequestClass::Read, Some("bob"), HOST, 1_000_000, t0).unwrap();
    let refused =
        limiter.check_cost(RequestClass::Read, Some("bob"), HOST, u64::MAX, t0).unwrap_err();
    assert_eq!(refused.wait, ms(500));
    limiter.check_cost(RequestClass::Read, Some("bob"), HOST, u64::MAX, t0 + ms(500)).unwrap();
    // Cost 0 counts as 1.
    limiter.check_cost(RequestClass::Read, Some("carol"), HOST, 0, t0).unwrap();
    limiter.check_cost(RequestClass::Read, Some("carol"), HOST, 5, t0).unwrap_err();
}

#[test]
fn checks_without_a_user_use_the_address_bucket_only() {
    let limiter = reads(Some(Rate::new(1, 1)), Some(Rate::new(1, 2)), 1000);
    let t0 = Instant::now();
    limiter.check_address(RequestClass::Read, HOST, t0).unwrap();
    limiter.check_address(RequestClass::Read, HOST, t0).unwrap();
    let refused = limiter.check_address(RequestClass::Read, HOST, t0).unwrap_err();
    assert_eq!(refused.scope, LimitScope::Address);
    assert_eq!(limiter.tracked(RequestClass::Read), (0, 1));
}

#[test]
fn an_unlimited_side_is_not_tracked() {
    let limiter = reads(None, Some(Rate::new(1, 1)), 1000);
    let t0 = Instant::now();
    limiter.check(RequestClass::Read, "alice", HOST, t0).unwrap();
    assert_eq!(
        limiter.check(RequestClass::Read, "bob", HOST, t0).unwrap_err().scope,
        LimitScope::Address
    );
    assert_eq!(limiter.tracked(RequestClass::Read), (0, 1));
    let unlimited = RateLimiter::new(RateLimits::unlimited());
    for _ in 0..10_000 {
        unlimited.check(RequestClass::Login, "alice", HOST, t0).unwrap();
    }
    assert_eq!(unlimited.tracked(RequestClass::Login), (0, 0));
}

#[test]
fn a_full_table_sweeps_out_full_buckets_first() {
    let limiter = user_only(Rate::new(10, 2));
    let limiter = RateLimiter::new(RateLimits { max_tracked_keys: 2, ..*limiter.limits() });
    let t0 = Instant::now();
    limiter.check(RequestClass::Read, "alice", HOST, t0).unwrap();
    limiter.check(RequestClass::Read, "bob", HOST, t0 + ms(50)).unwrap();
    limiter.check(RequestClass::Read, "bob", HOST, t0 + ms(50)).unwrap();
    // At 100 ms alice is full again (1 token missing, 100 ms per token); bob is empty.
    limiter.check(RequestClass::Read, "carol", HOST, t0 + ms(100)).unwrap();
    assert_eq!(limiter.tracked(RequestClass::Read), (2, 0));
    // Bob kept his state: he has earned half a token only.
    let refused = limiter.check(RequestClass::Read, "bob", HOST, t0 + ms(100)).unwrap_err();
    assert_eq!(refused.wait, ms(50));
    // Alice is back while bob (1.5 tokens) and carol (1.5) refill: no room yet.
    let refused = limiter.check(RequestClass::Read, "alice", HOST, t0 + ms(150)).unwrap_err();
    assert_eq!(refused.scope, LimitScope::Tracking);
    assert_eq!(refused.wait, ms(50));
    // At 200 ms carol is full and makes way; alice, dropped while full, starts full again,
    // exactly what she had: two requests pass.
    limiter.check(RequestClass::Read, "alice", HOST, t0 + ms(200)).unwrap();
    limiter.check(RequestClass::Read, "alice", HOST, t0 + ms(200)).unwrap();
    limiter.check(RequestClass::Read, "alice", HOST, t0 + ms(200)).unwrap_err();
}

#[test]
fn a_full_table_never_resets_a_limited_key() {
    let limiter = RateLimiter::new(RateLimits {
        read: ClassLimits { per_user: Some(Rate::new(1, 1)), per_address: None },
        max_tracked_keys: 2,
        ..RateLimits::unlimited()
    });
    let t0 = Instant::now();
    limiter.check(RequestClass::Read, "alice", HOST, t0).unwrap();
    limiter.check(RequestClass::Read, "bob", HOST, t0 + ms(400)).unwrap();
    // Both buckets are refilling: a new user is refused until alice's is full again.
    let refused = limiter.check(RequestClass::Read, "carol", HOST, t0 + ms(500)).unwrap_err();
    assert_eq!(
        refused,
        RetryAfter { class: RequestClass::Read, scope: LimitScope::Tracking, wait: ms(500) }
    );
    // The refusal neither tracked carol nor reset anyone.
    assert_eq!(limiter.tracked(RequestClass::Read), (2, 0));
    assert_eq!(
        limiter.check(RequestClass::Read, "alice", HOST, t0 + ms(500)).unwrap_err().scope,
        LimitScope::User
    );
    assert_eq!(
        limiter.check(RequestClass::Read, "bob", HOST, t0 + ms(600)).unwrap_err().wait,
        ms(800)
    );
    // Until the next possible sweep, no rescan: still refused just before it.
    limiter.check(RequestClass::Read, "carol", HOST, t0 + ms(999)).unwrap_err();
    // At 1 s alice is full: she is swept out and carol takes her place; bob is still limited.
    limiter.check(RequestClass::Read, "carol", HOST, t0 + ms(1000)).unwrap();
    assert_eq!(
        limiter.check(RequestClass::Read, "bob", HOST, t0 + ms(1000)).unwrap_err().scope,
        LimitScope::User
    );
    assert_eq!(limiter.rejected(RequestClass::Read), 5);
}

#[test]
fn the_tables_stay_within_the_cap_under_a_flood_of_new_keys() {
    let limiter = reads(Some(Rate::new(1000, 1000)), Some(Rate::new(1000, 1000)), 64);
    let t0 = Instant::now();
    for i in 0..10_000u32 {
        let addr = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
        let now = t0 + Duration::from_micros(u64::from(i));
        let _ = limiter.check(RequestClass::Read, &format!("user{i}"), addr, now);
        let (users, addresses) = limiter.tracked(RequestClass::Read);
        assert!(users <= 64 && addresses <= 64, "{users} {addresses}");
    }
}

#[test]
fn time_running_backwards_adds_nothing() {
    let limiter = user_only(Rate::new(10, 1));
    let t0 = Instant::now() + Duration::from_secs(1);
    limiter.check(RequestClass::Read, "alice", HOST, t0).unwrap();
    // A thread that read the clock earlier but locked later.
    limiter.check(RequestClass::Read, "alice", HOST, t0 - ms(500)).unwrap_err();
    limiter.check(RequestClass::Read, "alice", HOST, t0 + ms(99)).unwrap_err();
    limiter.check(RequestClass::Read, "alice", HOST, t0 + ms(100)).unwrap();
}

#[test]
fn ipv6_addresses_share_their_64_prefix_and_mapped_ipv4_is_ipv4() {
    let limiter = reads(None, Some(Rate::new(1, 1)), 1000);
    let t0 = Instant::now();
    let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
    let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
    let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
    limiter.check(RequestClass::Read, "u", a, t0).unwrap();
    limiter.check(RequestClass::Read, "u", b, t0).unwrap_err();
    limiter.check(RequestClass::Read, "u", c, t0).unwrap();
    let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped());
    limiter.check(RequestClass::Read, "u", HOST, t0).unwrap();
    limiter.check(RequestClass::Read, "u", mapped, t0).unwrap_err();
    assert_eq!(address_key(IpAddr::V6(Ipv6Addr::LOCALHOST)), IpAddr::V6(Ipv6Addr::UNSPECIFIED));
}

#[test]
fn long_user_names_are_keyed_by_their_first_64_bytes() {
    let limiter = user_only(Rate::new(1, 1));
    let t0 = Instant::now();
    let base = "é".repeat(40); // 80 bytes; the key ends on a character boundary (64 bytes).
    limiter.check(RequestClass::Read, &format!("{base}a"), HOST, t0).unwrap();
    limiter.check(RequestClass::Read, &format!("{base}b"), HOST, t0).unwrap_err();
    assert_eq!(user_key(&base).len(), 64);
    assert_eq!(user_key(&"a".repeat(65)).len(), 64);
    assert_eq!(user_key("ab"), "ab");
    let odd = format!("a{}", "é".repeat(40));
    assert_eq!(user_key(&odd).len(), 63);
}

#[test]
fn validate_refuses_zero_rates_bursts_and_key_cap() {
    RateLimits::default().validate().unwrap();
    RateLimits::unlimited().validate().unwrap();
    let mut limits = RateLimits::default();
    limits.ddl.per_address = Some(Rate::new(0, 10));
    assert!(limits.validate().unwrap_err().contains("DDL rate limit per address"));
    let mut limits = RateLimits::default();
    limits.login.per_user = Some(Rate::new(10, 0));
    assert!(limits.validate().unwrap_err().contains("login rate limit per user"));
    let limits = RateLimits { max_tracked_keys: 0, ..RateLimits::default() };
    assert!(limits.validate().is_err());
    // A zero rate that skipped validation counts as 1, never as "refuse forever".
    let limiter = user_only(Rate::new(0, 0));
    let t0 = Instant::now();
    limiter.check(RequestClass::Read, "alice", HOST, t0).unwrap();
    limiter.check(RequestClass::Read, "alice", HOST, t0 + Duration::from_secs(1)).unwrap();
}

#[test]
fn the_refusal_message_names_the_class_and_the_wait() {
    let refused = RetryAfter {
        class: RequestClass::Write,
        scope: LimitScope::Address,
        wait: Duration::from_micros(1500),
    };
    assert_eq!(
        refused.to_string(),
        "rate limit exceeded: too many write requests from this client address; retry after 2 ms"
    );
    let status = refused.to_grpc_status();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    assert!(status.message().starts_with("rate limit exceeded"));
    let tiny =
        RetryAfter { class: RequestClass::Login, scope: LimitScope::User, wait: Duration::ZERO };
    assert!(tiny.to_string().ends_with("retry after 1 ms"), "{tiny}");
}

/// The defaults never refuse the heaviest normal use a single user and address produce: a
/// benchmark's serial searches, its 100 000-row load in 5 000-row batches, a test suite's
/// burst of DDL, each request authenticated.
#[test]
fn the_defaults_allow_a_benchmark_and_a_test_suite() {
    let limiter = RateLimiter::default();
    let t0 = Instant::now();
    let login = |now| limiter.check(RequestClass::Login, "root", HOST, now).unwrap();
    // 20 inserts of 5 000 rows back to back, then a flush.
    for _ in 0..20 {
        login(t0);
        limiter
            .check_cost(RequestClass::Write, Some("root"), HOST, 5_000 + WRITE_REQUEST_COST, t0)
            .unwrap();
    }
    limiter.check_cost(RequestClass::Write, Some("root"), HOST, FLUSH_COST, t0).unwrap();
    // 300 DDL requests at once (collections, indexes, users, roles, grants of a suite).
    for _ in 0..300 {
        login(t0);
        limiter.check(RequestClass::Ddl, "root", HOST, t0).unwrap();
    }
    // Then 1 500 searches a second (twice the benchmark's rate) for 20 s.
    for i in 0..30_000u64 {
        let now = t0 + Duration::from_micros(i * 1_000_000 / 1_500);
        login(now);
        limiter.check(RequestClass::Read, "root", HOST, now).unwrap();
    }
    for class in RequestClass::ALL {
        assert_eq!(limiter.rejected(class), 0);
    }
}
