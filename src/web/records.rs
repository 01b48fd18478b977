//! The staff page's records: refusals (第12条(1)), the monthly report
//! (第7条) with its CSV, and the purge of personal data (第8条). Handlers
//! like those of `pages`: session and office from the extractors, then an
//! `Office` method and a template.

// An early answer (a 400 page) is the handler's own Response, as in pages.
#![allow(clippy::result_large_err)]

use super::pages::{failed, page, today, App, AtOffice, Fields, OfficeForm};
use super::plain;
use crate::desk::Desk;
use crate::staff::{parse_duration, parse_month, views};
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate, Utc};
use minijinja::context;
use tracing::info;

pub(super) async fn refusals(State(app): App, AtOffice { staff, desk }: AtOffice) -> Response {
    let events = match crate::staff::refusal_events(desk.office()).await {
        Ok(events) => events,
        Err(e) => return failed(&app, e),
    };
    match crate::staff::refusals(desk.office()).await {
        Ok(list) => {
            let tz = desk.office().config().calendar.tz;
            let list: Vec<minijinja::Value> = list
                .into_iter()
                .map(|(number, reason, at)| {
                    context! {
                        seeker_number => number,
                        reason => reason,
                        at => at.with_timezone(&tz).format("%Y-%m-%d").to_string(),
                    }
                })
                .collect();
            page(
                &app,
                &staff,
                &desk,
                "refusals.html",
                "refusals",
                context! { refusals => list, events => events.iter().map(|e| context! {
                    seeker_number => e.seeker_number,
                    lifted => e.lifted,
                    reason => e.reason,
                    actor => e.actor,
                    at => e.at.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string(),
                }).collect::<Vec<_>>() },
            )
        }
        Err(e) => failed(&app, e),
    }
}

pub(super) async fn refuse(
    State(app): App,
    OfficeForm { staff, desk, form }: OfficeForm,
) -> Response {
    let office = desk.office().config().office_id.clone();
    let number = form.get("seeker_number").map(String::as_str).unwrap_or("");
    let reason = form.get("reason").map(String::as_str).unwrap_or("");
    match crate::staff::refuse(desk.office(), number, reason, Utc::now(), &staff.user.login).await {
        Ok(_) => Redirect::to(&format!("/o/{office}/refusals")).into_response(),
        Err(e) => failed(&app, e),
    }
}

pub(super) async fn unrefuse(
    State(app): App,
    OfficeForm { staff, desk, form }: OfficeForm,
) -> Response {
    let office = desk.office().config().office_id.clone();
    let number = form.get("seeker_number").map(String::as_str).unwrap_or("");
    match crate::staff::unrefuse(desk.office(), number, Utc::now(), &staff.user.login).await {
        Ok(true) => {
            info!(staff = %staff.user.login, "refusal lifted");
            Redirect::to(&format!("/o/{office}/refusals")).into_response()
        }
        Ok(false) => plain(
            StatusCode::NOT_FOUND,
            "この求職番号は利用停止されていません（何も変更していません）。",
        ),
        Err(e) => failed(&app, e),
    }
}

fn month_of(desk: &Desk, q: &Fields) -> Result<NaiveDate, Response> {
    match q.get("month").filter(|m| !m.is_empty()) {
        Some(m) => parse_month(m).map_err(|_| {
            plain(
                StatusCode::BAD_REQUEST,
                "月は 2026-12 の形で指定してください。",
            )
        }),
        None => Ok(today(desk).with_day(1).unwrap_or_else(|| today(desk))),
    }
}

pub(super) async fn report(
    State(app): App,
    AtOffice { staff, desk }: AtOffice,
    Query(q): Query<Fields>,
) -> Response {
    let month = match month_of(&desk, &q) {
        Ok(m) => m,
        Err(r) => return r,
    };
    let usage = match crate::staff::report(desk.office(), month).await {
        Ok(u) => u,
        Err(e) => return failed(&app, e),
    };
    let bars = match crate::staff::views::last_months(desk.office(), month).await {
        Ok(b) => b,
        Err(e) => return failed(&app, e),
    };
    let chart = views::bar_chart(&bars);
    // The chart's numbers as a table too: a screen reader cannot read bars.
    let months: Vec<minijinja::Value> = bars
        .iter()
        .map(|m| context! { month => m.month, requests => m.requests, bookings => m.bookings, attended => m.attended })
        .collect();
    let rows: Vec<minijinja::Value> = views::usage_columns(&usage)
        .into_iter()
        .map(|(k, v)| context! { key => k, value => v })
        .collect();
    page(
        &app,
        &staff,
        &desk,
        "report.html",
        "report",
        context! { month => month.format("%Y-%m").to_string(), rows => rows, chart => chart, months => months },
    )
}

pub(super) async fn report_csv(
    State(app): App,
    AtOffice { staff: _, desk }: AtOffice,
    Query(q): Query<Fields>,
) -> Response {
    let office = desk.office().config().office_id.clone();
    let month = match month_of(&desk, &q) {
        Ok(m) => m,
        Err(r) => return r,
    };
    match crate::staff::report(desk.office(), month).await {
        Ok(u) => {
            let name = month.format("%Y-%m").to_string();
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (
                        header::CONTENT_DISPOSITION,
                        format!("attachment; filename=\"yoyaku-{office}-{name}.csv\""),
                    ),
                ],
                views::usage_csv(&name, &u),
            )
                .into_response()
        }
        Err(e) => failed(&app, e),
    }
}

const DEFAULT_PURGE_AGE: &str = "1y";

pub(super) async fn purge_form(
    State(app): App,
    AtOffice { staff, desk }: AtOffice,
    Query(q): Query<Fields>,
) -> Response {
    let older_than = q
        .get("older_than")
        .filter(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| DEFAULT_PURGE_AGE.into());
    let age = match parse_duration(&older_than) {
        Ok(a) => a,
        Err(m) => return plain(StatusCode::BAD_REQUEST, &m),
    };
    match crate::staff::views::purge_preview(desk.office(), age, Utc::now()).await {
        Ok(n) => page(
            &app,
            &staff,
            &desk,
            "purge.html",
            "purge",
            context! { older_than => older_than, count => n, done => Option::<usize>::None },
        ),
        Err(e) => failed(&app, e),
    }
}

pub(super) async fn purge(
    State(app): App,
    OfficeForm { staff, desk, form }: OfficeForm,
) -> Response {
    if form.get("confirm").map(String::as_str) != Some("yes") {
        return plain(
            StatusCode::BAD_REQUEST,
            "削除の確認にチェックを入れてから実行してください。",
        );
    }
    let older_than = form.get("older_than").cloned().unwrap_or_default();
    let age = match parse_duration(&older_than) {
        Ok(a) => a,
        Err(m) => return plain(StatusCode::BAD_REQUEST, &m),
    };
    match crate::staff::purge(desk.office(), age, Utc::now()).await {
        Ok(purged) => {
            info!(staff = %staff.user.login, requests = purged.requests, "purge from the staff page");
            page(
                &app,
                &staff,
                &desk,
                "purge.html",
                "purge",
                context! { older_than => older_than, count => 0, done => Some(purged.requests) },
            )
        }
        Err(e) => failed(&app, e),
    }
}
