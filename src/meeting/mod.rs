//! Online meetings per booking: the Zoom client (`zoom`) and the webhook's
//! signature check (`webhook`). The rooms provider needs no code here: its
//! rooms are the config's `[[meeting.rooms]]`.

pub mod webhook;
pub mod zoom;

use chrono::NaiveDateTime;

/// A meeting as Zoom returned it: the seeker is sent exactly these.
#[derive(Debug, Clone, PartialEq)]
pub struct Meeting {
    pub id: String,
    pub passcode: String,
    pub join_url: String,
    pub host: String,
}

/// What a booking's meeting is created with.
#[derive(Debug, Clone)]
pub struct NewMeeting {
    /// Holds the reservation number: a lost create is found by it.
    pub topic: String,
    pub start_local: NaiveDateTime,
    pub timezone: String,
    pub minutes: u32,
}

#[derive(Debug, thiserror::Error)]
pub enum MeetingError {
    /// The answer never came (time-out, connection lost after sending):
    /// the call may have happened.
    #[error("zoom: no answer, the call may have happened: {0}")]
    Unknown(String),
    /// Not reached, or a 5xx for a call that changes nothing.
    #[error("zoom: unavailable: {0}")]
    Unavailable(String),
    #[error("zoom: too many requests")]
    Busy {
        retry_after: Option<chrono::Duration>,
    },
    #[error("zoom: the host's daily limit of meeting creates is reached")]
    DailyLimit,
    #[error("zoom: not found")]
    NotFound,
    #[error("zoom: refused ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("zoom: {0}")]
    Config(String),
}

impl MeetingError {
    /// For the log: Zoom's own words left out (they may name a user).
    pub fn log_text(&self) -> String {
        match self {
            MeetingError::Refused { status, .. } => format!("zoom: refused ({status})"),
            other => other.to_string(),
        }
    }

    /// A transport error: `changes`: whether the call creates something
    /// (then anything but a failed connect leaves its outcome unknown).
    fn from_transport(e: &reqwest::Error, changes: bool) -> MeetingError {
        // The URL may carry an id; the error text never carries a secret.
        let what = e.without_url_text();
        if changes && !e.is_connect() && !e.is_builder() {
            MeetingError::Unknown(what)
        } else {
            MeetingError::Unavailable(what)
        }
    }
}

trait WithoutUrl {
    fn without_url_text(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_text(&self) -> String {
        let kind = if self.is_timeout() {
            "timed out"
        } else if self.is_connect() {
            "cannot connect"
        } else if self.is_body() || self.is_decode() {
            "answer cut off"
        } else {
            "request failed"
        };
        kind.to_string()
    }
}

impl From<&MeetingError> for crate::core::meeting::Failure {
    fn from(e: &MeetingError) -> Self {
        use crate::core::meeting::Failure;
        match e {
            MeetingError::Busy {
                retry_after: Some(d),
            } => Failure::RetryAfter(*d),
            MeetingError::DailyLimit => Failure::DailyLimit,
            MeetingError::Refused { status, .. } if *status != 429 && *status != 408 => {
                Failure::Permanent
            }
            MeetingError::Config(_) => Failure::Permanent,
            _ => Failure::Transient,
        }
    }
}
