//! Group commit on SQLite.
//!
//! SQLite has one writer at a time. Pooled connections that want to write at once wait for the
//! lock in SQLite's busy handler, which sleeps 1, 2, 5, 10… ms between tries, so under load a
//! write's latency is mostly sleeping; and each transaction pays its own commit (WAL frames and
//! the lock hand-over). Here one thread holds the write connection: write transactions queue
//! for it and run one after the other, each in its own savepoint, and those that queued up while
//! the previous group ran commit together. A caller hears back only after its group committed.
//!
//! - Each transaction is still all or nothing: a failing one rolls back to its savepoint (its
//!   [`super::after_commit`] work dropped with it) and the rest of the group commits.
//! - If the group's COMMIT fails, every transaction of the group gets the error.
//! - If the write lock cannot be taken (another process holds it past `busy_timeout`), each
//!   transaction runs on its own as [`super::transaction`] would, and reports its own outcome.
//! - A panicking transaction rolls its group back; the others of the group get an error, the
//!   ones queued behind it run in the next group, and the writer thread carries on.
//!
//! Checkpoints (copying the WAL back into the database file, with two fsyncs) take milliseconds.
//! SQLite runs one inside the commit that takes the WAL past 1,000 pages, which on the writer
//! would stall every transaction queued behind it. So the writer's connection does not
//! checkpoint; a checkpointer thread on its own connection runs a passive checkpoint (which never
//! blocks writers) after commits, at most every [`CHECKPOINT_EVERY`].
//!
//! PostgreSQL takes concurrent writers and does not use this.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;

use super::{
    begin_write, commit_write, rollback_write, statement, transaction, transaction_depth, DbConn,
    DbError,
};

/// How a queued transaction learns its group's outcome: `Ok` once committed.
type Finish = Box<dyn FnOnce(Result<(), &diesel::result::Error>) + Send>;
type Job = Box<dyn FnOnce(&mut DbConn) -> Finish + Send>;

/// At most this many transactions commit together…
const MAX_GROUP: usize = 256;
/// …and a group takes no more queued transactions once it has run this long, so a run of slow
/// ones does not hold back the commit of quick ones queued with them.
const MAX_GROUP_TIME: Duration = Duration::from_millis(2);

/// How often, at most, the checkpointer copies the WAL back while the writer commits.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(200);

/// The queue to the writer thread; the thread ends when the last `Writer` is dropped (and the
/// checkpointer with it).
pub struct Writer {
    queue: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer thread on a connection from `connect`, which also reopens it if it
    /// breaks (only a panicking transaction or a failed rollback does that), and the
    /// checkpointer on another.
    pub fn start(
        connect: impl Fn() -> Result<DbConn, DbError> + Send + 'static,
    ) -> Result<Self, DbError> {
        let checkpointer = connect()?;
        let open_writer = move || {
            let mut conn = connect()?;
            conn.batch_execute("PRAGMA wal_autocheckpoint = 0")?;
            Ok::<_, DbError>(conn)
        };
        let mut conn = open_writer()?;
        let checkpoints = start_checkpointer(checkpointer)?;
        let (queue, jobs) = mpsc::channel::<Job>();
        // Transactions keep the runtime context they had on the blocking pool.
        let runtime = tokio::runtime::Handle::try_current().ok();
        std::thread::Builder::new()
            .name("credo-db-writer".into())
            .spawn(move || {
                let _entered = runtime.as_ref().map(|handle| handle.enter());
                let mut pending = VecDeque::new();
                let mut last_checkpoint = Instant::now();
                while let Ok(job) = jobs.recv() {
                    pending.push_back(job);
                    while !pending.is_empty() {
                        run_group(&mut conn, &mut pending, &jobs);
                        replace_if_broken(&mut conn, &open_writer);
                        if last_checkpoint.elapsed() >= CHECKPOINT_EVERY {
                            // Full: one is already asked for.
                            let _ = checkpoints.try_send(());
                            last_checkpoint = Instant::now();
                        }
                    }
                }
            })
            .map_err(|e| DbError::Internal(format!("starting the database writer: {e}")))?;
        Ok(Self { queue })
    }

    /// Runs `f` in a write transaction of the next group, as [`super::transaction`] would on its
    /// own connection.
    pub async fn transaction<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        self.run(Unit::Transaction, f).await
    }

    /// Runs `f`, a write of one statement, in the next group without a savepoint (see
    /// [`super::statement`]).
    pub async fn statement<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        self.run(Unit::Statement, f).await
    }

    async fn run<T, E, F>(&self, unit: Unit, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        let (job, answer) = job(unit, f);
        if self.queue.send(job).is_err() {
            return Err(E::from(DbError::Internal(
                "the database writer stopped".into(),
            )));
        }
        // A dropped reply means the transaction panicked (a bug): an error, not a crash.
        answer.await.unwrap_or_else(|_| {
            Err(E::from(DbError::Internal(
                "the database transaction failed unexpectedly".into(),
            )))
        })
    }
}

