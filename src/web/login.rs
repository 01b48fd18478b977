//! The login and logout forms: throttled, hashed off the page's threads,
//! a session stored server-side (split from `pages` to keep each file to
//! one thing).

use super::auth;
use super::pages::{
    check_form, render, session_cookie, staff, App, Fields, LOGIN_COOKIE, SESSION_COOKIE,
};
use super::{cookie, plain, WebApp};
use crate::store::staff as accounts;
use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use minijinja::context;
use tracing::{info, warn};

/// What every database failure of a login answers.
fn database_down() -> Response {
    plain(
        StatusCode::SERVICE_UNAVAILABLE,
        "データベースに接続できません。",
    )
}

pub(super) async fn login_form(State(app): App) -> Response {
    login_page(&app, None, StatusCode::OK)
}

/// The login form with a fresh token in a cookie and in the form: a login
/// posted from elsewhere has neither.
fn login_page(app: &WebApp, error: Option<&str>, status: StatusCode) -> Response {
    let token = auth::new_token();
    let mut response = render(
        app,
        "login.html",
        context! { csrf => token, error => error },
    );
    *response.status_mut() = status;
    let mut c = format!("{LOGIN_COOKIE}={token}; Path=/login; HttpOnly; SameSite=Strict");
    if app.settings.secure_cookies {
        c.push_str("; Secure");
    }
    if let Ok(v) = c.parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// The client's address as the accept loop saw it ("unknown" without one).
/// Behind a proxy this is the proxy's: the README says so.
pub(super) fn client_address(extensions: &axum::http::Extensions) -> String {
    extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// What a login name looks like in the log: one line, at most 64 characters
/// (a password typed into the name field must not fill the log).
fn login_for_log(login: &str) -> String {
    crate::core::text::single_line(login, 64)
}

pub(super) async fn login(
    State(app): App,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    Form(form): Form<Fields>,
) -> Response {
    let posted = form.get("csrf").map(String::as_str).unwrap_or("");
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !auth::same_secret(posted, expected) {
        return login_page(
            &app,
            Some("フォームの有効期限が切れました。もう一度入力してください。"),
            StatusCode::FORBIDDEN,
        );
    }
    let login = form.get("login").map(|s| s.trim()).unwrap_or("");
    let password = form.get("password").map(String::as_str).unwrap_or("");
    let client = client_address(&extensions);
    let now = Utc::now();
    let mut conn = match app.store.conn().await {
        Ok(c) => c,
        Err(e) => {
            warn!(error = %e, "login not checked");
            return database_down();
        }
    };
    // One atomic update per key counts the attempt and decides the lock, so
    // a burst of guesses sent at once gets no more checks than one after
    // another; a name that does not exist counts the same as one that does.
    let keys = auth::throttle_keys(login, &client);
    for (key, free) in &keys {
        let claimed = accounts::claim_throttle(
            &mut conn,
            key,
            now,
            now - auth::FORGET_FAILURES_AFTER,
            &auth::lock_schedule(*free, now),
        )
        .await;
        match claimed {
            Ok(Some(_)) => {}
            Ok(None) => {
                info!(login = %login_for_log(login), %client, "staff login refused: too many failures");
                return login_page(
                    &app,
                    Some("ログインの失敗が続いたため、しばらく受け付けません。少し待ってからお試しください。"),
                    StatusCode::TOO_MANY_REQUESTS,
                );
            }
            Err(e) => {
                warn!(error = %e, "login not checked");
                return database_down();
            }
        }
    }
    let user = match accounts::find_user(&mut conn, login).await {
        Ok(u) => u,
        Err(e) => {
            warn!(error = %e, "login not checked");
            return database_down();
        }
    };
    drop(conn);
    // An unknown name is checked against a decoy: as slow as a wrong
    // password, so names cannot be told by time; off the page's threads.
    let hash = user
        .as_ref()
        .map(|u| u.password_hash.clone())
        .unwrap_or_else(|| auth::decoy_hash().to_string());
    let matched = auth::check_password(hash, password.to_string()).await;
    let user = match user {
        Some(u) if matched => u,
        _ => {
            info!(login = %login_for_log(login), %client, "staff login failed");
            return login_page(
                &app,
                Some("ログイン名またはパスワードが違います。"),
                StatusCode::UNAUTHORIZED,
            );
        }
    };
    let mut conn = match app.store.conn().await {
        Ok(c) => c,
        Err(_) => return database_down(),
    };
    let token = auth::new_token();
    let idle =
        chrono::Duration::from_std(app.settings.session_idle).unwrap_or(chrono::Duration::hours(8));
    let forgotten = accounts::forget_throttle(&mut conn, &[&keys[0].0, &keys[1].0]).await;
    let opened = accounts::open_session(
        &mut conn,
        &auth::token_sha256(&token),
        &user.login,
        &auth::new_token(),
        now,
        now + idle,
    )
    .await;
    if let Err(e) = forgotten.and(opened) {
        warn!(error = %e, "session not stored");
        return database_down();
    }
    info!(office = %user.office, login = %login_for_log(&user.login), %client, "staff signed in");
    let mut response = Redirect::to(&format!("/o/{}/day", user.office)).into_response();
    if let Ok(v) = session_cookie(&app, &token, None).parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

pub(super) async fn logout(
    State(app): App,
    headers: HeaderMap,
    Form(form): Form<Fields>,
) -> Response {
    let staff = match staff(&app, &headers).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    if let Err(r) = check_form(&staff, &form) {
        return r;
    }
    if let (Some(token), Ok(mut conn)) = (cookie(&headers, SESSION_COOKIE), app.store.conn().await)
    {
        let _ = accounts::close_session(&mut conn, &auth::token_sha256(token)).await;
    }
    let mut response = Redirect::to("/login").into_response();
    if let Ok(v) = session_cookie(&app, "", Some(0)).parse() {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}
