//! Prometheus's text exposition format, version 0.0.4: the one format every scraper reads,
//! simple enough that writing it ourselves costs less than a dependency.
//!
//! A family is a `# HELP` line, a `# TYPE` line, then its samples, each
//! `name{label="value",...} value`. Label values escape `\`, `"` and line feeds (`\\`, `\"`,
//! `\n`); help text escapes `\` and line feeds. Names are fixed by the code (checked by the
//! tests), never taken from a request; label values may come from outside (collection names)
//! and are always escaped.

use std::fmt::Write as _;

use crate::metrics::histogram::HistogramSnapshot;

/// The `Content-Type` of a scrape response.
pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The kind of a metric family, as its `# TYPE` line names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// A sample value: counters are exact integers, gauges and sums floating point.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Value {
    Int(u64),
    Float(f64),
}

/// A scrape's text, written family by family.
#[derive(Default)]
pub(crate) struct Exposition {
    out: String,
}

impl Exposition {
    /// Starts a family: its `# HELP` and `# TYPE` lines. Its samples follow.
    pub(crate) fn family(&mut self, name: &str, kind: Kind, help: &str) {
        debug_assert!(is_metric_name(name), "{name}");
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        escape_help(&mut self.out, help);
        self.out.push_str("\n# TYPE ");
        self.out.push_str(name);
        self.out.push(' ');
        self.out.push_str(kind.name());
        self.out.push('\n');
    }

    /// One sample line.
    pub(crate) fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: Value) {
        self.out.push_str(name);
        write_labels(&mut self.out, labels, None);
        self.out.push(' ');
        write_value(&mut self.out, value);
        self.out.push('\n');
    }

    /// The samples of one histogram series: cumulative `_bucket` lines (ending with
    /// `le="+Inf"`), `_sum` in seconds and `_count`.
    pub(crate) fn histogram(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        histogram: &HistogramSnapshot,
    ) {
        let mut cumulative = 0u64;
        for (bound, count) in histogram.buckets() {
            cumulative = cumulative.saturating_add(count);
            self.out.push_str(name);
            self.out.push_str("_bucket");
            write_labels(&mut self.out, labels, Some(bound));
            self.out.push(' ');
            write_value(&mut self.out, Value::Int(cumulative));
            self.out.push('\n');
        }
        self.sample(&format!("{name}_sum"), labels, Value::Float(histogram.sum_seconds()));
        self.sample(&format!("{name}_count"), labels, Value::Int(histogram.count()));
    }

    pub(crate) fn finish(self) -> String {
        self.out
    }
}

/// `{name="value",...}` (nothing without labels), with `le` last for a histogram bucket.
fn write_labels(out: &mut String, labels: &[(&str, &str)], le: Option<f64>) {
    if labels.is_empty() && le.is_none() {
        return;
    }
    out.push('{');
    let mut first = true;
    for (name, value) in labels {
        debug_assert!(is_label_name(name), "{name}");
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(name);
        out.push_str("=\"");
        escape_label_value(out, value);
        out.push('"');
    }
    if let Some(bound) = le {
        if !first {
            out.push(',');
        }
        out.push_str("le=\"");
        write_value(out, Value::Float(bound));
        out.push('"');
    }
    out.push('}');
}

fn write_value(out: &mut String, value: Value) {
    match value {
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Float(x) if x.is_nan() => out.push_str("NaN"),
        Value::Float(x) if x == f64::INFINITY => out.push_str("+Inf"),
        Value::Float(x) if x == f64::NEG_INFINITY => out.push_str("-Inf"),
        Value::Float(x) => {
            let _ = write!(out, "{x}");
        }
    }
}

/// A label value: `\` → `\\`, `"` → `\"`, line feed → `\n`; everything else as is (UTF-8).
pub(crate) fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Help text: `\` → `\\`, line feed → `\n`.
fn escape_help(out: &mut String, help: &str) {
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub(crate) fn is_metric_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, not starting with `__` (reserved).
pub(crate) fn is_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    !name.starts_with("__")
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
