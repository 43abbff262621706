//! Storage: one diesel schema over SQLite (embedded default) and PostgreSQL (several nodes).
//!
//! The backend is chosen from the database URL's scheme by our own r2d2 manager, never by trying to
//! connect (SQLite accepts any string, so a mistyped PostgreSQL URL would silently become a new file).
//! The few statements that differ between dialects `match` on [`DbConn`] next to their callers.

pub mod schema;
pub mod text_enum;
pub mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2;
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Any key works as long as every `credo` process uses the same one: it serializes migrations when
/// several nodes start at once against one PostgreSQL database.
const MIGRATION_LOCK_KEY: i64 = 0x6372_6564_6f5f_6d69; // "credo_mi"

/// Runs `$body` with `$c` bound to the backend's own connection (`&mut PgConnection` or
/// `&mut SqliteConnection`); the body is compiled once per backend.
///
/// Why: the `MultiConnection` derive wraps every query in a `SerializedQuery` that renders the
/// query's whole SQL text in each AST pass, even for a statement already prepared and cached:
/// twice per run (the cacheability pass and the bind pass), before the backend's own pass binds
/// the values. Under issuance that was a fifth of SQLite's writer thread (`perf`, 32 in flight).
/// Statements on hot paths go around it; the rest keep the shorter `DbConn` form.
#[macro_export]
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConn::Postgres($c) => $body,
            $crate::db::DbConn::Sqlite($c) => $body,
        }
    };
}
pub use on_backend;

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgres(PgConnection),
    Sqlite(SqliteConnection),
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(
        "database URL `{0}` is not supported: use postgres://…, postgresql://… or sqlite://PATH"
    )]
    UnsupportedUrl(String),
    #[error("could not open the database: {0}")]
    Connect(String),
    #[error("could not create the directory {path}: {source}")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database migration failed: {0}")]
    Migration(String),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
    #[error("internal error: {0}")]
    Internal(String),
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::PoolError),
}

/// Where the data lives, parsed from `CREDO_DATABASE_URL` (or the data-dir default).
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    Sqlite(PathBuf),
    Postgres(String),
}

impl std::fmt::Debug for DatabaseTarget {
    // The PostgreSQL URL may carry a password: never print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "Sqlite({})", path.display()),
            Self::Postgres(_) => f.write_str("Postgres(…)"),
        }
    }
}

impl DatabaseTarget {
    pub fn parse(url: &str) -> Result<Self, DbError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_string()));
        }
        match url.strip_prefix("sqlite://") {
            Some(path) if !path.is_empty() && path != ":memory:" => {
                Ok(Self::Sqlite(PathBuf::from(path)))
            }
            _ => Err(DbError::UnsupportedUrl(redact_url(url))),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }
}

/// Hides the password of a `scheme://user:pass@host` URL for error messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://…@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// SQLite durability: NORMAL survives a process crash in WAL mode, FULL also survives power loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSync {
    Normal,
    Full,
}

/// r2d2 manager that opens the backend named by the URL scheme and applies the SQLite pragmas.
#[derive(Debug, Clone)]
pub struct ConnectionManager {
    target: DatabaseTarget,
    sqlite_sync: SqliteSync,
}

impl r2d2::ManageConnection for ConnectionManager {
    type Connection = DbConn;
    type Error = DbError;

