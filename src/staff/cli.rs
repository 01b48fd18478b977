//! The staff views as text for the command line: the one place their
//! wording lives (a web page renders the same views as HTML).

use super::RequestView;
use crate::core::booking::By;
use crate::core::understand::WishTime;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::fmt::Write as _;

/// `yoyaku show`: one request, its bookings and its history.
pub fn request(view: &RequestView, tz: Tz) -> String {
    let local = |t: DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
    let row = &view.request;
    let d = &row.machine.data;
    let mut out = String::new();
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let list_or_dash = |items: Vec<String>| {
        if items.is_empty() {
            "-".to_string()
        } else {
            items.join(", ")
        }
    };
    let _ = writeln!(
        out,
        "request {}  state {}",
        row.reference, row.machine.state
    );
    let _ = writeln!(out, "  name           {}", dash(&d.name));
    let _ = writeln!(out, "  seeker number  {}", dash(&d.seeker_number));
    let _ = writeln!(out, "  phone          {}", dash(&d.phone));
    let _ = writeln!(
        out,
        "  address        {}",
        if row.seeker_address.is_empty() {
            "-"
        } else {
            &row.seeker_address
        }
    );
    let _ = writeln!(out, "  needs          {}", list_or_dash(d.needs.clone()));
    let _ = writeln!(
        out,
        "  language       {}",
        d.lang.map_or("ja (not stated)", |l| l.code())
    );
    let wishes: Vec<String> = d
        .wishes
        .iter()
        .map(|w| match w.time {
            Some(WishTime::At(t)) => format!("{} {}", w.date, t.format("%H:%M")),
            Some(WishTime::Morning) => format!("{} am", w.date),
            Some(WishTime::Afternoon) => format!("{} pm", w.date),
            None => w.date.to_string(),
        })
        .collect();
    let _ = writeln!(out, "  wishes         {}", list_or_dash(wishes));
    if !row.machine.offered.is_empty() {
        let offered: Vec<String> = row
            .machine
            .offered
            .iter()
            .map(|s| format!("{} {}", s.date, s.start.format("%H:%M")))
            .collect();
        let _ = writeln!(out, "  offered        {}", offered.join(", "));
    }
    if let Some((reason, at)) = &view.refusal {
        let _ = writeln!(out, "  REFUSED        since {} ({reason})", local(*at));
    }
    if let Some(no_shows) = view.unexcused_no_shows {
        let _ = writeln!(
            out,
            "  no-shows       {no_shows} unexcused (this seeker number)"
        );
    }
    let _ = writeln!(out, "  created        {}", local(row.created_at));
    for b in &view.bookings {
        let _ = writeln!(
            out,
            "booking {}  {}  room {}  {}  (booked by {}, {})",
            b.reservation,
            local(b.slot_start),
            b.room_id,
            b.status,
            b.booked_by.as_str(),
            local(b.created_at)
        );
        if b.booked_by == By::Seeker {
            let _ = writeln!(
                out,
                "  consent        {} from {} at {}",
                b.consent_message_id
                    .as_deref()
                    .map_or("-".to_string(), |m| format!("<{m}>")),
                b.consent_from.as_deref().unwrap_or("-"),
                b.consent_at.map_or("-".to_string(), local)
            );
            let _ = writeln!(
                out,
                "  terms sha256   {}",
                b.terms_sha256.as_deref().unwrap_or("-")
            );
        }
        if let Some(at) = b.outcome_at {
            let _ = writeln!(
                out,
                "  {}        {}{}{}",
                b.status,
                local(at),
                b.cancelled_by
                    .as_deref()
                    .map_or(String::new(), |c| format!(" by {c}")),
                if b.excused {
                    " (contact on the day)"
                } else {
                    ""
                }
            );
        }
    }
    let _ = writeln!(out, "history");
    for h in &view.history {
        let _ = writeln!(
            out,
            "  {}  {} -> {}  ({})",
            local(h.at),
            h.from_state.as_deref().unwrap_or("-"),
            h.to_state,
            h.event
        );
    }
    out
}
