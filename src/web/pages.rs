//! The pages and actions: gather through the office's `Desk`, render a
//! template. Each handler checks the session, then the office.

// The `Err` of these helpers is the answer itself, made once per request
// on the way out: boxing it would only add an allocation.
#![allow(clippy::result_large_err)]

use super::auth;
use super::{cookie, plain, WebApp};
use crate::core::booking::StaffAction;
use crate::desk::error::{DeskError, StaffError};
use crate::desk::Desk;
use crate::staff::closures;
use crate::staff::views;
use crate::staff::StaffBooking;
use crate::store::staff::{self as accounts, StaffUser};
use axum::extract::{Form, FromRequest, FromRequestParts, Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate, NaiveTime, Utc};
use minijinja::context;
use std::collections::HashMap;
use std::sync::Arc;
use tracing::warn;

pub(super) type App = State<Arc<WebApp>>;
pub(super) type Fields = HashMap<String, String>;

pub(super) const SESSION_COOKIE: &str = "yoyaku_session";
pub(super) const LOGIN_COOKIE: &str = "yoyaku_login";

/// A signed-in staff member and their session's form token.
pub(super) struct Staff {
    pub(super) user: StaffUser,
    csrf: String,
}

pub(super) fn session_cookie(app: &WebApp, value: &str, max_age: Option<i64>) -> String {
    let mut c = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict");
    if let Some(age) = max_age {
        c.push_str(&format!("; Max-Age={age}"));
    }
    if app.settings.secure_cookies {
        c.push_str("; Secure");
    }
    c
}

/// The session's staff member, or the answer to give instead (to the
/// login page).
pub(super) async fn staff(app: &WebApp, headers: &HeaderMap) -> Result<Staff, Response> {
    let to_login = || Redirect::to("/login").into_response();
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Err(to_login());
    };
    let now = Utc::now();
    let idle =
        chrono::Duration::from_std(app.settings.session_idle).unwrap_or(chrono::Duration::hours(8));
    let found = async {
        let mut conn = app.store.conn().await?;
        // The idle expiry moves in steps of a minute at least (or a tenth
        // of the idle time, if shorter).
        let slack = (idle / 10).min(chrono::Duration::minutes(1));
        let Some(session) = accounts::session(
            &mut conn,
            &auth::token_sha256(token),
            now,
            now - chrono::Duration::from_std(app.settings.session_max)
                .unwrap_or(chrono::Duration::hours(12)),
            now + idle,
            slack,
        )
        .await?
        else {
            return Ok(None);
        };
        let user = accounts::find_user(&mut conn, &session.login).await?;
        Ok::<_, crate::store::StoreError>(user.map(|u| (u, session.csrf)))
    };
    match found.await {
        Ok(Some((user, csrf))) => Ok(Staff { user, csrf }),
        Ok(None) => Err(to_login()),
        Err(e) => {
            warn!(error = %e, "session not checked");
            Err(plain(
                StatusCode::SERVICE_UNAVAILABLE,
                "データベースに接続できません。しばらくしてから再読み込みしてください。",
            ))
        }
    }
}

/// The office's desk, when the staff member may see it: their own office,
/// or any for an admin. Another office is "not found", as if it did not
/// exist.
fn desk_for(app: &WebApp, staff: &Staff, office: &str) -> Result<Arc<Desk>, Response> {
    match app.desks.get(office) {
        Some(desk) if staff.user.admin || staff.user.office == office => Ok(desk.clone()),
        _ => Err(plain(StatusCode::NOT_FOUND, "この事業所は見つかりません。")),
    }
}

/// A POST's form token must be the session's.
pub(super) fn check_form(staff: &Staff, form: &Fields) -> Result<(), Response> {
    match form.get("csrf") {
        Some(t) if auth::same_secret(t, &staff.csrf) => Ok(()),
        _ => Err(plain(
            StatusCode::FORBIDDEN,
            "フォームの確認用トークンがありません。ページを開き直してから、もう一度送信してください。",
        )),
    }
}

/// A page's session and office: the signed-in staff member, and the
/// office of the path (`/o/{office}/…`) when they may see it. Rejected with
/// the answer to give instead (the login page, 404).
pub(super) struct AtOffice {
    pub(super) staff: Staff,
    pub(super) desk: Arc<Desk>,
}