    fn connect(&self) -> Result<DbConn, DbError> {
        match &self.target {
            DatabaseTarget::Postgres(url) => PgConnection::establish(url)
                .map(DbConn::Postgres)
                .map_err(|e| DbError::Connect(e.to_string())),
            DatabaseTarget::Sqlite(path) => {
                let path_str = path.to_str().ok_or_else(|| {
                    DbError::Connect(format!("path {} is not UTF-8", path.display()))
                })?;
                let mut conn = SqliteConnection::establish(path_str)
                    .map_err(|e| DbError::Connect(e.to_string()))?;
                let sync = match self.sqlite_sync {
                    SqliteSync::Normal => "NORMAL",
                    SqliteSync::Full => "FULL",
                };
                // WAL is a property of the file, set once by `connect` before the pool opens:
                // switching the journal mode from several new connections at once fails with
                // "database is locked" without waiting for the busy timeout.
                // Temporary storage in memory keeps the statement journals of savepoints (one per
                // transaction in a commit group) from spilling to a temporary file past 64 KiB.
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = 10000; PRAGMA synchronous = {sync}; \
                     PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;"
                ))?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), DbError> {
        conn.batch_execute("SELECT 1").map_err(DbError::from)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        <DbConn as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}

pub type Pool = r2d2::Pool<ConnectionManager>;
pub type PooledConn = r2d2::PooledConnection<ConnectionManager>;

/// Opens the pool (creating the SQLite file's directory if needed) and runs pending migrations.
pub fn connect(
    target: &DatabaseTarget,
    size: u32,
    sqlite_sync: SqliteSync,
) -> Result<Pool, DbError> {
    if let DatabaseTarget::Sqlite(path) = target {
        ensure_parent_dir(path)?;
        let path_str = path
            .to_str()
            .ok_or_else(|| DbError::Connect(format!("path {} is not UTF-8", path.display())))?;
        let mut conn =
            SqliteConnection::establish(path_str).map_err(|e| DbError::Connect(e.to_string()))?;
        conn.batch_execute("PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL;")?;
    }
    let manager = ConnectionManager {
        target: target.clone(),
        sqlite_sync,
    };
    let pool = r2d2::Pool::builder()
        .max_size(size)
        .connection_timeout(Duration::from_secs(10))
        .build(manager)
        .map_err(|e| DbError::Connect(e.to_string()))?;
    let mut conn = pool.get()?;
    run_migrations(&mut conn)?;
    Ok(pool)
}

/// The group-commit writer for SQLite on its own connection (see [`writer`]); `None` on
/// PostgreSQL, where pooled connections write concurrently. Call after [`connect`].
pub fn start_writer(
    target: &DatabaseTarget,
    sqlite_sync: SqliteSync,
) -> Result<Option<writer::Writer>, DbError> {
    if target.backend() == Backend::Postgres {
        return Ok(None);
    }
    let manager = ConnectionManager {
        target: target.clone(),
        sqlite_sync,
    };
    writer::Writer::start(move || r2d2::ManageConnection::connect(&manager)).map(Some)
}

fn ensure_parent_dir(path: &Path) -> Result<(), DbError> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => crate::secrets::create_private_dir(dir)
            .map_err(|source| DbError::CreateDir {
                path: dir.to_path_buf(),
                source,
            }),
        _ => Ok(()),
    }
}

/// Applies the embedded migrations of the connection's dialect; returns the versions applied.
pub fn run_migrations(conn: &mut DbConn) -> Result<Vec<String>, DbError> {
    let applied = match conn {
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>()),
        DbConn::Postgres(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK_KEY})"))?;
            let result = c
                .run_pending_migrations(POSTGRES_MIGRATIONS)
                .map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>());
            c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK_KEY})"))?;
            result
        }
    };
    applied.map_err(|e| DbError::Migration(e.to_string()))
}

impl DbConn {
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Sqlite(_) => Backend::Sqlite,
            DbConn::Postgres(_) => Backend::Postgres,
        }
    }
}

/// A migrated SQLite database in a fresh temporary directory (kept while the `TempDir` lives),
/// for unit tests of queries.
#[cfg(test)]
pub fn scratch_sqlite() -> (tempfile::TempDir, Pool) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let target = DatabaseTarget::Sqlite(dir.path().join("credo.db"));
    let pool = connect(&target, 1, SqliteSync::Normal).expect("a migrated SQLite database");
    (dir, pool)
}

