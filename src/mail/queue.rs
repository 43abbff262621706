//! The outbox table as a work queue. A sender claims due rows with a lease (`locked_by`,
//! `locked_until`); on PostgreSQL the claim skips rows another node holds (`FOR UPDATE SKIP
//! LOCKED`), on SQLite the write transaction is exclusive. Only the lease holder may mark a row.

use chrono::{Duration, NaiveDateTime};
use diesel::prelude::*;

use crate::db::schema::outbox;
use crate::db::text_enum::text_enum;
use crate::db::{transaction, DbConn};

text_enum! {
    /// `outbox.status`.
    pub enum OutboxStatus("outbox status") {
        /// Waiting for its next attempt (`next_attempt_at`).
        Pending = "pending",
        Sent = "sent",
        /// Given up after [`MAX_ATTEMPTS`]; left for an operator.
        Failed = "failed",
    }
}

/// What a sent (or abandoned) mail's body becomes when it held a one-time link.
pub const SCRUBBED_BODY: &str = "(removed once sent: this mail held a one-time link)";

/// After this many failed attempts a mail is marked failed and left for an operator.
pub const MAX_ATTEMPTS: i32 = 20;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct QueuedMail {
    pub id: String,
    pub message_id: String,
    pub to_address: String,
    pub subject: String,
    pub body_text: String,
    pub attachments: Option<String>,
    pub attempts: i32,
    pub created_at: NaiveDateTime,
}

/// Claims up to `limit` due mails for `worker` until `now + lease`.
pub fn claim_due(
    conn: &mut DbConn,
    worker: &str,
    now: NaiveDateTime,
    lease: Duration,
    limit: i64,
) -> QueryResult<Vec<QueuedMail>> {
    transaction(conn, |conn| {
        let due = outbox::table
            .filter(outbox::status.eq(OutboxStatus::Pending.as_str()))
            .filter(outbox::next_attempt_at.le(now))
            .filter(
                outbox::locked_until
                    .is_null()
                    .or(outbox::locked_until.lt(now)),
            )
            .order(outbox::created_at.asc())
            .limit(limit)
            .select(outbox::id);
        let ids: Vec<String> = match conn {
            DbConn::Postgres(pg) => due.for_update().skip_locked().load(pg)?,
            DbConn::Sqlite(sqlite) => due.load(sqlite)?,
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(outbox::table.filter(outbox::id.eq_any(&ids)))
            .set((
                outbox::locked_by.eq(worker),
                outbox::locked_until.eq(now + lease),
            ))
            .execute(conn)?;
        outbox::table
            .filter(outbox::id.eq_any(&ids))
            .order(outbox::created_at.asc())
            .select(QueuedMail::as_select())
            .load(conn)
    })
}

/// Forgets the body of a mail that held a one-time link (the metadata stays).
fn scrub(conn: &mut DbConn, id: &str) -> QueryResult<()> {
    diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::scrub_after_send.eq(true)),
    )
    .set(outbox::body_text.eq(SCRUBBED_BODY))
    .execute(conn)
    .map(drop)
}

/// Records a delivery; false if the lease was lost (another worker took the row over).
pub fn mark_sent(
    conn: &mut DbConn,
    id: &str,
    worker: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    transaction(conn, |conn| {
        let marked = mark_sent_row(conn, id, worker, now)?;
        if marked {
            scrub(conn, id)?;
        }
        Ok(marked)
    })
}

fn mark_sent_row(
    conn: &mut DbConn,
    id: &str,
    worker: &str,
    now: NaiveDateTime,
) -> QueryResult<bool> {
    diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::locked_by.eq(worker))
            .filter(outbox::status.eq(OutboxStatus::Pending.as_str())),
    )
    .set((
        outbox::status.eq(OutboxStatus::Sent.as_str()),
        outbox::sent_at.eq(now),
        outbox::attempts.eq(outbox::attempts + 1),
        outbox::locked_by.eq(None::<String>),
        outbox::locked_until.eq(None::<NaiveDateTime>),
        outbox::last_error.eq(None::<String>),
    ))
    .execute(conn)
    .map(|n| n == 1)
}

/// Exponential backoff: `base × 2^(attempt-1)`, capped at one hour.
pub fn backoff(base: Duration, attempt: i32) -> Duration {
    let factor = 1i64 << attempt.clamp(1, 16).saturating_sub(1);
    std::cmp::min(base * factor as i32, Duration::hours(1))
}

/// Records a failed attempt and schedules the next one (or gives up after [`MAX_ATTEMPTS`]).
pub fn mark_failed_attempt(
    conn: &mut DbConn,
    mail: &QueuedMail,
    worker: &str,
    error: &str,
    now: NaiveDateTime,
    retry_base: Duration,
) -> QueryResult<()> {
    let attempts = mail.attempts + 1;
    let status = if attempts >= MAX_ATTEMPTS {
        OutboxStatus::Failed
    } else {
        OutboxStatus::Pending
    };
    diesel::update(
        outbox::table
            .find(&mail.id)
            .filter(outbox::locked_by.eq(worker)),
    )
    .set((
        outbox::status.eq(status.as_str()),
        outbox::attempts.eq(attempts),
        outbox::next_attempt_at.eq(now + backoff(retry_base, attempts)),
        outbox::last_error.eq(error.chars().take(500).collect::<String>()),
        outbox::locked_by.eq(None::<String>),
        outbox::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    if status == OutboxStatus::Failed {
        // Given up: nobody will send the link any more, so nobody should read it either.
        scrub(conn, &mail.id)?;
    }
    Ok(())
}

/// Mails not yet delivered (for `/metrics`).
pub fn pending_count(conn: &mut DbConn) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::status.eq(OutboxStatus::Pending.as_str()))
        .count()
        .get_result(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let base = Duration::seconds(5);
        assert_eq!(backoff(base, 1), Duration::seconds(5));
        assert_eq!(backoff(base, 2), Duration::seconds(10));
        assert_eq!(backoff(base, 4), Duration::seconds(40));
        assert_eq!(backoff(base, 30), Duration::hours(1));
    }
}
