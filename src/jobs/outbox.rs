//! Delivers due outbox mails.

use std::sync::Arc;

use chrono::Duration;

use crate::app::AppState;
use crate::credentials;
use crate::db::DbError;
use crate::mail::sender::{SendError, Sender};
use crate::mail::{self, queue};

/// How long a claimed mail stays reserved for this node; far longer than one SMTP exchange.
const LEASE: Duration = Duration::minutes(5);
const BATCH: i64 = 20;

pub async fn run_once(state: AppState, sender: Arc<Sender>) -> Result<(), String> {
    loop {
        let now = state.clock.now();
        let worker = state.node_id.clone();
        // Attachments stored as references (a credential's JSON) are read with the claim.
        let batch = state
            .db(move |conn| {
                let claimed = queue::claim_due(conn, &worker, now, LEASE, BATCH)?;
                Ok::<_, DbError>(
                    claimed
                        .into_iter()
                        .map(|mail| {
                            let attachments =
                                mail::attachments_to_send(mail.attachments.as_deref(), |id| {
                                    credentials::store::credential_json(conn, id)
                                });
                            (mail, attachments)
                        })
                        .collect::<Vec<_>>(),
                )
            })
            .await
            .map_err(|e| e.to_string())?;
        if batch.is_empty() {
            break;
        }
        for (mail, attachments) in batch {
            let result = match attachments {
                Ok(attachments) => sender.send(&mail, attachments).await,
                Err(error) => Err(SendError::Build(error)),
            };
            let now = state.clock.now();
            let worker = state.node_id.clone();
            let retry_base = Duration::milliseconds(state.config.mail_retry_base_ms as i64);
            match result {
                Ok(()) => {
                    state.metrics.mails_sent.inc();
                    tracing::info!(outbox_id = %mail.id, message_id = %sender.message_id(&mail), "mail sent");
                    let id = mail.id.clone();
                    state
                        .db(move |conn| {
                            queue::mark_sent(conn, &id, &worker, now).map_err(DbError::from)
                        })
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Err(error) => {
                    state.metrics.mail_failures.inc();
                    tracing::warn!(outbox_id = %mail.id, attempt = mail.attempts + 1, %error, "mail delivery failed");
                    let message = error.to_string();
                    state
                        .db(move |conn| {
                            queue::mark_failed_attempt(
                                conn, &mail, &worker, &message, now, retry_base,
                            )
                            .map_err(DbError::from)
                        })
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
        }
    }
    let pending = state
        .db(|conn| queue::pending_count(conn).map_err(DbError::from))
        .await
        .map_err(|e| e.to_string())?;
    state.metrics.outbox_pending.set(pending);
    Ok(())
}