/// Runs `f` in one write transaction: all of a use case commits, or none of it. Inside another
/// transaction it runs in a savepoint: its writes (and its [`after_commit`] work) roll back alone
/// when it fails, and commit with the outer transaction when it succeeds.
///
/// On SQLite the transaction starts with `BEGIN IMMEDIATE`, taking the write lock up front; a
/// deferred transaction that reads and then writes fails at once with SQLITE_BUSY when another
/// connection wrote in between, which `busy_timeout` cannot wait out.
pub fn transaction<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    type Tm = <DbConn as Connection>::TransactionManager;
    let nested = transaction_depth(conn).map_err(E::from)?.is_some();
    if !nested {
        begin_write(conn)?;
        return match f(conn) {
            Ok(value) => commit_write(conn).map(|()| value).map_err(E::from),
            Err(err) => {
                rollback_write(conn);
                Err(err)
            }
        };
    }
    let queued = after_commit_queued();
    Tm::begin_transaction(conn)?;
    match f(conn) {
        Ok(value) => {
            Tm::commit_transaction(conn)?;
            Ok(value)
        }
        Err(err) => {
            let _ = Tm::rollback_transaction(conn);
            drop_after_commit_since(queued);
            Err(err)
        }
    }
}

/// Runs `f`, a write of one statement, inside whatever transaction is open, so that its failure
/// leaves the transaction usable (a caller may catch a unique violation and go on). On SQLite
/// without a savepoint of its own: SQLite undoes a failing statement's changes and keeps the
/// transaction open (its statement journal), so a savepoint would only add two statements. On
/// PostgreSQL, where a failed statement aborts the whole transaction, in a savepoint when a
/// transaction is open. `f` must fail only when its statement changed nothing; its
/// [`after_commit`] work is dropped when it fails.
pub fn statement<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    if matches!(conn, DbConn::Postgres(_)) && transaction_depth(conn).map_err(E::from)?.is_some() {
        return transaction(conn, f);
    }
    let queued = after_commit_queued();
    f(conn).inspect_err(|_| drop_after_commit_since(queued))
}

/// Runs `f`, which only reads, in one read transaction on SQLite: each statement outside a
/// transaction takes the shared lock and checks the WAL, and starts with a cold page cache after
/// any commit, so several reads in a row share one of each. On PostgreSQL, where a transaction
/// would only add round trips, the statements run as they are. Inside a transaction, `f` runs in
/// it.
pub fn reads<T, E, F>(conn: &mut DbConn, f: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    type Tm = <DbConn as Connection>::TransactionManager;
    if transaction_depth(conn)?.is_some() {
        return f(conn);
    }
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN DEFERRED")?,
        DbConn::Postgres(_) => return f(conn),
    }
    let read = f(conn);
    // Nothing was written: ending the transaction either way only releases the snapshot.
    match &read {
        Ok(_) => Tm::commit_transaction(conn)?,
        Err(_) => {
            let _ = Tm::rollback_transaction(conn);
        }
    }
    read
}

/// How deep in transactions the connection is (`None`: outside any).
fn transaction_depth(conn: &mut DbConn) -> diesel::QueryResult<Option<std::num::NonZeroU32>> {
    <DbConn as Connection>::TransactionManager::transaction_manager_status_mut(conn)
        .transaction_depth()
}

/// Opens the outermost write transaction (see [`transaction`]).
fn begin_write(conn: &mut DbConn) -> diesel::QueryResult<()> {
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE"),
        DbConn::Postgres(_) => <DbConn as Connection>::TransactionManager::begin_transaction(conn),
    }
}

/// Commits the outermost transaction, then runs the [`after_commit`] work queued in it.
fn commit_write(conn: &mut DbConn) -> diesel::QueryResult<()> {
    // A failed COMMIT is rolled back by diesel's transaction manager.
    let committed = <DbConn as Connection>::TransactionManager::commit_transaction(conn);
    run_after_commit(committed.is_ok());
    committed
}

/// Rolls the outermost transaction back and drops the work queued for its commit.
fn rollback_write(conn: &mut DbConn) {
    // The caller's error is the one to report; a failed rollback marks the connection broken,
    // and whoever holds it (r2d2, the writer) replaces it.
    let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
    run_after_commit(false);
}