impl FromRequestParts<Arc<WebApp>> for AtOffice {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        app: &Arc<WebApp>,
    ) -> Result<Self, Response> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, app)
            .await
            .map_err(IntoResponse::into_response)?;
        let office = params.get("office").map_or("", String::as_str);
        let staff = staff(app, &parts.headers).await?;
        let desk = desk_for(app, &staff, office)?;
        Ok(AtOffice { staff, desk })
    }
}

/// An action's session, office and form, its form token checked.
pub(super) struct OfficeForm {
    pub(super) staff: Staff,
    pub(super) desk: Arc<Desk>,
    pub(super) form: Fields,
}

impl FromRequest<Arc<WebApp>> for OfficeForm {
    type Rejection = Response;

    async fn from_request(
        request: axum::extract::Request,
        app: &Arc<WebApp>,
    ) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let AtOffice { staff, desk } = AtOffice::from_request_parts(&mut parts, app).await?;
        let request = axum::extract::Request::from_parts(parts, body);
        let Form(form) = Form::<Fields>::from_request(request, app)
            .await
            .map_err(IntoResponse::into_response)?;
        check_form(&staff, &form)?;
        Ok(OfficeForm { staff, desk, form })
    }
}

pub(super) fn render(app: &WebApp, name: &str, ctx: minijinja::Value) -> Response {
    match app.templates.get_template(name).and_then(|t| t.render(ctx)) {
        Ok(html) => Html(html).into_response(),
        Err(e) => {
            warn!(template = name, error = %e, "page not rendered");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "ページを表示できませんでした。",
            )
        }
    }
}

/// What every office page shows around its content.
pub(super) fn frame(app: &WebApp, staff: &Staff, desk: &Desk, page: &str) -> minijinja::Value {
    let offices: Vec<minijinja::Value> = app
        .desks
        .values()
        .filter(|d| staff.user.admin || d.office().config().office_id == staff.user.office)
        .map(|d| context! { id => d.office().config().office_id, name => d.office().config().office.name })
        .collect();
    context! {
        login => staff.user.login,
        admin => staff.user.admin,
        csrf => staff.csrf,
        office => desk.office().config().office_id,
        office_name => desk.office().config().office.name,
        offices => offices,
        page => page,
    }
}

pub(super) fn page(
    app: &WebApp,
    staff: &Staff,
    desk: &Desk,
    name: &str,
    page_id: &str,
    extra: minijinja::Value,
) -> Response {
    let ctx = context! { ..frame(app, staff, desk, page_id), ..extra };
    render(app, name, ctx)
}

/// A desk error as an answer: what is wrong, with the fitting status.
pub(super) fn failed(app: &WebApp, e: DeskError) -> Response {
    let (status, text) = match &e {
        DeskError::Staff(StaffError::NotFound(m)) => (StatusCode::NOT_FOUND, m.clone()),
        DeskError::Staff(StaffError::Conflict(m)) => (StatusCode::CONFLICT, m.clone()),
        DeskError::Staff(StaffError::Invalid(m)) => (StatusCode::BAD_REQUEST, m.clone()),
        other => {
            warn!(error = %other, "staff page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "処理できませんでした。しばらくしてからもう一度お試しください。".to_string(),
            )
        }
    };
    let mut response = render(
        app,
        "message.html",
        context! { status => status.as_u16(), text => text },
    );
    *response.status_mut() = status;
    response
}

pub(super) async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        super::STYLE,
    )
        .into_response()
}

pub(super) async fn home(State(app): App, headers: HeaderMap) -> Response {
    match staff(&app, &headers).await {
        Ok(s) => Redirect::to(&format!("/o/{}/day", s.user.office)).into_response(),
        Err(r) => r,
    }
}

pub(super) fn today(desk: &Desk) -> NaiveDate {
    desk.office().config().calendar.local_date(Utc::now())
}

/// A date from a form or a query: `YYYY-MM-DD` in years an office can
/// mean (the calendar's arithmetic would overflow near chrono's limits).
fn page_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| (2000..=2100).contains(&d.year()))
}

