//! Signing in, sessions, and authenticating a session or an API key.

use chrono::{Duration, NaiveDateTime};

use crate::accounts::session::{Claims, SessionKeys};
use crate::accounts::session_cache::SESSIONS;
use crate::accounts::store;
use crate::accounts::{AccountError, ApiKeyCaller, Scopes, SessionUser};
use crate::db::DbConn;
use crate::secrets::sha256_hex;
use crate::validation::FieldErrors;

#[derive(Debug)]
pub struct LoginOutcome {
    pub token: String,
    pub expires_at: NaiveDateTime,
    pub user_id: String,
}

/// Both sign-in fields are filled in (checked before a sign-in queues for a password check).
pub fn check_sign_in(email: &str, password: &str) -> Result<(), AccountError> {
    let mut errors = FieldErrors::new();
    errors.check(
        !email.trim().is_empty(),
        "email",
        "enter your e-mail address",
    );
    errors.check(!password.is_empty(), "password", "enter your password");
    errors.finish().map_err(AccountError::Validation)
}

/// The account id and stored hash a sign-in with `email` checks against, if there is an account.
/// Read without a transaction: the password is checked afterwards, outside any.
pub fn sign_in_candidate(
    conn: &mut DbConn,
    email: &str,
) -> Result<Option<(String, String)>, AccountError> {
    Ok(
        store::find_user_by_email(conn, &email.trim().to_lowercase())?
            .map(|user| (user.id, user.password_hash)),
    )
}

/// Starts a session for an account whose password was just checked. The account is read again
/// here, in the session's transaction, so its state (confirmed address) is current.
pub fn start_session(
    conn: &mut DbConn,
    keys: &SessionKeys,
    user_id: &str,
    session_hours: u32,
    now: NaiveDateTime,
) -> Result<LoginOutcome, AccountError> {
    let user = store::find_user(conn, user_id)?.ok_or(AccountError::InvalidCredentials)?;
    if user.email_verified_at.is_none() {
        return Err(AccountError::EmailNotVerified);
    }
    // Said only after the password checked out, so it reveals nothing to a guesser.
    if user.disabled_at.is_some() {
        return Err(AccountError::AccountDisabled);
    }
    let expires_at = now + Duration::hours(session_hours.into());
    let session_id = store::insert_session(conn, &user.id, now, expires_at)?;
    let token = keys
        .issue(&Claims {
            sub: user.id.clone(),
            sid: session_id,
            iat: now.and_utc().timestamp(),
            exp: expires_at.and_utc().timestamp(),
        })
        .map_err(AccountError::Internal)?;
    Ok(LoginOutcome {
        token,
        expires_at,
        user_id: user.id,
    })
}

pub fn logout(conn: &mut DbConn, session_id: &str, now: NaiveDateTime) -> Result<(), AccountError> {
    store::revoke_session(conn, session_id, now)?;
    Ok(())
}

/// The person behind a session token if this node checked the session within `cache_for`
/// ([`super::session_cache`]): no database read. A bad or expired token is an error at once.
pub fn cached_session(
    keys: &SessionKeys,
    token: &str,
    now: NaiveDateTime,
    cache_for: std::time::Duration,
) -> Result<Option<SessionUser>, AccountError> {
    let claims = keys
        .check(token, now.and_utc().timestamp())
        .ok_or(AccountError::Unauthenticated)?;
    Ok(SESSIONS.lookup(&claims.sid, &claims.sub, cache_for))
}

/// The person behind a session token, with their vendor roles.
pub fn authenticate_session(
    conn: &mut DbConn,
    keys: &SessionKeys,
    token: &str,
    now: NaiveDateTime,
) -> Result<SessionUser, AccountError> {
    let claims = keys
        .check(token, now.and_utc().timestamp())
        .ok_or(AccountError::Unauthenticated)?;
    let user = store::live_session_user(conn, &claims.sid, &claims.sub, now)?
        .ok_or(AccountError::Unauthenticated)?;
    let memberships = store::memberships(conn, &user.id)?;
    Ok(SessionUser {
        id: user.id,
        email: user.email,
        display_name: user.display_name,
        is_operator: user.is_operator,
        session_id: claims.sid,
        memberships,
    })
}

/// The vendor behind an API key; revoked and unknown keys are both just unauthenticated.
pub fn authenticate_api_key(
    conn: &mut DbConn,
    key: &str,
    now: NaiveDateTime,
) -> Result<ApiKeyCaller, AccountError> {
    // The lookup is by SHA-256 of the whole key, so timing reveals nothing about the stored keys.
    let found = store::find_api_key_by_hash(conn, &sha256_hex(key))?
        .ok_or(AccountError::Unauthenticated)?;
    if found.revoked_at.is_some() {
        return Err(AccountError::Unauthenticated);
    }
    // Recording every use would make each API call a write; a minute's precision is enough.
    if found
        .last_used_at
        .is_none_or(|t| now - t > Duration::minutes(1))
    {
        store::touch_api_key(conn, &found.id, now)?;
    }
    Ok(ApiKeyCaller {
        scopes: Scopes::from_stored(&found.scopes),
        key_id: found.id,
        vendor_id: found.vendor_id,
        name: found.name,
    })
}
