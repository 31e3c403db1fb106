//! Validated names of databases, collections, partitions, fields, aliases, users and roles.

use std::fmt;

use crate::Error;

/// Longest name Milvus accepts, in bytes (names are ASCII, so also in characters).
pub const MAX_NAME_LEN: usize = 255;

/// What a name names; carried in errors so a message can say "collection name".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameKind {
    Database,
    Collection,
    Partition,
    Field,
    Alias,
}

impl fmt::Display for NameKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NameKind::Database => "database",
            NameKind::Collection => "collection",
            NameKind::Partition => "partition",
            NameKind::Field => "field",
            NameKind::Alias => "alias",
        })
    }
}

/// A name that follows Milvus's rule: ASCII letters, digits and `_`, starting with a letter or
/// `_`, 1 to 255 characters.
///
/// **Invariant:** the inner string always satisfies that rule, so it is safe to use as a map key,
/// in a log line or in a file's metadata without escaping.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Name(String);

impl Name {
    pub fn new(kind: NameKind, name: &str) -> Result<Name, Error> {
        let reason = check(name);
        match reason {
            None => Ok(Name(name.to_owned())),
            Some(reason) => Err(Error::InvalidName { kind, name: truncated(name), reason }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn check(name: &str) -> Option<&'static str> {
    let Some(first) = name.chars().next() else {
        return Some("must not be empty");
    };
    if name.len() > MAX_NAME_LEN {
        return Some("must be at most 255 characters");
    }
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Some("must start with a letter or an underscore");
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Some("may contain only letters, digits and underscores");
    }
    None
}

/// Keeps error messages bounded when a client sends a megabyte-long "name": at most 64
/// characters of it, then `…`.
pub fn truncated(name: &str) -> String {
    const SHOWN: usize = 64;
    if name.chars().count() <= SHOWN {
        return name.to_owned();
    }
    let mut shown: String = name.chars().take(SHOWN).collect();
    shown.push('…');
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_name(input: &str, expect_ok: bool) {
        let res = Name::new(NameKind::Collection, input);
        assert_eq!(res.is_ok(), expect_ok, "{input:?}: {res:?}");
    }

    #[test]
    fn milvus_name_rule() {
        check_name("books", true);
        check_name("_private", true);
        check_name("a1_b2", true);
        check_name(&"a".repeat(255), true);
        check_name(&"a".repeat(256), false);
        check_name("", false);
        check_name("1abc", false);
        check_name("has space", false);
        check_name("dash-name", false);
        check_name("héllo", false);
        check_name("$meta", false);
        check_name("../etc", false);
    }

    #[test]
    fn error_names_kind_and_rule_and_bounds_the_echo() {
        let err = Name::new(NameKind::Partition, &"x-".repeat(1000)).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("partition name"), "{msg}");
        assert!(msg.contains("must be at most 255 characters"), "{msg}");
        assert!(msg.len() < 300, "{msg}");
    }
}
