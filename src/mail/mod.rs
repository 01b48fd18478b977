//! The edges to the mail system: parsing what arrives, composing what
//! leaves, and the IMAP and SMTP sessions that carry both.

pub mod compose;
pub mod header;
pub mod ics;
pub mod imap;
pub mod message;
pub mod net;
pub mod notice;
pub mod oauth;
pub mod smtp;
mod translated;
pub mod utf7;

/// A stored address (`core::address::normalize`) as lettre writes it in
/// the envelope and the headers: a carrier's local part quoted.
pub fn wire_address(address: &str) -> Result<lettre::Address, lettre::address::AddressError> {
    let (local, domain) = address
        .rsplit_once('@')
        .ok_or(lettre::address::AddressError::MissingParts)?;
    lettre::Address::new(crate::core::address::wire_local(local), domain)
}

/// A failure at the mail edge, IMAP or SMTP.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("{what} timed out after {secs}s")]
    Timeout { what: String, secs: u64 },
    #[error("imap {what} failed: {source}")]
    Imap {
        what: String,
        source: async_imap::error::Error,
    },
    #[error("connect to {addr} failed: {source}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    #[error("tls to {host} failed: {message}")]
    Tls { host: String, message: String },
    #[error("imap server closed the connection during {0}")]
    Closed(String),
    #[error("imap {what}: {message}")]
    Protocol { what: String, message: String },
    /// Shown without the server's text, which often quotes the address.
    #[error("smtp send of outbox {outbox_id} failed: {}", smtp_summary(source))]
    Smtp {
        outbox_id: i64,
        source: lettre::transport::smtp::Error,
    },
    #[error("smtp setup failed: {0}")]
    SmtpSetup(String),
    /// No token for the mailbox (the provider's words and what to check).
    #[error("oauth2: {0}")]
    OAuth(#[from] oauth::OAuthError),
    /// The server refused a fresh token as well.
    #[error(
        "{service} refused the {provider} oauth2 token (twice, the second fresh): {detail}; {hint}"
    )]
    TokenRefused {
        service: &'static str,
        provider: &'static str,
        detail: String,
        hint: &'static str,
    },
    /// The server would not make a folder the desk files into.
    #[error("imap folder {folder:?} cannot be made: {server}{}", suggestion.as_ref().map(|s| format!(" (the server has {s:?}: name it in [folders])")).unwrap_or_default())]
    Folder {
        folder: String,
        server: String,
        suggestion: Option<String>,
    },
}

impl MailError {
    /// Whether retrying later may help (network, server down, 4xx), as
    /// opposed to a permanent refusal (5xx, bad address).
    /// What the server said, in full (it may quote the address: for the
    /// decision and staff's note, never for logs).
    pub fn server_words(&self) -> String {
        match self {
            MailError::Smtp { source, .. } => source.to_string(),
            other => other.to_string(),
        }
    }

    pub fn is_transient(&self) -> bool {
        match self {
            MailError::Smtp { source, .. } => !source.is_permanent(),
            MailError::SmtpSetup(_) | MailError::Folder { .. } => false,
            MailError::OAuth(e) => e.is_transient(),
            _ => true,
        }
    }
}

pub(crate) fn smtp_summary(e: &lettre::transport::smtp::Error) -> String {
    match e.status() {
        Some(code) => format!("server answered {code}"),
        None if e.is_timeout() => "timed out".into(),
        None if e.is_tls() => "tls error".into(),
        None if e.is_client() => "client error".into(),
        None => "connection error".into(),
    }
}