thread_local! {
    /// Work waiting for the commit of the transaction open on this thread (see [`after_commit`]).
    static AFTER_COMMIT: std::cell::RefCell<Vec<Box<dyn FnOnce()>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Runs `f` once what `conn` wrote is committed: at once outside a transaction, else when the
/// outermost [`transaction`] commits (never if it rolls back). In-memory state that mirrors
/// rows (the session cache) is updated this way, so no other thread can read the old rows after
/// the update and put them back.
pub fn after_commit(conn: &mut DbConn, f: impl FnOnce() + 'static) {
    let in_transaction = transaction_depth(conn).ok().flatten().is_some();
    if in_transaction {
        AFTER_COMMIT.with(|queue| queue.borrow_mut().push(Box::new(f)));
    } else {
        f();
    }
}

/// How much work is queued for the commit: a mark for [`drop_after_commit_since`].
fn after_commit_queued() -> usize {
    AFTER_COMMIT.with(|queue| queue.borrow().len())
}

/// Drops the work queued since `mark` (what failed will not commit).
fn drop_after_commit_since(mark: usize) {
    AFTER_COMMIT.with(|queue| queue.borrow_mut().truncate(mark));
}

fn run_after_commit(committed: bool) {
    let queued = AFTER_COMMIT.with(|queue| std::mem::take(&mut *queue.borrow_mut()));
    if committed {
        queued.into_iter().for_each(|f| f());
    }
}

/// Whether a diesel error is a unique-constraint violation (a lost race for a unique key).
pub fn is_unique_violation(err: &diesel::result::Error) -> bool {
    matches!(
        err,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

/// A new time-ordered id (UUIDv7) as stored in every `id` column.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct CompileOption {
        #[diesel(sql_type = diesel::sql_types::Text)]
        compile_options: String,
    }

    /// `.cargo/config.toml` builds the bundled SQLite with the query-planner stability guarantee;
    /// without it every cached `LIMIT ?` query is parsed and planned again on each run.
    #[test]
    fn the_bundled_sqlite_keeps_plans_independent_of_bound_values() {
        let (_dir, pool) = scratch_sqlite();
        let mut conn = pool.get().unwrap();
        let options: Vec<CompileOption> = diesel::sql_query("PRAGMA compile_options")
            .load(&mut *conn)
            .unwrap();
        assert!(
            options.iter().any(|o| o.compile_options == "ENABLE_QPSG"),
            "SQLite was built without SQLITE_ENABLE_QPSG (LIBSQLITE3_FLAGS in .cargo/config.toml)"
        );
    }

    #[test]
    fn url_scheme_picks_the_backend() {
        assert_eq!(
            DatabaseTarget::parse("postgres://u:p@h/db")
                .unwrap()
                .backend(),
            Backend::Postgres
        );
        assert_eq!(
            DatabaseTarget::parse("postgresql://h/db")
                .unwrap()
                .backend(),
            Backend::Postgres
        );
        assert_eq!(
            DatabaseTarget::parse("sqlite://./data/credo.db").unwrap(),
            DatabaseTarget::Sqlite(PathBuf::from("./data/credo.db"))
        );
        assert_eq!(
            DatabaseTarget::parse("sqlite:///var/lib/credo.db").unwrap(),
            DatabaseTarget::Sqlite(PathBuf::from("/var/lib/credo.db"))
        );
    }

    #[test]
    fn mistyped_urls_are_errors_not_new_files() {
        for bad in [
            "postgress://h/db",
            "postgres:/h/db",
            "./data/credo.db",
            "sqlite://",
            "sqlite://:memory:",
            "mysql://h/db",
        ] {
            assert!(DatabaseTarget::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn errors_and_debug_never_show_the_password() {
        let err = DatabaseTarget::parse("postgress://user:s3cret@db/credo").unwrap_err();
        assert!(!err.to_string().contains("s3cret"), "{err}");
        let target = DatabaseTarget::parse("postgres://user:s3cret@db/credo").unwrap();
        assert!(!format!("{target:?}").contains("s3cret"));
    }
}
