//! The SMTP side: submission of the raw messages from the outbox, under a
//! time-out. The envelope sender is our own address so bounces come back to
//! the office mailbox, where they are recognised and noted for staff.

use crate::config::{Security, Smtp as SmtpConfig};
use crate::mail::imap::MailError;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Address, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

pub struct SmtpSender {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Address,
}

impl SmtpSender {
    pub fn new(cfg: &SmtpConfig) -> Result<SmtpSender, MailError> {
        let setup = |e: String| MailError::SmtpSetup(e);
        let params = || -> Result<TlsParameters, MailError> {
            let mut builder = TlsParameters::builder(cfg.host.clone());
            if let Some(pem) = &cfg.ca_pem {
                let cert =
                    Certificate::from_pem(pem).map_err(|e| setup(format!("smtp.ca_file: {e}")))?;
                builder = builder.add_root_certificate(cert);
            }
            builder.build_rustls().map_err(|e| setup(e.to_string()))
        };
        let tls = match cfg.security {
            Security::None => Tls::None,
            Security::StartTls => Tls::Required(params()?),
            Security::Tls => Tls::Wrapper(params()?),
        };
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(cfg.host.as_str())
                .port(cfg.port)
                .tls(tls)
                .timeout(Some(cfg.timeout));
        if let Some((user, pass)) = &cfg.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
        }
        let from: Address = crate::config::bare_address(&cfg.from)
            .parse()
            .map_err(|e: lettre::address::AddressError| setup(format!("smtp.from: {e}")))?;
        Ok(SmtpSender {
            transport: builder.build(),
            from,
        })
    }

    /// Sends one raw message to `to`. `outbox_id` names it in errors (never
    /// the address, which is personal data).
    pub async fn send(&self, outbox_id: i64, to: &str, raw: &[u8]) -> Result<(), MailError> {
        let rcpt: Address = to.parse().map_err(|e: lettre::address::AddressError| {
            MailError::SmtpSetup(format!("outbox {outbox_id}: bad recipient: {e}"))
        })?;
        let envelope = Envelope::new(Some(self.from.clone()), vec![rcpt])
            .map_err(|e| MailError::SmtpSetup(e.to_string()))?;
        self.transport
            .send_raw(&envelope, raw)
            .await
            .map(|_| ())
            .map_err(|source| MailError::Smtp { outbox_id, source })
    }

    /// Connects and says hello, for `yoyaku check`.
    pub async fn test(&self) -> Result<bool, MailError> {
        self.transport
            .test_connection()
            .await
            .map_err(|source| MailError::Smtp {
                outbox_id: 0,
                source,
            })
    }
}
