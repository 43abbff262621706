//! Credential use cases. Each takes the caller's connection and `now`, and runs inside the
//! caller's one transaction (grading calls [`issue_for_pass`] inside its own).
//!
//! Lost races for a unique key (first key of a vendor, a new status list, a status index) are
//! retried inside a savepoint (`db::transaction` nests), so the caller's transaction survives
//! them on PostgreSQL too.

use std::sync::Arc;

use chrono::{Months, NaiveDateTime, Timelike};
use rand::Rng;
use rand_core::OsRng;
use serde::Serialize;
use serde_json::{json, Value};
use url::Url;

use super::badge::{self, BadgeError, BadgeInput};
use super::did::{self, DidError};
use super::keys::{IssuerKey, KeyError, MasterKey};
use super::proof::Cryptosuite;
use super::status_list::{self, Bitstring, StatusListError};
use super::store::{self, CredentialRow, IssuerKeyRow, NewCredential, StatusListRow};
use crate::accounts::{self, Vendor};
use crate::audit::{self, Action, Actor};
use crate::clock::rfc3339_seconds;
use crate::db::{self, is_unique_violation, new_id, DbConn, DbError};
use crate::links::Links;
use crate::mail::{self, templates};
use crate::validation::{FieldError, FieldErrors};
use crate::webhooks::{self, EventType};

/// Slots per status list (the spec's minimum, for herd privacy).
pub const LIST_SIZE: i32 = status_list::MIN_BITS as i32;
/// New credentials go to a fresh list once this many slots of the current one are taken, so a
/// random free index is found in a few tries and indexes stay unpredictable.
pub const LIST_CAPACITY: i32 = LIST_SIZE / 4 * 3;
/// Longest revocation reason.
pub const MAX_REASON_CHARS: usize = 500;

