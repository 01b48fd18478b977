//! When and what: the slots an offer shows, and the next timer of a request.

use super::*;

/// The slots to offer for these wishes: the wished ones that are free, else
/// the nearest free alternatives to the first wish (or to now), never on a
/// day the seeker said will not do.
pub fn offer_slots(
    wishes: &[Wish],
    excluded: &[chrono::NaiveDate],
    ctx: &Context<'_>,
) -> Vec<Slot> {
    let noon = NaiveTime::from_hms_opt(12, 0, 0).unwrap_or(NaiveTime::MIN);
    let mut chosen: Vec<Slot> = Vec::new();
    for wish in wishes {
        let day: Vec<Slot> = ctx
            .cal
            .slot_times
            .iter()
            .map(|&t| Slot::new(wish.date, t))
            .filter(|s| ctx.free(*s))
            .collect();
        let picked: Vec<Slot> = match wish.time {
            Some(WishTime::At(t)) if ctx.cal.slot_times.contains(&t) => {
                day.into_iter().filter(|s| s.start == t).collect()
            }
            // A time between slots ("10時"): the slots of that day, nearest first.
            Some(WishTime::At(t)) => {
                let mut d = day;
                d.sort_by_key(|s| (s.start - t).num_minutes().abs());
                d.truncate(2);
                d
            }
            Some(WishTime::Morning) => day.into_iter().filter(|s| s.start < noon).collect(),
            Some(WishTime::Afternoon) => day.into_iter().filter(|s| s.start >= noon).collect(),
            None => day,
        };
        for s in picked {
            if !chosen.contains(&s) {
                chosen.push(s);
            }
        }
    }
    if !chosen.is_empty() {
        chosen.truncate(MAX_OPTIONS);
        return chosen;
    }
    let anchor = match wishes.first() {
        Some(w) => {
            let t = match w.time {
                Some(WishTime::At(t)) => t,
                Some(WishTime::Afternoon) => NaiveTime::from_hms_opt(13, 30, 0).unwrap_or(noon),
                _ => NaiveTime::from_hms_opt(9, 30, 0).unwrap_or(noon),
            };
            ctx.cal.instant(w.date, t)
        }
        None => ctx.now,
    };
    let mut free: Vec<Slot> = ctx
        .cal
        .bookable_slots(ctx.now)
        .into_iter()
        .filter(|s| !ctx.full.contains(s) && !excluded.contains(&s.date))
        .collect();
    free.sort_by_key(|s| {
        (
            (ctx.cal.slot_start_utc(*s) - anchor).num_minutes().abs(),
            *s,
        )
    });
    free.truncate(ALTERNATIVES);
    free.sort();
    free
}

/// When the next timer of a request fires, and which.
pub fn next_timer(req: &Request, cal: &Calendar, rules: &Rules) -> Option<(DateTime<Utc>, Event)> {
    let last_cutoff = req.offered.iter().map(|s| cal.cutoff(*s)).max();
    match req.state {
        State::Offered => {
            let follow_up = cal.business_days_after(req.offered_at?, 3);
            let cutoff = last_cutoff?;
            if cutoff <= follow_up {
                Some((cutoff, Event::LapseDue))
            } else {
                Some((follow_up, Event::FollowUpDue))
            }
        }
        State::FollowedUp => {
            let lapse = cal.end_of_next_business_day(req.followed_up_at?);
            Some((lapse.min(last_cutoff.unwrap_or(lapse)), Event::LapseDue))
        }
        State::Booked => {
            let slot = req.booked?;
            let no_show = cal.slot_start_utc(slot)
                + chrono::Duration::minutes(rules.no_show_after_minutes.max(0));
            let reminder = rules.reminder_at.and_then(|at| {
                if req.reminded_at.is_some() {
                    return None;
                }
                let day = cal.previous_business_day(slot.date);
                let when = cal.instant(day, at);
                // Booked on the reminder day or later: the confirmation is fresh.
                let booked_day = req.booked_at.map(|b| cal.local_date(b));
                (booked_day.is_none_or(|b| b < day) && when < no_show).then_some(when)
            });
            match reminder {
                Some(when) => Some((when, Event::ReminderDue)),
                None => Some((no_show, Event::NoShowDue)),
            }
        }
        _ => None,
    }
}

/// How an offer meets the seeker's wishes: whether any offered slot is one
/// they wished for, and whether every wish has one (the offer's opening
/// line says which).
pub fn wish_coverage(wishes: &[Wish], slots: &[Slot]) -> (bool, bool) {
    let any = slots.iter().any(|s| wishes.iter().any(|w| w.admits(s)));
    let all = wishes.iter().all(|w| slots.iter().any(|s| w.admits(s)));
    (any, all)
}
