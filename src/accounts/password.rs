//! Password rules and argon2id hashing. Hashing is CPU-bound and deliberately slow, so it never runs
//! inside a database transaction (callers hash first, then open the transaction with a
//! [`PasswordHash`]) and only a bounded number run at once: a process-wide semaphore sized to the
//! cores, of which sign-ins may hold all but one. Sign-in checks — the part anyone can flood with
//! wrong passwords — run on their own threads at the lowest CPU priority, so a burst of logins
//! takes spare CPU only and leaves registrations and the rest of the site as fast as before.
//! Hashes of new passwords (registration, reset) come first: while one waits or runs, no sign-in
//! check starts, so a registration's hash does not share the memory bus with a storm's.
//! Excess waits [`QUEUE_WAIT`], then is turned away.

use std::sync::OnceLock;
use std::time::Duration;

use argon2::password_hash::phc::PasswordHash as Phc;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use tokio::sync::{watch, Semaphore, SemaphorePermit};

pub const MIN_LENGTH: usize = 10;
pub const MAX_LENGTH: usize = 1024;
/// How long a password check waits for a free hashing slot before the caller is told to retry.
pub const QUEUE_WAIT: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The password breaks the policy (the message says how).
    #[error("{0}")]
    Policy(String),
    #[error("too many password checks are running; try again in a moment")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

/// An argon2id hash of a password that passed the policy. Only this module makes one, so a use case
/// that stores a password cannot be handed plain text to hash inside its transaction.
pub struct PasswordHash(String);

impl PasswordHash {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(…)")
    }
}

/// Checks length in characters; the bound on top keeps hashing time bounded.
pub fn check_policy(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if password.trim().is_empty() {
        Err("enter a password".into())
    } else if chars < MIN_LENGTH {
        Err(format!("use at least {MIN_LENGTH} characters"))
    } else if chars > MAX_LENGTH {
        Err(format!("use at most {MAX_LENGTH} characters"))
    } else {
        Ok(())
    }
}

/// argon2id with the crate's defaults (OWASP's recommended parameters), PHC string format. Runs on
/// the calling thread: for the command line and demo seeding; request handlers use [`hash_new`].
pub fn hash(password: &str) -> Result<PasswordHash, PasswordError> {
    check_policy(password).map_err(PasswordError::Policy)?;
    hash_unchecked(password).map(PasswordHash)
}

fn hash_unchecked(password: &str) -> Result<String, PasswordError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Failed(e.to_string()))
}

/// Constant-time verification against a stored PHC hash; a malformed hash never matches.
pub fn verify(password: &str, stored: &str) -> bool {
    match Phc::new(stored) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A valid hash of a random password, verified against when the account does not exist so that
/// a failed login takes the same time whether or not the address is registered.
pub fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_unchecked(&crate::secrets::random_token()).unwrap_or_default())
}

type SignInJob = Box<dyn FnOnce() + Send>;

struct Slots {
    all: Semaphore,
    sign_in: Semaphore,
    /// Feeds the low-priority sign-in threads (as many as `sign_in` permits, so jobs never queue).
    sign_in_jobs: std::sync::Mutex<std::sync::mpsc::Sender<SignInJob>>,
    /// How many hashes of new passwords wait for a slot or run; sign-in checks start only at 0.
    new_passwords: watch::Sender<usize>,
}

/// Counts one hash of a new password from the moment it asks for a slot until it is done.
struct NewPassword(&'static Slots);

impl NewPassword {
    fn start(slots: &'static Slots) -> Self {
        slots.new_passwords.send_modify(|n| *n += 1);
        Self(slots)
    }
}

impl Drop for NewPassword {
    fn drop(&mut self) {
        self.0.new_passwords.send_modify(|n| *n -= 1);
    }
}

fn slots() -> &'static Slots {
    static SLOTS: OnceLock<Slots> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let all = cores.max(2);
        let (sender, receiver) = std::sync::mpsc::channel::<SignInJob>();
        let receiver = std::sync::Arc::new(std::sync::Mutex::new(receiver));
        for n in 0..all - 1 {
            let receiver = receiver.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("credo-sign-in-{n}"))
                .spawn(move || {
                    lower_priority();
                    loop {
                        let job = receiver.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        match job {
                            Ok(job) => job(),
                            Err(_) => break,
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "could not start a sign-in thread");
            }
        }
        Slots {
            all: Semaphore::new(all),
            sign_in: Semaphore::new(all - 1),
            sign_in_jobs: std::sync::Mutex::new(sender),
            new_passwords: watch::Sender::new(0),
        }
    })
}

/// Gives the calling thread the lowest CPU priority (nice 19 on Linux; elsewhere nothing).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the current thread, no memory is shared with them.
    unsafe {
        let thread = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, thread, 19);
    }
}

/// Runs `work` on a low-priority sign-in thread.
async fn on_sign_in_thread<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, PasswordError> {
    let (done, result) = tokio::sync::oneshot::channel();
    let job: SignInJob = Box::new(move || {
        let _ = done.send(work());
    });
    slots()
        .sign_in_jobs
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .send(job)
        .map_err(|_| PasswordError::Failed("the sign-in threads stopped".into()))?;
    result
        .await
        .map_err(|_| PasswordError::Failed("a sign-in check was dropped".into()))
}

