//! Referral jobs: commission approval and tier recomputation after credentials expire (one
//! pass per interval), and the click flusher (group commit for `/r/<code>`).

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::AppState;
use crate::referrals::{service, ReferralError};

/// Commissions approved / enrollments recomputed per transaction.
const BATCH: i64 = 100;

/// Approves pending commissions whose hold ended (unless held) and recomputes tiers whose
/// credentials expired. Both are safe on several nodes (conditional updates).
pub async fn run_once(state: AppState) -> Result<(), String> {
    loop {
        let now = state.clock.now();
        let links = state.links.clone();
        let approved = state
            .tx(move |conn| service::approve_due(conn, &links, now, BATCH))
            .await
            .map_err(|e: ReferralError| e.to_string())?;
        if approved > 0 {
            tracing::info!(approved, "commissions approved");
        }
        if approved < BATCH as usize {
            break;
        }
    }
    loop {
        let now = state.clock.now();
        let recomputed = state
            .tx(move |conn| service::recompute_stale_tiers(conn, now, BATCH))
            .await
            .map_err(|e: ReferralError| e.to_string())?;
        if recomputed < BATCH as usize {
            break;
        }
    }
    Ok(())
}

/// Writes buffered clicks in batches: wakes when clicks arrive, waits the flush interval to
/// gather more, writes them in one transaction. Flushes once more when the jobs stop (after the
/// HTTP server drained), so a graceful shutdown loses no click.
pub fn spawn_click_flusher(state: AppState, mut stopped: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let Some(interval) = state.clicks.flush_interval() else {
            return;
        };
        loop {
            tokio::select! {
                _ = state.clicks.clicks_waiting() => {}
                _ = stopped.changed() => break,
            }
            tokio::time::sleep(interval).await;
            if let Err(error) = flush(&state).await {
                tracing::warn!(%error, buffered = state.clicks.buffered(), "click flush failed; retrying");
                tokio::time::sleep(interval.max(std::time::Duration::from_millis(100))).await;
            }
            if *stopped.borrow() {
                break;
            }
        }
        // Final flush at shutdown; retried a few times so a brief database hiccup loses nothing.
        for _ in 0..5 {
            match flush(&state).await {
                Ok(_) if state.clicks.buffered() == 0 => return,
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "final click flush failed"),
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        }
        tracing::error!(
            lost = state.clicks.buffered(),
            "clicks could not be written at shutdown"
        );
    })
}

/// Writes the buffered clicks now (also used before binding customers).
pub async fn flush(state: &AppState) -> Result<usize, String> {
    let recorder = state.clicks.clone();
    state
        .db(move |conn| recorder.flush(conn).map_err(crate::db::DbError::from))
        .await
        .map_err(|e| e.to_string())
}
