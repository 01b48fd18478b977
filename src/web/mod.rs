//! The staff web page (`[web] listen`): server-rendered HTML from
//! `templates/web/` (minijinja, auto-escaped), no JavaScript. Every action
//! goes through the same `Desk` methods as the command-line verbs, so the
//! seeker gets the same mail, and is recorded with the staff login.
//!
//! Security: server-side sessions (the database keeps the SHA-256 of the
//! token) with an idle expiry, HttpOnly + SameSite=Strict cookies (Secure
//! when `secure_cookies`), a form token on every POST checked against the
//! session (and tower-http's cross-origin check before it), logins slowed
//! down after repeated failures, a strict Content-Security-Policy, and the
//! office checked on every page and action. The access log names method,
//! path, status and time: never a query string (searches are personal).

pub mod auth;
mod login;
pub mod metrics;
mod pages;
mod records;
mod routes;
pub mod serve;
mod zoom;

use crate::desk::{Desk, LeaseKeeper};
use crate::store::Store;
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use tracing::info;

/// `[web]` as the server uses it.
pub use crate::config::Web as WebSettings;

/// What the pages work with: the offices' desks, the store, the templates.
pub struct WebApp {
    pub(crate) desks: BTreeMap<String, Arc<Desk>>,
    pub(crate) store: Store,
    pub(crate) settings: WebSettings,
    pub(crate) templates: minijinja::Environment<'static>,
    /// The process's lease keeper when the desks also serve mail here.
    pub(crate) keeper: Option<Arc<LeaseKeeper>>,
    /// The desks serving mail in this process (IMAP state, pass times for
    /// /metrics), when the page runs on desks of its own beside them.
    pub(crate) live: BTreeMap<String, Arc<Desk>>,
}

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("web: {0}")]
    Io(#[from] std::io::Error),
    #[error("web template {name}: {source}")]
    Template {
        name: &'static str,
        source: minijinja::Error,
    },
    #[error("web: no office to serve")]
    NoOffice,
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/web/base.html")),
    ("login.html", include_str!("../../templates/web/login.html")),
    ("day.html", include_str!("../../templates/web/day.html")),
    (
        "waiting.html",
        include_str!("../../templates/web/waiting.html"),
    ),
    (
        "search.html",
        include_str!("../../templates/web/search.html"),
    ),
    (
        "request.html",
        include_str!("../../templates/web/request.html"),
    ),
    ("book.html", include_str!("../../templates/web/book.html")),
    (
        "refusals.html",
        include_str!("../../templates/web/refusals.html"),
    ),
    (
        "report.html",
        include_str!("../../templates/web/report.html"),
    ),
    ("purge.html", include_str!("../../templates/web/purge.html")),
    (
        "message.html",
        include_str!("../../templates/web/message.html"),
    ),
    (
        "_labels.html",
        include_str!("../../templates/web/_labels.html"),
    ),
];

/// The style sheet, served from /static/style.css (the CSP allows no inline style).
pub(crate) const STYLE: &str = include_str!("../../templates/web/style.css");

impl WebApp {
    pub fn new(
        desks: Vec<Arc<Desk>>,
        settings: WebSettings,
        keeper: Option<Arc<LeaseKeeper>>,
    ) -> Result<WebApp, WebError> {
        let store = desks
            .first()
            .map(|d| d.office().store().clone())
            .ok_or(WebError::NoOffice)?;
        let mut templates = minijinja::Environment::new();
        for (name, source) in TEMPLATES {
            templates
                .add_template(name, source)
                .map_err(|source| WebError::Template { name, source })?;
        }
        let desks: BTreeMap<String, Arc<Desk>> = desks
            .into_iter()
            .map(|d| (d.office().config().office_id.clone(), d))
            .collect();
        Ok(WebApp {
            live: desks.clone(),
            desks,
            store,
            settings,
            templates,
            keeper,
        })
    }

    /// The desks that serve mail in this process, for /metrics' live
    /// values (the page's own desks, on its own thread, have none).
    pub fn with_live(mut self, live: Vec<Arc<Desk>>) -> WebApp {
        for d in live {
            self.live.insert(d.office().config().office_id.clone(), d);
        }
        self
    }

    pub fn settings(&self) -> &WebSettings {
        &self.settings
    }
}

/// Serves the staff page (and /metrics, /healthz) on `listener` until `stop`.
pub async fn serve(
    app: Arc<WebApp>,
    listener: tokio::net::TcpListener,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    let addr = listener.local_addr()?;
    info!(%addr, "staff web page listening");
    let router = routes::router(app);
    serve::serve_bounded(listener, router, stop).await?;
    Ok(())
}

/// Serves only /metrics (no token) on `listener`: `[web] metrics_listen`.
pub async fn serve_metrics(
    app: Arc<WebApp>,
    listener: tokio::net::TcpListener,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WebError> {
    let router = axum::Router::new()
        .route("/metrics", axum::routing::get(metrics::open_handler))
        .with_state(app);
    serve::serve_bounded(listener, router, stop).await?;
    Ok(())
}

/// Method, path, status and time of each request; no query string, no
/// cookie, no form: nothing personal.
async fn access_log(request: Request<Body>, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    info!(
        target: "yoyaku::web::access",
        %method,
        path = %path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "http"
    );
    response
}

/// Headers every answer carries: the CSP allows our own style sheet and
/// nothing else, no framing, no sniffing, no referrer to other sites.
async fn security_headers(request: Request<Body>, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A cookie's value from the request.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A plain-text error answer that says what went wrong.
pub(crate) fn plain(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; yoyaku_session=abc; b=2"),
        );
        assert_eq!(cookie(&h, "yoyaku_session"), Some("abc"));
        assert_eq!(cookie(&h, "a"), Some("1"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn every_template_parses() {
        let mut env = minijinja::Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
