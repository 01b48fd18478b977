//! What one pass did (its own file: the pass's jobs fill it in without
//! reaching into the running loop).

/// What one pass did, for logs and tests.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PassReport {
    pub handled: usize,
    pub duplicates: usize,
    pub timers: usize,
    pub sent: usize,
    pub send_failures: usize,
    pub message_failures: usize,
    /// Our own copies of sent mail, filed into the sent folder.
    pub copies: usize,
}
