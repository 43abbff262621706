//! Verification against storage: the shape check of a request, and the verdict with what
//! storage knows about a credential issued here.

use chrono::NaiveDateTime;
use serde::Serialize;
use serde_json::Value;

use crate::clock::rfc3339_seconds;
use crate::credentials::service::CredentialError;
use crate::credentials::summary::{self, Summary};
use crate::credentials::verify::{verify_credential, CheckName, ResolveError, Verification};
use crate::db::Pool;
use crate::links::Links;

use super::{Fetched, LocalNames, Storage, StorageResolver, VerifierShared};

/// Checks the JSON types of the parts verification reads, so a request of the wrong shape is
/// refused as bad input (422 naming the fields) instead of being reported as a verdict. Missing
/// parts are left to the engine, which reports them as failed checks.
pub fn check_shape(credential: &Value) -> Result<(), Vec<crate::validation::FieldError>> {
    use crate::validation::FieldErrors;
    let mut errors = FieldErrors::new();
    let Some(doc) = credential.as_object() else {
        errors.add("body", "send the credential as a JSON object");
        return errors.finish();
    };
    let is_str = |v: &Value| v.is_string();
    let strings_or_objects = |v: &Value| match v {
        Value::Array(items) => items.iter().all(|i| i.is_string() || i.is_object()),
        other => other.is_string() || other.is_object(),
    };
    let string_or_strings = |v: &Value| match v {
        Value::Array(items) => items.iter().all(is_str),
        other => other.is_string(),
    };
    let object_or_objects = |v: &Value| match v {
        Value::Array(items) => items.iter().all(Value::is_object),
        other => other.is_object(),
    };
    type Rule<'a> = (&'a str, &'a dyn Fn(&Value) -> bool, &'a str);
    let rules: [Rule<'_>; 9] = [
        (
            "@context",
            &strings_or_objects,
            "must be an array of context URLs",
        ),
        ("id", &is_str, "must be a string"),
        (
            "type",
            &string_or_strings,
            "must be a string or an array of strings",
        ),
        (
            "issuer",
            &|v: &Value| v.is_string() || v.get("id").is_some_and(Value::is_string),
            "must be a URL or an object with a string id",
        ),
        ("credentialSubject", &object_or_objects, "must be an object"),
        ("validFrom", &is_str, "must be a date-time string"),
        ("validUntil", &is_str, "must be a date-time string"),
        ("credentialStatus", &object_or_objects, "must be an object"),
        (
            "proof",
            &object_or_objects,
            "must be an object or an array of objects",
        ),
    ];
    for (field, ok, message) in rules {
        if doc.get(field).is_some_and(|v| !ok(v)) {
            errors.add(field, message);
        }
    }
    let proofs = match doc.get("proof") {
        Some(Value::Object(proof)) => vec![proof],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    };
    for proof in proofs {
        for field in [
            "type",
            "cryptosuite",
            "created",
            "expires",
            "verificationMethod",
            "proofPurpose",
            "proofValue",
        ] {
            if proof.get(field).is_some_and(|v| !v.is_string()) {
                errors.add(format!("proof.{field}"), "must be a string");
            }
        }
    }
    errors.finish()
}

/// What storage adds to a verification of one of our own credentials.
#[derive(Debug, Clone, Serialize)]
pub struct StoredFacts {
    pub id: String,
    pub page: String,
    pub revoked_at: Option<String>,
    pub revocation_reason: Option<String>,
    pub superseded_by: Option<String>,
    pub superseded_by_page: Option<String>,
}

/// A verification and, for a genuine credential issued here, what storage knows about it.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    pub verification: Verification,
    pub stored: Option<StoredFacts>,
    /// The issuer is this instance or one of its vendors (else: another issuer, checked with
    /// its did:key, or its did:web over HTTPS when that is enabled).
    pub issuer_hosted_here: bool,
}

impl VerifyReport {
    /// What `credential` states, when its signature verified (else `None`), for the verify
    /// answers and pages.
    pub fn verified_summary(&self, credential: &Value) -> Option<Summary> {
        self.verification
            .check(CheckName::Proof)
            .is_some_and(|check| check.ok)
            .then(|| summary::summarize(credential))
    }
}

