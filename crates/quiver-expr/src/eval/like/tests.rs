//! Tests of `like` patterns against a dynamic-programming matcher.

use super::*;

/// The textbook O(n·m) matcher, over characters.
fn dp_match(pattern: &str, text: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum P {
        Char(char),
        One,
        Any,
    }
    let mut items = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        items.push(match c {
            '\\' => P::Char(chars.next().expect("test patterns are well formed")),
            '%' => P::Any,
            '_' => P::One,
            c => P::Char(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    // reach[j]: the pattern prefix consumed so far matches text[..j].
    let mut reach = vec![false; text.len() + 1];
    reach[0] = true;
    for item in items {
        let mut next = vec![false; text.len() + 1];
        for j in 0..=text.len() {
            match item {
                P::Any => next[j] = reach[j] || (j > 0 && next[j - 1]),
                P::One => next[j] = j > 0 && reach[j - 1],
                P::Char(c) => next[j] = j > 0 && reach[j - 1] && text[j - 1] == c,
            }
        }
        reach = next;
    }
    reach[text.len()]
}

#[track_caller]
fn check(pattern: &str, text: &str, expect: bool) {
    let compiled = LikePattern::parse(pattern).expect("valid pattern");
    assert_eq!(compiled.matches(text), expect, "{pattern:?} on {text:?} ({compiled})");
    assert_eq!(dp_match(pattern, text), expect, "reference on {pattern:?} {text:?}");
}

#[test]
fn shapes_are_classified() {
    let shape = |p: &str| LikePattern::parse(p).expect("valid").to_string();
    assert_eq!(shape("abc"), r#"(exact "abc")"#);
    assert_eq!(shape("abc%"), r#"(prefix "abc")"#);
    assert_eq!(shape("abc%%"), r#"(prefix "abc")"#);
    assert_eq!(shape("%abc"), r#"(suffix "abc")"#);
    assert_eq!(shape("%abc%"), r#"(contains "abc")"#);
    assert_eq!(shape("%"), r#"(prefix "")"#);
    assert_eq!(shape(r"a\%%"), r#"(prefix "a%")"#);
    assert_eq!(shape("a_c"), r#"(pattern "a_c")"#);
    assert_eq!(shape("a%c"), r#"(pattern "a%c")"#);
}

#[test]
fn wildcards_match() {
    check("a%", "abc", true);
    check("a%", "ba", false);
    check("%c", "abc", true);
    check("%b%", "abc", true);
    check("%b%", "ac", false);
    check("a_c", "abc", true);
    check("a_c", "ac", false);
    check("a_c", "aéc", true);
    check("_", "é", true);
    check("__", "é", false);
    check("a%b%c", "aXbYc", true);
    check("a%b%c", "acb", false);
    check("%a%a%", "aa", true);
    check("%a%a%", "a", false);
    check("a%a", "a", false);
    check("a%a", "aa", true);
    check("%_%_", "ab", true);
    check("%", "", true);
    check("", "", true);
    check("", "a", false);
    check(r"100\%", "100%", true);
    check(r"100\%", "1000", false);
    check(r"a\_b", "a_b", true);
    check(r"a\_b", "axb", false);
    check(r"a\\b", r"a\b", true);
}

#[test]
fn a_lone_trailing_backslash_is_refused() {
    assert!(LikePattern::parse("abc\\").is_err());
}

#[test]
fn matches_the_reference_on_many_small_cases() {
    let alphabet = ['a', 'b', '%', '_'];
    let texts = ["", "a", "b", "ab", "ba", "aab", "abab", "bbbb", "abba", "aaaaab"];
    // Every pattern of up to four symbols.
    let mut patterns = vec![String::new()];
    for _ in 0..4 {
        let mut next = Vec::new();
        for p in &patterns {
            for c in alphabet {
                next.push(format!("{p}{c}"));
            }
        }
        patterns.extend(next.clone());
        patterns =
            patterns.into_iter().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    }
    for pattern in &patterns {
        let compiled = LikePattern::parse(pattern).expect("valid");
        for text in texts {
            assert_eq!(compiled.matches(text), dp_match(pattern, text), "{pattern:?} on {text:?}");
        }
    }
}

#[test]
fn adversarial_patterns_stay_linear_in_practice() {
    // The classic backtracking killer: many `%a` against a long run of `a` ending in `b`.
    let text = "a".repeat(20_000);
    let pattern = format!("{}b", "%a".repeat(200));
    let compiled = LikePattern::parse(&pattern).expect("valid");
    assert!(!compiled.matches(&text));
}
