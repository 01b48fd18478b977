//! What can go wrong in the office's jobs: the desk's errors and a staff
//! command's refusals (their own file: every job and the office handle
//! name them without reaching into the running loop).

use crate::mail::compose::ComposeError;
use crate::mail::MailError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum DeskError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Compose(#[from] ComposeError),
    /// A staff command that cannot be done (see [`StaffError`]).
    #[error(transparent)]
    Staff(#[from] StaffError),
}

/// Why a staff command cannot be done, as a caller (the command line, a web
/// page) needs to tell: the message says what, in the staff's terms.
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    /// No reservation, request or booking by that key.
    #[error("{0}")]
    NotFound(String),
    /// It exists, but its state does not allow this (cancelled, full slot).
    #[error("{0}")]
    Conflict(String),
    /// The input itself is wrong (not a 求職番号, no reason given).
    #[error("{0}")]
    Invalid(String),
}

impl DeskError {
    pub fn is_transient(&self) -> bool {
        match self {
            DeskError::Store(e) => e.is_transient(),
            DeskError::Mail(e) => e.is_transient(),
            DeskError::Compose(_) | DeskError::Staff(_) => false,
        }
    }
}
