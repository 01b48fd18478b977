//! The Zoom meeting of each booking (provider "zoom"): the jobs
//! `core::meeting::plan` decides, carried out. A job is leased, Zoom is
//! called outside any transaction, and the outcome is written together
//! with the mail it causes: the confirmation is composed only once the
//! meeting exists, with the ID, passcode and URL Zoom returned.

use super::apply;
use super::error::DeskError;
use super::staff_note;
use super::views::{booking_slot_view, join_view};
use crate::core::booking::StaffReason;
use crate::core::meeting::{self as plan, Failure, Plan, Policy};
use crate::mail::notice::{Addressee, BookingView, Notice};
use crate::meeting::zoom::ZoomClient;
use crate::meeting::{Meeting, MeetingError, NewMeeting};
use crate::office::Office;
use crate::store::bookings::BookingRecord;
use crate::store::meetings::{self, JobRow};
use crate::store::{bookings, requests, StoreError, Tx};
use chrono::{DateTime, Duration as ChronoDuration, Utc};
use std::time::Duration;
use tracing::{info, warn};

/// Jobs taken in one pass; the rest wait for the next.
const JOBS_PER_PASS: i64 = 50;

/// Works the meeting jobs due at `now`; returns how many were tried.
pub(super) async fn work_meetings(office: &Office, now: DateTime<Utc>) -> Result<usize, DeskError> {
    let (Some(zoom), Some(settings)) = (&office.zoom, &office.cfg.zoom) else {
        return Ok(0);
    };
    // A job is a few calls, each cut at the time-out. Should the lease
    // run out mid-job anyway, the next holder finds `maybe_created`
    // and looks before creating.
    let lease = ChronoDuration::from_std(settings.timeout * 3 + Duration::from_secs(2))
        .unwrap_or(ChronoDuration::minutes(1));
    let jobs = {
        let mut conn = office.store.conn().await?;
        meetings::claim_due(&mut conn, &office.owner, now, now + lease, JOBS_PER_PASS).await?
    };
    let n = jobs.len();
    for job in jobs {
        work_meeting(office, zoom, job, now).await?;
    }
    Ok(n)
}

async fn work_meeting(
    office: &Office,
    zoom: &ZoomClient,
    job: JobRow,
    now: DateTime<Utc>,
) -> Result<(), DeskError> {
    let id = job.booking_id;
    let mut conn = office.store.conn().await?;
    let Some(booking) = bookings::find_by_id(&mut conn, id).await? else {
        drop(conn);
        let mut tx = office.store.begin().await?;
        meetings::finish(&mut tx, id, false, None, false, now).await?;
        tx.commit().await?;
        return Ok(());
    };
    drop(conn);
    let policy = meeting_policy(office, &booking);
    let hosts = zoom.hosts();
    let host_name = |i: usize| hosts[i % hosts.len().max(1)].as_str();
    match plan::plan(&job.job, now, &policy) {
        Plan::Done => {
            let mut tx = office.store.begin().await?;
            meetings::finish(&mut tx, id, false, None, false, now).await?;
            tx.commit().await?;
        }
        Plan::Create { host } => {
            create_meeting(office, zoom, &job, &booking, host, now).await?;
        }
        Plan::AdoptOrCreate { host } => match zoom.find(host_name(host), &job.reservation).await {
            Ok(found) if !found.is_empty() => match adopt(zoom, &found, host_name(host)).await {
                Ok(m) => {
                    info!(booking = id, "meeting of a lost create adopted");
                    meeting_made(office, &booking, &m, now).await?;
                }
                Err(e) => meeting_failed(office, &job, &e, None, now).await?,
            },
            Ok(_) => create_meeting(office, zoom, &job, &booking, host, now).await?,
            Err(e) => meeting_failed(office, &job, &e, None, now).await?,
        },
        Plan::Fallback => fall_back(office, &job, &booking, now).await?,
        Plan::Delete { look_on } => {
            let mut result = match &job.meeting_id {
                Some(m) => zoom.delete(m).await,
                None => Ok(()),
            };
            if let (Ok(()), Some(host)) = (&result, look_on) {
                result = delete_found(zoom, host_name(host), &job.reservation).await;
            }
            deleted(office, &job, result, now).await?;
        }
        Plan::FindAndDelete { host } => {
            let result = delete_found(zoom, host_name(host), &job.reservation).await;
            deleted(office, &job, result, now).await?;
        }
    }
    Ok(())
}

