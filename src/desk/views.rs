//! A booking as the mails show it: its slot, its reservation and how the
//! seeker joins (shared by the step's plan, the staff note and the meeting
//! jobs).

use crate::config::MeetingProvider;
use crate::core::calendar::Slot;
use crate::mail::compose::SlotView;
use crate::mail::notice::{BookingView, RoomView};
use crate::office::Office;
use crate::store::bookings::BookingRecord;

/// How the seeker joins the booking's session: its own Zoom meeting
/// when it has one, the room sent in its place when Zoom failed, else
/// (provider "rooms") its room from the config. None: with Zoom, while
/// the meeting is still to be made.
pub(super) fn join_view(office: &Office, b: &BookingRecord) -> Option<RoomView> {
    match (&b.meeting, &b.fallback_room, office.cfg.meeting_provider) {
        (Some(m), _, _) => Some(RoomView {
            id: m.id.clone(),
            passcode: Some(m.passcode.clone()),
            url: (!m.join_url.is_empty()).then(|| m.join_url.clone()),
        }),
        (None, Some(room), _) => room_view(office, room),
        (None, None, MeetingProvider::Rooms) => room_view(office, &b.room_id),
        (None, None, MeetingProvider::Zoom) => None,
    }
}

/// The meeting room as templates show it.
pub(super) fn room_view(office: &Office, room_id: &str) -> Option<RoomView> {
    office
        .cfg
        .rooms
        .iter()
        .find(|r| r.id == room_id)
        .map(|r| RoomView {
            id: r.id.clone(),
            passcode: r.passcode.clone(),
            url: r.url.clone(),
        })
}

pub(super) fn booking_slot(office: &Office, b: &BookingRecord) -> Slot {
    let local = b.slot_start.with_timezone(&office.cfg.calendar.tz);
    Slot::new(local.date_naive(), local.time())
}

/// The reservation number and slot of a booking as templates show them.
pub(super) fn booking_view(office: &Office, b: Option<&BookingRecord>) -> BookingView {
    match b {
        Some(b) => BookingView {
            reservation: b.reservation.clone(),
            slot: Some(booking_slot_view(office, b)),
        },
        None => BookingView {
            reservation: "-".to_string(),
            slot: None,
        },
    }
}

pub(crate) fn booking_slot_view(office: &Office, b: &BookingRecord) -> SlotView {
    SlotView::new(booking_slot(office, b), office.cfg.calendar.slot_minutes)
}

pub(super) fn slot_views(slots: &[Slot], minutes: u32) -> Vec<SlotView> {
    slots.iter().map(|s| SlotView::new(*s, minutes)).collect()
}
