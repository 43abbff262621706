//! Mail: every message is written to the `outbox` table in the transaction of the event that
//! causes it; the outbox job (`jobs`) claims due rows (`queue`) and delivers them through `sender` with retries and backoff.
//! A crash never loses a mail; a crash between sending and recording can repeat one, which the
//! stable Message-ID lets mail systems recognise.

pub mod queue;
pub mod sender;
pub mod templates;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::outbox;
use crate::db::{self, new_id, DbConn};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub attachments: Vec<Attachment>,
    /// The body carries a one-time link (verification, password reset): the outbox forgets the
    /// body once the mail is sent, so the database never keeps a usable token.
    pub one_time_link: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    #[serde(flatten)]
    pub content: AttachmentContent,
}

/// What an attachment holds. Stored as `"content"` (base64) or `"credential_id"` beside the name
/// and type, so rows queued before references existed read as they were written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttachmentContent {
    #[serde(rename = "content", with = "base64_bytes")]
    Bytes(Vec<u8>),
    /// The exact JSON of a stored credential, read when the mail is sent: a credential never
    /// changes once stored, so the outbox keeps a reference instead of a second copy of each.
    #[serde(rename = "credential_id")]
    Credential(String),
}

mod base64_bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(serde::de::Error::custom)
    }
}

/// Queues a mail in the caller's transaction; returns the outbox id.
pub fn enqueue(conn: &mut DbConn, mail: &Email, now: NaiveDateTime) -> QueryResult<String> {
    let id = new_id();
    let attachments = if mail.attachments.is_empty() {
        None
    } else {
        Some(
            serde_json::to_string(&mail.attachments)
                .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?,
        )
    };
    db::on_backend!(conn, |c| diesel::insert_into(outbox::table)
        .values((
            outbox::id.eq(&id),
            // The Message-ID is `<message_id@sender-domain>`, fixed here so retries reuse it.
            outbox::message_id.eq(uuid::Uuid::new_v4().simple().to_string()),
            outbox::to_address.eq(&mail.to),
            outbox::subject.eq(&mail.subject),
            outbox::body_text.eq(&mail.text),
            outbox::attachments.eq(attachments),
            outbox::status.eq(queue::OutboxStatus::Pending.as_str()),
            outbox::attempts.eq(0),
            outbox::next_attempt_at.eq(now),
            outbox::created_at.eq(now),
            outbox::scrub_after_send.eq(mail.one_time_link),
        ))
        .execute(c))?;
    Ok(id)
}

/// An attachment ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedAttachment {
    pub filename: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Decodes the stored attachment list (rows written by [`enqueue`]), with each credential it
/// refers to read by `stored_credential` (`None`: not stored, an error naming it).
pub fn attachments_to_send<E: std::fmt::Display>(
    stored: Option<&str>,
    mut stored_credential: impl FnMut(&str) -> Result<Option<String>, E>,
) -> Result<Vec<ResolvedAttachment>, String> {
    decode_attachments(stored)?
        .into_iter()
        .map(|attachment| {
            let bytes = match attachment.content {
                AttachmentContent::Bytes(bytes) => bytes,
                AttachmentContent::Credential(id) => stored_credential(&id)
                    .map_err(|e| format!("reading credential {id} to attach: {e}"))?
                    .ok_or_else(|| format!("credential {id} to attach is not stored"))?
                    .into_bytes(),
            };
            Ok(ResolvedAttachment {
                filename: attachment.filename,
                content_type: attachment.content_type,
                bytes,
            })
        })
        .collect()
}

/// Decodes the stored attachment list (rows written by [`enqueue`]).
fn decode_attachments(stored: Option<&str>) -> Result<Vec<Attachment>, String> {
    match stored {
        None => Ok(Vec::new()),
        Some(text) => {
            serde_json::from_str(text).map_err(|e| format!("stored attachments are corrupt: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(id: &str) -> Result<Option<String>, String> {
        Ok((id == "stored").then(|| r#"{"id":"urn:uuid:stored"}"#.to_owned()))
    }

    #[test]
    fn attachments_are_sent_from_their_bytes_or_from_the_credential_they_name() {
        // A row queued before references existed keeps its bytes inline, as base64.
        let inline = r#"[{"filename":"a.txt","content_type":"text/plain","content":"aGk="}]"#;
        let sent = attachments_to_send(Some(inline), credential).unwrap();
        assert_eq!(sent[0].bytes, b"hi");
        assert_eq!(
            (sent[0].filename.as_str(), sent[0].content_type.as_str()),
            ("a.txt", "text/plain")
        );

        let reference = |id: &str| Attachment {
            filename: "credential.json".into(),
            content_type: "application/json".into(),
            content: AttachmentContent::Credential(id.into()),
        };
        let stored = serde_json::to_string(&[reference("stored")]).unwrap();
        assert_eq!(
            stored,
            r#"[{"filename":"credential.json","content_type":"application/json","credential_id":"stored"}]"#
        );
        let sent = attachments_to_send(Some(&stored), credential).unwrap();
        assert_eq!(sent[0].bytes, br#"{"id":"urn:uuid:stored"}"#);

        let gone = serde_json::to_string(&[reference("gone")]).unwrap();
        let error = attachments_to_send(Some(&gone), credential).unwrap_err();
        assert!(error.contains("credential gone"), "{error}");
        assert!(attachments_to_send(None, credential).unwrap().is_empty());
    }
}