/// Whether the booking's own room can stand in for its meeting.
fn meeting_policy(office: &Office, b: &BookingRecord) -> Policy {
    let (hosts, fallback_after) = match &office.cfg.zoom {
        Some(z) => (
            z.hosts.len(),
            ChronoDuration::from_std(z.fallback_after).unwrap_or(ChronoDuration::minutes(15)),
        ),
        None => (1, ChronoDuration::minutes(15)),
    };
    Policy {
        hosts,
        fallback_after,
        fallback_room: office
            .cfg
            .rooms
            .iter()
            .any(|r| r.id == b.room_id && r.passcode.is_some()),
    }
}

async fn create_meeting(
    office: &Office,
    zoom: &ZoomClient,
    job: &JobRow,
    booking: &BookingRecord,
    host: usize,
    now: DateTime<Utc>,
) -> Result<(), DeskError> {
    {
        // Durable before the call: a crash or a lost answer from here
        // on makes the next try look before creating.
        let mut conn = office.store.conn().await?;
        meetings::sending_create(&mut conn, job.booking_id, host, now).await?;
    }
    let cal = &office.cfg.calendar;
    let new = NewMeeting {
        topic: office.composer.meeting_topic(&booking.reservation)?,
        start_local: booking.slot_start.with_timezone(&cal.tz).naive_local(),
        timezone: cal.tz.name().to_string(),
        minutes: cal.slot_minutes,
    };
    let hosts = zoom.hosts();
    match zoom.create(&hosts[host % hosts.len().max(1)], &new).await {
        Ok(m) => {
            info!(booking = job.booking_id, "meeting created");
            meeting_made(office, booking, &m, now).await
        }
        Err(e) => {
            // Only a lost answer may have left a meeting behind.
            let maybe = matches!(e, MeetingError::Unknown(_));
            meeting_failed(office, job, &e, Some(maybe), now).await
        }
    }
}

/// The first of the meetings found becomes the booking's; any others
/// (never expected) are deleted so one booking keeps one meeting.
async fn adopt(zoom: &ZoomClient, found: &[String], host: &str) -> Result<Meeting, MeetingError> {
    let m = zoom.get(&found[0], host).await?;
    for extra in &found[1..] {
        zoom.delete(extra).await?;
    }
    Ok(m)
}

async fn delete_found(
    zoom: &ZoomClient,
    host: &str,
    reservation: &str,
) -> Result<(), MeetingError> {
    for id in zoom.find(host, reservation).await? {
        zoom.delete(&id).await?;
    }
    Ok(())
}

