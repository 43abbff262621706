//! Credential lifecycle: expiry reminders. Each reminder is claimed by inserting its
//! `credential_reminders` row (primary key credential + threshold) in the transaction that queues
//! the mail, so any number of nodes send it once.

use crate::app::AppState;
use crate::credentials::service;

/// Reminders queued per threshold per pass; the next pass picks up the rest.
const BATCH: i64 = 200;

pub async fn run_once(state: AppState) -> Result<(), String> {
    let links = state.links.clone();
    let days = state.config.reminder_days.clone();
    let now = state.clock.now();
    let queued = state
        .tx(move |conn| service::send_expiry_reminders(conn, &links, &days, now, BATCH))
        .await
        .map_err(|e| e.to_string())?;
    if queued > 0 {
        tracing::info!(queued, "credential expiry reminders queued");
    }
    Ok(())
}
