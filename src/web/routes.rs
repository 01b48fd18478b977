//! Every URL of the staff site and the webhook, with the layers they pass:
//! one table, apart from the handlers it names.

use super::{login, metrics, pages, records, serve, zoom, WebApp};
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

pub(super) fn router(app: Arc<WebApp>) -> Router {
    let office = Router::new()
        .route("/day", get(pages::day))
        .route("/waiting", get(pages::waiting))
        .route("/search", get(pages::search_form).post(pages::search))
        .route("/r/{key}", get(pages::request_page))
        .route("/act", post(pages::act))
        .route("/language", post(pages::set_language))
        .route("/book", get(pages::book_form).post(pages::book))
        .route("/refusals", get(records::refusals))
        .route("/refuse", post(records::refuse))
        .route("/unrefuse", post(records::unrefuse))
        .route("/report", get(records::report))
        .route("/report.csv", get(records::report_csv))
        .route("/purge", get(records::purge_form).post(records::purge));
    let pages = Router::new()
        .route("/", get(pages::home))
        .route("/login", get(login::login_form).post(login::login))
        .route("/logout", post(login::logout))
        .route("/static/style.css", get(pages::style))
        .route("/healthz", get(metrics::healthz))
        .route("/metrics", get(metrics::token_handler))
        .nest("/o/{office}", office)
        .layer(tower_http::csrf::CsrfLayer::new())
        .layer(axum::extract::DefaultBodyLimit::max(serve::FORM_BODY_LIMIT));
    Router::new()
        .merge(pages)
        // Zoom's events carry their own signature instead of a session.
        .route(
            "/zoom/webhook",
            post(zoom::webhook).layer(axum::extract::DefaultBodyLimit::max(
                serve::WEBHOOK_BODY_LIMIT,
            )),
        )
        .layer(axum::middleware::from_fn(super::security_headers))
        .layer(axum::middleware::from_fn(super::access_log))
        .with_state(app)
}
