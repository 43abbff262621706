//! Issuer keys and DID documents: the cryptosuite a vendor signs with, its active key, rotation, and
//! the instance-level issuer.

use std::collections::HashMap;
use std::sync::Mutex;

use chrono::NaiveDateTime;
use rand_core::OsRng;
use serde::Serialize;
use serde_json::{json, Value};

use super::{CredentialError, IssueContext};
use crate::accounts::{self, Vendor};
use crate::audit::{self, Action, Actor};
use crate::clock::rfc3339_seconds;
use crate::credentials::did;
use crate::credentials::keys::{IssuerKey, MasterKey};
use crate::credentials::proof::Cryptosuite;
use crate::credentials::store::{self, IssuerKeyRow};
use crate::db::{self, is_unique_violation, new_id, DbConn, DbError};
use crate::links::Links;
use crate::validation::FieldError;

/// The vendor's issuer DID under this instance's base URL.
pub fn issuer_did(links: &Links, vendor_slug: &str) -> Result<String, CredentialError> {
    Ok(did::issuer_did(links.base(), vendor_slug)?)
}

/// The cryptosuite of the vendor's new credentials and status lists (eddsa-rdfc-2022 unless the
/// vendor chose otherwise).
pub fn cryptosuite(conn: &mut DbConn, vendor_id: &str) -> Result<Cryptosuite, CredentialError> {
    match store::vendor_cryptosuite(conn, vendor_id)? {
        None => Ok(Cryptosuite::default()),
        Some(name) => Cryptosuite::parse(&name).ok_or_else(|| {
            CredentialError::Internal(format!("stored cryptosuite {name:?} is unknown"))
        }),
    }
}

