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

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use super::did::{self, AssertionMethod};
use super::proof::{ParsedProof, ProofError};
use super::proof_cache::{CredentialDigest, ProofCache};
use super::rdfc::RdfcError;
use super::status_list::{self, Bitstring, StatusListError, REVOCATION, VC_V2_CONTEXT};

const VC_V1_CONTEXT: &str = "https://www.w3.org/2018/credentials/v1";
/// More status entries than this are not fetched (each one is a network request).
const MAX_STATUS_ENTRIES: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("not found")]
    NotFound,
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("not allowed: {0}")]
    NotAllowed(String),
    #[error("malformed: {0}")]
    Malformed(String),
}

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

/// Where the engine gets DID documents and status lists (HTTP in the server, files in the CLI).
pub trait Resolver {
    fn did_document(&self, did: &str) -> Result<Value, ResolveError>;
    fn status_list(&self, url: &str) -> Result<Value, ResolveError>;

    /// The decoded assertion methods of `did`. Decoding keys costs time: a server resolver
    /// should override this with a cache.
    fn assertion_methods(&self, did: &str) -> Result<Arc<[AssertionMethod]>, ResolveError> {
        let document = self.did_document(did)?;
        did::assertion_methods(did, &document)
            .map(Arc::from)
            .map_err(|e| ResolveError::Malformed(e.to_string()))
    }

    /// The assertion methods of `did` read again from their source, when the answer of
    /// `assertion_methods` (perhaps cached) lacks the verification method a proof names — a key
    /// added since. `None` (the default): that answer was already fresh.
    fn reload_assertion_methods(
        &self,
        _did: &str,
    ) -> Option<Result<Arc<[AssertionMethod]>, ResolveError>> {
        None
    }

    /// Proofs already verified, to skip their cryptography when the same bytes come again.
    fn proof_cache(&self) -> Option<&ProofCache> {
        None
    }

    /// The verified bitstring of the status list at `url` (issued by `issuer` with one of `keys`).
    /// A server resolver may override this to cache verified lists for their `ttl`.
    fn status_bitstring(
        &self,
        url: &str,
        issuer: &str,
        keys: &[AssertionMethod],
        purpose: &str,
        now: DateTime<Utc>,
    ) -> Result<Arc<Bitstring>, StatusListCredentialError> {
        let list = self.status_list(url)?;
        verify_status_list_credential(&list, url, issuer, keys, purpose, now).map(Arc::new)
    }
}

/// The outcome of a verification. Fails closed: anything that cannot be checked is
/// `could_not_check`, never `valid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = VerificationStatus)]
pub enum Status {
    Valid,
    Expired,
    Revoked,
    NotYetValid,
    Invalid,
    CouldNotCheck,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CheckName {
    Format,
    Proof,
    VerificationMethod,
    Controller,
    Validity,
    Status,
}

const CHECK_ORDER: [CheckName; 6] = [
    CheckName::Format,
    CheckName::Proof,
    CheckName::VerificationMethod,
    CheckName::Controller,
    CheckName::Validity,
    CheckName::Status,
];

/// One check of a verification and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Check {
    pub name: CheckName,
    pub ok: bool,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    pub status: Status,
    pub checks: Vec<Check>,
    /// What a reader should weigh although every check passed (an unconfirmed issuer binding).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    pub credential_id: Option<String>,
    /// A proof could not be checked because canonicalizing the credential would take more work
    /// than the bounds allow (a poison graph): the API refuses such input as a client error.
    #[serde(skip)]
    pub too_complex: bool,
}

impl Verification {
    pub fn verified(&self) -> bool {
        self.status == Status::Valid
    }

    pub fn check(&self, name: CheckName) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

/// A failed check's effect on the overall status; ordered by precedence (highest last).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Failure {
    NotYetValid,
    Expired,
    Revoked,
    CouldNotCheck,
    Invalid,
}

impl Failure {
    fn status(self) -> Status {
        match self {
            Failure::NotYetValid => Status::NotYetValid,
            Failure::Expired => Status::Expired,
            Failure::Revoked => Status::Revoked,
            Failure::CouldNotCheck => Status::CouldNotCheck,
            Failure::Invalid => Status::Invalid,
        }
    }
}

#[derive(Debug)]
enum Verdict {
    Pass,
    /// Passed, but with nothing to confirm it against: reported as a warning.
    Unconfirmed,
    Fail(Failure),
    NotRun,
}

type Outcome = (Verdict, String);

fn pass(detail: impl Into<String>) -> Outcome {
    (Verdict::Pass, detail.into())
}

fn fail(failure: Failure, detail: impl Into<String>) -> Outcome {
    (Verdict::Fail(failure), detail.into())
}

fn not_run(reason: &str) -> Outcome {
    (Verdict::NotRun, format!("not checked: {reason}"))
}

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

/// The assertion methods of `did`: derived offline for `did:key`, else from the resolver.
pub fn keys_of(resolver: &dyn Resolver, did: &str) -> Result<Arc<[AssertionMethod]>, ResolveError> {
    if did.starts_with("did:key:") {
        let document =
            did::did_key_document(did).map_err(|e| ResolveError::Malformed(e.to_string()))?;
        return did::assertion_methods(did, &document)
            .map(Arc::from)
            .map_err(|e| ResolveError::Malformed(e.to_string()));
    }
    resolver.assertion_methods(did)
}

