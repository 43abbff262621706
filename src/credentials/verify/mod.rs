//! The one verification engine behind `POST /api/v1/verify`, the public page and `credo verify`.
//!
//! Fails closed: the result is `valid` only when every check ran and passed. Each check is listed
//! in a fixed order, with `ok = false` and a reason when it failed or could not run. Precedence:
//! invalid > could_not_check > revoked > expired > not_yet_valid > valid.
//!
//! One check may pass unconfirmed: an issuer that is a plain https URL (not a DID) signing with a
//! `did:key` has no document that could bind the key to it — the W3C eddsa-rdfc-2022 vectors are
//! such credentials, and the W3C and Open Badges verifiers report them verified. The signature
//! is real, so the credential is `valid`, but the controller check says the binding is
//! unconfirmed and the answer carries that as a warning for the reader to weigh. Issuers hosted
//! here are always DIDs, so this never applies to them.
//!
//! A credential without `credentialStatus` passes the status check with the detail "no status
//! entry": its proof covers the whole document, so nobody can strip the entry from a credential
//! that had one, and a credential issued without one cannot be revoked. That is what other VC
//! verifiers report too; the detail tells the employer.

mod outcome;
mod proofs;
mod resolve;
mod status;
#[cfg(test)]
mod tests;
mod validity;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::credentials::status_list::VC_V2_CONTEXT;

use outcome::{fail, not_run, pass, Failure, Outcome, Verdict, CHECK_ORDER};
use proofs::check_signature;
use status::check_status;
use validity::check_validity;

pub use outcome::{Check, CheckName, Status, Verification};
pub use resolve::{decode_methods, keys_of, ResolveError, Resolver, StaticResolver};
pub use status::{verify_status_list_credential, StatusListCredentialError};

const VC_V1_CONTEXT: &str = "https://www.w3.org/2018/credentials/v1";

/// Verifies a credential against its issuer's DID document and status list at time `now`.
pub fn verify_credential(
    credential: &Value,
    resolver: &dyn Resolver,
    now: DateTime<Utc>,
) -> Verification {
    let credential_id = credential
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut outcomes: HashMap<CheckName, Outcome> = HashMap::new();
    let mut too_complex = false;

    match check_format(credential) {
        Err(outcome) => {
            outcomes.insert(CheckName::Format, outcome);
        }
        Ok(form) => {
            outcomes.insert(
                CheckName::Format,
                pass("a VC 2.0 credential with an issuer, a subject and a proof"),
            );
            outcomes.insert(CheckName::Validity, check_validity(form.doc, now));
            let keys = check_signature(
                credential,
                &form,
                resolver,
                now,
                &mut outcomes,
                &mut too_complex,
            );
            let status = match keys {
                Some(keys) => check_status(form.doc, form.issuer, &keys, resolver, now),
                None => not_run("the credential's signature was not confirmed"),
            };
            outcomes.insert(CheckName::Status, status);
        }
    }
    let mut verification = finish(outcomes, credential_id);
    verification.too_complex = too_complex;
    verification
}

fn finish(
    mut outcomes: HashMap<CheckName, Outcome>,
    credential_id: Option<String>,
) -> Verification {
    let mut worst: Option<Failure> = None;
    let mut all_passed = true;
    let mut warnings = Vec::new();
    let checks = CHECK_ORDER
        .iter()
        .map(|&name| {
            let (verdict, detail) = outcomes
                .remove(&name)
                .unwrap_or_else(|| not_run("the credential is not well-formed"));
            let ok = matches!(verdict, Verdict::Pass | Verdict::Unconfirmed);
            if matches!(verdict, Verdict::Unconfirmed) {
                warnings.push(detail.clone());
            }
            all_passed &= ok;
            if let Verdict::Fail(failure) = verdict {
                worst = worst.max(Some(failure));
            }
            Check { name, ok, detail }
        })
        .collect();
    let status = match worst {
        Some(failure) => failure.status(),
        None if all_passed => Status::Valid,
        // A check did not run without another failing: never report valid.
        None => Status::CouldNotCheck,
    };
    Verification {
        status,
        checks,
        warnings,
        credential_id,
        too_complex: false,
    }
}

/// The parts of a well-formed credential the other checks use.
struct Form<'a> {
    doc: &'a Map<String, Value>,
    issuer: &'a str,
}

fn check_format(credential: &Value) -> Result<Form<'_>, Outcome> {
    let invalid = |detail: &str| fail(Failure::Invalid, detail);
    let doc = credential
        .as_object()
        .ok_or_else(|| invalid("the credential must be a JSON object"))?;
    let first_context = match doc.get("@context") {
        Some(Value::Array(items)) => items.first().and_then(Value::as_str),
        _ => None,
    };
    match first_context {
        Some(VC_V2_CONTEXT) => {}
        Some(VC_V1_CONTEXT) => {
            return Err(fail(
                Failure::CouldNotCheck,
                "VC Data Model 1.1 credentials are not supported; only VC 2.0",
            ))
        }
        _ => {
            return Err(invalid(
                "@context must be an array starting with \"https://www.w3.org/ns/credentials/v2\"",
            ))
        }
    }
    if !has_type(doc, "VerifiableCredential") {
        return Err(invalid("type must include \"VerifiableCredential\""));
    }
    let issuer = issuer_id(doc)
        .ok_or_else(|| invalid("issuer must be a URL or an object with a non-empty id"))?;
    let subject_ok = match doc.get("credentialSubject") {
        Some(Value::Object(_)) => true,
        Some(Value::Array(items)) => !items.is_empty() && items.iter().all(Value::is_object),
        _ => false,
    };
    if !subject_ok {
        return Err(invalid(
            "credentialSubject must be an object or a non-empty array of objects",
        ));
    }
    match doc.get("proof") {
        Some(Value::Object(_)) => Ok(Form { doc, issuer }),
        Some(Value::Array(proofs)) if !proofs.is_empty() => Ok(Form { doc, issuer }),
        None => Err(invalid("the credential has no proof")),
        Some(_) => Err(invalid(
            "proof must be an object or a non-empty array of proofs",
        )),
    }
}

fn has_type(doc: &Map<String, Value>, wanted: &str) -> bool {
    match doc.get("type") {
        Some(Value::String(t)) => t == wanted,
        Some(Value::Array(types)) => types.iter().any(|t| t.as_str() == Some(wanted)),
        _ => false,
    }
}

fn issuer_id(doc: &Map<String, Value>) -> Option<&str> {
    let id = match doc.get("issuer")? {
        Value::String(id) => id.as_str(),
        Value::Object(issuer) => issuer.get("id")?.as_str()?,
        _ => return None,
    };
    (!id.is_empty()).then_some(id)
}
