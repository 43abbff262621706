//! The unsigned Open Badges 3.0 `OpenBadgeCredential` (DESIGN §5), using only terms defined by the
//! VC v2 and OB 3.0.3 contexts, and its issuance with an eddsa-jcs-2022 proof.

use chrono::{DateTime, Datelike, Utc};
use rand_core::CryptoRngCore;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use url::Url;
use uuid::Uuid;

use super::keys::IssuerKey;
use super::proof::ProofError;

pub const VC_V2_CONTEXT: &str = "https://www.w3.org/ns/credentials/v2";
pub const OB_V3_CONTEXT: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";

#[derive(Debug, thiserror::Error)]
pub enum BadgeError {
    #[error("{0} must not be empty")]
    Empty(&'static str),
    #[error("pass_percent is {0}; it must be between 0 and 100")]
    PassPercent(u8),
    #[error("valid_until must be after valid_from")]
    ValidityOrder,
    #[error("{0} must fall in the years 1970 to 9999")]
    YearRange(&'static str),
    #[error("credentialStatus must be a JSON object")]
    Status,
    #[error("issuer_did must be a DID (did:…)")]
    IssuerDid,
    #[error("the issuer key belongs to {key_did}, not to the credential's issuer {issuer_did}")]
    KeyIssuerMismatch { key_did: String, issuer_did: String },
    #[error(transparent)]
    Proof(#[from] ProofError),
}

/// Everything a credential states, decided by the caller (grading, exam, storage).
#[derive(Clone)]
pub struct BadgeInput {
    pub credential_id: Uuid,
    pub person_id: Uuid,
    /// Hashed with `salt`; never written in clear.
    pub holder_email: String,
    pub salt: String,
    /// Shown in clear as an `IdentityObject` with `identityType: "name"` when given.
    pub holder_name: Option<String>,
    pub issuer_did: String,
    pub issuer_name: String,
    pub issuer_url: Url,
    pub achievement_id: Url,
    pub achievement_name: String,
    pub achievement_description: String,
    /// The exam's badge image (OB 3.0 `Image`: `id` URL, `type: "Image"`).
    pub achievement_image: Option<Url>,
    pub pass_percent: u8,
    pub evidence_url: Url,
    pub evidence_name: String,
    pub evidence_description: String,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    /// A `credentialStatus` entry, normally from [`super::status_list::status_entry`].
    pub status: Value,
}

impl std::fmt::Debug for BadgeInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BadgeInput")
            .field("credential_id", &self.credential_id)
            .field("person_id", &self.person_id)
            .field("achievement_id", &self.achievement_id.as_str())
            .finish_non_exhaustive()
    }
}

/// A random salt for the hashed email identifier (16 bytes, hex).
pub fn new_salt(rng: &mut impl CryptoRngCore) -> String {
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    hex::encode(salt)
}

/// `sha256$` + hex(SHA-256(email + salt)), the email trimmed and lower-cased first, so an employer
/// who checks "does this credential belong to jane@example.com" gets the same answer for any case.
pub fn identity_hash(email: &str, salt: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(email.trim().to_lowercase().as_bytes());
    hasher.update(salt.as_bytes());
    format!("sha256${}", hex::encode(hasher.finalize()))
}

/// Builds the unsigned credential.
pub fn build_credential(input: &BadgeInput) -> Result<Value, BadgeError> {
    for (field, value) in [
        ("holder_email", &input.holder_email),
        ("salt", &input.salt),
        ("issuer_name", &input.issuer_name),
        ("achievement_name", &input.achievement_name),
        ("achievement_description", &input.achievement_description),
        ("evidence_name", &input.evidence_name),
        ("evidence_description", &input.evidence_description),
    ] {
        if value.trim().is_empty() {
            return Err(BadgeError::Empty(field));
        }
    }
    if !input.issuer_did.starts_with("did:") {
        return Err(BadgeError::IssuerDid);
    }
    if input.pass_percent > 100 {
        return Err(BadgeError::PassPercent(input.pass_percent));
    }
    check_year("valid_from", input.valid_from)?;
    if let Some(until) = input.valid_until {
        check_year("valid_until", until)?;
        if until <= input.valid_from {
            return Err(BadgeError::ValidityOrder);
        }
    }
    if !input.status.is_object() {
        return Err(BadgeError::Status);
    }

    let mut identifiers = vec![json!({
        "type": "IdentityObject",
        "identityHash": identity_hash(&input.holder_email, &input.salt),
        "identityType": "emailAddress",
        "hashed": true,
        "salt": input.salt,
    })];
    if let Some(name) = input.holder_name.as_deref().map(str::trim) {
        if !name.is_empty() {
            identifiers.push(json!({
                "type": "IdentityObject",
                "identityHash": name,
                "identityType": "name",
                "hashed": false,
            }));
        }
    }

    let mut credential = json!({
        "@context": [VC_V2_CONTEXT, OB_V3_CONTEXT],
        "id": format!("urn:uuid:{}", input.credential_id),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": input.achievement_name,
        "issuer": {
            "id": input.issuer_did,
            "type": ["Profile"],
            "name": input.issuer_name,
            "url": input.issuer_url.as_str(),
        },
        "validFrom": super::format_timestamp(input.valid_from),
        "credentialSubject": {
            "id": format!("urn:uuid:{}", input.person_id),
            "type": ["AchievementSubject"],
            "identifier": identifiers,
            "achievement": {
                "id": input.achievement_id.as_str(),
                "type": ["Achievement"],
                "achievementType": "Certification",
                "name": input.achievement_name,
                "description": input.achievement_description,
                "criteria": {
                    "narrative": format!(
                        "Awarded for passing the {} exam with a score at or above the pass mark of {}%.",
                        input.achievement_name, input.pass_percent
                    ),
                },
            },
        },
        "evidence": [{
            "id": input.evidence_url.as_str(),
            "type": ["Evidence"],
            "name": input.evidence_name,
            "description": input.evidence_description,
        }],
        "credentialStatus": input.status,
    });
    if let (Some(until), Some(map)) = (input.valid_until, credential.as_object_mut()) {
        map.insert("validUntil".into(), super::format_timestamp(until).into());
    }
    if let (Some(image), Some(achievement)) = (
        &input.achievement_image,
        credential["credentialSubject"]["achievement"].as_object_mut(),
    ) {
        achievement.insert(
            "image".into(),
            json!({ "id": image.as_str(), "type": "Image" }),
        );
    }
    Ok(credential)
}

/// A signed credential: the JSON to store byte for byte and serve, and its parsed form.
#[derive(Debug, Clone)]
pub struct SignedCredential {
    pub id: String,
    pub json: String,
    pub value: Value,
}

/// Builds and signs a credential with the issuer's key (which must belong to `input.issuer_did`).
pub fn issue_credential(
    input: &BadgeInput,
    key: &IssuerKey,
    created: DateTime<Utc>,
) -> Result<SignedCredential, BadgeError> {
    if key.did() != input.issuer_did {
        return Err(BadgeError::KeyIssuerMismatch {
            key_did: key.did().to_owned(),
            issuer_did: input.issuer_did.clone(),
        });
    }
    let value = key.sign(&build_credential(input)?, created)?;
    Ok(SignedCredential {
        id: format!("urn:uuid:{}", input.credential_id),
        json: value.to_string(),
        value,
    })
}

fn check_year(field: &'static str, at: DateTime<Utc>) -> Result<(), BadgeError> {
    if (1970..=9999).contains(&at.year()) {
        Ok(())
    } else {
        Err(BadgeError::YearRange(field))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::credentials::status_list::status_entry;
    use ed25519_dalek::SigningKey;
    use serde_json::Map;
    use std::collections::BTreeMap;

    pub(crate) const ISSUER_DID: &str = "did:web:credo.example:issuers:acme";

    pub(crate) fn sample_input() -> BadgeInput {
        BadgeInput {
            credential_id: Uuid::parse_str("0190f2a4-3c1e-7b2d-9f00-1a2b3c4d5e6f").unwrap(),
            person_id: Uuid::parse_str("0190f2a4-0000-7000-8000-000000000001").unwrap(),
            holder_email: "Jane.Doe@Example.com".into(),
            salt: "4f1c2b7a9e0d3c5b".into(),
            holder_name: Some("Jane Doe".into()),
            issuer_did: ISSUER_DID.into(),
            issuer_name: "Acme Cloud Academy".into(),
            issuer_url: Url::parse("https://acme.example/").unwrap(),
            achievement_id: Url::parse("https://credo.example/vendors/acme/exams/cloud-architect")
                .unwrap(),
            achievement_name: "Acme Certified Cloud Architect".into(),
            achievement_description:
                "Designs resilient, secure and cost-aware systems on the Acme \
                cloud: networking, identity, storage tiers, disaster recovery and observability."
                    .into(),
            achievement_image: Some(
                Url::parse("https://credo.example/badges/acme/cloud-architect.png").unwrap(),
            ),
            pass_percent: 70,
            evidence_url: Url::parse(
                "https://credo.example/attempts/0190f2a4-1111-7000-8000-000000000002",
            )
            .unwrap(),
            evidence_name: "Cloud Architect exam, version 3".into(),
            evidence_description: "Online exam attempt graded on 2025-03-01; score 84%.".into(),
            valid_from: "2025-03-01T10:20:30Z".parse().unwrap(),
            valid_until: Some("2028-03-01T10:20:30Z".parse().unwrap()),
            status: status_entry(
                &Url::parse("https://credo.example/status/acme/1").unwrap(),
                4711,
            ),
        }
    }

    pub(crate) fn sample_key() -> IssuerKey {
        IssuerKey::new(ISSUER_DID, SigningKey::from_bytes(&[11u8; 32]))
    }

    #[test]
    fn credential_has_the_designed_shape() {
        let vc = build_credential(&sample_input()).unwrap();
        assert_eq!(vc["@context"], json!([VC_V2_CONTEXT, OB_V3_CONTEXT]));
        assert_eq!(vc["id"], "urn:uuid:0190f2a4-3c1e-7b2d-9f00-1a2b3c4d5e6f");
        assert_eq!(
            vc["type"],
            json!(["VerifiableCredential", "OpenBadgeCredential"])
        );
        assert_eq!(vc["issuer"]["id"], ISSUER_DID);
        assert_eq!(vc["issuer"]["type"], json!(["Profile"]));
        assert_eq!(vc["validFrom"], "2025-03-01T10:20:30Z");
        assert_eq!(vc["validUntil"], "2028-03-01T10:20:30Z");
        let subject = &vc["credentialSubject"];
        assert_eq!(
            subject["id"],
            "urn:uuid:0190f2a4-0000-7000-8000-000000000001"
        );
        assert_eq!(subject["type"], json!(["AchievementSubject"]));
        assert_eq!(subject["achievement"]["achievementType"], "Certification");
        assert_eq!(
            subject["achievement"]["image"],
            json!({"id": "https://credo.example/badges/acme/cloud-architect.png", "type": "Image"})
        );
        assert!(subject["achievement"]["criteria"]["narrative"]
            .as_str()
            .unwrap()
            .contains("pass mark of 70%"));
        let email = &subject["identifier"][0];
        assert_eq!(email["identityType"], "emailAddress");
        assert_eq!(email["hashed"], true);
        let expected_hash = format!(
            "sha256${}",
            hex::encode(Sha256::digest(b"jane.doe@example.com4f1c2b7a9e0d3c5b"))
        );
        assert_eq!(email["identityHash"], expected_hash);
        assert_eq!(
            identity_hash(" JANE.DOE@example.COM ", "4f1c2b7a9e0d3c5b"),
            expected_hash
        );
        let name = &subject["identifier"][1];
        assert_eq!(name["identityType"], "name");
        assert_eq!(name["identityHash"], "Jane Doe");
        assert_eq!(name["hashed"], false);
        assert_eq!(vc["evidence"][0]["type"], json!(["Evidence"]));
        assert_eq!(vc["credentialStatus"]["statusListIndex"], "4711");
        assert!(!vc.to_string().contains("Jane.Doe@"));
    }

    #[test]
    fn optional_parts_are_left_out() {
        let mut input = sample_input();
        input.valid_until = None;
        input.holder_name = Some("  ".into());
        let vc = build_credential(&input).unwrap();
        assert!(vc.get("validUntil").is_none());
        assert_eq!(
            vc["credentialSubject"]["identifier"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn bad_input_is_refused() {
        let mut input = sample_input();
        input.achievement_name = " ".into();
        assert!(matches!(
            build_credential(&input),
            Err(BadgeError::Empty("achievement_name"))
        ));
        let mut input = sample_input();
        input.pass_percent = 101;
        assert!(matches!(
            build_credential(&input),
            Err(BadgeError::PassPercent(101))
        ));
        let mut input = sample_input();
        input.valid_until = Some(input.valid_from);
        assert!(matches!(
            build_credential(&input),
            Err(BadgeError::ValidityOrder)
        ));
        let mut input = sample_input();
        input.valid_until = Some("+10000-01-01T00:00:00Z".parse().unwrap());
        assert!(matches!(
            build_credential(&input),
            Err(BadgeError::YearRange("valid_until"))
        ));
        let mut input = sample_input();
        input.status = json!("x");
        assert!(matches!(build_credential(&input), Err(BadgeError::Status)));
        let mut input = sample_input();
        input.issuer_did = "https://acme.example".into();
        assert!(matches!(
            build_credential(&input),
            Err(BadgeError::IssuerDid)
        ));
        let other = IssuerKey::new("did:web:other.example", SigningKey::from_bytes(&[1u8; 32]));
        assert!(matches!(
            issue_credential(&sample_input(), &other, sample_input().valid_from),
            Err(BadgeError::KeyIssuerMismatch { .. })
        ));
    }

    #[test]
    fn issued_credential_signs_and_verifies() {
        let key = sample_key();
        let signed = issue_credential(
            &sample_input(),
            &key,
            "2025-03-01T10:20:31Z".parse().unwrap(),
        )
        .unwrap();
        assert_eq!(signed.id, "urn:uuid:0190f2a4-3c1e-7b2d-9f00-1a2b3c4d5e6f");
        let reparsed: Value = serde_json::from_str(&signed.json).unwrap();
        assert_eq!(reparsed, signed.value);
        assert_eq!(signed.value["proof"]["cryptosuite"], "eddsa-rdfc-2022");
        assert_eq!(signed.value["proof"]["created"], "2025-03-01T10:20:31Z");
        crate::credentials::proof::verify(&reparsed, &key.verifying_key()).unwrap();
    }

    #[test]
    fn no_floats_anywhere() {
        fn walk(v: &Value) {
            match v {
                Value::Number(n) => assert!(n.is_i64() || n.is_u64(), "float {n}"),
                Value::Array(a) => a.iter().for_each(walk),
                Value::Object(o) => o.values().for_each(walk),
                _ => {}
            }
        }
        let signed =
            issue_credential(&sample_input(), &sample_key(), sample_input().valid_from).unwrap();
        walk(&signed.value);
    }

    // ---- JSON-LD term check against the local VC v2 and OB 3.0.3 contexts ----

    const VC_CONTEXT_FILE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/credentials/contexts/credentials-v2.jsonld"
    ));
    const OB_CONTEXT_FILE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/credentials/contexts/ob-v3p0-context-3.0.3.json"
    ));

    /// Active term definitions: term → definition (a string IRI or an object).
    type Terms = BTreeMap<String, Value>;

    fn context_terms(file: &str) -> Terms {
        let doc: Value = serde_json::from_str(file).unwrap();
        doc["@context"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| !k.starts_with('@'))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    fn scoped(definition: &Value) -> Option<&Map<String, Value>> {
        definition.get("@context").and_then(Value::as_object)
    }

    fn apply(terms: &mut Terms, ctx: &Map<String, Value>) {
        for (k, v) in ctx {
            if !k.starts_with('@') {
                terms.insert(k.clone(), v.clone());
            }
        }
    }

    fn is_absolute_iri(s: &str) -> bool {
        Url::parse(s).is_ok()
    }

    /// Walks a node object the way a JSON-LD processor resolves terms: type-scoped contexts
    /// apply to the typed node only (they do not propagate), property-scoped contexts apply to
    /// the property's value and propagate. Records every key or type that resolves to nothing,
    /// and every `@id`-valued string that is not an absolute IRI.
    fn check_node(node: &Value, inherited: &Terms, path: &str, problems: &mut Vec<String>) {
        let Some(object) = node.as_object() else {
            return;
        };
        let mut active = inherited.clone();
        let types: Vec<&str> = match object.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ => vec![],
        };
        for t in &types {
            match inherited.get(*t) {
                Some(def) => {
                    if let Some(ctx) = scoped(def) {
                        apply(&mut active, ctx);
                    }
                }
                None if is_absolute_iri(t) => {}
                None => problems.push(format!("{path}/type: {t:?} is not a defined term")),
            }
        }
        for (key, value) in object {
            let key_path = format!("{path}/{key}");
            if key.starts_with('@') {
                continue;
            }
            let Some(def) = active.get(key) else {
                problems.push(format!("{key_path}: term {key:?} is not defined"));
                continue;
            };
            if key == "id" || key == "type" {
                if key == "id" && !value.as_str().is_some_and(is_absolute_iri) {
                    problems.push(format!("{key_path}: id is not an absolute IRI"));
                }
                continue;
            }
            // Values of a property see the context before the node's type-scoped context,
            // plus the property's own scoped context.
            let mut child = inherited.clone();
            if let Some(ctx) = scoped(def) {
                apply(&mut child, ctx);
            }
            let coerced_id = def.get("@type").and_then(Value::as_str) == Some("@id");
            let items: Vec<(String, &Value)> = match value {
                Value::Array(items) => items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| (format!("{key_path}/{i}"), item))
                    .collect(),
                other => vec![(key_path.clone(), other)],
            };
            for (item_path, item) in items {
                match item {
                    Value::Object(_) => check_node(item, &child, &item_path, problems),
                    Value::String(s) if coerced_id && !is_absolute_iri(s) => {
                        problems.push(format!("{item_path}: {s:?} is not an absolute IRI"))
                    }
                    Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
                        problems.push(format!("{item_path}: float {n}"))
                    }
                    _ => {}
                }
            }
        }
    }

    fn top_level_terms() -> Terms {
        let mut terms = context_terms(VC_CONTEXT_FILE);
        terms.extend(context_terms(OB_CONTEXT_FILE));
        terms
    }

    #[test]
    fn every_term_is_defined_by_vc_v2_or_ob_303() {
        let signed =
            issue_credential(&sample_input(), &sample_key(), sample_input().valid_from).unwrap();
        let mut problems = Vec::new();
        check_node(&signed.value, &top_level_terms(), "", &mut problems);
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn status_list_credential_uses_only_vc_v2_terms() {
        use crate::credentials::status_list::{status_list_credential, Bitstring};
        let list = status_list_credential(
            &Url::parse("https://credo.example/status/acme/1").unwrap(),
            ISSUER_DID,
            "Acme Cloud Academy",
            sample_input().valid_from,
            Some(300_000),
            &Bitstring::default(),
        )
        .unwrap();
        let signed = sample_key().sign(&list, sample_input().valid_from).unwrap();
        let mut problems = Vec::new();
        check_node(&signed, &context_terms(VC_CONTEXT_FILE), "", &mut problems);
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn term_check_catches_undefined_terms() {
        let mut vc = build_credential(&sample_input()).unwrap();
        vc["credentialSubject"]["name"] = json!("Jane");
        vc["credentialSubject"]["achievement"]["score"] = json!(84);
        vc["credentialSubject"]["achievement"]["criteria"]["type"] = json!("MadeUp");
        vc["evidence"][0]["id"] = json!("attempts/1");
        let mut problems = Vec::new();
        check_node(&vc, &top_level_terms(), "", &mut problems);
        let joined = problems.join("\n");
        // `name` is a top-level term in both contexts, so a subject name would pass JSON-LD
        // (but is not an OB AchievementSubject property; we carry it as an IdentityObject).
        assert!(!joined.contains("credentialSubject/name"), "{joined}");
        assert!(joined.contains("achievement/score"), "{joined}");
        assert!(joined.contains("criteria/type"), "{joined}");
        assert!(joined.contains("evidence/0/id"), "{joined}");
        assert_eq!(problems.len(), 3, "{joined}");
    }
}
