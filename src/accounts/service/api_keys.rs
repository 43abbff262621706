//! Vendor API keys: creating (never wider than the creator's roles) and revoking.

use chrono::NaiveDateTime;
use serde::Deserialize;
use serde_json::json;

use super::API_KEY_PREFIX;
use crate::accounts::store::{self, NewApiKey};
use crate::accounts::{AccountError, Scope, Scopes, Vendor, VendorRole};
use crate::audit::{self, Action, Actor};
use crate::db::DbConn;
use crate::secrets::{random_token, sha256_hex};
use crate::validation::FieldErrors;

/// What a new API key is called and may do. Without scopes, a key gets every scope its creator
/// may grant.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ApiKeyInput {
    pub name: String,
    /// `exams`, `credentials`, `referrals`, `read`; absent = every scope the creator may grant.
    pub scopes: Option<Vec<String>>,
}

/// Creates an API key and returns `(id, key, scopes)`; the key is shown this once and stored
/// hashed. `creator_roles` are the roles of the person creating it at this vendor (all roles for
/// operators): a key never holds more than they do.
pub fn create_api_key(
    conn: &mut DbConn,
    vendor: &Vendor,
    input: &ApiKeyInput,
    actor: &Actor,
    creator_roles: &[VendorRole],
    now: NaiveDateTime,
) -> Result<(String, String, Scopes), AccountError> {
    let mut errors = FieldErrors::new();
    let name = input.name.trim();
    errors.check(
        !name.is_empty() && name.chars().count() <= 100,
        "name",
        "name the key (1–100 characters) so you know where it is used",
    );
    let grantable = Scopes::grantable_by(creator_roles);
    let scopes = match &input.scopes {
        None => grantable.clone(),
        Some(names) => {
            let parsed: Vec<Option<Scope>> = names.iter().map(|n| Scope::parse(n)).collect();
            errors.check(
                parsed.iter().all(Option::is_some),
                "scopes",
                "use exams, credentials, referrals or read",
            );
            Scopes::new(parsed.into_iter().flatten())
        }
    };
    errors.check(!scopes.is_empty(), "scopes", "choose at least one scope");
    if !scopes.is_within(&grantable) {
        errors.add(
            "scopes",
            format!(
                "your role lets you grant only: {}",
                grantable.names().join(", ")
            ),
        );
    }
    errors.finish().map_err(AccountError::Validation)?;
    let key = format!("{API_KEY_PREFIX}{}", random_token());
    let id = store::insert_api_key(
        conn,
        NewApiKey {
            vendor_id: &vendor.id,
            name,
            key_hash: &sha256_hex(&key),
            created_by: actor.user_id(),
            scopes: &scopes,
        },
        now,
    )?;
    audit::record(
        conn,
        actor,
        Action::ApiKeyCreated,
        Some(&vendor.id),
        &id,
        json!({"name": name, "scopes": scopes.names()}),
        now,
    )?;
    Ok((id, key, scopes))
}

pub fn revoke_api_key(
    conn: &mut DbConn,
    vendor: &Vendor,
    key_id: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<(), AccountError> {
    if store::revoke_api_key(conn, &vendor.id, key_id, now)? {
        audit::record(
            conn,
            actor,
            Action::ApiKeyRevoked,
            Some(&vendor.id),
            key_id,
            json!({}),
            now,
        )?;
        Ok(())
    } else {
        Err(AccountError::NotFound("API key"))
    }
}