#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error("the input has {} problem(s)", .0.len())]
    Validation(Vec<FieldError>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("the issuer key cannot be used: {0}")]
    Key(#[from] KeyError),
    #[error("the issuer identifier cannot be built: {0}")]
    Did(#[from] DidError),
    #[error("the credential cannot be built: {0}")]
    Badge(#[from] BadgeError),
    #[error("the status list cannot be built: {0}")]
    StatusList(#[from] StatusListError),
    #[error("updating what follows a person's credentials failed: {0}")]
    OnChange(#[source] HookError),
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for CredentialError {
    fn from(e: diesel::result::Error) -> Self {
        CredentialError::Db(DbError::Query(e))
    }
}

/// A person's current credentials of a vendor changed (one was issued or revoked).
#[derive(Debug, Clone, Copy)]
pub struct CredentialsChanged<'a> {
    pub user_id: &'a str,
    pub vendor_id: &'a str,
    pub reason: &'a str,
    pub at: NaiveDateTime,
}

pub type HookError = Box<dyn std::error::Error + Send + Sync>;

/// Runs inside the issuing or revoking transaction (an error rolls the change back). The
/// application wires the referral tiers here, so this domain never calls referrals, which reads
/// credentials. Expiry is the referral job's business.
pub type ChangeHook =
    dyn Fn(&mut DbConn, &CredentialsChanged<'_>) -> Result<(), HookError> + Send + Sync;

/// What issuing and revoking need from the application state (see `AppState::issue_context`).
#[derive(Clone)]
pub struct IssueContext {
    pub links: Links,
    pub master_key: MasterKey,
    pub status_list_ttl_seconds: u32,
    pub on_change: Arc<ChangeHook>,
}

impl IssueContext {
    fn credentials_changed(
        &self,
        conn: &mut DbConn,
        user_id: &str,
        vendor_id: &str,
        reason: &str,
        at: NaiveDateTime,
    ) -> Result<(), CredentialError> {
        let change = CredentialsChanged {
            user_id,
            vendor_id,
            reason,
            at,
        };
        (self.on_change)(conn, &change).map_err(CredentialError::OnChange)
    }
}

impl std::fmt::Debug for IssueContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssueContext")
            .field("base", &self.links.base().as_str())
            .finish_non_exhaustive()
    }
}

/// A passed attempt to certify, as grading knows it.
#[derive(Debug, Clone)]
pub struct IssueRequest {
    pub attempt_id: String,
    pub user_id: String,
    pub vendor_id: String,
    pub exam_id: String,
    pub exam_slug: String,
    pub exam_title: String,
    /// Markdown; the achievement description (the title when empty).
    pub exam_description: String,
    pub pass_percent: i32,
    /// The score in basis points of the whole (10000 = 100 %).
    pub score_bp: i32,
    /// 0 = the credential never expires.
    pub validity_months: i32,
    /// The exam that renews this exam's certificate (`exams.renewal_exam_slug`). Superseding
    /// reads the reverse direction from storage: passing exam X supersedes the person's current
    /// credentials for X and for every exam of the vendor whose renewal exam is X.
    pub renewal_exam_slug: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Issuer keys and DID documents

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
    let did = issuer_did(&ctx.links, &vendor.slug)?;
    let suite = cryptosuite(conn, &vendor.id)?;
    for _ in 0..3 {
        if let Some(row) = store::active_key(conn, &vendor.id)? {
            let key = IssuerKey::open(&did, &ctx.master_key, &row.id, &row.sealed_seed)?;
            return Ok((row, key.with_cryptosuite(suite)));
        }
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
    let multibase = super::multibase::encode_multikey(&key.verifying_key());
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
        .map(|multibase| super::multibase::decode_multikey(multibase))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CredentialError::Internal(format!("stored public key: {e}")))?;
    Ok(did::did_document(did, &keys))
}

pub fn find_vendor_by_slug(conn: &mut DbConn, slug: &str) -> Result<Vendor, CredentialError> {
    accounts::store::find_vendor_by_slug(conn, slug)?.ok_or(CredentialError::NotFound("vendor"))
}

// ---------------------------------------------------------------------------------------------
// Status lists

fn ttl_ms(ctx: &IssueContext) -> u64 {
    u64::from(ctx.status_list_ttl_seconds) * 1000
}

fn signed_list(
    ctx: &IssueContext,
    vendor: &Vendor,
    key: &IssuerKey,
    number: i32,
    bits: &Bitstring,
    now: NaiveDateTime,
) -> Result<String, CredentialError> {
    let url = Url::parse(&ctx.links.status_list(&vendor.slug, number))
        .map_err(|e| CredentialError::Internal(format!("status list URL: {e}")))?;
    let unsigned = status_list::status_list_credential(
        &url,
        key.did(),
        &vendor.name,
        now.and_utc(),
        Some(ttl_ms(ctx)),
        bits,
    )?;
    let signed = key
        .sign(&unsigned, now.and_utc())
        .map_err(|e| CredentialError::Internal(format!("signing the status list: {e}")))?;
    Ok(signed.to_string())
}

/// A status list with a slot claimed for one new credential: the newest list while it has
/// room, else a new one.
fn claim_list_slot(
    conn: &mut DbConn,
    ctx: &IssueContext,
    vendor: &Vendor,
    key: &IssuerKey,
    now: NaiveDateTime,
) -> Result<StatusListRow, CredentialError> {
    for _ in 0..8 {
        let latest = store::latest_list(conn, &vendor.id)?;
        let list = match latest {
            Some(list) if list.allocated < LIST_CAPACITY => list,
            other => {
                let number = other.map_or(1, |l| l.number + 1);
                let bits = Bitstring::new(LIST_SIZE as usize)?;
                let credential = signed_list(ctx, vendor, key, number, &bits, now)?;
                let id = new_id();
                let inserted = db::transaction(conn, |c| {
                    store::insert_list(
                        c,
                        &id,
                        &vendor.id,
                        number,
                        LIST_SIZE,
                        bits.as_bytes(),
                        &credential,
                        now,
                    )
                });
                match inserted {
                    Ok(()) => {}
                    Err(e) if is_unique_violation(&e) => continue,
                    Err(e) => return Err(e.into()),
                }
                match store::find_list(conn, &vendor.id, number)? {
                    Some(list) => list,
                    None => continue,
                }
            }
        };
        if store::claim_slot(conn, &list.id, LIST_CAPACITY)? {
            return Ok(list);
        }
    }
    Err(CredentialError::Conflict(
        "could not find room in a status list; try again".into(),
    ))
}

// ---------------------------------------------------------------------------------------------
// Issuing

fn validate_request(request: &IssueRequest) -> Result<(), CredentialError> {
    let mut errors = FieldErrors::new();
    errors.check(
        (0..=100).contains(&request.pass_percent),
        "pass_percent",
        "must be between 0 and 100",
    );
    errors.check(
        (0..=10_000).contains(&request.score_bp),
        "score_bp",
        "must be between 0 and 10000",
    );
    errors.check(
        (0..=1200).contains(&request.validity_months),
        "validity_months",
        "must be between 0 and 1200",
    );
    errors.check(
        !request.exam_title.trim().is_empty(),
        "exam_title",
        "must not be empty",
    );
    errors.check(
        crate::validation::is_slug(&request.exam_slug),
        "exam_slug",
        "must be a slug",
    );
    errors.finish().map_err(CredentialError::Validation)
}

/// `8450` → `"84.5"`, `7000` → `"70"`.
pub fn format_score(score_bp: i32) -> String {
    let whole = score_bp / 100;
    let hundredths = score_bp % 100;
    match hundredths {
        0 => whole.to_string(),
        h if h % 10 == 0 => format!("{whole}.{}", h / 10),
        h => format!("{whole}.{h:02}"),
    }
}

fn whole_seconds(t: NaiveDateTime) -> NaiveDateTime {
    t.with_nanosecond(0).unwrap_or(t)
}

/// Builds, signs and stores the `OpenBadgeCredential` for a passed attempt, allocates its random
/// status index, supersedes the person's older current credentials for the same exam (and for
/// exams this one renews), queues the mail with the JSON attached and updates the holder's referral
/// tier. Idempotent per attempt: a second call returns the first credential's id.
pub fn issue_for_pass(
    conn: &mut DbConn,
    ctx: &IssueContext,
    request: &IssueRequest,
    now: NaiveDateTime,
) -> Result<String, CredentialError> {
    if let Some(existing) = store::find_by_attempt(conn, &request.attempt_id)? {
        return Ok(existing.id);
    }
    validate_request(request)?;
    let vendor = accounts::store::find_vendor(conn, &request.vendor_id)?
        .ok_or(CredentialError::NotFound("vendor"))?;
    let user = accounts::store::find_user(conn, &request.user_id)?
        .ok_or(CredentialError::NotFound("user"))?;
    let person_id = uuid::Uuid::parse_str(&user.id)
        .map_err(|_| CredentialError::Internal(format!("user id {} is not a UUID", user.id)))?;

    let issued_at = whole_seconds(now);
    let valid_until = match request.validity_months {
        0 => None,
        months => Some(
            issued_at
                .checked_add_months(Months::new(months.unsigned_abs()))
                .ok_or_else(|| CredentialError::Internal("validity out of range".into()))?,
        ),
    };
    let (key_row, key) = signing_key(conn, ctx, &vendor, now)?;
    let list = claim_list_slot(conn, ctx, &vendor, &key, now)?;
    let list_url = Url::parse(&ctx.links.status_list(&vendor.slug, list.number))
        .map_err(|e| CredentialError::Internal(format!("status list URL: {e}")))?;
    let parse_url = |text: String, what: &str| {
        Url::parse(&text).map_err(|e| CredentialError::Internal(format!("{what} URL: {e}")))
    };
    let issuer_url = Url::parse(&vendor.url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| ctx.links.base().clone());
    let achievement_id = parse_url(
        ctx.links.achievement(&vendor.slug, &request.exam_slug),
        "achievement",
    )?;
    let evidence_url = parse_url(ctx.links.attempt_result(&request.attempt_id), "evidence")?;
    let achievement_image = parse_url(
        ctx.links.badge(
            &vendor.slug,
            &request.exam_slug,
            crate::badges::Format::Png.as_str(),
        ),
        "badge image",
    )?;
    let description = match request.exam_description.trim() {
        "" => request.exam_title.trim(),
        text => text,
    };
    let score = format_score(request.score_bp);
    let graded_on = issued_at.date().format("%Y-%m-%d");

    let mut rng = OsRng;
    for _ in 0..64 {
        let index = rng.gen_range(0..list.size);
        if store::index_taken(conn, &list.id, index)? {
            continue;
        }
        let id = new_id();
        let credential_id = uuid::Uuid::parse_str(&id)
            .map_err(|e| CredentialError::Internal(format!("new id: {e}")))?;
        let input = BadgeInput {
            credential_id,
            person_id,
            holder_email: user.email.clone(),
            salt: badge::new_salt(&mut rng),
            holder_name: Some(user.display_name.clone()),
            issuer_did: key.did().to_owned(),
            issuer_name: vendor.name.clone(),
            issuer_url: issuer_url.clone(),
            achievement_id: achievement_id.clone(),
            achievement_name: request.exam_title.trim().to_owned(),
            achievement_description: description.to_owned(),
            achievement_image: Some(achievement_image.clone()),
            pass_percent: u8::try_from(request.pass_percent).unwrap_or(100),
            evidence_url: evidence_url.clone(),
            evidence_name: format!("{} exam attempt", request.exam_title.trim()),
            evidence_description: format!(
                "Online exam attempt graded on {graded_on} with a score of {score}% (pass mark {}%).",
                request.pass_percent
            ),
            valid_from: issued_at.and_utc(),
            valid_until: valid_until.map(|t| t.and_utc()),
            status: status_list::status_entry(&list_url, index.unsigned_abs().into()),
        };
        let signed = badge::issue_credential(&input, &key, issued_at.and_utc())?;
        let new = NewCredential {
            id: &id,
            vendor_id: &vendor.id,
            exam_id: &request.exam_id,
            attempt_id: &request.attempt_id,
            user_id: &user.id,
            issuer_key_id: &key_row.id,
            status_list_id: &list.id,
            status_index: index,
            json: &signed.json,
            valid_from: issued_at,
            valid_until,
            created_at: now,
        };
        match db::transaction(conn, |c| store::insert_credential(c, &new)) {
            Ok(()) => {}
            Err(e) if is_unique_violation(&e) => {
                // Either this attempt was certified meanwhile, or the index was taken.
                if let Some(existing) = store::find_by_attempt(conn, &request.attempt_id)? {
                    return Ok(existing.id);
                }
                continue;
            }
            Err(e) => return Err(e.into()),
        }

        let mut superseded_exams = store::exams_renewed_by(conn, &vendor.id, &request.exam_slug)?;
        superseded_exams.push(request.exam_id.clone());
        store::supersede(conn, &user.id, &superseded_exams, &id, now)?;

        let page = ctx.links.credential_page(&id);
        let until_text = valid_until.map(|t| t.date().format("%Y-%m-%d").to_string());
        let mail = templates::credential_issued(
            &user.email,
            &user.display_name,
            &templates::CredentialIssued {
                achievement: request.exam_title.trim(),
                issuer: &vendor.name,
                page_link: &page,
                valid_until: until_text.as_deref(),
                credential_json: &signed.json,
                credential_id: &id,
            },
        );
        mail::enqueue(conn, &mail, now)?;
        webhooks::credential_event(
            conn,
            &ctx.links,
            EventType::CredentialIssued,
            &vendor.id,
            &id,
            now,
        )?;
        ctx.credentials_changed(conn, &user.id, &vendor.id, "credential issued", now)?;
        tracing::info!(credential_id = %id, attempt_id = %request.attempt_id, "credential issued");
        return Ok(id);
    }
    Err(CredentialError::Conflict(
        "could not allocate a status index; try again".into(),
    ))
}

// ---------------------------------------------------------------------------------------------
// Revoking

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

// ---------------------------------------------------------------------------------------------
// Referral tiers

/// Slugs of the vendor's exams for which the person holds a credential current at `at`:
/// `valid_from ≤ at < valid_until` (or no expiry) and not revoked at `at`. A superseded
/// credential still counts until it expires (it stays valid; the renewal is also current).
pub fn current_exam_slugs(
    conn: &mut DbConn,
    user_id: &str,
    vendor_id: &str,
    at: NaiveDateTime,
) -> diesel::QueryResult<Vec<String>> {
    store::current_exam_slugs(conn, user_id, vendor_id, at)
}

// ---------------------------------------------------------------------------------------------
// Expiry reminders

/// Queues the expiry reminders due at `now` (at most `limit` per threshold). Each threshold is
/// handled once per credential (its `credential_reminders` row); when several are due at once
/// only the nearest is mailed; thresholds that fell before the credential was issued are marked
/// handled without a mail. Revoked and superseded credentials get none. Returns mails queued.
pub fn send_expiry_reminders(
    conn: &mut DbConn,
    links: &Links,
    reminder_days: &[u32],
    now: NaiveDateTime,
    limit: i64,
) -> Result<usize, CredentialError> {
    let mut days: Vec<i32> = reminder_days
        .iter()
        .filter_map(|d| i32::try_from(*d).ok())
        .filter(|d| *d > 0)
        .collect();
    days.sort_unstable();
    days.dedup();
    let mut queued = 0;
    for (position, &d) in days.iter().enumerate() {
        let until = now + chrono::Duration::days(d.into());
        for candidate in store::reminder_candidates(conn, d, now, until, limit)? {
            let Some(valid_until) = candidate.valid_until else {
                continue;
            };
            if !store::claim_reminder(conn, &candidate.id, d, now)? {
                continue;
            }
            // A nearer threshold is due too: that reminder is (or was) the one sent.
            let nearer_due = days[..position]
                .iter()
                .any(|&n| valid_until <= now + chrono::Duration::days(n.into()));
            let before_issue =
                valid_until - chrono::Duration::days(d.into()) <= candidate.valid_from;
            if nearer_due || before_issue {
                continue;
            }
            let left = valid_until - now;
            let days_left = (left.num_seconds() + 86_399) / 86_400;
            let mail = templates::expiry_reminder(
                &candidate.email,
                &candidate.holder_name,
                &candidate.exam_title,
                u32::try_from(days_left.max(1)).unwrap_or(1),
                &valid_until.date().format("%Y-%m-%d").to_string(),
                &links.credential_page(&candidate.id),
            );
            mail::enqueue(conn, &mail, now)?;
            queued += 1;
        }
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_print_without_floats() {
        assert_eq!(format_score(8450), "84.5");
        assert_eq!(format_score(7000), "70");
        assert_eq!(format_score(10_000), "100");
        assert_eq!(format_score(6667), "66.67");
        assert_eq!(format_score(5), "0.05");
    }

    #[test]
    fn reasons_are_trimmed_and_bounded() {
        assert_eq!(validate_reason("  fraud ").unwrap(), "fraud");
        assert!(matches!(
            validate_reason("   "),
            Err(CredentialError::Validation(_))
        ));
        assert!(validate_reason(&"é".repeat(500)).is_ok());
        assert!(matches!(
            validate_reason(&"x".repeat(501)),
            Err(CredentialError::Validation(_))
        ));
    }

    #[test]
    fn stored_status_precedence() {
        let t = |s: &str| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap();
        let now = t("2026-01-01 00:00:00");
        assert_eq!(stored_status(None, None, now), "valid");
        assert_eq!(stored_status(None, Some(now), now), "expired");
        assert_eq!(stored_status(Some(now), None, now), "revoked");
        assert_eq!(
            stored_status(None, Some(t("2026-01-01 00:00:01")), now),
            "valid"
        );
    }
}
