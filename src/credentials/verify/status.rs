//! The status check: the credential's `credentialStatus` entries against their issuer's verified status
//! lists.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::outcome::{fail, pass, Failure, Outcome};
use super::resolve::{ResolveError, Resolver};
use super::validity::validity_window;
use super::{has_type, issuer_id};
use crate::credentials::did::AssertionMethod;
use crate::credentials::proof::{ParsedProof, ProofError};
use crate::credentials::status_list::{
    self, Bitstring, StatusListError, REVOCATION, VC_V2_CONTEXT,
};

/// More status entries than this are not fetched (each one is a network request).
const MAX_STATUS_ENTRIES: usize = 4;

/// Why a status list could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StatusListCredentialError {
    #[error("could not fetch the status list: {0}")]
    Resolve(#[from] ResolveError),
    #[error("the status list credential is malformed: {0}")]
    Malformed(String),
    #[error("the status list's id is {found:?}, not the URL it was fetched from ({expected:?})")]
    IdMismatch { found: String, expected: String },
    #[error("the status list is issued by {found:?}, not by the credential's issuer {expected:?}")]
    IssuerMismatch { found: String, expected: String },
    #[error("the status list is not current: {0}")]
    NotCurrent(String),
    #[error("the status list's proof: {0}")]
    Proof(#[from] ProofError),
    #[error("the status list is signed with {0}, which the issuer's DID document does not list in assertionMethod")]
    UnknownKey(String),
    #[error(
        "the status list's signing key is controlled by {found:?}, not by the issuer {expected:?}"
    )]
    Controller { found: String, expected: String },
    #[error("the status list's purpose is {found:?}; the entry asks for {expected:?}")]
    Purpose { found: String, expected: String },
    #[error("the status list: {0}")]
    List(#[from] StatusListError),
}

pub(super) fn check_status(
    doc: &Map<String, Value>,
    issuer: &str,
    keys: &[AssertionMethod],
    resolver: &dyn Resolver,
    now: DateTime<Utc>,
) -> Outcome {
    let entries: Vec<&Value> = match doc.get("credentialStatus") {
        None => return pass("no status entry: the issuer cannot revoke this credential"),
        Some(Value::Array(items)) if !items.is_empty() => items.iter().collect(),
        Some(entry @ Value::Object(_)) => vec![entry],
        Some(_) => {
            return fail(
                Failure::Invalid,
                "credentialStatus must be an object or a non-empty array",
            )
        }
    };
    if entries.len() > MAX_STATUS_ENTRIES {
        return fail(
            Failure::CouldNotCheck,
            format!(
                "credentialStatus has {} entries; at most {MAX_STATUS_ENTRIES} are checked",
                entries.len()
            ),
        );
    }
    let mut worst: Option<(Failure, String)> = None;
    let mut passed = Vec::new();
    for entry in entries {
        match check_status_entry(entry, issuer, keys, resolver, now) {
            Ok(detail) => passed.push(detail),
            Err((failure, detail)) => {
                if worst.as_ref().is_none_or(|(current, _)| failure > *current) {
                    worst = Some((failure, detail));
                }
            }
        }
    }
    match worst {
        Some((failure, detail)) => fail(failure, detail),
        None => pass(passed.join("; ")),
    }
}

fn check_status_entry(
    entry: &Value,
    issuer: &str,
    keys: &[AssertionMethod],
    resolver: &dyn Resolver,
    now: DateTime<Utc>,
) -> Result<String, (Failure, String)> {
    let entry =
        status_list::parse_status_entry(entry).map_err(|e| (Failure::Invalid, e.to_string()))?;
    if entry.purpose != REVOCATION {
        return Err((
            Failure::CouldNotCheck,
            format!("status purpose {:?} is not supported", entry.purpose),
        ));
    }
    let bits = resolver
        .status_bitstring(&entry.list_url, issuer, keys, &entry.purpose, now)
        .map_err(|e| (Failure::CouldNotCheck, format!("{e} ({})", entry.list_url)))?;
    let place = format!("{}#{}", entry.list_url, entry.index);
    match bits.get(entry.index) {
        Ok(false) => Ok(format!("not revoked ({place})")),
        Ok(true) => Err((Failure::Revoked, format!("revoked ({place})"))),
        Err(e) => Err((Failure::CouldNotCheck, e.to_string())),
    }
}

/// Checks a `BitstringStatusListCredential` fetched from `list_url` for a credential issued by
/// `issuer` (whose assertion methods are `keys`), and returns its bitstring.
pub fn verify_status_list_credential(
    list: &Value,
    list_url: &str,
    issuer: &str,
    keys: &[AssertionMethod],
    purpose: &str,
    now: DateTime<Utc>,
) -> Result<Bitstring, StatusListCredentialError> {
    use StatusListCredentialError as E;
    let malformed = |detail: &str| E::Malformed(detail.to_owned());
    let doc = list
        .as_object()
        .ok_or_else(|| malformed("it must be a JSON object"))?;
    let first_context = match doc.get("@context") {
        Some(Value::Array(items)) => items.first().and_then(Value::as_str),
        _ => None,
    };
    if first_context != Some(VC_V2_CONTEXT) {
        return Err(malformed("@context must start with the VC 2.0 context"));
    }
    if !has_type(doc, "VerifiableCredential") || !has_type(doc, "BitstringStatusListCredential") {
        return Err(malformed(
            "type must include VerifiableCredential and BitstringStatusListCredential",
        ));
    }
    let id = doc.get("id").and_then(Value::as_str).unwrap_or_default();
    if id != list_url {
        return Err(E::IdMismatch {
            found: id.to_owned(),
            expected: list_url.to_owned(),
        });
    }
    let list_issuer = issuer_id(doc).ok_or_else(|| malformed("issuer is missing"))?;
    if list_issuer != issuer {
        return Err(E::IssuerMismatch {
            found: list_issuer.to_owned(),
            expected: issuer.to_owned(),
        });
    }
    let (from, until) = validity_window(doc).map_err(E::NotCurrent)?;
    if from.is_some_and(|from| from > now) {
        return Err(E::NotCurrent("its validFrom is in the future".into()));
    }
    if until.is_some_and(|until| until <= now) {
        return Err(E::NotCurrent("its validUntil has passed".into()));
    }

    for parsed in ParsedProof::parse_all(list)? {
        let key = keys
            .iter()
            .find(|k| k.id == parsed.verification_method)
            .ok_or_else(|| E::UnknownKey(parsed.verification_method.to_owned()))?;
        if key.controller != issuer {
            return Err(E::Controller {
                found: key.controller.clone(),
                expected: issuer.to_owned(),
            });
        }
        parsed.verify(&key.public_key)?;
        if parsed.expires.is_some_and(|expires| expires <= now) {
            return Err(E::NotCurrent("its proof has expired".into()));
        }
    }

    let subject = doc
        .get("credentialSubject")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed("credentialSubject must be an object"))?;
    if subject.get("type").and_then(Value::as_str) != Some("BitstringStatusList") {
        return Err(malformed(
            "credentialSubject.type must be \"BitstringStatusList\"",
        ));
    }
    let list_purpose = subject
        .get("statusPurpose")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("credentialSubject.statusPurpose must be a string"))?;
    if list_purpose != purpose {
        return Err(E::Purpose {
            found: list_purpose.to_owned(),
            expected: purpose.to_owned(),
        });
    }
    let encoded = subject
        .get("encodedList")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed("credentialSubject.encodedList must be a string"))?;
    Ok(Bitstring::decode(encoded)?)
}
