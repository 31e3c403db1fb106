//! `like` patterns: `%` matches any run of characters (also none), `_` exactly one character
//! (a Unicode scalar value), and `\` makes the next character literal (`\%`, `\_`, `\\`).
//! There are no regular expressions.
//!
//! The usual shapes are classified once: exact, prefix (`abc%`), suffix (`%abc`) and infix
//! (`%abc%`) are single linear string operations. Any other pattern is split at its `%`s into
//! fixed-width segments, each matched at its leftmost position after the previous one (the
//! last one at the end of the text): without backtracking, a match costs at most
//! O(text length x pattern length), and O(text length) when no segment holds `_`.

use std::fmt;

/// A compiled `like` pattern.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum LikePattern {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(String),
    General { source: String, segments: Vec<Segment> },
}

/// A piece of a pattern between two `%`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Segment {
    items: Vec<Item>,
    /// The segment as a string when it holds no `_`, for a linear substring search.
    literal: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Item {
    Char(char),
    /// `_`.
    One,
}

impl LikePattern {
    /// Compiles `pattern`; the error says why it is malformed.
    pub(crate) fn parse(pattern: &str) -> Result<LikePattern, &'static str> {
        // Segments between `%`: the first is anchored at the start of the text, the last at
        // its end, and those in between float.
        let mut segments: Vec<Vec<Item>> = vec![Vec::new()];
        let mut chars = pattern.chars();
        while let Some(c) = chars.next() {
            let item = match c {
                '\\' => match chars.next() {
                    Some(escaped) => Item::Char(escaped),
                    None => return Err("it ends with a lone `\\`"),
                },
                '%' => {
                    let last_is_empty = segments.last().is_some_and(Vec::is_empty);
                    if !(last_is_empty && segments.len() > 1) {
                        segments.push(Vec::new());
                    }
                    continue;
                }
                '_' => Item::One,
                c => Item::Char(c),
            };
            if let Some(last) = segments.last_mut() {
                last.push(item);
            }
        }
        let has_one = segments.iter().flatten().any(|item| *item == Item::One);
        let text = |items: &[Item]| -> String {
            items
                .iter()
                .map(|item| match item {
                    Item::Char(c) => *c,
                    Item::One => '_',
                })
                .collect()
        };
        if !has_one {
            match segments.as_slice() {
                [only] => return Ok(LikePattern::Exact(text(only))),
                [head, tail] if tail.is_empty() => return Ok(LikePattern::Prefix(text(head))),
                [head, tail] if head.is_empty() => return Ok(LikePattern::Suffix(text(tail))),
                [head, middle, tail] if head.is_empty() && tail.is_empty() => {
                    return Ok(LikePattern::Contains(text(middle)));
                }
                _ => {}
            }
        }
        let segments = segments
            .into_iter()
            .map(|items| {
                let literal = (!items.contains(&Item::One)).then(|| text(&items));
                Segment { items, literal }
            })
            .collect();
        Ok(LikePattern::General { source: pattern.to_owned(), segments })
    }

    pub(crate) fn matches(&self, text: &str) -> bool {
        match self {
            LikePattern::Exact(s) => text == s,
            LikePattern::Prefix(s) => text.starts_with(s.as_str()),
            LikePattern::Suffix(s) => text.ends_with(s.as_str()),
            LikePattern::Contains(s) => text.contains(s.as_str()),
            LikePattern::General { segments, .. } => general_match(segments, text),
        }
    }
}

fn general_match(segments: &[Segment], text: &str) -> bool {
    let Some((first, rest)) = segments.split_first() else {
        return text.is_empty();
    };
    let Some(mut pos) = match_at(text, 0, first) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        // No `%`: the one segment must cover the whole text.
        return pos == text.len();
    };
    for segment in middle {
        match find(text, pos, segment) {
            Some(end) => pos = end,
            None => return false,
        }
    }
    // The last segment ends the text: it starts `width` characters before the end.
    let width = last.items.len();
    let Some(start) = start_of_last_chars(text, width) else {
        return false;
    };
    start >= pos && match_at(text, start, last) == Some(text.len())
}

/// Byte offset where the last `n` characters of `text` start.
fn start_of_last_chars(text: &str, n: usize) -> Option<usize> {
    if n == 0 {
        return Some(text.len());
    }
    text.char_indices().rev().nth(n - 1).map(|(i, _)| i)
}

/// Matches `segment` at byte `pos`; the end of the match.
fn match_at(text: &str, pos: usize, segment: &Segment) -> Option<usize> {
    let rest = text.get(pos..)?;
    if let Some(literal) = &segment.literal {
        return rest.starts_with(literal.as_str()).then_some(pos + literal.len());
    }
    let mut chars = rest.char_indices();
    let mut end = 0;
    for item in &segment.items {
        let (i, c) = chars.next()?;
        if let Item::Char(expected) = item
            && *expected != c
        {
            return None;
        }
        end = i + c.len_utf8();
    }
    Some(pos + end)
}

/// The end of the leftmost match of `segment` starting at or after `pos`.
fn find(text: &str, pos: usize, segment: &Segment) -> Option<usize> {
    let rest = text.get(pos..)?;
    if let Some(literal) = &segment.literal {
        return rest.find(literal.as_str()).map(|i| pos + i + literal.len());
    }
    rest.char_indices().map(|(i, _)| pos + i).find_map(|start| match_at(text, start, segment))
}

impl fmt::Display for LikePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LikePattern::Exact(s) => write!(f, "(exact {s:?})"),
            LikePattern::Prefix(s) => write!(f, "(prefix {s:?})"),
            LikePattern::Suffix(s) => write!(f, "(suffix {s:?})"),
            LikePattern::Contains(s) => write!(f, "(contains {s:?})"),
            LikePattern::General { source, .. } => write!(f, "(pattern {source:?})"),
        }
    }
}

#[cfg(test)]
mod tests;
