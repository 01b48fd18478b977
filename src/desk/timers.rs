//! Timers due at `now` (follow-ups, lapses, reminders, digests), fired as
//! events through the same step and apply.

use super::apply;
use super::error::DeskError;
use super::pass::PassReport;
use crate::core::booking;
use crate::office::Office;
use crate::staff;
use crate::store::requests;
use chrono::{DateTime, Utc};
use tracing::info;

/// Fires every timer due at `now` (follow-ups, lapses, reminders,
/// no-shows) and writes the staff digest when it is time.
pub async fn fire_timers(
    office: &Office,
    now: DateTime<Utc>,
    report: &mut PassReport,
) -> Result<(), DeskError> {
    let ids = {
        let mut conn = office.store.conn().await?;
        requests::due(&mut conn, now, 500).await?
    };
    for id in ids {
        let mut tx = office.store.begin().await?;
        let Some(row) = requests::find_by_id(&mut tx, id).await? else {
            continue;
        };
        match booking::next_timer(&row.machine, &office.cfg.calendar, &office.cfg.rules) {
            Some((due, event)) if due <= now => {
                apply::step_and_apply(
                    office,
                    &mut tx,
                    &row,
                    event,
                    None,
                    None,
                    &row.thread_subject.clone(),
                    now,
                )
                .await?;
                report.timers += 1;
                info!(request = id, "timer fired");
            }
            other => {
                // A stale due time: store the right one.
                let next = other.map(|(t, _)| t);
                requests::set_next_due(&mut tx, id, next).await?;
            }
        }
        tx.commit().await?;
    }
    if staff::maybe_send_digest(office, now).await? {
        report.timers += 1;
    }
    Ok(())
}
