//! The application state shared by HTTP handlers, background jobs and commands.

use std::sync::Arc;

use crate::accounts::session::SessionKeys;
use crate::clock::Clock;
use crate::config::Config;
use crate::credentials::resolver::{self, VerifyReport};
use crate::credentials::{CredentialError, IssueRequest, PreparedCredential};
use crate::db::{self, DbConn, DbError, Pool};
use crate::exams::{ExamError, PassedExam};
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

/// Runs `f` on the blocking thread pool.
async fn blocking<T, E, F>(f: F) -> Result<T, E>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    // A panic in the task is a bug; it answers 500 instead of taking the worker down.
    tokio::task::spawn_blocking(f)
        .await
        .unwrap_or_else(|e| Err(DbError::Internal(format!("database task failed: {e}")).into()))
}

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub pool: Pool,
    /// SQLite's group-commit writer, which runs [`AppState::tx`] there (`None` on PostgreSQL).
    writer: Option<Arc<db::writer::Writer>>,
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
    /// Issuer keys opened for signing (see `credentials::service::OpenedKeys`).
    pub opened_keys: Arc<crate::credentials::service::OpenedKeys>,
    /// Credential verification: decoded-key cache, remote did:web client and cache.
    pub verifier: Arc<crate::credentials::resolver::VerifierShared>,
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
        let writer = db::start_writer(&config.database, config.sqlite_synchronous)?.map(Arc::new);
        let links = Links::new(config.base_url.clone());
        let verifier = crate::credentials::resolver::VerifierShared::new(
            &links,
            config.resolve_remote_dids,
            config.status_list_ttl_seconds,
            config.verify_proof_cache_entries as usize,
        )
        .map_err(StartError::Other)?;
        Ok(Self {
            verifier: Arc::new(verifier),
            links,
            session_keys: SessionKeys::new(&master_key.derive("session-jwt")),
            limits: Arc::new(RateLimits::new(&config.limits)),
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
            writer,
            opened_keys: Arc::default(),
            config: Arc::new(config),
        })
    }

    /// What issuing and revoking credentials need (grading passes it to `issue_for_pass`).
    pub fn issue_context(&self) -> crate::credentials::IssueContext {
        let verifier = self.verifier.clone();
        crate::credentials::IssueContext {
            links: self.links.clone(),
            master_key: self.master_key.clone(),
            opened_keys: self.opened_keys.clone(),
            status_list_ttl_seconds: self.config.status_list_ttl_seconds,
            on_change: Arc::new(move |conn, change| {
                // Verifications on this node see the change as soon as it commits.
                let verifier = verifier.clone();
                db::after_commit(conn, move || verifier.credentials_changed());
                crate::referrals::on_credentials_changed(
                    conn,
                    change.user_id,
                    change.vendor_id,
                    change.reason,
                    change.at,
                )
                .map_err(Into::into)
            }),
        }
    }

    /// Verifies a credential the way every door does: remote documents first (when allowed),
    /// then the engine with the storage resolver: from memory on this thread when all it needs
    /// is held there (the steady state: no thread hand-off, no database), else on the blocking
    /// pool, with a connection if it needs one.
    pub async fn verify_json(
        &self,
        credential: &serde_json::Value,
    ) -> Result<VerifyReport, CredentialError> {
        let shared = self.verifier.clone();
        let fetched = resolver::fetch_remote(&shared, &shared.local, credential).await;
        let now = self.clock.now();
        let links = &self.links;
        if let Some(report) =
            resolver::verify_from_memory(links, &shared, &fetched, credential, now)
        {
            return Ok(report);
        }
        let (pool, links, credential) = (self.pool.clone(), links.clone(), credential.clone());
        blocking(move || {
            resolver::verify_stored(&pool, &links, &shared, &fetched, &credential, now)
        })
        .await
    }

    /// Runs blocking database work on the blocking thread pool with a pooled connection.
    pub async fn db<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        blocking(move || {
            let mut conn = pool.get().map_err(DbError::from)?;
            f(&mut conn)
        })
        .await
    }

    /// Like [`AppState::db`], inside one write transaction (on SQLite, one of the writer's
    /// commit groups: see [`db::writer`]).
    pub async fn tx<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.transaction(f).await,
            None => self.db(move |conn| db::transaction(conn, f)).await,
        }
    }

    /// A write that is atomic by itself (one statement; `f` fails only when it changed nothing):
    /// on PostgreSQL one round trip on a pooled connection, with no transaction around it; on
    /// SQLite a member of the writer's next commit group, without a savepoint of its own (see
    /// [`db::statement`]), so frequent small writes share commits instead of queueing for the lock.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        match &self.writer {
            Some(writer) => writer.statement(f).await,
            None => self.db(f).await,
        }
    }

    /// The hook the exam grading calls, inside its transaction, when an attempt passes; it returns the id of
    /// the credential issued for the pass: `prepared` (built before the grading transaction) when that
    /// is still the pass's credential, else one built there.
    pub fn on_exam_passed(
        &self,
        prepared: Option<PreparedCredential>,
    ) -> impl Fn(&mut DbConn, &PassedExam) -> Result<Option<String>, ExamError> + Send + Clone + 'static
    {
        let ctx = self.issue_context();
        // The hook is `Fn` (grading may hold it for several attempts); the prepared credential is
        // offered to the first pass only.
        let prepared = Arc::new(std::sync::Mutex::new(prepared));
        move |conn: &mut DbConn, passed: &PassedExam| {
            let prepared = prepared.lock().ok().and_then(|mut p| p.take());
            crate::credentials::issue_for_pass(
                conn,
                &ctx,
                &issue_request(passed),
                prepared,
                passed.graded_at,
            )
            .map(Some)
            .map_err(|e| ExamError::Credential(e.to_string()))
        }
    }
}

/// The credential request of a pass, as grading describes it.
pub fn issue_request(passed: &PassedExam) -> IssueRequest {
    IssueRequest {
        attempt_id: passed.attempt_id.clone(),
        user_id: passed.user_id.clone(),
        vendor_id: passed.vendor_id.clone(),
        exam_id: passed.exam_id.clone(),
        exam_slug: passed.exam_slug.clone(),
        exam_title: passed.exam_title.clone(),
        exam_description: passed.exam_description.clone(),
        pass_percent: passed.pass_percent,
        score_bp: passed.score_bp,
        validity_months: passed.validity_months,
        renewal_exam_slug: passed.renewal_exam_slug.clone(),
    }
}