/// Verifies `credential` at `now` with the storage resolver (remote documents in `fetched`),
/// from memory alone: `None` when that is not enough (the issuer, the status bits, the stored
/// facts or a proof verified before is missing). It reads no database and runs no cryptography,
/// so it is cheap enough for the async runtime.
pub fn verify_from_memory(
    links: &Links,
    shared: &VerifierShared,
    fetched: &Fetched,
    credential: &Value,
    now: NaiveDateTime,
) -> Option<VerifyReport> {
    if !shared.caches_proofs() {
        return None;
    }
    // One of our credentials not verified lately needs its row: go to storage at once rather
    // than run the engine twice.
    if let Some((id, _)) = stored_id(&shared.local, credential) {
        shared.cached_facts(id, now).0?;
    }
    let resolver = StorageResolver::new(Storage::MemoryOnly, links, shared, fetched, now);
    let report = report(&resolver, credential, now).ok()?;
    (!resolver.missed()).then_some(report)
}

/// Verifies `credential` at `now` with the storage resolver, reading what memory lacks from a
/// connection of `pool` (checked out only then).
pub fn verify_stored(
    pool: &Pool,
    links: &Links,
    shared: &VerifierShared,
    fetched: &Fetched,
    credential: &Value,
    now: NaiveDateTime,
) -> Result<VerifyReport, CredentialError> {
    let resolver = StorageResolver::new(Storage::Pool(pool, None), links, shared, fetched, now);
    report(&resolver, credential, now)
}

fn report(
    resolver: &StorageResolver<'_>,
    credential: &Value,
    now: NaiveDateTime,
) -> Result<VerifyReport, CredentialError> {
    let verification = verify_credential(credential, resolver, now.and_utc());
    let proof_ok = verification
        .check(CheckName::Proof)
        .is_some_and(|check| check.ok);
    let stored = if proof_ok {
        stored_facts(resolver, credential)?
    } else {
        None
    };
    let issuer_hosted_here =
        issuer_of(credential).is_some_and(|id| resolver.local.vendor_of_did(id).is_some());
    Ok(VerifyReport {
        verification,
        stored,
        issuer_hosted_here,
    })
}

fn issuer_of(credential: &Value) -> Option<&str> {
    match credential.get("issuer")? {
        Value::Object(issuer) => issuer.get("id").and_then(Value::as_str),
        Value::String(id) => Some(id.as_str()),
        _ => None,
    }
}

/// The stored id and the issuer of `credential` when one of our vendors issued it.
fn stored_id<'c>(local: &LocalNames, credential: &'c Value) -> Option<(&'c str, &'c str)> {
    let id = credential
        .get("id")
        .and_then(Value::as_str)
        .and_then(|id| id.strip_prefix("urn:uuid:"))?;
    let issuer = issuer_of(credential)?;
    matches!(local.vendor_of_did(issuer), Some(Some(_))).then_some((id, issuer))
}

/// What storage knows about `credential` when it is one of ours (its proof verified).
fn stored_facts(
    resolver: &StorageResolver<'_>,
    credential: &Value,
) -> Result<Option<StoredFacts>, CredentialError> {
    let Some((id, issuer)) = stored_id(resolver.local, credential) else {
        return Ok(None);
    };
    let unavailable = |e: ResolveError| CredentialError::Internal(e.to_string());
    let Some(row) = resolver.credential_facts(id).map_err(unavailable)? else {
        return Ok(None);
    };
    // The proof passed, so the issuer was just resolved (and cached) with its vendor.
    let Some(vendor_id) = resolver.vendor_of_issuer(issuer).map_err(unavailable)? else {
        return Ok(None);
    };
    if row.vendor_id != vendor_id {
        return Ok(None);
    }
    let links = resolver.links;
    Ok(Some(StoredFacts {
        page: links.credential_page(&row.id),
        revoked_at: row.revoked_at.map(rfc3339_seconds),
        revocation_reason: row.revocation_reason,
        superseded_by_page: row
            .superseded_by
            .as_deref()
            .map(|id| links.credential_page(id)),
        superseded_by: row.superseded_by,
        id: row.id,
    }))
}
