//! Progress of long operations, reported to a caller-supplied [`Progress`] (the command line
//! draws a line on standard error; libraries and tests pass `()`).

/// Receives the progress of a create, verify or restore, in bytes.
pub trait Progress {
    /// A new phase starts (`"copy"`, `"verify"`, `"restore"`), of about `total` bytes.
    fn start(&mut self, phase: &'static str, total: u64);
    /// `bytes` more bytes were processed.
    fn advance(&mut self, bytes: u64);
}

/// No progress reporting.
impl Progress for () {
    fn start(&mut self, _phase: &'static str, _total: u64) {}
    fn advance(&mut self, _bytes: u64) {}
}
