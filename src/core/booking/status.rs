//! A booking's own status and its transitions (beside its request's state).

use super::*;

/// A booking's own status, beside its request's state: a request can be
/// booked again after a cancellation, and its old bookings keep theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingStatus {
    /// Booked and not yet over: the only status that holds a room.
    Confirmed,
    Cancelled,
    NoShow,
    Attended,
}

/// What ends a booking (the transitions of [`BookingStatus`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingOutcome {
    Cancel,
    NoShow,
    /// Also corrects a no-show recorded by mistake.
    Attend,
}

impl BookingStatus {
    pub const ALL: [BookingStatus; 4] = [
        BookingStatus::Confirmed,
        BookingStatus::Cancelled,
        BookingStatus::NoShow,
        BookingStatus::Attended,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::Confirmed => "confirmed",
            BookingStatus::Cancelled => "cancelled",
            BookingStatus::NoShow => "no_show",
            BookingStatus::Attended => "attended",
        }
    }

    /// The stored name back to the status (the inverse of `as_str`).
    pub fn parse(s: &str) -> Option<BookingStatus> {
        BookingStatus::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// The status after `outcome`, or None when it does not apply (a
    /// cancelled booking cannot be attended, an attended one not cancelled).
    pub fn after(self, outcome: BookingOutcome) -> Option<BookingStatus> {
        match (self, outcome) {
            (BookingStatus::Confirmed, BookingOutcome::Cancel) => Some(BookingStatus::Cancelled),
            (BookingStatus::Confirmed, BookingOutcome::NoShow) => Some(BookingStatus::NoShow),
            (BookingStatus::Confirmed | BookingStatus::NoShow, BookingOutcome::Attend) => {
                Some(BookingStatus::Attended)
            }
            _ => None,
        }
    }
}

impl BookingStatus {
    /// Whether cancelling a booking in this status that starts at `start`
    /// frees its room for those who wait: only a confirmed session to come.
    pub fn frees_on_cancel(self, start: DateTime<Utc>, now: DateTime<Utc>) -> bool {
        self == BookingStatus::Confirmed && start > now
    }

    /// Whether this status after `before` counts one more unexcused
    /// no-show against the seeker (第6条(5)).
    pub fn adds_no_show(self, before: BookingStatus, excused: bool) -> bool {
        self == BookingStatus::NoShow && before != BookingStatus::NoShow && !excused
    }
}

impl fmt::Display for BookingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
