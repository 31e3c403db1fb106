//! Parses, binds, type-checks and evaluates arbitrary bytes; see
//! `quiver_expr::fuzz::check_parse_and_check` for the invariants.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    quiver_expr::fuzz::check_parse_and_check(data);
});
