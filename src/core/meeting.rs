//! A booking's online meeting (Zoom), decided: what the job of one booking
//! does next, and when it tries again after a failure. Pure: the job's row
//! and the clock come in, a plan goes out; `desk::meetings` carries it out.
//!
//! The job keeps one promise in each direction: a booking that needs a
//! meeting gets exactly one (a create whose answer was lost is looked for
//! before another is made), and a cancelled one keeps none.

use chrono::{DateTime, Duration, Utc};

/// The job row as the decision needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The booking still needs a meeting (false: whatever exists goes).
    pub want_meeting: bool,
    /// The seeker was sent a way to join (the meeting or a fallback room).
    pub confirmed: bool,
    /// A meeting of this booking is known (its id is on the booking).
    pub meeting_known: bool,
    /// A create was sent and no answer came back: it may exist.
    pub maybe_created: bool,
    pub host_index: usize,
    pub attempts: u32,
    pub staff_told: bool,
    pub created_at: DateTime<Utc>,
}

/// What the office offers around Zoom.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Policy {
    pub hosts: usize,
    pub fallback_after: Duration,
    /// A configured room with a passcode can stand in for the meeting.
    pub fallback_room: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Create the meeting on host `host`.
    Create { host: usize },
    /// Look for the meeting a lost create may have made on `host` (adopt
    /// it), and create one only when there is none.
    AdoptOrCreate { host: usize },
    /// The seeker waited long enough: send the fallback room.
    Fallback,
    /// Delete the known meeting (and look for a lost create's on `host`).
    Delete { look_on: Option<usize> },
    /// Only a lost create's meeting may exist: look for it on `host` and
    /// delete it.
    FindAndDelete { host: usize },
    /// Nothing left to do.
    Done,
}

/// Whether someone joining a booking's meeting is its seeker attending:
/// the host (staff, whose participant id is the meeting's host id) is not.
pub fn seeker_joined(host_id: Option<&str>, participant_id: Option<&str>) -> bool {
    !host_id.is_some_and(|h| !h.is_empty() && Some(h) == participant_id)
}

pub fn plan(job: &Job, now: DateTime<Utc>, policy: &Policy) -> Plan {
    let host = job.host_index % policy.hosts.max(1);
    if !job.want_meeting {
        return match (job.meeting_known, job.maybe_created) {
            (true, maybe) => Plan::Delete {
                look_on: maybe.then_some(host),
            },
            (false, true) => Plan::FindAndDelete { host },
            (false, false) => Plan::Done,
        };
    }
    if job.confirmed {
        return Plan::Done;
    }
    if policy.fallback_room && now >= job.created_at + policy.fallback_after {
        return Plan::Fallback;
    }
    if job.maybe_created {
        Plan::AdoptOrCreate { host }
    } else {
        Plan::Create { host }
    }
}

/// How a call to Zoom failed, as far as the next try cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Zoom said when to come back (429 with Retry-After).
    RetryAfter(Duration),
    /// Try again later: 429 without a time, 5xx, time-outs, no connection.
    Transient,
    /// The host's daily limit of meeting creates and updates.
    DailyLimit,
    /// A refusal trying again will not change (bad credentials, a host
    /// that does not exist): tried again slowly, staff told at once.
    Permanent,
}

/// When and where the job tries next, and whether staff hear of it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub at: DateTime<Utc>,
    pub host_index: usize,
    pub tell_staff: bool,
}

/// The first retry's wait; doubled each time up to [`MAX_BACKOFF_SECS`].
pub const FIRST_BACKOFF_SECS: i64 = 2;
pub const MAX_BACKOFF_SECS: i64 = 300;
/// Failed deletes before staff are told (the job keeps trying).
pub const DELETE_TRIES_BEFORE_STAFF: u32 = 5;

pub fn after_failure(job: &Job, failure: Failure, now: DateTime<Utc>, policy: &Policy) -> Retry {
    let backoff = Duration::seconds(
        FIRST_BACKOFF_SECS
            .saturating_mul(1_i64 << job.attempts.min(20))
            .min(MAX_BACKOFF_SECS),
    );
    let hosts = policy.hosts.max(1);
    let (at, host_index) = match failure {
        Failure::RetryAfter(wait) => (
            now + wait.clamp(Duration::seconds(1), Duration::days(1)),
            job.host_index,
        ),
        Failure::Transient => (now + backoff, job.host_index),
        Failure::Permanent => (now + Duration::seconds(MAX_BACKOFF_SECS), job.host_index),
        // The next host at once; after the last, the first again when the
        // limits reset (00:00 UTC).
        Failure::DailyLimit if job.host_index % hosts + 1 < hosts => {
            (now, job.host_index % hosts + 1)
        }
        Failure::DailyLimit => (next_utc_midnight(now), 0),
    };
    let tell_staff = !job.staff_told
        && if job.want_meeting {
            // With a fallback room staff hear when it is used; without
            // one, at the first failure: the seeker is waiting.
            !policy.fallback_room || failure == Failure::Permanent
        } else {
            job.attempts + 1 >= DELETE_TRIES_BEFORE_STAFF
        };
    Retry {
        at,
        host_index,
        tell_staff,
    }
}

