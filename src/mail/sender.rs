//! Delivery through lettre: SMTP (plain, STARTTLS or implicit TLS) or `.eml` files for local runs.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::queue::QueuedMail;
use super::ResolvedAttachment;
use crate::config::{MailConfig, MailTransport, SmtpTls};

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("mail setup: {0}")]
    Setup(String),
    #[error("the message could not be built: {0}")]
    Build(String),
    #[error("delivery failed: {0}")]
    Transport(String),
}

enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(AsyncFileTransport<Tokio1Executor>),
}

pub struct Sender {
    transport: Transport,
    from: Mailbox,
    /// Right-hand side of Message-IDs: the sender's domain.
    id_domain: String,
}

impl Sender {
    pub fn new(config: &MailConfig) -> Result<Self, SendError> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| SendError::Setup(format!("mail_from: {e}")))?;
        let id_domain = from.email.domain().to_string();
        let transport = match &config.transport {
            MailTransport::Files(dir) => {
                crate::secrets::create_private_dir(dir).map_err(|e| {
                    SendError::Setup(format!("mail directory {}: {e}", dir.display()))
                })?;
                Transport::Files(AsyncFileTransport::new(dir))
            }
            MailTransport::Smtp(smtp) => {
                let builder = match smtp.tls {
                    SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                        &smtp.host,
                    )),
                    SmtpTls::StartTls => {
                        AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&smtp.host)
                    }
                    SmtpTls::Implicit => AsyncSmtpTransport::<Tokio1Executor>::relay(&smtp.host),
                }
                .map_err(|e| SendError::Setup(e.to_string()))?;
                let mut builder = builder
                    .port(smtp.port)
                    .timeout(Some(Duration::from_secs(20)));
                if let (Some(user), Some(pass)) = (&smtp.username, &smtp.password) {
                    builder = builder.credentials(Credentials::new(user.clone(), pass.clone()));
                }
                Transport::Smtp(builder.build())
            }
        };
        Ok(Self {
            transport,
            from,
            id_domain,
        })
    }

    pub fn message_id(&self, mail: &QueuedMail) -> String {
        format!("<{}@{}>", mail.message_id, self.id_domain)
    }

    fn build(
        &self,
        mail: &QueuedMail,
        attachments: Vec<ResolvedAttachment>,
    ) -> Result<Message, SendError> {
        let to: Mailbox = mail
            .to_address
            .parse()
            .map_err(|e| SendError::Build(format!("recipient: {e}")))?;
        let builder = Message::builder()
            .message_id(Some(self.message_id(mail)))
            .date(mail.created_at.and_utc().into())
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone());
        let message = if attachments.is_empty() {
            builder
                .header(ContentType::TEXT_PLAIN)
                .body(mail.body_text.clone())
        } else {
            let mut parts =
                MultiPart::mixed().singlepart(SinglePart::plain(mail.body_text.clone()));
            for attachment in attachments {
                let content_type = ContentType::parse(&attachment.content_type)
                    .map_err(|e| SendError::Build(format!("attachment type: {e}")))?;
                parts = parts.singlepart(
                    lettre::message::Attachment::new(attachment.filename)
                        .body(attachment.bytes, content_type),
                );
            }
            builder.multipart(parts)
        };
        message.map_err(|e| SendError::Build(e.to_string()))
    }

    /// Sends `mail` with its attachments, read from storage by the caller
    /// ([`super::attachments_to_send`]).
    pub async fn send(
        &self,
        mail: &QueuedMail,
        attachments: Vec<ResolvedAttachment>,
    ) -> Result<(), SendError> {
        let message = self.build(mail, attachments)?;
        match &self.transport {
            Transport::Smtp(t) => t
                .send(message)
                .await
                .map(drop)
                .map_err(|e| SendError::Transport(e.to_string())),
            Transport::Files(t) => t
                .send(message)
                .await
                .map(drop)
                .map_err(|e| SendError::Transport(e.to_string())),
        }
    }
}
