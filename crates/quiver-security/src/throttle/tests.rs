use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use super::{Throttle, ThrottleConfig};
use crate::SecurityError;

const ALICE: &str = "alice";

fn addr(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn retry_after(res: Result<(), SecurityError>) -> Option<Duration> {
    match res {
        Ok(()) => None,
        Err(SecurityError::Throttled { retry_after }) => Some(retry_after),
        Err(other) => panic!("unexpected {other:?}"),
    }
}

/// Failures that lock an address with the default configuration.
fn address_limit() -> u32 {
    ThrottleConfig::default().max_address_failures
}

fn fail_n(throttle: &Throttle, user: &str, ip: IpAddr, n: u32, now: Instant) {
    for _ in 0..n {
        throttle.record_failure(user, ip, now);
    }
}

#[test]
fn five_failures_lock_the_key_even_for_a_correct_password() {
    let throttle = Throttle::new(ThrottleConfig::default());
    let t0 = Instant::now();
    fail_n(&throttle, ALICE, addr(1), 4, t0);
    assert_eq!(retry_after(throttle.check(ALICE, addr(1), t0)), None, "4 failures are allowed");
    throttle.record_failure(ALICE, addr(1), t0);
    // The lock is on the attempt, before any password is looked at: the store refuses even
    // the right password (see store tests); here any attempt is refused.
    assert_eq!(retry_after(throttle.check(ALICE, addr(1), t0)), Some(secs(1)));
    assert_eq!(
        retry_after(throttle.check(ALICE, addr(1), t0 + Duration::from_millis(400))),
        Some(Duration::from_millis(600))
    );
    assert_eq!(retry_after(throttle.check(ALICE, addr(1), t0 + secs(1))), None);
}

#[test]
fn failures_outside_the_window_do_not_add_up() {
    let throttle = Throttle::new(ThrottleConfig::default());
    let t0 = Instant::now();
    fail_n(&throttle, ALICE, addr(1), 4, t0);
    fail_n(&throttle, ALICE, addr(1), 4, t0 + secs(61));
    assert_eq!(retry_after(throttle.check(ALICE, addr(1), t0 + secs(61))), None);
}

#[test]
fn lockouts_double_and_cap_at_fifteen_minutes() {
    let throttle = Throttle::new(ThrottleConfig::default());
    let mut now = Instant::now();
    let mut seen = Vec::new();
    for _ in 0..14 {
        fail_n(&throttle, ALICE, addr(1), 5, now);
        let wait = retry_after(throttle.check(ALICE, addr(1), now)).expect("locked");
        seen.push(wait.as_secs());
        now += wait;
        assert_eq!(retry_after(throttle.check(ALICE, addr(1), now)), None, "lock ends on time");
    }
    assert_eq!(seen, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900, 900]);
}

#[test]
fn a_key_quiet_for_fifteen_minutes_is_forgotten_and_starts_over() {
    let throttle = Throttle::new(ThrottleConfig::default());
    let t0 = Instant::now();
    fail_n(&throttle, ALICE, addr(1), 5, t0);
    fail_n(&throttle, ALICE, addr(1), 5, t0 + secs(1));
    assert_eq!(retry_after(throttle.check(ALICE, addr(1), t0 + secs(1))), Some(secs(2)));
    // Lock ended at t0 + 3 s; quiet for 15 min after that.
    let later = t0 + secs(3) + secs(15 * 60);
    fail_n(&throttle, ALICE, addr(1), 5, later);
    assert_eq!(retry_after(throttle.check(ALICE, addr(1), later)), Some(secs(1)));
}

#[test]
fn success_resets_the_user_key_but_not_the_address_key() {
    let throttle = Throttle::new(ThrottleConfig::default());
    let t0 = Instant::now();
    fail_n(&throttle, ALICE, addr(1), 4, t0);
    throttle.record_success(ALICE);
    // The user key starts over: four more failures from another address do not lock alice.
    fail_n(&throttle, ALICE, addr(2), 4, t0);
    assert_eq!(retry_after(throttle.check(ALICE, addr(3), t0)), None);
    // The address key kept its four failures: reaching its limit (as anyone) locks address 1.
    fail_n(&throttle, "bob", addr(1), address_limit() - 5, t0);
    assert_eq!(retry_after(throttle.check("carol", addr(1), t0)), None);
    throttle.record_failure("dave", addr(1), t0);
    assert_eq!(retry_after(throttle.check("carol", addr(1), t0)), Some(secs(1)));
}

#[test]
fn user_and_address_keys_are_independent() {
    let throttle = Throttle::new(ThrottleConfig::default());
    let t0 = Instant::now();
    // Failures for different users from one address lock the address only, and only at the
    // address limit (higher than a user's: clients behind one NAT share an address).
    for i in 0..address_limit() {
        if i == 5 {
            assert_eq!(retry_after(throttle.check("u1", addr(1), t0)), None);
        }
        throttle.record_failure(&format!("u{i}"), addr(1), t0);
    }
    assert!(retry_after(throttle.check("u1", addr(1), t0)).is_some());
    assert_eq!(retry_after(throttle.check("u1", addr(2), t0)), None);
    // Five failures for one user from five addresses lock the user only.
    for last in 10..15 {
        throttle.record_failure(ALICE, addr(last), t0);
    }
    assert!(retry_after(throttle.check(ALICE, addr(99), t0)).is_some());
    assert_eq!(retry_after(throttle.check("bob", addr(10), t0)), None);
}

