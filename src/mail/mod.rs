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
    #[serde(with = "base64_bytes")]
    pub content: Vec<u8>,
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

/// Decodes the stored attachment list (rows written by [`enqueue`]).
pub fn decode_attachments(stored: Option<&str>) -> Result<Vec<Attachment>, String> {
    match stored {
        None => Ok(Vec::new()),
        Some(text) => {
            serde_json::from_str(text).map_err(|e| format!("stored attachments are corrupt: {e}"))
        }
    }
}