pub(super) async fn day(
    State(app): App,
    AtOffice { staff, desk }: AtOffice,
    Query(q): Query<Fields>,
) -> Response {
    let date = match q.get("date").filter(|d| !d.is_empty()) {
        Some(d) => match page_date(d) {
            Some(d) => d,
            None => {
                return plain(
                    StatusCode::BAD_REQUEST,
                    "日付は 2026-12-03 の形（2000年から2100年まで）で指定してください。",
                )
            }
        },
        None => today(&desk),
    };
    match views::day_view(desk.office(), date).await {
        Ok(view) => page(
            &app,
            &staff,
            &desk,
            "day.html",
            "day",
            context! {
                date => date.to_string(),
                weekday => date.weekday().num_days_from_monday(),
                prev => (date - chrono::Duration::days(1)).to_string(),
                next => (date + chrono::Duration::days(1)).to_string(),
                is_today => date == today(&desk),
                is_past => date < today(&desk),
                slots => view.slots,
                freed => view.freed,
                closure => view.closure,
                closed_because => view.closed_because,
            },
        ),
        Err(e) => failed(&app, e),
    }
}

pub(super) async fn waiting(State(app): App, AtOffice { staff, desk }: AtOffice) -> Response {
    let unreachable = match views::unreachable(desk.office()).await {
        Ok(u) => u,
        Err(e) => return failed(&app, e),
    };
    match views::waiting(desk.office(), Utc::now()).await {
        Ok(items) => page(
            &app,
            &staff,
            &desk,
            "waiting.html",
            "waiting",
            context! { items => items, unreachable => unreachable },
        ),
        Err(e) => failed(&app, e),
    }
}

/// The search form. A search is a POST: what staff type (a name, a
/// 求職番号, an address) must not sit in a URL, the browser's history or a
/// proxy's log.
pub(super) async fn search_form(State(app): App, AtOffice { staff, desk }: AtOffice) -> Response {
    page(
        &app,
        &staff,
        &desk,
        "search.html",
        "search",
        context! { q => "", searched => false, found => Vec::<String>::new() },
    )
}

pub(super) async fn search(
    State(app): App,
    OfficeForm { staff, desk, form }: OfficeForm,
) -> Response {
    let query = form.get("q").cloned().unwrap_or_default();
    match views::search(desk.office(), &query).await {
        Ok(found) => page(
            &app,
            &staff,
            &desk,
            "search.html",
            "search",
            context! { q => query, searched => !query.trim().is_empty(), found => found },
        ),
        Err(e) => failed(&app, e),
    }
}

pub(super) async fn request_page(
    State(app): App,
    AtOffice { staff, desk }: AtOffice,
    Path((_, key)): Path<(String, String)>,
) -> Response {
    let view = match crate::staff::request_view(desk.office(), &key).await {
        Ok(v) => v,
        Err(e) => return failed(&app, e),
    };
    let mails = match views::thread_mails(desk.office(), &view).await {
        Ok(m) => m,
        Err(e) => return failed(&app, e),
    };
    let tz = desk.office().config().calendar.tz;
    let local =
        |t: chrono::DateTime<Utc>| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string();
    let r = &view.request;
    let d = &r.machine.data;
    let bookings: Vec<minijinja::Value> = view
        .bookings
        .iter()
        .map(|b| {
            context! {
                reservation => b.reservation,
                slot => local(b.slot_start),
                room => b.room_id,
                status => b.status.as_str(),
                open => b.status == crate::core::booking::BookingStatus::Confirmed,
                booked_by => b.booked_by.as_str(),
                consent_message_id => b.consent_message_id,
                consent_at => b.consent_at.map(local),
                terms_sha256 => b.terms_sha256,
                cancelled_by => b.cancelled_by,
                excused => b.excused,
            }
        })
        .collect();
    let history: Vec<minijinja::Value> = view
        .history
        .iter()
        .map(|h| {
            context! {
                at => local(h.at),
                from => h.from_state,
                to => h.to_state,
                event => h.event,
                actor => h.actor,
            }
        })
        .collect();
    let freed: Vec<minijinja::Value> = view
        .freed
        .iter()
        .map(|o| {
            context! {
                slot => local(o.slot_start),
                offered_at => local(o.offered_at),
                outcome => o.outcome,
            }
        })
        .collect();
    let offered: Vec<String> = r
        .machine
        .offered
        .iter()
        .map(|s| format!("{} {}", s.date, s.start.format("%H:%M")))
        .collect();
    page(
        &app,
        &staff,
        &desk,
        "request.html",
        "request",
        context! {
            r => context! {
                reference => r.reference,
                state => r.machine.state.as_str(),
                open => r.machine.state.is_open(),
                name => d.name,
                seeker_number => d.seeker_number,
                phone => d.phone,
                address => r.seeker_address,
                subject => r.thread_subject,
                needs => d.needs,
                lang => d.lang.map(|l| l.label()),
                created => local(r.created_at),
                updated => local(r.updated_at),
            },
            refusal => view.refusal.as_ref().map(|(reason, at)| context! { reason => reason, at => local(*at) }),
            no_shows => view.unexcused_no_shows,
            offered => offered,
            freed => freed,
            bookings => bookings,
            history => history,
            mails => mails,
            languages => crate::core::lang::Lang::ALL
                .iter()
                .map(|l| context! { code => l.code(), label => l.label() })
                .collect::<Vec<_>>(),
        },
    )
}

