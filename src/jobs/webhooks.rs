//! Delivers due webhooks (and queues `credential.expired` events first). Public so tests can
//! drive a pass explicitly.

use std::sync::Arc;

use chrono::Duration;

use crate::app::AppState;
use crate::db::DbError;
use crate::webhooks::sender::{Outcome, Sender};
use crate::webhooks::store::{self, ClaimedDelivery};
use crate::webhooks::{self as hooks};

/// How long a claimed delivery stays reserved for this node; far longer than one attempt.
const LEASE: Duration = Duration::minutes(5);
const BATCH: i64 = 20;
/// Expired credentials announced per pass and endpoint.
const EXPIRY_BATCH: i64 = 200;

pub async fn run_once(state: AppState, sender: Arc<Sender>) -> Result<(), String> {
    let now = state.clock.now();
    let links = state.links.clone();
    state
        .tx(move |conn| {
            hooks::announce_expirations(conn, &links, now, EXPIRY_BATCH).map_err(DbError::from)
        })
        .await
        .map_err(|e: DbError| e.to_string())?;
    loop {
        let now = state.clock.now();
        let worker = state.node_id.clone();
        let batch = state
            .db(move |conn| {
                store::claim_due(conn, &worker, now, LEASE, BATCH).map_err(DbError::from)
            })
            .await
            .map_err(|e| e.to_string())?;
        if batch.is_empty() {
            break;
        }
        let sends = batch
            .into_iter()
            .map(|delivery| deliver(&state, &sender, delivery));
        for result in futures_util::future::join_all(sends).await {
            result?;
        }
    }
    let pending = state
        .db(|conn| store::pending_count(conn).map_err(DbError::from))
        .await
        .map_err(|e| e.to_string())?;
    state.metrics.webhooks_pending.set(pending);
    Ok(())
}

async fn deliver(
    state: &AppState,
    sender: &Sender,
    delivery: ClaimedDelivery,
) -> Result<(), String> {
    let outcome = match hooks::open_secret(
        &state.master_key,
        &delivery.endpoint_id,
        &delivery.secret_sealed,
    ) {
        Ok(secret) => sender.deliver(&delivery, &secret).await,
        Err(error) => Outcome::Failed {
            status: None,
            error,
        },
    };
    let now = state.clock.now();
    let worker = state.node_id.clone();
    let settings = state.config.webhooks;
    match &outcome {
        Outcome::Delivered(status) => {
            state
                .metrics
                .webhook_deliveries
                .with_label_values(&["delivered"])
                .inc();
            tracing::info!(delivery_id = %delivery.id, status, "webhook delivered");
        }
        Outcome::Failed { status, error } => {
            state
                .metrics
                .webhook_deliveries
                .with_label_values(&["failed"])
                .inc();
            tracing::warn!(delivery_id = %delivery.id, attempt = delivery.attempts + 1, ?status, %error, "webhook delivery failed");
        }
    }
    state
        .db(move |conn| {
            match outcome {
                Outcome::Delivered(status) => {
                    store::mark_delivered(conn, &delivery.id, &worker, status.into(), now)
                }
                Outcome::Failed { status, error } => {
                    let next = hooks::next_attempt(
                        &settings,
                        delivery.retry_from,
                        delivery.attempts + 1,
                        now,
                    );
                    store::mark_attempt_failed(
                        conn,
                        &delivery.id,
                        &worker,
                        status.map(i32::from),
                        &error,
                        next,
                    )
                }
            }
            .map_err(DbError::from)
        })
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}