/// The checkpointer thread on `conn`: one passive checkpoint per message; it ends when the
/// writer does.
fn start_checkpointer(mut conn: DbConn) -> Result<mpsc::SyncSender<()>, DbError> {
    let (requests, requested) = mpsc::sync_channel::<()>(1);
    std::thread::Builder::new()
        .name("credo-db-checkpoint".into())
        .spawn(move || {
            while requested.recv().is_ok() {
                if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::warn!(error = %e, "WAL checkpoint failed; the next one retries");
                }
            }
        })
        .map_err(|e| DbError::Internal(format!("starting the WAL checkpointer: {e}")))?;
    Ok(requests)
}

/// How a job runs inside its group.
#[derive(Clone, Copy)]
enum Unit {
    /// In a savepoint of its own ([`transaction`]): it rolls back alone when it fails.
    Transaction,
    /// As it is ([`statement`]): one statement, which undoes itself when it fails.
    Statement,
}

/// `f` as a queued job, and where its answer arrives once its group is over.
fn job<T, E, F>(unit: Unit, f: F) -> (Job, tokio::sync::oneshot::Receiver<Result<T, E>>)
where
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + From<diesel::result::Error> + Send + 'static,
{
    let (reply, answer) = tokio::sync::oneshot::channel::<Result<T, E>>();
    let job: Job = Box::new(move |conn| {
        let outcome = match unit {
            Unit::Transaction => transaction(conn, f),
            Unit::Statement => statement(conn, f),
        };
        Box::new(move |group: Result<(), &diesel::result::Error>| {
            let answer = match (outcome, group) {
                (Ok(value), Ok(())) => Ok(value),
                (Ok(_), Err(e)) => Err(E::from(DbError::Internal(format!(
                    "the transaction did not commit: {e}"
                )))),
                (Err(e), _) => Err(e),
            };
            // The caller may have gone away (a dropped request); nothing to tell then.
            let _ = reply.send(answer);
        })
    });
    (job, answer)
}

/// Runs what is pending plus what queued meanwhile (up to the limits) as one group.
fn run_group(conn: &mut DbConn, pending: &mut VecDeque<Job>, jobs: &mpsc::Receiver<Job>) {
    let started = Instant::now();
    let grouped = begin_write(conn).is_ok();
    let mut finished: Vec<Finish> = Vec::new();
    loop {
        let next = match pending.pop_front() {
            Some(job) => job,
            // Without the group's transaction, only what was already pending runs (each alone).
            None if grouped && finished.len() < MAX_GROUP && started.elapsed() < MAX_GROUP_TIME => {
                match jobs.try_recv() {
                    Ok(job) => job,
                    Err(_) => break,
                }
            }
            None => break,
        };
        match catch_unwind(AssertUnwindSafe(|| next(conn))) {
            Ok(finish) if grouped => finished.push(finish),
            // On its own, its transaction has already committed or rolled back.
            Ok(finish) => finish(Ok(())),
            Err(_) => {
                tracing::error!("a database transaction panicked; its commit group rolls back");
                // The panic may have left savepoints open above the group's transaction. This
                // also drops the queued after-commit work; a connection that cannot roll back
                // is broken, and `replace_if_broken` reopens it.
                for _ in 0..16 {
                    match transaction_depth(conn) {
                        Ok(Some(_)) => rollback_write(conn),
                        _ => break,
                    }
                }
                let error = diesel::result::Error::RollbackTransaction;
                finished.into_iter().for_each(|finish| finish(Err(&error)));
                return;
            }
        }
    }
    if grouped {
        let committed = commit_write(conn);
        finished
            .into_iter()
            .for_each(|finish| finish(committed.as_ref().map(|_| ())));
    }
}

/// Whether `conn` is inside a transaction or its transaction manager is in error.
fn in_transaction(conn: &mut DbConn) -> bool {
    transaction_depth(conn).map_or(true, |depth| depth.is_some())
}