/// The outcomes of the verification_method, controller and proof checks for one proof, and the
/// issuer's keys when all three passed.
struct ProofOutcome {
    method: Outcome,
    controller: Outcome,
    proof: Outcome,
    keys: Option<Arc<[AssertionMethod]>>,
    too_complex: bool,
}

/// Runs the proof, verification_method and controller checks for every proof (a proof set
/// passes only when each proof does); returns the issuer's keys only when all passed (the status
/// list is then checked with the same keys).
fn check_signature(
    credential: &Value,
    form: &Form<'_>,
    resolver: &dyn Resolver,
    now: DateTime<Utc>,
    outcomes: &mut HashMap<CheckName, Outcome>,
    too_complex: &mut bool,
) -> Option<Arc<[AssertionMethod]>> {
    let proofs = match ParsedProof::parse_all(credential) {
        Ok(proofs) => proofs,
        Err(e) => {
            outcomes.insert(CheckName::Proof, proof_failure(&e));
            let reason = "the proof is malformed";
            outcomes.insert(CheckName::VerificationMethod, not_run(reason));
            outcomes.insert(CheckName::Controller, not_run(reason));
            return None;
        }
    };
    let cached = resolver
        .proof_cache()
        .and_then(|cache| Some((cache, CredentialDigest::of(credential)?)));
    let results: Vec<ProofOutcome> = proofs
        .iter()
        .enumerate()
        .map(|(i, parsed)| {
            let cached = cached.as_ref().map(|(cache, digest)| (*cache, digest, i));
            check_one_proof(parsed, form, resolver, now, cached)
        })
        .collect();
    let keys = results
        .iter()
        .map(|r| r.keys.clone())
        .collect::<Option<Vec<_>>>()
        .and_then(|keys| keys.into_iter().next());
    let mut methods = Vec::new();
    let mut controllers = Vec::new();
    let mut signatures = Vec::new();
    for result in results {
        *too_complex |= result.too_complex;
        methods.push(result.method);
        controllers.push(result.controller);
        signatures.push(result.proof);
    }
    outcomes.insert(CheckName::VerificationMethod, merge(methods));
    outcomes.insert(CheckName::Controller, merge(controllers));
    outcomes.insert(CheckName::Proof, merge(signatures));
    keys
}

/// One outcome for several proofs: the worst failure, else the first check that did not run,
/// else a pass listing each proof's detail.
fn merge(outcomes: Vec<Outcome>) -> Outcome {
    let several = outcomes.len() > 1;
    let label = |i: usize, detail: &str| {
        if several {
            format!("proof {}: {detail}", i + 1)
        } else {
            detail.to_owned()
        }
    };
    let worst = outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, (v, d))| match v {
            Verdict::Fail(f) => Some((*f, i, d)),
            _ => None,
        })
        .max_by_key(|(f, i, _)| (*f, std::cmp::Reverse(*i)));
    if let Some((failure, i, detail)) = worst {
        return fail(failure, label(i, detail));
    }
    if let Some((i, (_, detail))) = outcomes
        .iter()
        .enumerate()
        .find(|(_, (v, _))| matches!(v, Verdict::NotRun))
    {
        return (Verdict::NotRun, label(i, detail));
    }
    let mut details: Vec<String> = outcomes
        .iter()
        .enumerate()
        .map(|(i, (_, d))| label(i, d))
        .collect();
    details.dedup();
    let unconfirmed = outcomes
        .iter()
        .any(|(v, _)| matches!(v, Verdict::Unconfirmed));
    let verdict = if unconfirmed {
        Verdict::Unconfirmed
    } else {
        Verdict::Pass
    };
    (verdict, details.join("; "))
}

/// A proof that cannot be checked because it names a context we have no copy of is
/// `could_not_check`; every other proof error makes the credential invalid.
fn proof_failure(e: &ProofError) -> Outcome {
    match e {
        ProofError::Rdfc(RdfcError::UnknownContext(_)) => {
            fail(Failure::CouldNotCheck, e.to_string())
        }
        _ => fail(Failure::Invalid, e.to_string()),
    }
}

/// A proof cache, the credential's digest and the proof's place in the proof set.
type CachedProof<'c> = (&'c ProofCache, &'c CredentialDigest, usize);

