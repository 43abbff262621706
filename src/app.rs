//! The application state shared by HTTP handlers, background jobs and commands.

use std::sync::Arc;

use crate::accounts::session::SessionKeys;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::{self, DbConn, DbError, Pool};
use crate::links::Links;
use crate::metrics::Metrics;
use crate::ratelimit::RateLimits;
use crate::referrals::recorder::ClickRecorder;
use crate::secrets::{MasterKey, SecretError};

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("{0}")]
    Other(String),
}

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub pool: Pool,
    pub clock: Clock,
    pub links: Links,
    pub master_key: MasterKey,
    pub session_keys: SessionKeys,
    pub limits: Arc<RateLimits>,
    pub metrics: Arc<Metrics>,
    /// Referral clicks: code cache and group-commit buffer (flushed by the jobs).
    pub clicks: Arc<ClickRecorder>,
    /// Names this process in outbox leases and logs.
    pub node_id: String,
}

impl AppState {
    /// Opens the database (running migrations) and loads the master key.
    pub fn open(config: Config) -> Result<Self, StartError> {
        let master_key = match &config.master_key {
            Some(text) => MasterKey::parse(text)?,
            None => MasterKey::load_or_create(&config.data_dir)?,
        };
        let pool = db::connect(
            &config.database,
            config.pool_size,
            config.sqlite_synchronous,
        )?;
        Ok(Self {
            links: Links::new(config.base_url.clone()),
            session_keys: SessionKeys::new(&master_key.derive("session-jwt")),
            limits: Arc::new(RateLimits::new(
                config.login_attempts_per_minute,
                config.registrations_per_hour,
            )),
            metrics: Arc::new(Metrics::new()),
            clicks: Arc::new(ClickRecorder::new(
                master_key.derive("referral-click-hash"),
                config.click_flush_ms,
            )),
            node_id: format!(
                "{}-{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            clock: Clock::default(),
            master_key,
            pool,
            config: Arc::new(config),
        })
    }

    /// Runs blocking database work on the blocking thread pool with a pooled connection.
    pub async fn db<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        let joined = tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(DbError::from)?;
            f(&mut conn)
        })
        .await;
        // A panic in the task is a bug; it answers 500 instead of taking the worker down.
        joined
            .unwrap_or_else(|e| Err(DbError::Internal(format!("database task failed: {e}")).into()))
    }

    /// Like [`AppState::db`], inside one write transaction.
    pub async fn tx<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        self.db(move |conn| db::transaction(conn, f)).await
    }
}
