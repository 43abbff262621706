//! Expiry reminder mails.

use chrono::NaiveDateTime;

use super::CredentialError;
use crate::credentials::store;
use crate::db::DbConn;
use crate::links::Links;
use crate::mail::{self, templates};

/// Queues the expiry reminders due at `now` (at most `limit` per threshold). Each threshold is
/// handled once per credential (its `credential_reminders` row); when several are due at once
/// only the nearest is mailed; thresholds that fell before the credential was issued are marked
/// handled without a mail. Revoked and superseded credentials get none. Returns mails queued.
pub fn send_expiry_reminders(
    conn: &mut DbConn,
    links: &Links,
    reminder_days: &[u32],
    now: NaiveDateTime,
    limit: i64,
) -> Result<usize, CredentialError> {
    let mut days: Vec<i32> = reminder_days
        .iter()
        .filter_map(|d| i32::try_from(*d).ok())
        .filter(|d| *d > 0)
        .collect();
    days.sort_unstable();
    days.dedup();
    let mut queued = 0;
    for (position, &d) in days.iter().enumerate() {
        let until = now + chrono::Duration::days(d.into());
        for candidate in store::reminder_candidates(conn, d, now, until, limit)? {
            let Some(valid_until) = candidate.valid_until else {
                continue;
            };
            if !store::claim_reminder(conn, &candidate.id, d, now)? {
                continue;
            }
            // A nearer threshold is due too: that reminder is (or was) the one sent.
            let nearer_due = days[..position]
                .iter()
                .any(|&n| valid_until <= now + chrono::Duration::days(n.into()));
            let before_issue =
                valid_until - chrono::Duration::days(d.into()) <= candidate.valid_from;
            if nearer_due || before_issue {
                continue;
            }
            let left = valid_until - now;
            let days_left = (left.num_seconds() + 86_399) / 86_400;
            let mail = templates::expiry_reminder(
                &candidate.email,
                &candidate.holder_name,
                &candidate.exam_title,
                u32::try_from(days_left.max(1)).unwrap_or(1),
                &valid_until.date().format("%Y-%m-%d").to_string(),
                &links.credential_page(&candidate.id),
            );
            mail::enqueue(conn, &mail, now)?;
            queued += 1;
        }
    }
    Ok(queued)
}
