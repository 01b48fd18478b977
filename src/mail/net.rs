//! Network streams shared by the IMAP and SMTP sides: plain or TLS over
//! TCP, with Nagle's algorithm off (mail protocols are request/response in
//! small writes; with it on every SMTP transaction waits for a delayed ACK)
//! and an optional private CA beside the public roots.

use crate::mail::MailError;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;

/// A plain or TLS TCP stream, so one session type serves every security mode.
pub enum Stream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl std::fmt::Debug for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stream::Plain(_) => f.write_str("Stream::Plain"),
            Stream::Tls(_) => f.write_str("Stream::Tls"),
        }
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            Stream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

fn tls_connector(extra_ca: Option<&[u8]>) -> Result<tokio_rustls::TlsConnector, String> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots =
        rustls::RootCertStore::from_iter(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra_ca {
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("imap.ca_file: {e}"))?;
            roots.add(cert).map_err(|e| format!("imap.ca_file: {e}"))?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

pub async fn wrap_tls(
    host: &str,
    tcp: TcpStream,
    extra_ca: Option<&[u8]>,
) -> Result<Stream, MailError> {
    let err = |message: String| MailError::Tls {
        host: host.to_string(),
        message,
    };
    let connector = tls_connector(extra_ca).map_err(err)?;
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| err(e.to_string()))?;
    let tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| err(e.to_string()))?;
    Ok(Stream::Tls(Box::new(tls)))
}

impl Stream {
    fn tcp(&self) -> &TcpStream {
        match self {
            Stream::Plain(s) => s,
            Stream::Tls(s) => s.get_ref().0,
        }
    }
}

impl lettre::transport::smtp::client::AsyncTokioStream for Stream {
    fn peer_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.tcp().peer_addr()
    }
}

/// Connects to `host:port` under `timeout`, with TCP_NODELAY set.
pub async fn connect_tcp(
    host: &str,
    port: u16,
    timeout: Duration,
    what: &str,
) -> Result<TcpStream, MailError> {
    let addr = format!("{host}:{port}");
    let tcp = match tokio::time::timeout(timeout, TcpStream::connect(&addr)).await {
        Ok(Ok(s)) => s,
        Ok(Err(source)) => return Err(MailError::Connect { addr, source }),
        Err(_) => {
            return Err(MailError::Timeout {
                what: format!("{what} connect to {addr}"),
                secs: timeout.as_secs(),
            })
        }
    };
    // Best effort: a socket that refuses it still works, only slower.
    let _ = tcp.set_nodelay(true);
    Ok(tcp)
}

/// TLS for HTTPS APIs (Zoom, token endpoints): ring and the Mozilla roots,
/// as for mail; reqwest's default provider would be aws-lc-rs.
pub fn https_tls_config() -> tokio_rustls::rustls::ClientConfig {
    let roots = tokio_rustls::rustls::RootCertStore::from_iter(
        webpki_roots::TLS_SERVER_ROOTS.iter().cloned(),
    );
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    match tokio_rustls::rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(b) => b.with_root_certificates(roots).with_no_client_auth(),
        // ring supports the default versions; this is not reached.
        Err(_) => tokio_rustls::rustls::ClientConfig::builder()
            .with_root_certificates(tokio_rustls::rustls::RootCertStore::from_iter(
                webpki_roots::TLS_SERVER_ROOTS.iter().cloned(),
            ))
            .with_no_client_auth(),
    }
}
