//! Background jobs. Each runs in a loop on every node until shutdown; work is claimed with leases,
//! unique keys or conditional updates so several nodes never do the same work twice.

pub mod credentials;
mod exams;
mod outbox;
pub mod referrals;
pub mod webhooks;

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::AppState;

/// Stops the jobs and waits for the pass in progress to finish.
pub struct Jobs {
    stop: watch::Sender<bool>,
    handles: Vec<JoinHandle<()>>,
}

impl Jobs {
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for handle in self.handles {
            let _ = handle.await;
        }
    }
}

/// Starts every job on the current tokio runtime.
pub fn start(state: &AppState) -> Result<Jobs, String> {
    let (stop, stopped) = watch::channel(false);
    let interval = Duration::from_millis(state.config.job_interval_ms);
    let sender = std::sync::Arc::new(
        crate::mail::sender::Sender::new(&state.config.mail).map_err(|e| e.to_string())?,
    );
    let mut handles = Vec::new();

    let s = state.clone();
    handles.push(spawn_loop(
        "outbox",
        interval,
        stopped.clone(),
        s.clone(),
        move || outbox::run_once(s.clone(), sender.clone()),
    ));

    let hooks = std::sync::Arc::new(crate::webhooks::sender::Sender::new(
        &state.config.webhooks,
    )?);
    let s = state.clone();
    handles.push(spawn_loop(
        "webhooks",
        interval,
        stopped.clone(),
        s.clone(),
        move || webhooks::run_once(s.clone(), hooks.clone()),
    ));

    let s = state.clone();
    handles.push(spawn_loop(
        "credential_reminders",
        interval,
        stopped.clone(),
        s.clone(),
        move || credentials::run_once(s.clone()),
    ));

    let s = state.clone();
    handles.push(spawn_loop(
        "exam_deadlines",
        interval,
        stopped.clone(),
        s.clone(),
        move || exams::run_once(s.clone()),
    ));

    let s = state.clone();
    handles.push(spawn_loop(
        "referrals",
        interval,
        stopped.clone(),
        s.clone(),
        move || referrals::run_once(s.clone()),
    ));
    handles.push(referrals::spawn_click_flusher(
        state.clone(),
        stopped.clone(),
    ));

    let s = state.clone();
    handles.push(spawn_loop(
        "rate_limit_prune",
        Duration::from_secs(60),
        stopped,
        s.clone(),
        move || {
            let limits = s.limits.clone();
            async move {
                limits.prune();
                Ok(())
            }
        },
    ));
    Ok(Jobs { stop, handles })
}

/// One pass of every job, in the order their work flows (clicks, referrals, reminders,
/// deadlines, then the outbox that sends what they queued). Tests call it to assert that
/// something did not happen: after this returns, every due job has run once since the change.
pub async fn run_all_once(state: &AppState) -> Result<(), String> {
    referrals::flush(state).await?;
    referrals::run_once(state.clone()).await?;
    credentials::run_once(state.clone()).await?;
    exams::run_once(state.clone()).await?;
    let sender = crate::mail::sender::Sender::new(&state.config.mail).map_err(|e| e.to_string())?;
    outbox::run_once(state.clone(), std::sync::Arc::new(sender)).await
}

fn spawn_loop<F, Fut>(
    name: &'static str,
    interval: Duration,
    mut stopped: watch::Receiver<bool>,
    state: AppState,
    mut pass: F,
) -> JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    tokio::spawn(async move {
        loop {
            let outcome = match pass().await {
                Ok(()) => "ok",
                Err(error) => {
                    tracing::warn!(job = name, %error, "job pass failed");
                    "error"
                }
            };
            state
                .metrics
                .job_runs
                .with_label_values(&[name, outcome])
                .inc();
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = stopped.changed() => break,
            }
            if *stopped.borrow() {
                break;
            }
        }
    })
}
