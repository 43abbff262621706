//! Disabling and enabling accounts (operators).

use chrono::NaiveDateTime;
use serde_json::json;

use crate::accounts::store;
use crate::accounts::{AccountError, User};
use crate::audit::{self, Action, Actor};
use crate::db::DbConn;

/// An account by id or e-mail address (operators know people by their address).
pub fn find_account(conn: &mut DbConn, account: &str) -> Result<User, AccountError> {
    let account = account.trim();
    let found = if account.contains('@') {
        store::find_user_by_email(conn, &account.to_lowercase())?
    } else {
        store::find_user(conn, account)?
    };
    found.ok_or(AccountError::NotFound("account"))
}

/// Disables an account (operators): it can no longer sign in, and all its sessions and the API
/// keys it created end at once. Operators cannot disable their own account.
pub fn disable_account(
    conn: &mut DbConn,
    actor: &Actor,
    account: &str,
    now: NaiveDateTime,
) -> Result<User, AccountError> {
    let user = find_account(conn, account)?;
    if actor.user_id() == Some(user.id.as_str()) {
        return Err(AccountError::Conflict(
            "you cannot disable your own account; ask another operator".into(),
        ));
    }
    if user.disabled_at.is_none() {
        store::set_disabled(conn, &user.id, Some(now), now)?;
    }
    store::revoke_user_sessions(conn, &user.id, now)?;
    let keys: Vec<String> = store::live_keys_created_by(conn, &user.id, None)?
        .into_iter()
        .map(|k| k.id)
        .collect();
    store::revoke_api_keys(conn, &keys, now)?;
    audit::record(
        conn,
        actor,
        Action::AccountDisabled,
        None,
        &user.id,
        json!({"email": user.email, "was_disabled": user.disabled_at.is_some(), "api_keys_revoked": keys.len()}),
        now,
    )?;
    find_account(conn, &user.id)
}

/// Enables a disabled account again: the person may sign in. Sessions and API keys revoked when
/// it was disabled stay revoked.
pub fn enable_account(
    conn: &mut DbConn,
    actor: &Actor,
    account: &str,
    now: NaiveDateTime,
) -> Result<User, AccountError> {
    let user = find_account(conn, account)?;
    if user.disabled_at.is_some() {
        store::set_disabled(conn, &user.id, None, now)?;
    }
    audit::record(
        conn,
        actor,
        Action::AccountEnabled,
        None,
        &user.id,
        json!({"email": user.email, "was_disabled": user.disabled_at.is_some()}),
        now,
    )?;
    find_account(conn, &user.id)
}
