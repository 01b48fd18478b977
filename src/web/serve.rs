//! The accept loop of the page and of `/metrics`: every connection is bounded
//! in time and in number, so a client that sends slowly, sends nothing or
//! keeps connections open cannot hold the page (axum's own `serve` has no
//! timer).
//!
//! - the request head must arrive within [`HEADER_TIMEOUT`] (hyper's timer);
//! - a connection on which nothing moves for [`IDLE_TIMEOUT`] is closed
//!   (an idle keep-alive, a promised body never sent, one byte now and then
//!   after the head);
//! - a request (its body read and its answer made) takes at most
//!   [`REQUEST_TIMEOUT`], then 408;
//! - at most [`MAX_CONNECTIONS`] at once; the next waits to be accepted.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower_service::Service;
use tracing::debug;

/// From the connection's start (or the end of the previous answer's wait)
/// to the last byte of a request's head.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Nothing read and nothing written for this long closes the connection.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(20);
/// One request, its body included, from head to answer.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Connections served at once; staff are a handful, a proxy keeps a few.
pub const MAX_CONNECTIONS: usize = 256;
/// The largest form body a page accepts (a staff note, a booking form).
pub const FORM_BODY_LIMIT: usize = 64 * 1024;
/// The largest webhook body (Zoom's events are a few kilobytes).
pub const WEBHOOK_BODY_LIMIT: usize = 256 * 1024;

/// Serves `router` on `listener` until `stop`, each connection bounded as
/// the module says.
pub async fn serve_bounded(
    listener: TcpListener,
    router: Router,
    stop: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let router = router.layer(axum::middleware::from_fn(request_deadline));
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            _ = &mut stop => return Ok(()),
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => return Ok(()),
            },
        };
        let (stream, peer) = tokio::select! {
            _ = &mut stop => return Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or a reset before accept: wait a
                    // little instead of spinning, then go on.
                    debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
            // The client's address, for the login throttle and the log.
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            let mut router = router.clone();
            async move { router.call(req.map(Body::new)).await }
        });
        tokio::spawn(async move {
            let io = TokioIo::new(Watched::new(stream, IDLE_TIMEOUT));
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(64 * 1024)
                .serve_connection(io, service);
            if let Err(e) = conn.await {
                debug!(error = %e, "connection ended");
            }
            drop(permit);
        });
    }
}

/// 408 when a request (reading its body included) outlasts [`REQUEST_TIMEOUT`].
async fn request_deadline(request: Request<Body>, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            let mut r = super::plain(
                StatusCode::REQUEST_TIMEOUT,
                "リクエストが時間内に届きませんでした (request timed out)",
            );
            r.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
            r
        }
    }
}

/// A stream that fails with `TimedOut` when nothing has been read or
/// written for `idle`.
struct Watched<S> {
    inner: S,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<S> Watched<S> {
    fn new(inner: S, idle: Duration) -> Self {
        Watched {
            inner,
            idle,
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn moved(&mut self) {
        let at = Instant::now() + self.idle;
        self.deadline.as_mut().reset(at);
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.deadline.as_mut().poll(cx).is_ready()
    }
}

fn timed_out() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "connection idle")
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.moved();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_write(cx, data) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    this.moved();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(timed_out())),
            other => other,
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}
