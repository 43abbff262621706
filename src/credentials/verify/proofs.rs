//! The proof, verification_method and controller checks, for every proof of a credential.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::outcome::{fail, not_run, pass, CheckName, Failure, Outcome, Verdict};
use super::resolve::{keys_of, Resolver};
use super::Form;
use crate::credentials::did::AssertionMethod;
use crate::credentials::proof::{ParsedProof, ProofError};
use crate::credentials::proof_cache::{CredentialDigest, ProofCache};
use crate::credentials::rdfc::RdfcError;

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
pub(super) fn check_signature(
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
        _ if !resolver.may_verify_uncached_proof() => {
            return ProofOutcome {
                method,
                controller,
                proof: not_run("the proof was not verified before"),
                keys: None,
                too_complex: false,
            }
        }
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