/// Waits for `acquire` until `deadline`; past it the caller is told to retry ([`PasswordError::Busy`]).
async fn within<T, E: std::fmt::Display>(
    deadline: tokio::time::Instant,
    acquire: impl std::future::Future<Output = Result<T, E>>,
) -> Result<T, PasswordError> {
    tokio::time::timeout_at(deadline, acquire)
        .await
        .map_err(|_| PasswordError::Busy)?
        .map_err(|e| PasswordError::Failed(e.to_string()))
}

/// Checks the policy and hashes a new password (registration, reset, accounts made by staff) on
/// the blocking pool once a slot is free. Sign-in checks wait while it waits or runs.
pub async fn hash_new(password: &str) -> Result<PasswordHash, PasswordError> {
    check_policy(password).map_err(PasswordError::Policy)?;
    let slots = slots();
    let new_password = NewPassword::start(slots);
    let slot = within(
        tokio::time::Instant::now() + QUEUE_WAIT,
        slots.all.acquire(),
    )
    .await?;
    let password = password.to_string();
    tokio::task::spawn_blocking(move || {
        let _held = (new_password, slot);
        hash_unchecked(&password)
    })
    .await
    .map_err(|e| PasswordError::Failed(e.to_string()))?
    .map(PasswordHash)
}

/// A sign-in's place among the sign-in checks that may be under way at once. Taken before the
/// account is looked up, so a flood of logins queues here instead of at the database pool.
pub struct SignInTurn {
    permit: SemaphorePermit<'static>,
    deadline: tokio::time::Instant,
}

/// Waits (at most [`QUEUE_WAIT`] in all, with [`SignInTurn::verify`]) for a sign-in's turn.
pub async fn sign_in_turn() -> Result<SignInTurn, PasswordError> {
    let deadline = tokio::time::Instant::now() + QUEUE_WAIT;
    let permit = within(deadline, slots().sign_in.acquire()).await?;
    Ok(SignInTurn { permit, deadline })
}

impl SignInTurn {
    /// Checks a sign-in password against the stored hash, or against [`dummy_hash`] when there
    /// is no account, so both take the same time. Starts once no new password is being hashed.
    pub async fn verify(
        self,
        password: &str,
        stored: Option<String>,
    ) -> Result<bool, PasswordError> {
        let slots = slots();
        let mut new_passwords = slots.new_passwords.subscribe();
        within(self.deadline, async {
            new_passwords.wait_for(|n| *n == 0).await.map(drop)
        })
        .await?;
        let slot = within(self.deadline, slots.all.acquire()).await?;
        let password = password.to_string();
        let permit = self.permit;
        on_sign_in_thread(move || {
            let _held = (permit, slot);
            let matches = verify(&password, stored.as_deref().unwrap_or(dummy_hash()));
            matches && stored.is_some()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn verify_sign_in(password: &str, stored: Option<String>) -> Result<bool, PasswordError> {
        sign_in_turn().await?.verify(password, stored).await
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash("correct horse battery").unwrap();
        assert!(h.as_str().starts_with("$argon2id$"), "{h:?}");
        assert!(verify("correct horse battery", h.as_str()));
        assert!(!verify("correct horse batterz", h.as_str()));
        assert!(!verify("anything", "not a hash"));
        assert!(!verify("anything", dummy_hash()));
        assert!(matches!(hash("short"), Err(PasswordError::Policy(_))));
    }

    #[test]
    fn policy() {
        assert!(check_policy("").is_err());
        assert!(check_policy("          ").is_err());
        assert!(check_policy("short").is_err());
        assert!(check_policy("long enough!").is_ok());
        assert!(check_policy(&"x".repeat(MAX_LENGTH + 1)).is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn at_most_the_slots_run_and_excess_is_turned_away() {
        let stored = hash("correct horse battery").unwrap().0;
        // Far more sign-ins than can finish within the queue wait: some are turned away, none fails.
        let tasks: Vec<_> = (0..400)
            .map(|_| {
                let stored = stored.clone();
                tokio::spawn(async move { verify_sign_in("wrong password!", Some(stored)).await })
            })
            .collect();
        let mut busy = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(matches) => assert!(!matches),
                Err(PasswordError::Busy) => busy += 1,
                Err(other) => panic!("{other}"),
            }
        }
        assert!(busy > 0, "nothing was turned away");
        assert!(verify_sign_in("correct horse battery", Some(stored))
            .await
            .unwrap());
        assert!(!verify_sign_in("correct horse battery", None).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sign_ins_wait_while_a_new_password_is_hashed() {
        let stored = hash("correct horse battery").unwrap().0;
        let pending = NewPassword::start(slots());
        let check =
            tokio::spawn(
                async move { verify_sign_in("correct horse battery", Some(stored)).await },
            );
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(
            !check.is_finished(),
            "a sign-in check ran while a new password waited"
        );
        drop(pending);
        assert!(check.await.unwrap().unwrap());
    }
}
