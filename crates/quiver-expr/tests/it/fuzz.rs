//! The fuzz harness run by the normal test suite for a bounded time, generated with proptest:
//! arbitrary bytes, token soup from the language's vocabulary, and mutations of the golden
//! files' expressions, each checked by `quiver_expr::fuzz::check_parse_and_check` (no panic,
//! error spans within the input, deterministic evaluation). A failing input is shrunk with
//! proptest's value tree and printed; add it to `tests/fuzz-failures/`.
//!
//! `QUIVER_FUZZ_SECONDS` sets the budget (default 3; CI sets 60) and `QUIVER_FUZZ_SEED` the
//! seed (default: from the clock, printed on failure).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use quiver_expr::fuzz::check_parse_and_check;

const VOCABULARY: &[&str] = &[
    "id",
    "b",
    "i8",
    "i16",
    "i32",
    "age",
    "f",
    "d",
    "name",
    "meta",
    "tags",
    "nums",
    "fl",
    "vec",
    "color",
    "$meta",
    "$",
    "and",
    "or",
    "not",
    "in",
    "like",
    "exists",
    "is",
    "null",
    "true",
    "FALSE",
    "&&",
    "||",
    "!",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "{i}",
    "{s}",
    "{l}",
    "{j}",
    "{x}",
    ",",
    "+",
    "-",
    "*",
    "/",
    "%",
    "**",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "<<",
    "&",
    "|",
    "^",
    "~",
    "=~",
    "=",
    "0",
    "1",
    "-1",
    "0x1F",
    "017",
    "0b101",
    "0o7",
    "08",
    "1.5",
    "1e309",
    ".5",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999999999999999999999999",
    "\"a%\"",
    "'%b_'",
    "\"\\u00e9\"",
    "\"\\x41\"",
    "\"\\q\"",
    "\"unterminated",
    "r\"raw\\\"\"",
    "[\"a\"]",
    "[0]",
    "[\"b\"][1]",
    "json_contains",
    "JSON_CONTAINS_ALL",
    "json_contains_any",
    "array_contains",
    "array_contains_all",
    "array_contains_any",
    "array_length",
    "text_match",
    "random_sample",
    "ISO",
    "'2025-01-01'",
];

fn golden_inputs() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut inputs = Vec::new();
    for entry in std::fs::read_dir(dir).expect("tests/golden exists") {
        let text = std::fs::read_to_string(entry.expect("readable").path()).expect("readable");
        let lines: Vec<&str> = text.lines().collect();
        let mut i = 0;
        while i < lines.len() {
            if lines[i].trim().is_empty() || lines[i].starts_with('#') {
                i += 1;
                continue;
            }
            i += 1;
            let mut input = Vec::new();
            while i < lines.len() && lines[i] != "----" {
                input.push(lines[i]);
                i += 1;
            }
            inputs.push(input.join("\n").into_bytes());
            while i < lines.len() && !lines[i].trim().is_empty() {
                i += 1;
            }
        }
    }
    inputs
}

fn failure_inputs() -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-failures");
    let mut inputs = Vec::new();
    for entry in std::fs::read_dir(dir).expect("tests/fuzz-failures exists") {
        let path = entry.expect("readable").path();
        if path.file_name().is_some_and(|n| n == "README.md") {
            continue;
        }
        inputs.push((path.display().to_string(), std::fs::read(&path).expect("readable")));
    }
    inputs
}

#[derive(Clone, Debug)]
enum Mutation {
    Insert(usize, u8),
    Delete(usize),
    Replace(usize, u8),
    Splice(usize, &'static str),
}

fn apply(mut input: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let at = |i: usize| if input.is_empty() { 0 } else { i % (input.len() + 1) };
        match m {
            Mutation::Insert(i, b) => {
                let i = at(*i);
                input.insert(i, *b);
            }
            Mutation::Delete(i) if !input.is_empty() => {
                let i = *i % input.len();
                input.remove(i);
            }
            Mutation::Replace(i, b) if !input.is_empty() => {
                let i = *i % input.len();
                input[i] = *b;
            }
            Mutation::Splice(i, text) => {
                let i = at(*i);
                input.splice(i..i, text.bytes());
            }
            _ => {}
        }
    }
    input
}

fn strategy(corpus: Vec<Vec<u8>>) -> BoxedStrategy<Vec<u8>> {
    let bytes = proptest::collection::vec(any::<u8>(), 0..160);
    let soup = proptest::collection::vec(proptest::sample::select(VOCABULARY), 0..24)
        .prop_map(|words| words.join(" ").into_bytes());
    let mutation = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Delete),
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<usize>(), proptest::sample::select(VOCABULARY))
            .prop_map(|(i, w)| Mutation::Splice(i, w)),
    ];
    let mutated = (proptest::sample::select(corpus), proptest::collection::vec(mutation, 0..6))
        .prop_map(|(input, mutations)| apply(input, &mutations));
    prop_oneof![1 => bytes, 2 => soup, 4 => mutated].boxed()
}

fn passes(input: &[u8]) -> bool {
    catch_unwind(AssertUnwindSafe(|| check_parse_and_check(input))).is_ok()
}

#[test]
fn fuzz_for_a_bounded_time() {
    let seconds: f64 =
        std::env::var("QUIVER_FUZZ_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(3.0);
    let seed: u64 =
        std::env::var("QUIVER_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
        });
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = strategy(golden_inputs());
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut runs = 0u64;
    while Instant::now() < deadline {
        let mut tree = strategy.new_tree(&mut runner).expect("strategies always produce a value");
        runs += 1;
        if passes(&tree.current()) {
            continue;
        }
        // Shrink: keep simplifying while the input still fails.
        let mut failing = tree.current();
        let mut steps = 0;
        while steps < 1024 && tree.simplify() {
            steps += 1;
            if passes(&tree.current()) {
                if !tree.complicate() {
                    break;
                }
            } else {
                failing = tree.current();
            }
        }
        panic!(
            "fuzz failure after {runs} runs (QUIVER_FUZZ_SEED={seed}); add it to tests/fuzz-failures/:\n{:?}\n{}",
            failing,
            String::from_utf8_lossy(&failing)
        );
    }
    assert!(runs > 0);
}

#[test]
fn fuzz_failures_stay_fixed() {
    for (name, input) in failure_inputs() {
        assert!(passes(&input), "{name} fails again");
    }
}

#[test]
fn golden_inputs_pass_the_fuzz_checks() {
    for input in golden_inputs() {
        assert!(passes(&input), "{}", String::from_utf8_lossy(&input));
    }
}
