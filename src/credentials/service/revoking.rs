//! A credential's state and revoking it.

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::{json, Value};

use super::issuer_keys::signing_key;
use super::status_lists::signed_list;
use super::{CredentialError, IssueContext, MAX_REASON_CHARS};
use crate::accounts::{self, Vendor};
use crate::audit::{self, Action, Actor};
use crate::clock::rfc3339_seconds;
use crate::credentials::status_list::Bitstring;
use crate::credentials::store::{self, CredentialRow};
use crate::db::DbConn;
use crate::mail::{self, templates};
use crate::webhooks::{self, EventType};

/// A credential's state as the vendor's staff and the API see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CredentialState {
    pub id: String,
    /// `valid`, `expired` or `revoked` (from storage; the full check is `POST /api/v1/verify`).
    pub status: &'static str,
    #[schema(format = DateTime)]
    pub valid_from: String,
    #[schema(format = DateTime)]
    pub valid_until: Option<String>,
    #[schema(format = DateTime)]
    pub revoked_at: Option<String>,
    pub revocation_reason: Option<String>,
    pub superseded_by: Option<String>,
}

/// `revoked`, `expired` or `valid`, from stored facts only.
pub fn stored_status(
    revoked_at: Option<NaiveDateTime>,
    valid_until: Option<NaiveDateTime>,
    now: NaiveDateTime,
) -> &'static str {
    if revoked_at.is_some() {
        "revoked"
    } else if valid_until.is_some_and(|until| until <= now) {
        "expired"
    } else {
        "valid"
    }
}

pub fn credential_state(row: &CredentialRow, now: NaiveDateTime) -> CredentialState {
    CredentialState {
        id: row.id.clone(),
        status: stored_status(row.revoked_at, row.valid_until, now),
        valid_from: rfc3339_seconds(row.valid_from),
        valid_until: row.valid_until.map(rfc3339_seconds),
        revoked_at: row.revoked_at.map(rfc3339_seconds),
        revocation_reason: row.revocation_reason.clone(),
        superseded_by: row.superseded_by.clone(),
    }
}

/// Checks a revocation reason: 1–500 characters after trimming.
pub fn validate_reason(reason: &str) -> Result<String, CredentialError> {
    let reason = reason.trim();
    let count = reason.chars().count();
    if count == 0 {
        return Err(CredentialError::Validation(crate::validation::field_error(
            "reason",
            "say why the credential is revoked; the holder and verifiers see it",
        )));
    }
    if count > MAX_REASON_CHARS {
        return Err(CredentialError::Validation(crate::validation::field_error(
            "reason",
            format!("at most {MAX_REASON_CHARS} characters (this one has {count})"),
        )));
    }
    Ok(reason.to_owned())
}

/// Revokes one of `vendor`'s credentials: records reason, time and actor, flips its bit, re-signs
/// the status list with the active key, mails the holder and updates their referral tier. Revoking again
/// changes nothing and keeps the first reason. Another vendor's credential is "not found".
#[allow(clippy::too_many_arguments)]
pub fn revoke(
    conn: &mut DbConn,
    ctx: &IssueContext,
    vendor: &Vendor,
    credential_id: &str,
    reason: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<CredentialState, CredentialError> {
    let reason = validate_reason(reason)?;
    let row = store::find_credential(conn, credential_id)?
        .filter(|row| row.vendor_id == vendor.id)
        .ok_or(CredentialError::NotFound("credential"))?;
    // Lock order list → credential, as issuing does (slot claim, then superseding), so a
    // revocation and an issuance never wait on each other in a cycle.
    let list = store::lock_list(conn, &row.status_list_id)?;
    if !store::mark_revoked(conn, &row.id, &reason, actor.user_id(), now)? {
        let current = store::find_credential(conn, &row.id)?
            .ok_or(CredentialError::NotFound("credential"))?;
        return Ok(credential_state(&current, now));
    }
    let mut bits = Bitstring::from_bytes(list.bits.clone())?;
    bits.set(row.status_index.unsigned_abs().into(), true)?;
    let (_, key) = signing_key(conn, ctx, vendor, now)?;
    let credential = signed_list(ctx, vendor, &key, list.number, &bits, now)?;
    store::update_list(conn, &list.id, bits.as_bytes(), &credential, now)?;

    let user =
        accounts::store::find_user(conn, &row.user_id)?.ok_or(CredentialError::NotFound("user"))?;
    let achievement = achievement_name(&row.json);
    let mail = templates::credential_revoked(
        &user.email,
        &user.display_name,
        &achievement,
        &reason,
        &ctx.links.credential_page(&row.id),
    );
    mail::enqueue(conn, &mail, now)?;
    webhooks::credential_event(
        conn,
        &ctx.links,
        EventType::CredentialRevoked,
        &vendor.id,
        &row.id,
        now,
    )?;
    ctx.credentials_changed(conn, &row.user_id, &vendor.id, "credential revoked", now)?;
    audit::record(
        conn,
        actor,
        Action::CredentialRevoked,
        Some(&vendor.id),
        &row.id,
        json!({"reason": reason, "holder": row.user_id, "achievement": achievement}),
        now,
    )?;
    tracing::info!(credential_id = %row.id, "credential revoked");
    let current =
        store::find_credential(conn, &row.id)?.ok_or(CredentialError::NotFound("credential"))?;
    Ok(credential_state(&current, now))
}

/// The achievement name inside a stored credential (for mails and lists).
pub fn achievement_name(json: &str) -> String {
    serde_json::from_str::<Value>(json)
        .ok()
        .and_then(|v| {
            v.pointer("/credentialSubject/achievement/name")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "certificate".into())
}
