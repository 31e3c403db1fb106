//! Distance metrics with Milvus's names and ordering conventions.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// How two float vectors are compared.
///
/// Milvus reports L2 as the *squared* Euclidean distance (smaller is closer) and IP and COSINE
/// as similarities (larger is closer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Metric {
    L2,
    Ip,
    Cosine,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::L2 => "L2",
            Metric::Ip => "IP",
            Metric::Cosine => "COSINE",
        }
    }

    /// True when a larger reported score means a closer vector.
    pub fn larger_is_closer(self) -> bool {
        match self {
            Metric::L2 => false,
            Metric::Ip | Metric::Cosine => true,
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Metric {
    type Err = Error;

    /// Accepts Milvus's spellings in any case.
    fn from_str(s: &str) -> Result<Metric, Error> {
        match s.to_ascii_uppercase().as_str() {
            "L2" => Ok(Metric::L2),
            "IP" => Ok(Metric::Ip),
            "COSINE" => Ok(Metric::Cosine),
            _ => Err(Error::UnknownMetric { given: s.chars().take(32).collect() }),
        }
    }
}