fn check_one_proof(
    parsed: &ParsedProof<'_>,
    form: &Form<'_>,
    resolver: &dyn Resolver,
    now: DateTime<Utc>,
    cached: Option<CachedProof<'_>>,
) -> ProofOutcome {
    let vm = parsed.verification_method;
    let stop = |method: Outcome, reason: &str| ProofOutcome {
        method,
        controller: not_run(reason),
        proof: not_run(reason),
        keys: None,
        too_complex: false,
    };
    // A DID issuer's keys come from its DID document. An issuer that is a plain URL (as in the
    // W3C eddsa-rdfc-2022 vector: an https issuer, a did:key verification method) has no DID
    // document: the signature is checked with the key the verification method names, and the
    // controller check passes unconfirmed (see the module documentation).
    let issuer_is_did = form.issuer.starts_with("did:");
    let key_did = if issuer_is_did {
        form.issuer
    } else {
        vm.split('#').next().unwrap_or_default()
    };
    let keys = if issuer_is_did || key_did.starts_with("did:") {
        keys_of(resolver, key_did)
            .map_err(|e| format!("could not get the DID document of {key_did}: {e}"))
    } else {
        Err(format!(
            "the issuer {:?} is not a DID and the verification method {vm:?} names no DID",
            form.issuer
        ))
    };
    let keys = match keys {
        Ok(keys) => keys,
        Err(detail) => {
            return stop(
                fail(Failure::CouldNotCheck, detail),
                "the issuer's keys are unknown",
            )
        }
    };
    let keys = match keys.iter().any(|k| k.id == vm) {
        true => keys,
        false => match resolver.reload_assertion_methods(key_did) {
            Some(Ok(fresh)) => fresh,
            _ => keys,
        },
    };
    let Some(key) = keys.iter().find(|k| k.id == vm) else {
        let whose = if issuer_is_did { "the issuer's" } else { "its" };
        return stop(
            fail(
                Failure::Invalid,
                format!("{vm} is not listed in assertionMethod of {whose} DID document"),
            ),
            "the signing key is not one of the issuer's",
        );
    };
    let method = pass(if issuer_is_did {
        format!("{vm} is an assertion method of the issuer")
    } else {
        format!("{vm} is an assertion method of {key_did}")
    });
    let controller = if key.controller == form.issuer {
        pass(format!("controlled by the issuer {}", form.issuer))
    } else if !issuer_is_did {
        (
            Verdict::Unconfirmed,
            format!(
                "unconfirmed: the issuer {:?} is a URL, not a DID, so nothing shows that it \
                 controls the signing key of {:?}; confirm the issuer by other means",
                form.issuer, key.controller
            ),
        )
    } else {
        fail(
            Failure::Invalid,
            format!(
                "the key is controlled by {:?}, not by the issuer {:?}",
                key.controller, form.issuer
            ),
        )
    };
    let mut too_complex = false;
    let verified = match cached {
        Some((cache, digest, i)) if cache.contains(digest, i, &key.public_key) => Ok(()),
        Some((cache, digest, i)) => parsed.verify(&key.public_key).inspect(|()| {
            cache.insert(digest, i, &key.public_key);
        }),
        None => parsed.verify(&key.public_key),
    };
    let proof = match verified {
        Err(e) => {
            too_complex = matches!(e, ProofError::Rdfc(RdfcError::TooComplex(_)));
            proof_failure(&e)
        }
        Ok(()) => match parsed.expires {
            Some(expires) if expires <= now => fail(
                Failure::Invalid,
                format!("the proof expired at {}", expires.to_rfc3339()),
            ),
            _ => pass(format!("{} signature verified", parsed.cryptosuite)),
        },
    };
    let all_ok = [&method, &controller, &proof]
        .iter()
        .all(|(v, _)| matches!(v, Verdict::Pass | Verdict::Unconfirmed));
    ProofOutcome {
        method,
        controller,
        proof,
        keys: all_ok.then_some(keys),
        too_complex,
    }
}

/// validFrom and validUntil; either may be absent.
type Window = (Option<DateTime<FixedOffset>>, Option<DateTime<FixedOffset>>);

fn validity_window(doc: &Map<String, Value>) -> Result<Window, String> {
    let read = |field: &str| match doc.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => DateTime::parse_from_rfc3339(s)
            .map(Some)
            .map_err(|_| format!("{field} is not an RFC 3339 date-time with a time zone")),
        Some(_) => Err(format!("{field} must be a date-time string")),
    };
    Ok((read("validFrom")?, read("validUntil")?))
}

fn check_validity(doc: &Map<String, Value>, now: DateTime<Utc>) -> Outcome {
    let (from, until) = match validity_window(doc) {
        Ok(window) => window,
        Err(detail) => return fail(Failure::Invalid, detail),
    };
    let show = |t: DateTime<FixedOffset>| super::format_timestamp(t.with_timezone(&Utc));
    if let Some(from) = from.filter(|from| *from > now) {
        return fail(
            Failure::NotYetValid,
            format!("not valid before {}", show(from)),
        );
    }
    if let Some(until) = until.filter(|until| *until <= now) {
        return fail(Failure::Expired, format!("expired at {}", show(until)));
    }
    match until {
        Some(until) => pass(format!("valid until {}", show(until))),
        None => pass("valid; no expiry date"),
    }
}

fn check_status(
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

/// A resolver over documents held in memory: tests and the offline `credo verify` CLI.
/// Keys are decoded once, when a DID document is added.
#[derive(Debug, Default, Clone)]
pub struct StaticResolver {
    dids: HashMap<String, (Value, Arc<[AssertionMethod]>)>,
    lists: HashMap<String, Value>,
}

impl StaticResolver {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a DID document under its own `id`; refuses one that does not parse.
    pub fn add_did_document(&mut self, document: Value) -> Result<(), ResolveError> {
        let did = document
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| ResolveError::Malformed("the DID document has no id".into()))?
            .to_owned();
        let keys = did::assertion_methods(&did, &document)
            .map_err(|e| ResolveError::Malformed(e.to_string()))?;
        self.dids.insert(did, (document, Arc::from(keys)));
        Ok(())
    }

    /// Adds a status list credential under its own `id` (the URL credentials point to).
    pub fn add_status_list(&mut self, list: Value) -> Result<(), ResolveError> {
        let url = list
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| ResolveError::Malformed("the status list credential has no id".into()))?
            .to_owned();
        self.lists.insert(url, list);
        Ok(())
    }
}