/// Reopens the connection if a group left it inside a transaction or with its transaction
/// manager in error, retrying until it opens: a transaction run on such a connection would only
/// make a savepoint that never commits.
fn replace_if_broken(conn: &mut DbConn, reconnect: &impl Fn() -> Result<DbConn, DbError>) {
    while in_transaction(conn) {
        match reconnect() {
            Ok(fresh) => *conn = fresh,
            Err(e) => {
                tracing::error!(error = %e, "could not reopen the database writer's connection");
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    use super::*;
    use crate::db::{after_commit, scratch_sqlite};

    type Answer = tokio::sync::oneshot::Receiver<Result<(), DbError>>;

    #[derive(QueryableByName)]
    struct Key {
        #[diesel(sql_type = BigInt)]
        k: i64,
    }

    fn keys(conn: &mut DbConn) -> Vec<i64> {
        diesel::sql_query("SELECT k FROM t ORDER BY k")
            .load::<Key>(conn)
            .unwrap()
            .into_iter()
            .map(|row| row.k)
            .collect()
    }

    /// A transaction inserting `k` (and queuing a count of its commit), failing afterwards if
    /// asked to.
    fn insert(k: i64, fail: bool, commits: &Arc<AtomicUsize>) -> (Job, Answer) {
        let commits = commits.clone();
        job(Unit::Transaction, move |conn: &mut DbConn| {
            diesel::sql_query(format!("INSERT INTO t (k) VALUES ({k})")).execute(conn)?;
            after_commit(conn, move || {
                commits.fetch_add(1, Ordering::SeqCst);
            });
            if fail {
                return Err(DbError::Internal(format!("{k} refuses")));
            }
            Ok(())
        })
    }

    fn setup() -> (tempfile::TempDir, crate::db::PooledConn) {
        let (dir, pool) = scratch_sqlite();
        let mut conn = pool.get().unwrap();
        conn.batch_execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            .unwrap();
        (dir, conn)
    }

    #[test]
    fn a_failing_transaction_rolls_back_alone_and_the_rest_of_its_group_commits() {
        let (_dir, mut conn) = setup();
        let commits = Arc::new(AtomicUsize::new(0));
        let (jobs_in, jobs) = mpsc::channel();
        let (first, mut first_answer) = insert(1, false, &commits);
        let (second, mut second_answer) = insert(2, true, &commits);
        let (third, mut third_answer) = insert(3, false, &commits);
        // The second and third queue while the first runs: one group, one commit.
        jobs_in.send(second).unwrap();
        jobs_in.send(third).unwrap();
        let mut pending = VecDeque::from([first]);
        run_group(&mut conn, &mut pending, &jobs);

        assert!(pending.is_empty() && jobs.try_recv().is_err());
        assert!(first_answer.try_recv().unwrap().is_ok());
        let refused = second_answer.try_recv().unwrap().unwrap_err();
        assert!(refused.to_string().contains("2 refuses"), "{refused}");
        assert!(third_answer.try_recv().unwrap().is_ok());
        assert_eq!(keys(&mut conn), [1, 3]);
        assert_eq!(
            commits.load(Ordering::SeqCst),
            2,
            "the failed one's after-commit work ran"
        );
        assert!(!in_transaction(&mut conn));
    }

    /// A single-statement job inserting `k` (and queuing a count of its commit).
    fn insert_statement(k: i64, commits: &Arc<AtomicUsize>) -> (Job, Answer) {
        let commits = commits.clone();
        job(Unit::Statement, move |conn: &mut DbConn| {
            after_commit(conn, move || {
                commits.fetch_add(1, Ordering::SeqCst);
            });
            diesel::sql_query(format!("INSERT INTO t (k) VALUES ({k})")).execute(conn)?;
            Ok(())
        })
    }

    #[test]
    fn a_failing_statement_undoes_only_itself_and_the_rest_of_its_group_commits() {
        let (_dir, mut conn) = setup();
        let commits = Arc::new(AtomicUsize::new(0));
        let (jobs_in, jobs) = mpsc::channel();
        let (first, mut first_answer) = insert_statement(1, &commits);
        // The same key again: a unique violation, which SQLite undoes alone.
        let (again, mut again_answer) = insert_statement(1, &commits);
        let (third, mut third_answer) = insert(3, false, &commits);
        let (fourth, mut fourth_answer) = insert_statement(4, &commits);
        for job in [again, third, fourth] {
            jobs_in.send(job).unwrap();
        }
        let mut pending = VecDeque::from([first]);
        run_group(&mut conn, &mut pending, &jobs);

        assert!(first_answer.try_recv().unwrap().is_ok());
        let refused = again_answer.try_recv().unwrap().unwrap_err();
        assert!(refused.to_string().contains("UNIQUE"), "{refused}");
        assert!(third_answer.try_recv().unwrap().is_ok());
        assert!(fourth_answer.try_recv().unwrap().is_ok());
        assert_eq!(keys(&mut conn), [1, 3, 4]);
        assert_eq!(
            commits.load(Ordering::SeqCst),
            3,
            "the refused statement's after-commit work ran"
        );
        assert!(!in_transaction(&mut conn));
    }

    #[test]
    fn a_panicking_transaction_fails_its_group_and_the_writer_goes_on() {
        let (_dir, mut conn) = setup();
        let commits = Arc::new(AtomicUsize::new(0));
        let (jobs_in, jobs) = mpsc::channel();
        let (first, mut first_answer) = insert(1, false, &commits);
        let (panics, mut panic_answer) = job(
            Unit::Transaction,
            |conn: &mut DbConn| -> Result<(), DbError> {
                diesel::sql_query("INSERT INTO t (k) VALUES (2)").execute(conn)?;
                panic!("a bug");
            },
        );
        let (third, mut third_answer) = insert(3, false, &commits);
        let mut pending = VecDeque::from([first, panics, third]);
        run_group(&mut conn, &mut pending, &jobs);
        replace_if_broken(&mut conn, &|| unreachable!("no reconnect needed"));

        assert!(
            first_answer.try_recv().unwrap().is_err(),
            "rolled back with its group"
        );
        assert!(
            panic_answer.try_recv().is_err(),
            "the panicked one has no answer"
        );
        assert_eq!(
            pending.len(),
            1,
            "the one behind it waits for the next group"
        );
        assert_eq!(keys(&mut conn), Vec::<i64>::new());
        assert_eq!(commits.load(Ordering::SeqCst), 0);

        run_group(&mut conn, &mut pending, &jobs);
        assert!(third_answer.try_recv().unwrap().is_ok());
        assert_eq!(keys(&mut conn), [3]);
        assert_eq!(commits.load(Ordering::SeqCst), 1);
        drop(jobs_in);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_transactions_through_the_writer_all_answer_and_commit() {
        let (dir, pool) = scratch_sqlite();
        pool.get()
            .unwrap()
            .batch_execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
            .unwrap();
        let target = crate::db::DatabaseTarget::Sqlite(dir.path().join("credo.db"));
        let writer = Arc::new(
            crate::db::start_writer(&target, crate::db::SqliteSync::Normal)
                .unwrap()
                .expect("a writer on SQLite"),
        );
        let tasks: Vec<_> = (0..200i64)
            .map(|k| {
                let writer = writer.clone();
                tokio::spawn(async move {
                    writer
                        .transaction(move |conn: &mut DbConn| {
                            diesel::sql_query(format!("INSERT INTO t (k) VALUES ({})", k % 150))
                                .execute(conn)
                                .map_err(DbError::from)
                        })
                        .await
                })
            })
            .collect();
        let mut refused = 0;
        for task in tasks {
            if task.await.unwrap().is_err() {
                refused += 1;
            }
        }
        // Keys 0..50 come twice: exactly one of each pair is refused (a unique violation).
        assert_eq!(refused, 50);
        let mut conn = pool.get().unwrap();
        assert_eq!(keys(&mut conn), (0..150).collect::<Vec<_>>());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_checkpointer_copies_what_the_writer_commits_into_the_database_file() {
        let (dir, _pool) = scratch_sqlite();
        let path = dir.path().join("credo.db");
        let target = crate::db::DatabaseTarget::Sqlite(path.clone());
        let started = Instant::now();
        let writer = crate::db::start_writer(&target, crate::db::SqliteSync::Normal)
            .unwrap()
            .expect("a writer on SQLite");
        writer
            .transaction(|conn: &mut DbConn| {
                conn.batch_execute(
                    "CREATE TABLE blobs (b BLOB NOT NULL); \
                     INSERT INTO blobs VALUES (zeroblob(8000000));",
                )
                .map_err(DbError::from)
            })
            .await
            .unwrap();
        let size = || std::fs::metadata(&path).unwrap().len();
        // 8 MB is past SQLite's automatic checkpoint (1,000 pages), which the writer turned off;
        // the checkpointer is asked only after commits at least CHECKPOINT_EVERY apart.
        if started.elapsed() < CHECKPOINT_EVERY {
            assert!(size() < 8_000_000, "the writer checkpointed by itself");
        }
        // Later commits ask the checkpointer, which copies the 8 MB from the WAL to the file.
        let deadline = Instant::now() + Duration::from_secs(30);
        while size() < 8_000_000 {
            assert!(
                Instant::now() < deadline,
                "no checkpoint after 30 s of commits"
            );
            writer
                .transaction(|conn: &mut DbConn| {
                    conn.batch_execute("INSERT INTO blobs VALUES (x'00')")
                        .map_err(DbError::from)
                })
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}