/// 出席 / 欠席 / キャンセル / 対応済み: the same verbs as the command line.
/// 言語を変更: the language of the seeker's next mails.
pub(super) async fn set_language(
    State(app): App,
    OfficeForm { staff, desk, form }: OfficeForm,
) -> Response {
    let office = desk.office().config().office_id.clone();
    let key = form.get("key").map(|s| s.trim()).unwrap_or("");
    let Some(lang) = form
        .get("lang")
        .and_then(|c| crate::core::lang::Lang::from_code(c))
    else {
        return plain(
            StatusCode::BAD_REQUEST,
            "lang: ja, en, pt, vi, zh, tl, easy のいずれかを指定してください。",
        );
    };
    match crate::staff::set_language(desk.office(), key, lang, Utc::now(), &staff.user.login).await
    {
        Ok((reference, _)) => Redirect::to(&format!("/o/{office}/r/{reference}")).into_response(),
        Err(e) => failed(&app, e),
    }
}

pub(super) async fn act(State(app): App, OfficeForm { staff, desk, form }: OfficeForm) -> Response {
    let office = desk.office().config().office_id.clone();
    let key = form.get("key").map(|s| s.trim()).unwrap_or("");
    let action = match form.get("action").map(String::as_str) {
        Some("attended") => StaffAction::Attended,
        Some("no_show") => StaffAction::NoShow,
        Some("cancel") => StaffAction::Cancel,
        Some("close") => StaffAction::Close,
        Some("excused") => StaffAction::Excuse,
        Some(verb @ ("close_day" | "reopen_day")) => {
            return day_closure(&app, &desk, &staff, &form, verb == "close_day").await
        }
        Some("phoned") if !key.is_empty() => {
            return match crate::staff::phoned(desk.office(), key, Utc::now(), &staff.user.login)
                .await
            {
                Ok(_) => Redirect::to(&format!("/o/{office}/waiting")).into_response(),
                Err(e) => failed(&app, e),
            };
        }
        _ if key.is_empty() => {
            return plain(
                StatusCode::BAD_REQUEST,
                "予約番号か受付番号 (key) がありません。",
            )
        }
        _ => return plain(StatusCode::BAD_REQUEST, "操作 (action) が分かりません。"),
    };
    match crate::staff::staff_action(desk.office(), key, action, Utc::now(), &staff.user.login)
        .await
    {
        Ok(_) => {
            let reference = match crate::staff::find_request(desk.office(), key).await {
                Ok((r, _)) => r.reference,
                Err(_) => key.to_string(),
            };
            Redirect::to(&format!("/o/{office}/r/{reference}")).into_response()
        }
        Err(e) => failed(&app, e),
    }
}