impl Resolver for StaticResolver {
    fn did_document(&self, did: &str) -> Result<Value, ResolveError> {
        self.dids
            .get(did)
            .map(|(doc, _)| doc.clone())
            .ok_or(ResolveError::NotFound)
    }

    fn status_list(&self, url: &str) -> Result<Value, ResolveError> {
        self.lists.get(url).cloned().ok_or(ResolveError::NotFound)
    }

    fn assertion_methods(&self, did: &str) -> Result<Arc<[AssertionMethod]>, ResolveError> {
        self.dids
            .get(did)
            .map(|(_, keys)| Arc::clone(keys))
            .ok_or(ResolveError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::badge::tests::{sample_input, sample_key, ISSUER_DID};
    use crate::credentials::badge::{build_credential, issue_credential};
    use crate::credentials::keys::IssuerKey;
    use crate::credentials::status_list::status_list_credential;
    use ed25519_dalek::SigningKey;
    use proptest::prelude::*;
    use serde_json::json;
    use url::Url;

    const LIST_URL: &str = "https://credo.example/status/acme/1";
    const INDEX: u64 = 4711;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn now() -> DateTime<Utc> {
        at("2026-01-01T00:00:00Z")
    }

    fn signed_list(key: &IssuerKey, issuer: &str, revoked: &[u64]) -> Value {
        let mut bits = Bitstring::default();
        for &i in revoked {
            bits.set(i, true).unwrap();
        }
        let list = status_list_credential(
            &Url::parse(LIST_URL).unwrap(),
            issuer,
            "Acme Cloud Academy",
            at("2025-01-01T00:00:00Z"),
            Some(300_000),
            &bits,
        )
        .unwrap();
        key.sign(&list, at("2025-01-01T00:00:00Z")).unwrap()
    }

    fn resolver_with(doc: Value, list: Option<Value>) -> StaticResolver {
        let mut resolver = StaticResolver::new();
        resolver.add_did_document(doc).unwrap();
        if let Some(list) = list {
            resolver.add_status_list(list).unwrap();
        }
        resolver
    }

    fn good_resolver(revoked: &[u64]) -> StaticResolver {
        let key = sample_key();
        resolver_with(
            did::did_document(ISSUER_DID, &[key.verifying_key()]),
            Some(signed_list(&key, ISSUER_DID, revoked)),
        )
    }

    fn issued() -> Value {
        issue_credential(&sample_input(), &sample_key(), at("2025-03-01T10:20:31Z"))
            .unwrap()
            .value
    }

    fn check(v: &Verification, name: CheckName) -> &Check {
        v.check(name).unwrap()
    }

    fn assert_failed(v: &Verification, status: Status, name: CheckName) {
        assert_eq!(v.status, status, "{v:#?}");
        assert!(!check(v, name).ok, "{name:?} should fail: {v:#?}");
        assert!(!v.verified());
    }

    #[test]
    fn issued_credential_is_valid_with_every_check_listed() {
        let v = verify_credential(&issued(), &good_resolver(&[]), now());
        assert_eq!(v.status, Status::Valid, "{v:#?}");
        assert!(v.verified());
        let names: Vec<CheckName> = v.checks.iter().map(|c| c.name).collect();
        assert_eq!(names, CHECK_ORDER);
        assert!(v.checks.iter().all(|c| c.ok && !c.detail.is_empty()));
        assert_eq!(
            v.credential_id.as_deref(),
            Some("urn:uuid:0190f2a4-3c1e-7b2d-9f00-1a2b3c4d5e6f")
        );
        assert!(check(&v, CheckName::Status).detail.contains("not revoked"));
    }

    #[test]
    fn serializes_with_snake_case_names() {
        let v = verify_credential(&json!({}), &good_resolver(&[]), now());
        let out = serde_json::to_value(&v).unwrap();
        assert_eq!(out["status"], "invalid");
        assert_eq!(out["checks"][2]["name"], "verification_method");
        assert_eq!(out["checks"][2]["ok"], false);
        assert_eq!(out["credential_id"], Value::Null);
        let v = verify_credential(&issued(), &StaticResolver::new(), now());
        assert_eq!(
            serde_json::to_value(&v).unwrap()["status"],
            "could_not_check"
        );
    }

    /// Every scalar leaf with its JSON pointer.
    fn leaves(value: &Value, path: String, out: &mut Vec<(String, Value)>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    leaves(v, format!("{path}/{k}"), out);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    leaves(v, format!("{path}/{i}"), out);
                }
            }
            scalar => out.push((path, scalar.clone())),
        }
    }

    fn mutations(value: &Value) -> Vec<Value> {
        match value {
            Value::String(s) => {
                let mut out = vec![json!(format!("{s}x"))];
                if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                    let later = t.with_timezone(&Utc) + chrono::Duration::seconds(1);
                    out.push(json!(crate::credentials::format_timestamp(later)));
                }
                if let Some(last) = s.chars().last() {
                    let swapped = if last == 'a' { 'b' } else { 'a' };
                    out.push(json!(format!(
                        "{}{swapped}",
                        &s[..s.len() - last.len_utf8()]
                    )));
                }
                out
            }
            Value::Bool(b) => vec![json!(!b)],
            Value::Number(n) => vec![json!(n.as_i64().unwrap_or_default() + 1)],
            Value::Null => vec![json!("x")],
            _ => unreachable!("leaves are scalars"),
        }
    }

    #[test]
    fn changing_any_single_value_is_detected_and_the_check_named() {
        let original = issued();
        let resolver = good_resolver(&[]);
        let mut all = Vec::new();
        leaves(&original, String::new(), &mut all);
        assert!(all.len() > 40, "walked only {} leaves", all.len());
        for prefix in [
            "/credentialSubject/achievement/",
            "/issuer/",
            "/validFrom",
            "/validUntil",
            "/proof/",
        ] {
            assert!(
                all.iter().any(|(p, _)| p.starts_with(prefix)),
                "no leaf under {prefix}"
            );
        }
        let mut tried = 0;
        for (path, value) in &all {
            let expected = match path.as_str() {
                "/@context/0" | "/type/0" => CheckName::Format,
                "/issuer/id" | "/proof/verificationMethod" => CheckName::VerificationMethod,
                _ => CheckName::Proof,
            };
            for mutated in mutations(value) {
                if mutated == *value {
                    continue;
                }
                let mut doc = original.clone();
                *doc.pointer_mut(path).unwrap() = mutated.clone();
                let v = verify_credential(&doc, &resolver, now());
                assert!(!v.verified(), "{path} = {mutated} still valid");
                assert!(
                    matches!(v.status, Status::Invalid | Status::CouldNotCheck),
                    "{path} = {mutated}: {v:#?}"
                );
                assert!(
                    !check(&v, expected).ok,
                    "{path} = {mutated}: {expected:?} passed: {v:#?}"
                );
                tried += 1;
            }
        }
        assert!(tried + 4 >= 2 * all.len(), "only {tried} mutations");
    }

    #[test]
    fn revoked_bit_gives_revoked() {
        let v = verify_credential(&issued(), &good_resolver(&[INDEX]), now());
        assert_failed(&v, Status::Revoked, CheckName::Status);
        assert!(check(&v, CheckName::Status).detail.contains("#4711"));
        // Neighbouring bits do not matter.
        let v = verify_credential(&issued(), &good_resolver(&[INDEX - 1, INDEX + 1]), now());
        assert_eq!(v.status, Status::Valid);
    }

    #[test]
    fn validity_window() {
        let v = verify_credential(&issued(), &good_resolver(&[]), at("2028-03-01T10:20:30Z"));
        assert_failed(&v, Status::Expired, CheckName::Validity);
        assert!(check(&v, CheckName::Validity)
            .detail
            .contains("2028-03-01T10:20:30Z"));
        let v = verify_credential(&issued(), &good_resolver(&[]), at("2028-03-01T10:20:29Z"));
        assert_eq!(v.status, Status::Valid);
        let v = verify_credential(&issued(), &good_resolver(&[]), at("2025-03-01T10:20:29Z"));
        assert_failed(&v, Status::NotYetValid, CheckName::Validity);
        // Revocation outranks expiry.
        let v = verify_credential(
            &issued(),
            &good_resolver(&[INDEX]),
            at("2029-01-01T00:00:00Z"),
        );
        assert_eq!(v.status, Status::Revoked);
        assert!(!check(&v, CheckName::Validity).ok);
    }

    #[test]
    fn key_not_in_did_document_is_invalid() {
        let stranger = SigningKey::from_bytes(&[99u8; 32]).verifying_key();
        let resolver = resolver_with(did::did_document(ISSUER_DID, &[stranger]), None);
        let v = verify_credential(&issued(), &resolver, now());
        assert_failed(&v, Status::Invalid, CheckName::VerificationMethod);
        assert!(check(&v, CheckName::Proof)
            .detail
            .starts_with("not checked"));
        assert!(!check(&v, CheckName::Status).ok);
    }

    #[test]
    fn controller_other_than_issuer_is_invalid() {
        let key = sample_key();
        let mut doc = did::did_document(ISSUER_DID, &[key.verifying_key()]);
        doc["verificationMethod"][0]["controller"] = json!("did:web:evil.example");
        let resolver = resolver_with(doc, Some(signed_list(&key, ISSUER_DID, &[])));
        let v = verify_credential(&issued(), &resolver, now());
        assert_failed(&v, Status::Invalid, CheckName::Controller);
        assert!(
            check(&v, CheckName::Proof).ok,
            "the signature itself is fine"
        );
        assert!(check(&v, CheckName::Status)
            .detail
            .starts_with("not checked"));
    }

    struct FailingResolver {
        did: Result<Value, ResolveError>,
        list: ResolveError,
    }

    impl Resolver for FailingResolver {
        fn did_document(&self, _did: &str) -> Result<Value, ResolveError> {
            self.did.clone()
        }
        fn status_list(&self, _url: &str) -> Result<Value, ResolveError> {
            Err(self.list.clone())
        }
    }

    #[test]
    fn unavailable_resolver_gives_could_not_check() {
        for error in [
            ResolveError::NotFound,
            ResolveError::Unavailable("timeout".into()),
            ResolveError::NotAllowed("private address".into()),
        ] {
            let resolver = FailingResolver {
                did: Err(error.clone()),
                list: error.clone(),
            };
            let v = verify_credential(&issued(), &resolver, now());
            assert_failed(&v, Status::CouldNotCheck, CheckName::VerificationMethod);
            assert!(check(&v, CheckName::VerificationMethod)
                .detail
                .contains(&error.to_string()));
            assert!(!check(&v, CheckName::Proof).ok && !check(&v, CheckName::Status).ok);
        }
        // DID document fine (through the trait's default key decoding), status list unreachable.
        let resolver = FailingResolver {
            did: Ok(did::did_document(
                ISSUER_DID,
                &[sample_key().verifying_key()],
            )),
            list: ResolveError::Unavailable("503".into()),
        };
        let v = verify_credential(&issued(), &resolver, now());
        assert_failed(&v, Status::CouldNotCheck, CheckName::Status);
        assert!(check(&v, CheckName::Proof).ok);
        // A malformed DID document cannot vouch for anything.
        let resolver = FailingResolver {
            did: Ok(json!({"id": ISSUER_DID, "assertionMethod": "nope"})),
            list: ResolveError::NotFound,
        };
        let v = verify_credential(&issued(), &resolver, now());
        assert_failed(&v, Status::CouldNotCheck, CheckName::VerificationMethod);
    }

    #[test]
    fn status_list_must_be_the_issuers_own() {
        let key = sample_key();
        let doc = did::did_document(ISSUER_DID, &[key.verifying_key()]);
        // Signed by a key the DID document does not list.
        let stranger = IssuerKey::new(ISSUER_DID, SigningKey::from_bytes(&[5u8; 32]));
        let v = verify_credential(
            &issued(),
            &resolver_with(doc.clone(), Some(signed_list(&stranger, ISSUER_DID, &[]))),
            now(),
        );
        assert_failed(&v, Status::CouldNotCheck, CheckName::Status);
        assert!(check(&v, CheckName::Status)
            .detail
            .contains("does not list"));
        // Issued by somebody else.
        let v = verify_credential(
            &issued(),
            &resolver_with(
                doc.clone(),
                Some(signed_list(&key, "did:web:evil.example", &[])),
            ),
            now(),
        );
        assert_failed(&v, Status::CouldNotCheck, CheckName::Status);
        // Tampered after signing (bit cleared by a man in the middle).
        let mut list = signed_list(&key, ISSUER_DID, &[INDEX]);
        list["credentialSubject"]["encodedList"] = json!(Bitstring::default().encode().unwrap());
        let v = verify_credential(&issued(), &resolver_with(doc.clone(), Some(list)), now());
        assert_failed(&v, Status::CouldNotCheck, CheckName::Status);
        // Another list of the same issuer served at this URL.
        let mut other = signed_list(&key, ISSUER_DID, &[]);
        other["id"] = json!("https://credo.example/status/acme/2");
        let other = key
            .sign(
                &{
                    let mut unsigned = other.clone();
                    unsigned.as_object_mut().unwrap().remove("proof");
                    unsigned
                },
                now(),
            )
            .unwrap();
        let bits = verify_status_list_credential(
            &other,
            LIST_URL,
            ISSUER_DID,
            &did::assertion_methods(ISSUER_DID, &doc).unwrap(),
            REVOCATION,
            now(),
        );
        assert!(matches!(
            bits,
            Err(StatusListCredentialError::IdMismatch { .. })
        ));
        // Status list with a different purpose.
        let keys = did::assertion_methods(ISSUER_DID, &doc).unwrap();
        let good = signed_list(&key, ISSUER_DID, &[]);
        assert!(matches!(
            verify_status_list_credential(&good, LIST_URL, ISSUER_DID, &keys, "suspension", now()),
            Err(StatusListCredentialError::Purpose { .. })
        ));
        assert!(verify_status_list_credential(
            &good,
            LIST_URL,
            ISSUER_DID,
            &keys,
            REVOCATION,
            now()
        )
        .is_ok());
    }

    #[test]
    fn key_rotation_keeps_old_credentials_valid() {
        let old = sample_key();
        let new = IssuerKey::new(ISSUER_DID, SigningKey::from_bytes(&[12u8; 32]));
        let doc = did::did_document(ISSUER_DID, &[old.verifying_key(), new.verifying_key()]);
        let resolver = resolver_with(doc, Some(signed_list(&new, ISSUER_DID, &[])));
        for key in [&old, &new] {
            let vc = issue_credential(&sample_input(), key, at("2025-03-01T10:20:31Z")).unwrap();
            let v = verify_credential(&vc.value, &resolver, now());
            assert_eq!(v.status, Status::Valid, "{v:#?}");
            assert!(check(&v, CheckName::VerificationMethod)
                .detail
                .contains(key.verification_method()));
        }
    }

    #[test]
    fn credential_without_status_entry_is_valid_and_says_so() {
        let mut unsigned = build_credential(&sample_input()).unwrap();
        unsigned.as_object_mut().unwrap().remove("credentialStatus");
        let signed = sample_key()
            .sign(&unsigned, at("2025-03-01T10:20:31Z"))
            .unwrap();
        let resolver = resolver_with(
            did::did_document(ISSUER_DID, &[sample_key().verifying_key()]),
            None,
        );
        let v = verify_credential(&signed, &resolver, now());
        assert_eq!(v.status, Status::Valid);
        assert!(check(&v, CheckName::Status)
            .detail
            .starts_with("no status entry"));
    }

    #[test]
    fn unsupported_status_entries_fail_closed() {
        // eddsa-jcs-2022: eddsa-rdfc-2022 would refuse to sign the undefined StatusList2021Entry.
        let key =
            sample_key().with_cryptosuite(crate::credentials::proof::Cryptosuite::EddsaJcs2022);
        let resolver = good_resolver(&[]);
        let sign_with_status = |status: Value| {
            let mut unsigned = build_credential(&sample_input()).unwrap();
            unsigned["credentialStatus"] = status;
            key.sign(&unsigned, at("2025-03-01T10:20:31Z")).unwrap()
        };
        let mut suspension = status_list::status_entry(&Url::parse(LIST_URL).unwrap(), INDEX);
        suspension["statusPurpose"] = json!("suspension");
        let v = verify_credential(&sign_with_status(suspension), &resolver, now());
        assert_failed(&v, Status::CouldNotCheck, CheckName::Status);
        let v = verify_credential(
            &sign_with_status(json!({"type": "StatusList2021Entry"})),
            &resolver,
            now(),
        );
        assert_failed(&v, Status::Invalid, CheckName::Status);
        let out_of_range = status_list::status_entry(&Url::parse(LIST_URL).unwrap(), 131_072);
        let v = verify_credential(&sign_with_status(out_of_range), &resolver, now());
        assert_failed(&v, Status::CouldNotCheck, CheckName::Status);
        // Two entries, one revoked: revoked wins.
        let entries = json!([
            status_list::status_entry(&Url::parse(LIST_URL).unwrap(), 1),
            status_list::status_entry(&Url::parse(LIST_URL).unwrap(), INDEX),
        ]);
        let v = verify_credential(&sign_with_status(entries), &good_resolver(&[INDEX]), now());
        assert_failed(&v, Status::Revoked, CheckName::Status);
    }

    #[test]
    fn format_problems() {
        let resolver = good_resolver(&[]);
        let cases: Vec<(Value, Status)> = vec![
            (json!(null), Status::Invalid),
            (json!("a credential"), Status::Invalid),
            (
                {
                    let mut d = issued();
                    d.as_object_mut().unwrap().remove("proof");
                    d
                },
                Status::Invalid,
            ),
            (
                {
                    let mut d = issued();
                    d["proof"] = json!([]);
                    d
                },
                Status::Invalid,
            ),
            (
                {
                    let mut d = issued();
                    d["type"] = json!("OpenBadgeCredential");
                    d
                },
                Status::Invalid,
            ),
            (
                {
                    let mut d = issued();
                    d["issuer"] = json!({"name": "x"});
                    d
                },
                Status::Invalid,
            ),
            (
                {
                    let mut d = issued();
                    d["credentialSubject"] = json!([]);
                    d
                },
                Status::Invalid,
            ),
            (
                {
                    let mut d = issued();
                    d["@context"] = json!("https://www.w3.org/ns/credentials/v2");
                    d
                },
                Status::Invalid,
            ),
            (
                {
                    let mut d = issued();
                    d["@context"][0] = json!(VC_V1_CONTEXT);
                    d
                },
                Status::CouldNotCheck,
            ),
        ];
        for (doc, status) in cases {
            let v = verify_credential(&doc, &resolver, now());
            assert_failed(&v, status, CheckName::Format);
            assert_eq!(v.checks.len(), 6);
            assert!(v.checks[1..]
                .iter()
                .all(|c| !c.ok && c.detail.starts_with("not checked")));
        }
    }

    #[test]
    fn url_issuers_verify_with_the_key_binding_reported_unconfirmed() {
        // The W3C vectors: an https issuer signing with a did:key. The signature verifies with
        // the did:key (offline); nothing binds the key to the https issuer: valid, warned.
        for (vector, suite) in [
            (
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/fixtures/credentials/vc-di-eddsa/eddsa-jcs-2022/signedJCS.json"
                )),
                "eddsa-jcs-2022",
            ),
            (
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/fixtures/credentials/vc-di-eddsa/eddsa-rdfc-2022/signedDataInt.json"
                )),
                "eddsa-rdfc-2022",
            ),
        ] {
            let vector: Value = serde_json::from_str(vector).unwrap();
            let v = verify_credential(&vector, &StaticResolver::new(), now());
            assert_eq!(v.status, Status::Valid, "{v:#?}");
            let controller = check(&v, CheckName::Controller);
            assert!(controller.ok);
            assert!(controller.detail.starts_with("unconfirmed:"));
            assert!(controller.detail.contains("not a DID"));
            assert_eq!(v.warnings, vec![controller.detail.clone()]);
            assert!(check(&v, CheckName::VerificationMethod).ok, "{v:#?}");
            let proof = check(&v, CheckName::Proof);
            assert!(proof.ok, "{v:#?}");
            assert_eq!(proof.detail, format!("{suite} signature verified"));

            let mut changed = vector.clone();
            changed["name"] = json!("Alumnus Credential");
            let v = verify_credential(&changed, &StaticResolver::new(), now());
            assert_failed(&v, Status::Invalid, CheckName::Proof);
        }
    }

    #[test]
    fn expired_proof_is_invalid() {
        let mut unsigned = build_credential(&sample_input()).unwrap();
        unsigned.as_object_mut().unwrap().remove("proof");
        // Sign with an `expires` option by adding it before signing the proof config by hand.
        let key = SigningKey::from_bytes(&[11u8; 32]);
        let vm = sample_key().verification_method().to_owned();
        let mut config = crate::credentials::proof::proof_config(
            &unsigned,
            &vm,
            at("2025-03-01T10:20:31Z"),
            Default::default(),
        )
        .unwrap();
        config.insert("expires".into(), json!("2025-06-01T00:00:00Z"));
        let input = crate::credentials::proof::signing_input(
            unsigned.as_object().unwrap(),
            &config,
            Default::default(),
        )
        .unwrap();
        use ed25519_dalek::Signer;
        let sig = key.sign(&input.hash_data());
        config.insert(
            "proofValue".into(),
            json!(crate::credentials::multibase::encode_base58btc(
                &sig.to_bytes()
            )),
        );
        unsigned["proof"] = Value::Object(config);
        let resolver = good_resolver(&[]);
        let v = verify_credential(&unsigned, &resolver, at("2025-05-01T00:00:00Z"));
        assert_eq!(v.status, Status::Valid, "{v:#?}");
        let v = verify_credential(&unsigned, &resolver, now());
        assert_failed(&v, Status::Invalid, CheckName::Proof);
        assert!(check(&v, CheckName::Proof).detail.contains("expired"));
    }

    const KEYS: &[&str] = &[
        "@context",
        "id",
        "type",
        "issuer",
        "credentialSubject",
        "proof",
        "validFrom",
        "validUntil",
        "credentialStatus",
        "verificationMethod",
        "proofValue",
        "cryptosuite",
        "proofPurpose",
        "created",
        "statusListIndex",
        "statusListCredential",
        "statusPurpose",
        "encodedList",
        "name",
    ];

    fn arb_json() -> impl Strategy<Value = Value> {
        let vm = sample_key().verification_method().to_owned();
        let words = vec![
            VC_V2_CONTEXT.to_owned(),
            "VerifiableCredential".into(),
            "DataIntegrityProof".into(),
            "eddsa-jcs-2022".into(),
            "assertionMethod".into(),
            ISSUER_DID.into(),
            vm,
            "2025-01-01T00:00:00Z".into(),
            "BitstringStatusListEntry".into(),
            "revocation".into(),
            "4711".into(),
            LIST_URL.into(),
            "z".into(),
            "u".into(),
            "did:".into(),
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            (-1e6f64..1e6).prop_map(|f| json!(f)),
            "[ -~]{0,16}".prop_map(Value::String),
            prop::sample::select(words).prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 96, 8, |inner| {
            let key = prop_oneof![
                prop::sample::select(KEYS).prop_map(str::to_owned),
                "[a-z@]{1,6}"
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(key, inner, 0..8)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn pointers(value: &Value, path: String, out: &mut Vec<String>) {
        out.push(path.clone());
        match value {
            Value::Object(map) => map
                .iter()
                .for_each(|(k, v)| pointers(v, format!("{path}/{k}"), out)),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .for_each(|(i, v)| pointers(v, format!("{path}/{i}"), out)),
            _ => {}
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn arbitrary_json_never_panics_and_is_never_valid(doc in arb_json()) {
            let v = verify_credential(&doc, &good_resolver(&[]), now());
            prop_assert!(!v.verified());
            prop_assert_eq!(v.checks.len(), 6);
        }

        #[test]
        fn replacing_any_part_of_an_issued_credential_is_never_valid(
            pick in any::<prop::sample::Index>(),
            replacement in arb_json(),
        ) {
            let original = issued();
            let mut paths = Vec::new();
            pointers(&original, String::new(), &mut paths);
            let path = &paths[pick.index(paths.len())];
            let mut doc = original.clone();
            let slot = doc.pointer_mut(path).unwrap();
            prop_assume!(*slot != replacement);
            // In JSON-LD a value and a one-element array of it state the same thing: an
            // eddsa-rdfc-2022 proof (over the RDF, not the JSON) rightly covers both forms.
            prop_assume!(replacement != Value::Array(vec![slot.clone()]));
            *slot = replacement;
            let v = verify_credential(&doc, &good_resolver(&[]), now());
            prop_assert!(!v.verified(), "{} replaced, still valid", path);
        }
    }
}