#[test]
fn ipv6_addresses_share_their_slash_64_and_mapped_ipv4_is_ipv4() {
    let throttle = Throttle::new(ThrottleConfig::default());
    let t0 = Instant::now();
    for host in 1..=address_limit() as u16 {
        let a = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, host, host, host, host));
        throttle.record_failure(&format!("user{host}"), a, t0);
    }
    let same_64 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 9, 9, 9, 9));
    let other_64 = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 1, 1, 1, 1));
    assert!(retry_after(throttle.check("x", same_64, t0)).is_some());
    assert_eq!(retry_after(throttle.check("x", other_64, t0)), None);

    for i in 0..address_limit() {
        throttle.record_failure(&format!("y{i}"), addr(7), t0);
    }
    let mapped = IpAddr::V6(Ipv4Addr::new(10, 0, 0, 7).to_ipv6_mapped());
    assert!(retry_after(throttle.check("z", mapped, t0)).is_some());
}

#[test]
fn long_user_names_are_tracked_by_a_bounded_prefix() {
    let throttle = Throttle::new(ThrottleConfig::default());
    let t0 = Instant::now();
    let long = "a".repeat(1_000_000);
    fail_n(&throttle, &long, addr(1), 1, t0);
    let state = throttle.state.lock();
    let total: usize = state
        .entries
        .keys()
        .map(|k| match k {
            super::Key::User(name) => name.len(),
            super::Key::Addr(_) => 0,
        })
        .sum();
    assert_eq!(total, super::MAX_TRACKED_NAME_LEN);
}

#[test]
fn a_full_table_refuses_new_keys_but_keeps_every_lockout() {
    let config = ThrottleConfig { capacity: 10, ..ThrottleConfig::default() };
    let throttle = Throttle::new(config);
    let t0 = Instant::now();
    // Lock alice and address 1: two keys.
    fail_n(&throttle, ALICE, addr(1), 5, t0);
    // Fill the rest with one failure each from distinct users and addresses.
    for i in 0..4u8 {
        throttle.record_failure(&format!("flood{i}"), addr(100 + i), t0);
    }
    assert_eq!(throttle.tracked_keys(), 10);
    // New user from a new address: refused, and it would not be tracked.
    assert!(retry_after(throttle.check("newbie", addr(200), t0)).is_some());
    throttle.record_failure("newbie", addr(200), t0);
    assert_eq!(throttle.tracked_keys(), 10);
    // A tracked, unlocked pair is still served; the lockout of alice survives the flood.
    assert_eq!(retry_after(throttle.check("flood0", addr(100), t0)), None);
    assert!(retry_after(throttle.check(ALICE, addr(100), t0)).is_some());
    // After the quiet period the sweep frees the table.
    let later = t0 + secs(1) + secs(15 * 60);
    assert_eq!(retry_after(throttle.check("newbie", addr(200), later)), None);
    assert!(throttle.tracked_keys() < 10);
}

#[test]
fn success_frees_room_in_a_full_table() {
    let config = ThrottleConfig { capacity: 4, ..ThrottleConfig::default() };
    let throttle = Throttle::new(config);
    let t0 = Instant::now();
    throttle.record_failure("u1", addr(1), t0);
    throttle.record_failure("u2", addr(2), t0);
    assert!(retry_after(throttle.check("u3", addr(1), t0)).is_some());
    throttle.record_success("u2");
    assert_eq!(retry_after(throttle.check("u3", addr(1), t0)), None);
}

#[test]
fn address_only_attempts_count_against_the_address_and_no_user() {
    let throttle = Throttle::new(ThrottleConfig::default());
    let t0 = Instant::now();
    for _ in 0..address_limit() - 1 {
        throttle.record_address_failure(addr(1), t0);
    }
    assert_eq!(throttle.tracked_keys(), 1, "only the address is tracked");
    assert_eq!(retry_after(throttle.check_address(addr(1), t0)), None);
    // The last allowed failure may be a password failure: one budget for both.
    throttle.record_failure("mallory", addr(1), t0);
    assert_eq!(retry_after(throttle.check_address(addr(1), t0)), Some(secs(1)));
    assert_eq!(retry_after(throttle.check(ALICE, addr(1), t0)), Some(secs(1)));
    assert_eq!(retry_after(throttle.check_address(addr(2), t0)), None);
    assert_eq!(retry_after(throttle.check(ALICE, addr(2), t0)), None, "no user was locked");
    assert_eq!(retry_after(throttle.check_address(addr(1), t0 + secs(1))), None);
}