fn next_utc_midnight(now: DateTime<Utc>) -> DateTime<Utc> {
    let tomorrow = now.date_naive() + Duration::days(1);
    tomorrow
        .and_hms_opt(0, 0, 5)
        .map_or(now + Duration::hours(1), |t| t.and_utc())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_host_joining_is_not_the_seeker() {
        assert!(!super::seeker_joined(Some("h1"), Some("h1")));
        assert!(super::seeker_joined(Some("h1"), Some("p2")));
        assert!(super::seeker_joined(None, Some("p2")));
        assert!(super::seeker_joined(Some(""), Some("")));
    }

    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, h, m, 0)
            .single()
            .expect("time")
    }

    fn job() -> Job {
        Job {
            want_meeting: true,
            confirmed: false,
            meeting_known: false,
            maybe_created: false,
            host_index: 0,
            attempts: 0,
            staff_told: false,
            created_at: at(1, 0),
        }
    }

    const POLICY: Policy = Policy {
        hosts: 2,
        fallback_after: Duration::minutes(15),
        fallback_room: true,
    };

    #[test]
    fn a_new_booking_creates_and_a_lost_answer_looks_first() {
        assert_eq!(plan(&job(), at(1, 0), &POLICY), Plan::Create { host: 0 });
        let lost = Job {
            maybe_created: true,
            ..job()
        };
        assert_eq!(
            plan(&lost, at(1, 1), &POLICY),
            Plan::AdoptOrCreate { host: 0 }
        );
    }

    #[test]
    fn the_fallback_comes_after_the_limit_only_with_a_room() {
        assert_eq!(plan(&job(), at(1, 14), &POLICY), Plan::Create { host: 0 });
        assert_eq!(plan(&job(), at(1, 15), &POLICY), Plan::Fallback);
        let no_room = Policy {
            fallback_room: false,
            ..POLICY
        };
        assert_eq!(plan(&job(), at(3, 0), &no_room), Plan::Create { host: 0 });
    }

    #[test]
    fn a_cancelled_booking_keeps_nothing() {
        let cancelled = Job {
            want_meeting: false,
            ..job()
        };
        assert_eq!(plan(&cancelled, at(2, 0), &POLICY), Plan::Done);
        let lost = Job {
            maybe_created: true,
            ..cancelled.clone()
        };
        assert_eq!(
            plan(&lost, at(2, 0), &POLICY),
            Plan::FindAndDelete { host: 0 }
        );
        let known = Job {
            meeting_known: true,
            ..cancelled
        };
        assert_eq!(
            plan(&known, at(2, 0), &POLICY),
            Plan::Delete { look_on: None }
        );
    }

    #[test]
    fn failures_back_off_move_hosts_and_tell_staff_when_it_matters() {
        let r = after_failure(&job(), Failure::Transient, at(1, 0), &POLICY);
        assert_eq!(r.at, at(1, 0) + Duration::seconds(2));
        assert!(!r.tell_staff, "a fallback room covers the seeker");
        let many = Job {
            attempts: 30,
            ..job()
        };
        let r = after_failure(&many, Failure::Transient, at(1, 0), &POLICY);
        assert_eq!(r.at, at(1, 5));
        let r = after_failure(
            &job(),
            Failure::RetryAfter(Duration::seconds(7)),
            at(1, 0),
            &POLICY,
        );
        assert_eq!(r.at, at(1, 0) + Duration::seconds(7));
        let r = after_failure(&job(), Failure::DailyLimit, at(1, 0), &POLICY);
        assert_eq!((r.at, r.host_index), (at(1, 0), 1));
        let last = Job {
            host_index: 1,
            ..job()
        };
        let r = after_failure(&last, Failure::DailyLimit, at(1, 0), &POLICY);
        assert_eq!(r.host_index, 0);
        assert_eq!(
            r.at,
            Utc.with_ymd_and_hms(2026, 12, 4, 0, 0, 5)
                .single()
                .expect("t")
        );
        let no_room = Policy {
            fallback_room: false,
            ..POLICY
        };
        assert!(after_failure(&job(), Failure::Transient, at(1, 0), &no_room).tell_staff);
        let told = Job {
            staff_told: true,
            ..job()
        };
        assert!(!after_failure(&told, Failure::Transient, at(1, 0), &no_room).tell_staff);
        let deleting = Job {
            want_meeting: false,
            attempts: DELETE_TRIES_BEFORE_STAFF - 1,
            ..job()
        };
        assert!(after_failure(&deleting, Failure::Transient, at(1, 0), &POLICY).tell_staff);
    }
}