/// 臨時閉庁 / 再開 from the day view; back to that day.
async fn day_closure(
    app: &WebApp,
    desk: &Desk,
    staff: &Staff,
    form: &Fields,
    close: bool,
) -> Response {
    let office = desk.office().config().office_id.clone();
    let Some(day) = form.get("date").and_then(|d| page_date(d)) else {
        return plain(
            StatusCode::BAD_REQUEST,
            "日付 (date) は 2026-12-03 の形で指定してください。",
        );
    };
    let done = if close {
        let reason = form.get("reason").map(|r| r.trim()).unwrap_or("");
        if reason.is_empty() {
            return plain(
                StatusCode::BAD_REQUEST,
                "閉庁の理由 (reason) を書いてください。",
            );
        }
        closures::close_day(desk.office(), day, reason, Utc::now(), &staff.user.login)
            .await
            .map(|_| ())
    } else {
        closures::reopen_day(desk.office(), day, Utc::now(), &staff.user.login).await
    };
    match done {
        Ok(()) => Redirect::to(&format!("/o/{office}/day?date={day}")).into_response(),
        Err(e) => failed(app, e),
    }
}

pub(super) async fn book_form(
    State(app): App,
    AtOffice { staff, desk }: AtOffice,
    Query(query): Query<Fields>,
) -> Response {
    // "Book for this person" names the request, not the person: the
    // seeker's data stay out of the URL (history, proxies, logs), so no
    // other field of the query fills the form.
    let mut q = Fields::new();
    if let Some(key) = query.get("from").cloned() {
        match crate::staff::request_view(desk.office(), &key).await {
            Ok(view) => {
                let d = &view.request.machine.data;
                let mut put = |k: &str, v: Option<String>| {
                    q.insert(k.to_string(), v.unwrap_or_default());
                };
                put("name", d.name.clone());
                put("seeker_number", d.seeker_number.clone());
                put("email", Some(view.request.seeker_address.clone()));
                put("phone", d.phone.clone());
            }
            Err(_) => {
                return plain(
                    StatusCode::BAD_REQUEST,
                    "from: この事務所の受付番号・予約番号ではありません。",
                )
            }
        }
    }
    book_page(&app, &staff, &desk, &q, None).await
}

async fn book_page(
    app: &WebApp,
    staff: &Staff,
    desk: &Desk,
    fields: &Fields,
    error: Option<String>,
) -> Response {
    let slots = match views::free_slots(desk.office(), Utc::now()).await {
        Ok(s) => s,
        Err(e) => return failed(app, e),
    };
    let slots: Vec<minijinja::Value> = slots
        .iter()
        .map(|s| {
            context! {
                value => format!("{} {}", s.date, s.start.format("%H:%M")),
                weekday => s.date.weekday().num_days_from_monday(),
            }
        })
        .collect();
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let mut response = page(
        app,
        staff,
        desk,
        "book.html",
        "book",
        context! { slots => slots, f => fields, error => error },
    );
    *response.status_mut() = status;
    response
}

pub(super) async fn book(
    State(app): App,
    OfficeForm { staff, desk, form }: OfficeForm,
) -> Response {
    let office = desk.office().config().office_id.clone();
    let field = |k: &str| {
        form.get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let slot = field("slot");
    let Some((date, time)) = slot
        .split_once(' ')
        .and_then(|(d, t)| Some((page_date(d)?, NaiveTime::parse_from_str(t, "%H:%M").ok()?)))
    else {
        return book_page(
            &app,
            &staff,
            &desk,
            &form,
            Some("日時を選んでください。".into()),
        )
        .await;
    };
    let needs: Vec<String> = [
        "interpreter",
        "sign_language",
        "assistant",
        "companion",
        "written",
    ]
    .iter()
    .filter(|n| form.contains_key(&format!("need_{n}")))
    .map(|n| n.to_string())
    .collect();
    let booking = StaffBooking {
        seeker_number: field("seeker_number"),
        name: field("name"),
        email: field("email"),
        phone: Some(field("phone")).filter(|p| !p.is_empty()),
        date,
        time,
        needs,
    };
    match crate::staff::staff_book(desk.office(), &booking, Utc::now(), &staff.user.login).await {
        Ok(reservation) => Redirect::to(&format!("/o/{office}/r/{reservation}")).into_response(),
        Err(DeskError::Staff(StaffError::Invalid(m) | StaffError::Conflict(m))) => {
            book_page(&app, &staff, &desk, &form, Some(m)).await
        }
        Err(e) => failed(&app, e),
    }
}
