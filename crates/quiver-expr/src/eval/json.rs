//! Reading one value out of a row's JSON text: serde_json's streaming parser walks the path
//! and skips everything else (`IgnoredAny`), so no tree is built for the row and a string
//! without escapes is borrowed from the text.
//!
//! Path steps follow JSON Pointer, as Milvus's do: a step names an object member, or, on an
//! array, an element when the step is a canonical index (`0`, `12`; not `012`). A missing
//! member, an index past the end, a step into a scalar, JSON `null` and text that does not
//! parse (which validated rows never hold) all give `None`. serde_json refuses nesting deeper
//! than 128 levels, which bounds the stack.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::value::Val;
use crate::plan::Step;

/// The value at `path` in the JSON `text`.
pub(crate) fn lookup<'t>(text: &'t str, path: &[Step]) -> Option<Val<'t>> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Nav { path }.deserialize(&mut de).ok()?;
    de.end().ok()?;
    value
}

struct Nav<'p> {
    path: &'p [Step],
}

impl<'de> DeserializeSeed<'de> for Nav<'_> {
    type Value = Option<Val<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(NavVisitor { path: self.path })
    }
}

struct NavVisitor<'p> {
    path: &'p [Step],
}

impl NavVisitor<'_> {
    fn scalar<'de>(&self, value: Val<'de>) -> Option<Val<'de>> {
        self.path.is_empty().then_some(value)
    }
}

impl<'de> Visitor<'de> for NavVisitor<'_> {
    type Value = Option<Val<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(self.scalar(Val::Bool(v)))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(self.scalar(Val::Int(v)))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        // Above i64::MAX a JSON integer is read as a Double, as Milvus does.
        Ok(self.scalar(i64::try_from(v).map_or(Val::Float(v as f64), Val::Int)))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(self.scalar(Val::Float(v)))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(self.scalar(Val::Str(Cow::Borrowed(v))))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(self.scalar(Val::Str(Cow::Owned(v.to_owned()))))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(self.scalar(Val::Str(Cow::Owned(v))))
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let Some((step, rest)) = self.path.split_first() else {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element_seed(Nav { path: &[] })? {
                items.push(item.unwrap_or(Val::Opaque));
            }
            return Ok(Some(Val::List(items)));
        };
        let mut found = None;
        let mut i = 0usize;
        loop {
            if Some(i) == step.index {
                match seq.next_element_seed(Nav { path: rest })? {
                    Some(value) => found = value,
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            i += 1;
        }
        Ok(found)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let Some((step, rest)) = self.path.split_first() else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(Some(Val::Opaque));
        };
        let mut found = None;
        while let Some(key) = map.next_key_seed(KeySeed)? {
            if key == step.key {
                // A repeated member: the last one wins, as when the text is parsed whole.
                found = map.next_value_seed(Nav { path: rest })?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Reads an object key, borrowing it from the text when it has no escapes.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}
