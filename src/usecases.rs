//! Use cases both doors take — the JSON API (`http::api`) and the HTML pages (`http::pages`) — when
//! a step needs more than one domain call: rate limits before any work, password hashing off the
//! transaction, work on the blocking pool, several transactions in a fixed order.
//!
//! Why a module of its own: each of these needs the [`AppState`] (pool, clock, limits, the hooks
//! it wires), and the domains cannot take it (the application state depends on them, not the other
//! way round). Nor can they sit in `http::api`, or the pages would depend on the API layer. So the
//! domains keep the rules, the handlers keep parsing and answering, and this thin layer in between
//! is called by both. Errors are the domains' own (`AccountError`, `ExamError`); each door maps
//! them in its one place.

use chrono::NaiveDateTime;

use crate::accounts::{self, password, AccountError, Principal, RegisterInput, Vendor, VendorRole};
use crate::app::{issue_request, AppState};
use crate::credentials;
use crate::db::{self, DbConn};
use crate::exams::service::{self as exams, AttemptResult, GradedBy, StartedAttempt};
use crate::exams::ExamError;
use crate::links::Links;
use crate::ratelimit::{Limit, RateLimits};

/// Authorizes `principal` for `role` on the vendor named `slug` (in a path).
pub async fn vendor_for(
    state: &AppState,
    principal: Principal,
    slug: String,
    role: VendorRole,
) -> Result<Vendor, AccountError> {
    state
        .db(move |conn| accounts::authorize_vendor(conn, &principal, &slug, role))
        .await
}

/// Registers after the rate limit for `client` (its address) allows it, hashing the password before
/// the transaction. An address with an account gets the same answer.
pub async fn register_account(
    state: &AppState,
    client: &str,
    input: RegisterInput,
) -> Result<accounts::Registered, AccountError> {
    limit(state, Limit::Register, client)?;
    accounts::check_registration(&input)?;
    let hash = password::hash_new(&input.password).await?;
    let now = state.clock.now();
    let links = state.links.clone();
    let limits = state.limits.clone();
    state
        .tx(move |conn| accounts::register(conn, &input, &hash, &links, &limits, now))
        .await
}

/// Mails a new verification link to `email` when it belongs to an unverified account, after the
/// rate limit for `client` allows it (whether or not it does, the caller answers the same).
pub async fn resend_verification(
    state: &AppState,
    client: &str,
    email: String,
) -> Result<(), AccountError> {
    mail_link(state, client, email, accounts::resend_verification).await
}

/// Mails a password reset link to `email` when it has an account, after the rate limit for
/// `client` allows it.
pub async fn request_password_reset(
    state: &AppState,
    client: &str,
    email: String,
) -> Result<(), AccountError> {
    mail_link(state, client, email, accounts::request_password_reset).await
}

/// The account mails anyone may ask for: a public-work rate limit, then `mail` in a transaction.
async fn mail_link(
    state: &AppState,
    client: &str,
    email: String,
    mail: fn(&mut DbConn, &str, &Links, &RateLimits, NaiveDateTime) -> Result<(), AccountError>,
) -> Result<(), AccountError> {
    limit(state, Limit::PublicWork, client)?;
    let now = state.clock.now();
    let links = state.links.clone();
    let limits = state.limits.clone();
    state
        .tx(move |conn| mail(conn, &email, &links, &limits, now))
        .await
}

/// Counts one request of `client` against `limit`.
fn limit(state: &AppState, limit: Limit, client: &str) -> Result<(), AccountError> {
    state
        .limits
        .check(limit, client)
        .map_err(AccountError::TooMany)
}

/// Logs in after the rate limits allow it (an address over its failure limit is refused before
/// any lookup or hashing). Only failed passwords count against the limits. The password is checked
/// between two short database visits, never inside a transaction.
pub async fn login_with_limits(
    state: &AppState,
    client: &str,
    email: String,
    password: String,
) -> Result<accounts::LoginOutcome, AccountError> {
    let charge = state
        .limits
        .login_attempt(client, &email.trim().to_lowercase())
        .map_err(AccountError::TooMany)?;
    // Fields first (a 422 never waits), then a turn at the password checks, and only then the
    // account lookup: a flood of logins queues for the turn, not for the database pool.
    let checked = async {
        accounts::check_sign_in(&email, &password)?;
        let turn = password::sign_in_turn().await?;
        let (user_id, stored) = state
            .db(move |conn| accounts::sign_in_candidate(conn, &email))
            .await?
            .unzip();
        Ok::<_, AccountError>((user_id, turn.verify(&password, stored).await?))
    };
    let user_id = match checked.await {
        Ok((Some(user_id), true)) => {
            charge.release();
            user_id
        }
        Ok(_) => return Err(AccountError::InvalidCredentials),
        Err(e) => {
            charge.release();
            return Err(e);
        }
    };
    let now = state.clock.now();
    let keys = state.session_keys.clone();
    let hours = state.config.session_hours;
    state
        .tx(move |conn| accounts::start_session(conn, &keys, &user_id, hours, now))
        .await
}

/// Starts an attempt for the signed-in person. An open attempt of theirs past its deadline is graded
/// first (its own transaction), so the refusal or start that follows sees it finished.
pub async fn start_for(
    state: &AppState,
    user_id: String,
    vendor: String,
    exam: String,
    voucher: Option<String>,
) -> Result<StartedAttempt, ExamError> {
    let now = state.clock.now();
    let links = state.links.clone();
    let hook = state.on_exam_passed(None);
    state
        .db(move |conn| {
            db::transaction(conn, |c| {
                exams::close_overdue_attempt(c, &user_id, &vendor, &exam, &links, &hook, now)
            })?;
            db::transaction(conn, |c| {
                exams::start_attempt(c, &user_id, &vendor, &exam, voucher.as_deref(), now)
            })
        })
        .await
}

/// Grades an attempt in one write transaction ([`exams::grade_attempt`]: once, whoever asks
/// first; `owner` limits it to that person's attempt). A pass's credential is built and signed
/// before that transaction, on a pooled connection, so its signature and the reads behind it stay
/// out of the write (on SQLite, out of the one writer every write waits for); the grading records
/// it if it grades the same pass, and builds one itself otherwise.
pub async fn grade_attempt(
    state: &AppState,
    attempt_id: String,
    owner: Option<String>,
    graded_by: GradedBy,
) -> Result<AttemptResult, ExamError> {
    let now = state.clock.now();
    let ctx = state.issue_context();
    let (id, who) = (attempt_id.clone(), owner.clone());
    let prepared = state
        .db(move |conn| {
            db::reads(conn, |conn| {
                let Some(passed) = exams::pass_in_prospect(conn, &id, who.as_deref(), now)? else {
                    return Ok(None);
                };
                credentials::prepare_issue(conn, &ctx, &issue_request(&passed), now)
                    .map_err(|e| ExamError::Credential(e.to_string()))
            })
        })
        .await
        // The grading decides, and reports any error that matters to the caller.
        .unwrap_or_else(|error: ExamError| {
            tracing::debug!(%attempt_id, %error, "preparing a credential ahead of grading failed");
            None
        });
    let links = state.links.clone();
    let hook = state.on_exam_passed(prepared);
    state
        .tx(move |conn| {
            exams::grade_attempt(
                conn,
                &attempt_id,
                owner.as_deref(),
                graded_by,
                &links,
                &hook,
                now,
            )
        })
        .await
}