/// The meeting exists: the booking gets it and, in the same
/// transaction, the seeker the confirmation that carries it. A booking
/// cancelled meanwhile keeps it only until the job deletes it.
async fn meeting_made(
    office: &Office,
    booking: &BookingRecord,
    m: &Meeting,
    now: DateTime<Utc>,
) -> Result<(), DeskError> {
    let mut tx = office.store.begin().await?;
    meetings::set_meeting(&mut tx, booking.id, m, now).await?;
    let current = bookings::find_by_id(&mut tx, booking.id).await?;
    match current {
        Some(b) if b.status == crate::core::booking::BookingStatus::Confirmed => {
            meetings::finish(&mut tx, b.id, true, None, false, now).await?;
            send_confirmation(office, &mut tx, &b, now).await?;
        }
        _ => {
            meetings::want(&mut tx, booking.id, false, 0, now).await?;
            info!(
                booking = booking.id,
                "booking gone meanwhile; its meeting goes too"
            );
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The confirmation (or the staff booking's notice) with the way to
/// join the booking has now: its meeting or its fallback room.
async fn send_confirmation(
    office: &Office,
    tx: &mut Tx,
    b: &BookingRecord,
    now: DateTime<Utc>,
) -> Result<(), DeskError> {
    let Some(row) = requests::find_by_id(tx, b.request_id).await? else {
        return Err(StoreError::Corrupt {
            table: "bookings",
            problem: format!("booking {} without its request", b.id),
        }
        .into());
    };
    let to = Addressee {
        name: row.machine.data.name.clone(),
        reference: row.reference.clone(),
    };
    let booking = BookingView {
        reservation: b.reservation.clone(),
        slot: Some(booking_slot_view(office, b)),
    };
    let room = join_view(office, b);
    let notice = Notice::confirmation(b.booked_by, to, booking, room);
    let invite = apply::invite(office, tx, b, &row, "REQUEST", now).await?;
    let thread = apply::thread_of(&row);
    apply::enqueue_with(office, tx, row.id, notice, &thread, Some(invite), now).await?;
    Ok(())
}

/// Zoom stayed out of reach past the limit: the booking's own room
/// stands in, and staff are told.
async fn fall_back(
    office: &Office,
    job: &JobRow,
    booking: &BookingRecord,
    now: DateTime<Utc>,
) -> Result<(), DeskError> {
    let mut tx = office.store.begin().await?;
    let current = bookings::find_by_id(&mut tx, booking.id).await?;
    let Some(b) = current.filter(|b| b.status == crate::core::booking::BookingStatus::Confirmed)
    else {
        meetings::want(&mut tx, booking.id, false, 0, now).await?;
        tx.commit().await?;
        return Ok(());
    };
    if job.job.maybe_created {
        // A lost create may still have made one: the job removes it.
        meetings::fallen_back(&mut tx, b.id, &b.room_id, now).await?;
    } else {
        meetings::finish(&mut tx, b.id, true, Some(&b.room_id), false, now).await?;
    }
    // Read again: the booking now names its fallback room.
    let b = bookings::find_by_id(&mut tx, b.id).await?.unwrap_or(b);
    send_confirmation(office, &mut tx, &b, now).await?;
    tell_staff_of_meeting(office, &mut tx, &b, StaffReason::MeetingFallback, now).await?;
    tx.commit().await?;
    warn!(
        booking = b.id,
        "no Zoom meeting in time; the fallback room was sent"
    );
    Ok(())
}

async fn meeting_failed(
    office: &Office,
    job: &JobRow,
    e: &MeetingError,
    maybe_created: Option<bool>,
    now: DateTime<Utc>,
) -> Result<(), DeskError> {
    let failure = Failure::from(e);
    let booking = {
        let mut conn = office.store.conn().await?;
        bookings::find_by_id(&mut conn, job.booking_id).await?
    };
    let policy = match &booking {
        Some(b) => meeting_policy(office, b),
        None => meeting_policy_without_room(office),
    };
    let retry = plan::after_failure(&job.job, failure, now, &policy);
    warn!(booking = job.booking_id, error = %e.log_text(), retry_at = %retry.at, "zoom call failed");
    let mut tx = office.store.begin().await?;
    meetings::retry(
        &mut tx,
        job.booking_id,
        &retry,
        maybe_created,
        &e.to_string(),
        now,
    )
    .await?;
    if retry.tell_staff {
        if let Some(b) = &booking {
            let reason = if job.job.want_meeting {
                StaffReason::MeetingFailing
            } else {
                StaffReason::MeetingDeleteFailed
            };
            tell_staff_of_meeting(office, &mut tx, b, reason, now).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

fn meeting_policy_without_room(office: &Office) -> Policy {
    Policy {
        hosts: office.cfg.zoom.as_ref().map_or(1, |z| z.hosts.len()),
        fallback_after: ChronoDuration::minutes(15),
        fallback_room: false,
    }
}

async fn deleted(
    office: &Office,
    job: &JobRow,
    result: Result<(), MeetingError>,
    now: DateTime<Utc>,
) -> Result<(), DeskError> {
    match result {
        Ok(()) => {
            let mut tx = office.store.begin().await?;
            meetings::finish(&mut tx, job.booking_id, false, None, true, now).await?;
            tx.commit().await?;
            info!(booking = job.booking_id, "meeting deleted");
            Ok(())
        }
        Err(e) => meeting_failed(office, job, &e, None, now).await,
    }
}

async fn tell_staff_of_meeting(
    office: &Office,
    tx: &mut Tx,
    b: &BookingRecord,
    reason: StaffReason,
    now: DateTime<Utc>,
) -> Result<(), DeskError> {
    let row = requests::find_by_id(tx, b.request_id).await?;
    let subject = row
        .as_ref()
        .map(|r| r.thread_subject.clone())
        .unwrap_or_default();
    staff_note::notify_staff(office, tx, row.as_ref(), reason, &subject, now).await
}