/// Sets the cryptosuite of the vendor's new credentials and status lists; credentials and lists
/// already signed keep their proofs.
pub fn set_cryptosuite(
    conn: &mut DbConn,
    vendor: &Vendor,
    name: &str,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<Cryptosuite, CredentialError> {
    let suite = Cryptosuite::parse(name.trim()).ok_or_else(|| {
        let allowed: Vec<&str> = Cryptosuite::ALL.iter().map(|s| s.as_str()).collect();
        CredentialError::Validation(vec![FieldError::new(
            "cryptosuite",
            format!("must be one of: {}", allowed.join(", ")),
        )])
    })?;
    let previous = cryptosuite(conn, &vendor.id)?;
    store::set_vendor_cryptosuite(conn, &vendor.id, suite.as_str(), now)?;
    audit::record(
        conn,
        actor,
        Action::CredentialSettingsChanged,
        Some(&vendor.id),
        &vendor.id,
        json!({"previous_cryptosuite": previous.as_str(), "cryptosuite": suite.as_str()}),
        now,
    )?;
    tracing::info!(vendor_id = %vendor.id, cryptosuite = %suite, "credential cryptosuite set");
    Ok(suite)
}

/// The vendor's active signing key (generated and sealed on first use), set to sign with the
/// vendor's cryptosuite.
pub fn signing_key(
    conn: &mut DbConn,
    ctx: &IssueContext,
    vendor: &Vendor,
    now: NaiveDateTime,
) -> Result<(IssuerKeyRow, IssuerKey), CredentialError> {
    for _ in 0..3 {
        if let Some(key) = active_signing_key(conn, ctx, vendor)? {
            return Ok(key);
        }
        let did = issuer_did(&ctx.links, &vendor.slug)?;
        let suite = cryptosuite(conn, &vendor.id)?;
        match create_key(conn, &ctx.master_key, &did, Some(&vendor.id), now) {
            Ok((row, key)) => return Ok((row, key.with_cryptosuite(suite))),
            // Another transaction created the first key meanwhile: use it.
            Err(CredentialError::Db(DbError::Query(e))) if is_unique_violation(&e) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(CredentialError::Conflict(
        "the issuer key is being changed by another request; try again".into(),
    ))
}

/// The vendor's active signing key, set to sign with the vendor's cryptosuite; `None` before its
/// first (see [`signing_key`]).
pub fn active_signing_key(
    conn: &mut DbConn,
    ctx: &IssueContext,
    vendor: &Vendor,
) -> Result<Option<(IssuerKeyRow, IssuerKey)>, CredentialError> {
    let Some(row) = store::active_key(conn, &vendor.id)? else {
        return Ok(None);
    };
    let did = issuer_did(&ctx.links, &vendor.slug)?;
    let suite = cryptosuite(conn, &vendor.id)?;
    let key = ctx.opened_keys.open(&did, &ctx.master_key, &row)?;
    Ok(Some((row, key.with_cryptosuite(suite))))
}

/// Issuer keys already opened, by storage id. Opening one (unsealing its seed, deriving the
/// public key and its base58 name) costs more than a signature, and what a key row seals never
/// changes: only its retirement does, which [`store::active_key`] reads every time.
#[derive(Default)]
pub struct OpenedKeys(Mutex<HashMap<String, IssuerKey>>);

/// Vendors rarely hold more than a few keys; past this many, the cache starts over.
const OPENED_KEYS_LIMIT: usize = 1024;

impl OpenedKeys {
    pub(super) fn open(
        &self,
        did: &str,
        master: &MasterKey,
        row: &IssuerKeyRow,
    ) -> Result<IssuerKey, CredentialError> {
        let cached = self.0.lock().ok().and_then(|keys| {
            // The DID follows the vendor's slug, so a renamed vendor's key opens again; a row
            // naming another public key (a database restored under the same ids) does too.
            keys.get(&row.id)
                .filter(|key| {
                    key.did() == did
                        && key
                            .verification_method()
                            .strip_prefix(did)
                            .and_then(|rest| rest.strip_prefix('#'))
                            == Some(row.public_key_multibase.as_str())
                })
                .cloned()
        });
        if let Some(key) = cached {
            return Ok(key);
        }
        let key = IssuerKey::open(did, master, &row.id, &row.sealed_seed)?;
        if let Ok(mut keys) = self.0.lock() {
            if keys.len() >= OPENED_KEYS_LIMIT {
                keys.clear();
            }
            keys.insert(row.id.clone(), key.clone());
        }
        Ok(key)
    }
}

fn create_key(
    conn: &mut DbConn,
    master: &MasterKey,
    did: &str,
    vendor_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<(IssuerKeyRow, IssuerKey), CredentialError> {
    let key = IssuerKey::generate(did, &mut OsRng);
    let id = new_id();
    let sealed = key.seal(master, &id, &mut OsRng)?;
    let multibase = crate::credentials::multibase::encode_multikey(&key.verifying_key());
    db::transaction(conn, |c| {
        store::insert_key(c, &id, vendor_id, &multibase, &sealed, now)
    })?;
    tracing::info!(vendor_id, key_id = %id, public_key = %multibase, "issuer key created");
    Ok((
        IssuerKeyRow {
            id,
            vendor_id: vendor_id.map(str::to_owned),
            public_key_multibase: multibase,
            sealed_seed: sealed,
            created_at: now,
            retired_at: None,
        },
        key,
    ))
}

/// A key as shown to operators (never the seed).
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub id: String,
    pub verification_method: String,
    pub created_at: String,
    pub retired_at: Option<String>,
    pub active: bool,
}

fn key_info(did: &str, row: &IssuerKeyRow) -> KeyInfo {
    KeyInfo {
        id: row.id.clone(),
        verification_method: format!("{did}#{}", row.public_key_multibase),
        created_at: rfc3339_seconds(row.created_at),
        retired_at: row.retired_at.map(rfc3339_seconds),
        active: row.retired_at.is_none(),
    }
}

/// Retires the active key (it stays in the DID document) and makes a new one active.
pub fn rotate_key(
    conn: &mut DbConn,
    ctx: &IssueContext,
    vendor: &Vendor,
    actor: &Actor,
    now: NaiveDateTime,
) -> Result<KeyInfo, CredentialError> {
    let did = issuer_did(&ctx.links, &vendor.slug)?;
    store::retire_active_key(conn, &vendor.id, now)?;
    let info = replace_key(conn, ctx, &did, Some(&vendor.id), now)?;
    audit::record(
        conn,
        actor,
        Action::SigningKeyRotated,
        Some(&vendor.id),
        &info.id,
        json!({"verification_method": info.verification_method}),
        now,
    )?;
    Ok(info)
}

/// The same for the instance-level issuer `did:web:<host>`: its first call creates its first key.
pub fn rotate_instance_key(
    conn: &mut DbConn,
    ctx: &IssueContext,
    now: NaiveDateTime,
) -> Result<KeyInfo, CredentialError> {
    let did = instance_did(&ctx.links)?;
    store::retire_active_instance_key(conn, now)?;
    replace_key(conn, ctx, &did, None, now)
}

fn replace_key(
    conn: &mut DbConn,
    ctx: &IssueContext,
    did: &str,
    vendor_id: Option<&str>,
    now: NaiveDateTime,
) -> Result<KeyInfo, CredentialError> {
    let (row, _) = create_key(conn, &ctx.master_key, did, vendor_id, now).map_err(|e| match e {
        CredentialError::Db(DbError::Query(e)) if is_unique_violation(&e) => {
            CredentialError::Conflict("another key rotation ran at the same time; try again".into())
        }
        other => other,
    })?;
    Ok(key_info(did, &row))
}

/// The instance-level issuer DID, `did:web:<host>`.
pub fn instance_did(links: &Links) -> Result<String, CredentialError> {
    Ok(did::instance_did(links.base())?)
}

/// The instance-level issuer's keys, oldest first.
pub fn list_instance_keys(
    conn: &mut DbConn,
    links: &Links,
) -> Result<Vec<KeyInfo>, CredentialError> {
    let did = instance_did(links)?;
    Ok(store::instance_keys(conn)?
        .iter()
        .map(|row| key_info(&did, row))
        .collect())
}

/// The instance-level issuer's DID document; `NotFound` before its first key.
pub fn instance_did_document(conn: &mut DbConn, links: &Links) -> Result<Value, CredentialError> {
    let keys: Vec<String> = store::instance_keys(conn)?
        .into_iter()
        .map(|row| row.public_key_multibase)
        .collect();
    if keys.is_empty() {
        return Err(CredentialError::NotFound("instance issuer key"));
    }
    document_of(&instance_did(links)?, &keys)
}

pub fn list_keys(
    conn: &mut DbConn,
    links: &Links,
    vendor: &Vendor,
) -> Result<Vec<KeyInfo>, CredentialError> {
    let did = issuer_did(links, &vendor.slug)?;
    Ok(store::vendor_keys(conn, &vendor.id)?
        .iter()
        .map(|row| key_info(&did, row))
        .collect())
}

/// The vendor's published DID document: every key that ever signed, oldest first.
pub fn did_document(
    conn: &mut DbConn,
    links: &Links,
    vendor: &Vendor,
) -> Result<Value, CredentialError> {
    let did = issuer_did(links, &vendor.slug)?;
    document_of(&did, &store::vendor_public_keys(conn, &vendor.id)?)
}

fn document_of(did: &str, multibase_keys: &[String]) -> Result<Value, CredentialError> {
    let keys = multibase_keys
        .iter()
        .map(|multibase| crate::credentials::multibase::decode_multikey(multibase))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CredentialError::Internal(format!("stored public key: {e}")))?;
    Ok(did::did_document(did, &keys))
}

pub fn find_vendor_by_slug(conn: &mut DbConn, slug: &str) -> Result<Vendor, CredentialError> {
    accounts::store::find_vendor_by_slug(conn, slug)?.ok_or(CredentialError::NotFound("vendor"))
}
