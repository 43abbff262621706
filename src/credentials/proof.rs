//! Data Integrity `DataIntegrityProof` with the `eddsa-rdfc-2022` and `eddsa-jcs-2022`
//! cryptosuites.
//!
//! hashData = SHA-256(canonical proof config) ‖ SHA-256(canonical document without `proof`); the
//! signature is Ed25519 over those 64 bytes, written as `proofValue = "z" + base58btc(sig)`. The
//! canonical form is JCS (RFC 8785) for eddsa-jcs-2022 and JSON-LD → RDFC-1.0 N-Quads for
//! eddsa-rdfc-2022 (`rdfc`). Verification follows the cryptosuite specs: the proof config is the
//! proof minus `proofValue`, read with the proof's `@context` when it has one (the document's
//! must then start with it), else the document's; the emitted rdfc proof carries no `@context`.
//! A proof set (an array of proofs) verifies only when every proof does.

use chrono::{DateTime, FixedOffset, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::jcs::{self, JcsError};
use super::multibase;
use super::rdfc::{self, RdfcError};

pub const PROOF_TYPE: &str = "DataIntegrityProof";
pub const ASSERTION_METHOD: &str = "assertionMethod";
/// A 64-byte signature is at most 88 base58 characters; anything much longer is refused unread.
const MAX_PROOF_VALUE_CHARS: usize = 100;
/// Proof sets larger than this are refused unread (each proof costs a canonicalization).
pub const MAX_PROOFS: usize = 4;

/// The cryptosuites Credo signs and verifies with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Cryptosuite {
    #[default]
    #[serde(rename = "eddsa-rdfc-2022")]
    EddsaRdfc2022,
    #[serde(rename = "eddsa-jcs-2022")]
    EddsaJcs2022,
}

impl Cryptosuite {
    pub const ALL: [Cryptosuite; 2] = [Cryptosuite::EddsaRdfc2022, Cryptosuite::EddsaJcs2022];

    pub fn as_str(self) -> &'static str {
        match self {
            Cryptosuite::EddsaRdfc2022 => "eddsa-rdfc-2022",
            Cryptosuite::EddsaJcs2022 => "eddsa-jcs-2022",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The canonical form of `map` minus its `without` member, read with `context`.
    fn canonicalize(
        self,
        map: &Map<String, Value>,
        without: &str,
        context: Option<&Value>,
    ) -> Result<Vec<u8>, ProofError> {
        Ok(match self {
            Cryptosuite::EddsaJcs2022 => jcs::canonicalize_object_view(map, without, context)?,
            Cryptosuite::EddsaRdfc2022 => {
                rdfc::canonicalize_document(map, context, without)?.into_bytes()
            }
        })
    }
}

impl std::fmt::Display for Cryptosuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("the document must be a JSON object")]
    DocumentNotObject,
    #[error("the document already has a proof")]
    AlreadySigned,
    #[error("the document has no proof")]
    MissingProof,
    #[error("proof must be an object or a non-empty array of at most {MAX_PROOFS} objects")]
    ProofNotObject,
    #[error("proof chains (previousProof) are not supported; a proof set is")]
    ProofChain,
    #[error("proof.{0} is missing")]
    MissingField(&'static str),
    #[error("proof.{field} must be {expected}")]
    FieldType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("proof.type is {0:?}; expected \"DataIntegrityProof\"")]
    UnsupportedProofType(String),
    #[error("proof.cryptosuite is {0:?}; expected \"eddsa-rdfc-2022\" or \"eddsa-jcs-2022\"")]
    UnsupportedCryptosuite(String),
    #[error("proof.proofPurpose is {0:?}; expected \"assertionMethod\"")]
    WrongProofPurpose(String),
    #[error("proof.{field} is not an RFC 3339 date-time with a time zone: {value:?}")]
    InvalidDateTime { field: &'static str, value: String },
    #[error("proof.proofValue is {0} characters long; an Ed25519 signature needs at most 88")]
    ProofValueTooLong(usize),
    #[error("proof.proofValue must be base58btc multibase (start with 'z')")]
    ProofValueNotBase58btc,
    #[error("proof.proofValue is not valid base58: {0}")]
    ProofValueBadBase58(String),
    #[error("proof.proofValue decodes to {0} bytes; an Ed25519 signature is 64")]
    SignatureLength(usize),
    #[error("proof.proofValue decodes to more than 64 bytes; an Ed25519 signature is 64")]
    SignatureTooLong,
    #[error("the document's @context does not start with the proof's @context")]
    ContextMismatch,
    #[error(transparent)]
    Jcs(#[from] JcsError),
    #[error(transparent)]
    Rdfc(#[from] RdfcError),
    #[error("the signature does not match the document and proof options")]
    SignatureMismatch,
}

/// Everything that goes into a signature, exposed so tests can compare each stage byte for byte
/// with the W3C vectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningInput {
    pub canonical_proof_config: Vec<u8>,
    pub canonical_document: Vec<u8>,
    pub proof_config_hash: [u8; 32],
    pub document_hash: [u8; 32],
}

impl SigningInput {
    /// proof config hash ‖ document hash: the 64 bytes Ed25519 signs.
    pub fn hash_data(&self) -> [u8; 64] {
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&self.proof_config_hash);
        out[32..].copy_from_slice(&self.document_hash);
        out
    }
}

/// The proof options we sign with. eddsa-jcs-2022 copies the document's `@context` into them;
/// eddsa-rdfc-2022 reads them with the document's `@context` but does not emit it.
pub fn proof_config(
    document: &Value,
    verification_method: &str,
    created: DateTime<Utc>,
    suite: Cryptosuite,
) -> Result<Map<String, Value>, ProofError> {
    let document = document.as_object().ok_or(ProofError::DocumentNotObject)?;
    let mut config = Map::new();
    config.insert("type".into(), PROOF_TYPE.into());
    config.insert("cryptosuite".into(), suite.as_str().into());
    config.insert("created".into(), super::format_timestamp(created).into());
    config.insert("verificationMethod".into(), verification_method.into());
    config.insert("proofPurpose".into(), ASSERTION_METHOD.into());
    if suite == Cryptosuite::EddsaJcs2022 {
        if let Some(context) = document.get("@context") {
            config.insert("@context".into(), context.clone());
        }
    }
    Ok(config)
}

/// Canonicalizes and hashes `document` (ignoring any `proof`) and `proof` (ignoring any
/// `proofValue`). Both are read with the proof's `@context` if it has one, else the document's.
pub fn signing_input(
    document: &Map<String, Value>,
    proof: &Map<String, Value>,
    suite: Cryptosuite,
) -> Result<SigningInput, ProofError> {
    let context = proof.get("@context").or_else(|| document.get("@context"));
    let canonical_proof_config = suite.canonicalize(proof, "proofValue", context)?;
    let canonical_document = suite.canonicalize(document, "proof", context)?;
    Ok(SigningInput {
        proof_config_hash: Sha256::digest(&canonical_proof_config).into(),
        document_hash: Sha256::digest(&canonical_document).into(),
        canonical_proof_config,
        canonical_document,
    })
}

/// Signs `document` and returns it with `proof` added.
pub fn sign(
    document: &Value,
    key: &SigningKey,
    verification_method: &str,
    created: DateTime<Utc>,
    suite: Cryptosuite,
) -> Result<Value, ProofError> {
    let map = document.as_object().ok_or(ProofError::DocumentNotObject)?;
    if map.contains_key("proof") {
        return Err(ProofError::AlreadySigned);
    }
    jcs::check_signable_numbers(document)?;
    let mut proof = proof_config(document, verification_method, created, suite)?;
    let input = signing_input(map, &proof, suite)?;
    let signature = key.sign(&input.hash_data());
    proof.insert(
        "proofValue".into(),
        multibase::encode_base58btc(&signature.to_bytes()).into(),
    );
    let mut signed = map.clone();
    signed.insert("proof".into(), Value::Object(proof));
    Ok(Value::Object(signed))
}

/// Verifies every proof of the document with `public_key`. Does not look at time or at who the
/// key belongs to; the verification engine does that.
pub fn verify(document: &Value, public_key: &VerifyingKey) -> Result<(), ProofError> {
    ParsedProof::parse_all(document)?
        .iter()
        .try_for_each(|proof| proof.verify(public_key))
}

/// A structurally checked proof, borrowed from its document.
#[derive(Debug)]
pub struct ParsedProof<'a> {
    document: &'a Map<String, Value>,
    proof: &'a Map<String, Value>,
    pub cryptosuite: Cryptosuite,
    pub verification_method: &'a str,
    pub created: Option<DateTime<FixedOffset>>,
    pub expires: Option<DateTime<FixedOffset>>,
    pub signature: Signature,
}

impl<'a> ParsedProof<'a> {
    /// Every proof of the document (one object, or a proof set); never panics on malformed input.
    pub fn parse_all(document: &'a Value) -> Result<Vec<Self>, ProofError> {
        let document = document.as_object().ok_or(ProofError::DocumentNotObject)?;
        let proofs: Vec<&Value> = match document.get("proof") {
            None => return Err(ProofError::MissingProof),
            Some(proof @ Value::Object(_)) => vec![proof],
            Some(Value::Array(items)) if !items.is_empty() && items.len() <= MAX_PROOFS => {
                items.iter().collect()
            }
            Some(_) => return Err(ProofError::ProofNotObject),
        };
        proofs
            .into_iter()
            .map(|proof| match proof {
                Value::Object(proof) => Self::parse_one(document, proof),
                _ => Err(ProofError::ProofNotObject),
            })
            .collect()
    }

    fn parse_one(
        document: &'a Map<String, Value>,
        proof: &'a Map<String, Value>,
    ) -> Result<Self, ProofError> {
        let proof_type = required_str(proof, "type")?;
        if proof_type != PROOF_TYPE {
            return Err(ProofError::UnsupportedProofType(proof_type.into()));
        }
        let cryptosuite = required_str(proof, "cryptosuite")?;
        let cryptosuite = Cryptosuite::parse(cryptosuite)
            .ok_or_else(|| ProofError::UnsupportedCryptosuite(cryptosuite.into()))?;
        if proof.contains_key("previousProof") {
            return Err(ProofError::ProofChain);
        }
        let purpose = required_str(proof, "proofPurpose")?;
        if purpose != ASSERTION_METHOD {
            return Err(ProofError::WrongProofPurpose(purpose.into()));
        }
        let verification_method = required_str(proof, "verificationMethod")?;
        let created = optional_datetime(proof, "created")?;
        let expires = optional_datetime(proof, "expires")?;
        let signature = decode_proof_value(required_str(proof, "proofValue")?)?;
        if let Some(proof_context) = proof.get("@context") {
            let document_context = document
                .get("@context")
                .ok_or(ProofError::ContextMismatch)?;
            let wanted = context_entries(proof_context);
            let have = context_entries(document_context);
            if have.len() < wanted.len() || have[..wanted.len()] != *wanted {
                return Err(ProofError::ContextMismatch);
            }
        }
        Ok(Self {
            document,
            proof,
            cryptosuite,
            verification_method,
            created,
            expires,
            signature,
        })
    }

    pub fn signing_input(&self) -> Result<SigningInput, ProofError> {
        signing_input(self.document, self.proof, self.cryptosuite)
    }

    pub fn verify(&self, public_key: &VerifyingKey) -> Result<(), ProofError> {
        let input = self.signing_input()?;
        public_key
            .verify_strict(&input.hash_data(), &self.signature)
            .map_err(|_| ProofError::SignatureMismatch)
    }
}

fn required_str<'a>(
    proof: &'a Map<String, Value>,
    field: &'static str,
) -> Result<&'a str, ProofError> {
    match proof.get(field) {
        None => Err(ProofError::MissingField(field)),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ProofError::FieldType {
            field,
            expected: "a string",
        }),
    }
}

fn optional_datetime(
    proof: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<DateTime<FixedOffset>>, ProofError> {
    match proof.get(field) {
        None => Ok(None),
        Some(Value::String(s)) => {
            DateTime::parse_from_rfc3339(s)
                .map(Some)
                .map_err(|_| ProofError::InvalidDateTime {
                    field,
                    value: s.chars().take(64).collect(),
                })
        }
        Some(_) => Err(ProofError::FieldType {
            field,
            expected: "a date-time string",
        }),
    }
}

fn decode_proof_value(value: &str) -> Result<Signature, ProofError> {
    if value.len() > MAX_PROOF_VALUE_CHARS {
        return Err(ProofError::ProofValueTooLong(value.len()));
    }
    let body = value
        .strip_prefix('z')
        .ok_or(ProofError::ProofValueNotBase58btc)?;
    let mut bytes = [0u8; 64];
    let len = bs58::decode(body)
        .onto(&mut bytes[..])
        .map_err(|e| match e {
            bs58::decode::Error::BufferTooSmall => ProofError::SignatureTooLong,
            other => ProofError::ProofValueBadBase58(other.to_string()),
        })?;
    if len != 64 {
        return Err(ProofError::SignatureLength(len));
    }
    Ok(Signature::from_bytes(&bytes))
}

/// A JSON-LD `@context` as a list of entries (a single string or object is a list of one).
fn context_entries(context: &Value) -> &[Value] {
    match context {
        Value::Array(items) => items,
        single => std::slice::from_ref(single),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const JCS: Cryptosuite = Cryptosuite::EddsaJcs2022;
    const RDFC: Cryptosuite = Cryptosuite::EddsaRdfc2022;

    macro_rules! vector {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/credentials/vc-di-eddsa/",
                $name
            ))
        };
    }

    fn vector_key() -> SigningKey {
        let pair: Value = serde_json::from_str(vector!("keyPair.json")).unwrap();
        multibase::decode_secret_multikey(pair["privateKeyMultibase"].as_str().unwrap()).unwrap()
    }

    fn vector_vm() -> String {
        let pk = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
        format!("did:key:{pk}#{pk}")
    }

    fn vector_created() -> DateTime<Utc> {
        "2023-02-24T23:36:38Z".parse().unwrap()
    }

    fn text(s: &str) -> &str {
        s.trim_end_matches(['\n', '\r'])
    }

    #[test]
    fn w3c_vector_every_intermediate_matches_byte_for_byte() {
        let unsigned: Value = serde_json::from_str(vector!("unsigned.json")).unwrap();
        let config = proof_config(&unsigned, &vector_vm(), vector_created(), JCS).unwrap();
        let expected_config: Value =
            serde_json::from_str(vector!("eddsa-jcs-2022/proofConfigJCS.json")).unwrap();
        assert_eq!(Value::Object(config.clone()), expected_config);

        let input = signing_input(unsigned.as_object().unwrap(), &config, JCS).unwrap();
        assert_eq!(
            std::str::from_utf8(&input.canonical_proof_config).unwrap(),
            text(vector!("eddsa-jcs-2022/proofCanonJCS.txt"))
        );
        assert_eq!(
            std::str::from_utf8(&input.canonical_document).unwrap(),
            text(vector!("eddsa-jcs-2022/canonDocJCS.txt"))
        );
        assert_eq!(
            hex::encode(input.proof_config_hash),
            text(vector!("eddsa-jcs-2022/proofHashJCS.txt"))
        );
        assert_eq!(
            hex::encode(input.document_hash),
            text(vector!("eddsa-jcs-2022/docHashJCS.txt"))
        );
        assert_eq!(
            hex::encode(input.hash_data()),
            text(vector!("eddsa-jcs-2022/combinedHashJCS.txt"))
        );
        let signature = vector_key().sign(&input.hash_data());
        assert_eq!(
            hex::encode(signature.to_bytes()),
            text(vector!("eddsa-jcs-2022/sigHexJCS.txt"))
        );
        assert_eq!(
            multibase::encode_base58btc(&signature.to_bytes()),
            text(vector!("eddsa-jcs-2022/sigBTC58JCS.txt"))
        );
    }

    #[test]
    fn sign_reproduces_signed_vector_and_it_verifies() {
        let unsigned: Value = serde_json::from_str(vector!("unsigned.json")).unwrap();
        let expected: Value =
            serde_json::from_str(vector!("eddsa-jcs-2022/signedJCS.json")).unwrap();
        let signed = sign(
            &unsigned,
            &vector_key(),
            &vector_vm(),
            vector_created(),
            JCS,
        )
        .unwrap();
        assert_eq!(signed, expected);

        let public = vector_key().verifying_key();
        verify(&expected, &public).unwrap();
        // The verifier's view of the signed vector reproduces the same intermediates.
        let parsed = ParsedProof::parse_all(&expected).unwrap().remove(0);
        assert_eq!(parsed.verification_method, vector_vm());
        assert_eq!(
            hex::encode(parsed.signing_input().unwrap().hash_data()),
            text(vector!("eddsa-jcs-2022/combinedHashJCS.txt"))
        );
    }

    #[test]
    fn signing_rejects_non_objects_existing_proofs_and_floats() {
        let key = vector_key();
        let at = vector_created();
        assert!(matches!(
            sign(&json!([1]), &key, "x", at, JCS),
            Err(ProofError::DocumentNotObject)
        ));
        assert!(matches!(
            sign(&json!({"proof": {}}), &key, "x", at, JCS),
            Err(ProofError::AlreadySigned)
        ));
        assert!(matches!(
            sign(&json!({"score": 0.5}), &key, "x", at, JCS),
            Err(ProofError::Jcs(JcsError::UnsafeNumber { .. }))
        ));
    }

    #[test]
    fn created_is_whole_seconds_utc() {
        let created: DateTime<Utc> = "2024-05-06T07:08:09.987654Z".parse().unwrap();
        let config = proof_config(&json!({}), "did:web:x#k", created, JCS).unwrap();
        assert_eq!(config["created"], "2024-05-06T07:08:09Z");
        assert!(!config.contains_key("@context"));
    }

    fn signed_vector() -> Value {
        serde_json::from_str(vector!("eddsa-jcs-2022/signedJCS.json")).unwrap()
    }

    fn with_proof_field(field: &str, value: Value) -> Value {
        let mut doc = signed_vector();
        doc["proof"][field] = value;
        doc
    }

    fn without_proof_field(field: &str) -> Value {
        let mut doc = signed_vector();
        doc["proof"].as_object_mut().unwrap().remove(field);
        doc
    }

    #[test]
    fn malformed_proofs_name_the_problem() {
        let key = vector_key().verifying_key();
        let check = |doc: Value| verify(&doc, &key).unwrap_err().to_string();

        assert_eq!(check(json!("nope")), "the document must be a JSON object");
        let mut no_proof = signed_vector();
        no_proof.as_object_mut().unwrap().remove("proof");
        assert_eq!(check(no_proof), "the document has no proof");
        let mut empty_set = signed_vector();
        empty_set["proof"] = json!([]);
        assert!(check(empty_set).contains("non-empty array"));
        let mut chain = signed_vector();
        chain["proof"]["previousProof"] = json!("urn:uuid:1");
        assert!(check(chain).contains("previousProof"));

        for field in [
            "type",
            "cryptosuite",
            "proofPurpose",
            "verificationMethod",
            "proofValue",
        ] {
            assert_eq!(
                check(without_proof_field(field)),
                format!("proof.{field} is missing")
            );
            assert_eq!(
                check(with_proof_field(field, json!(7))),
                format!("proof.{field} must be a string")
            );
        }
        assert!(
            check(with_proof_field("type", json!("Ed25519Signature2020")))
                .contains("Ed25519Signature2020")
        );
        assert!(
            check(with_proof_field("cryptosuite", json!("ecdsa-rdfc-2019")))
                .contains("ecdsa-rdfc-2019")
        );
        assert!(
            check(with_proof_field("proofPurpose", json!("authentication")))
                .contains("authentication")
        );
        assert!(check(with_proof_field("created", json!("yesterday"))).contains("created"));
        assert!(check(with_proof_field("created", json!(17))).contains("created"));

        let huge = format!("z{}", "2".repeat(1 << 20));
        assert_eq!(
            check(with_proof_field("proofValue", json!(huge))),
            format!(
                "proof.proofValue is {} characters long; an Ed25519 signature needs at most 88",
                (1 << 20) + 1
            )
        );
        assert!(check(with_proof_field("proofValue", json!("u3q2"))).contains("start with 'z'"));
        assert!(check(with_proof_field("proofValue", json!("z0OIl"))).contains("not valid base58"));
        let short = multibase::encode_base58btc(&[1u8; 63]);
        assert_eq!(
            check(with_proof_field("proofValue", json!(short))),
            "proof.proofValue decodes to 63 bytes; an Ed25519 signature is 64"
        );
        let long = multibase::encode_base58btc(&[1u8; 65]);
        assert!(check(with_proof_field("proofValue", json!(long)))
            .contains("an Ed25519 signature is 64"));
        let zero = multibase::encode_base58btc(&[0u8; 64]);
        assert_eq!(
            check(with_proof_field("proofValue", json!(zero))),
            "the signature does not match the document and proof options"
        );
    }

    #[test]
    fn context_must_start_with_proof_context() {
        let key = vector_key().verifying_key();
        let mut doc = signed_vector();
        doc["@context"] = json!(["https://www.w3.org/ns/credentials/v2"]);
        assert!(matches!(
            verify(&doc, &key),
            Err(ProofError::ContextMismatch)
        ));
        let mut doc = signed_vector();
        doc.as_object_mut().unwrap().remove("@context");
        assert!(matches!(
            verify(&doc, &key),
            Err(ProofError::ContextMismatch)
        ));
        let mut swapped = signed_vector();
        swapped["@context"] = json!([
            "https://www.w3.org/ns/credentials/examples/v2",
            "https://www.w3.org/ns/credentials/v2"
        ]);
        assert!(matches!(
            verify(&swapped, &key),
            Err(ProofError::ContextMismatch)
        ));
    }

    #[test]
    fn any_change_to_document_or_proof_options_breaks_the_signature() {
        let key = vector_key().verifying_key();
        let mut doc = signed_vector();
        doc["credentialSubject"]["alumniOf"] = json!("The School of Fakes");
        assert!(matches!(
            verify(&doc, &key),
            Err(ProofError::SignatureMismatch)
        ));
        let doc = with_proof_field("created", json!("2023-02-24T23:36:39Z"));
        assert!(matches!(
            verify(&doc, &key),
            Err(ProofError::SignatureMismatch)
        ));
        let other = SigningKey::from_bytes(&[3u8; 32]).verifying_key();
        assert!(matches!(
            verify(&signed_vector(), &other),
            Err(ProofError::SignatureMismatch)
        ));
    }

    fn rdfc_signed_vector() -> Value {
        serde_json::from_str(vector!("eddsa-rdfc-2022/signedDataInt.json")).unwrap()
    }

    #[test]
    fn w3c_rdfc_vector_every_intermediate_matches_byte_for_byte() {
        let unsigned: Value = serde_json::from_str(vector!("unsigned.json")).unwrap();
        let config = proof_config(&unsigned, &vector_vm(), vector_created(), RDFC).unwrap();
        // The vector shows the proof config with the document's @context, which eddsa-rdfc-2022
        // reads it with; the emitted proof carries none.
        let mut shown = config.clone();
        shown.insert("@context".into(), unsigned["@context"].clone());
        let expected_config: Value =
            serde_json::from_str(vector!("eddsa-rdfc-2022/proofConfigDataInt.json")).unwrap();
        assert_eq!(Value::Object(shown), expected_config);

        let input = signing_input(unsigned.as_object().unwrap(), &config, RDFC).unwrap();
        assert_eq!(
            std::str::from_utf8(&input.canonical_proof_config).unwrap(),
            vector!("eddsa-rdfc-2022/proofCanonDataInt.txt")
        );
        assert_eq!(
            std::str::from_utf8(&input.canonical_document).unwrap(),
            vector!("eddsa-rdfc-2022/canonDocDataInt.txt")
        );
        assert_eq!(
            hex::encode(input.proof_config_hash),
            text(vector!("eddsa-rdfc-2022/proofHashDataInt.txt"))
        );
        assert_eq!(
            hex::encode(input.document_hash),
            text(vector!("eddsa-rdfc-2022/docHashDataInt.txt"))
        );
        assert_eq!(
            hex::encode(input.hash_data()),
            text(vector!("eddsa-rdfc-2022/combinedHashDataInt.txt"))
        );
        let signature = vector_key().sign(&input.hash_data());
        assert_eq!(
            hex::encode(signature.to_bytes()),
            text(vector!("eddsa-rdfc-2022/sigHexDataInt.txt"))
        );
        assert_eq!(
            multibase::encode_base58btc(&signature.to_bytes()),
            text(vector!("eddsa-rdfc-2022/sigBTC58DataInt.txt"))
        );
    }

    #[test]
    fn rdfc_sign_reproduces_signed_vector_and_one_changed_value_breaks_it() {
        let unsigned: Value = serde_json::from_str(vector!("unsigned.json")).unwrap();
        let signed = sign(
            &unsigned,
            &vector_key(),
            &vector_vm(),
            vector_created(),
            RDFC,
        )
        .unwrap();
        assert_eq!(signed, rdfc_signed_vector());
        let public = vector_key().verifying_key();
        verify(&rdfc_signed_vector(), &public).unwrap();

        let mut changed = rdfc_signed_vector();
        changed["credentialSubject"]["alumniOf"] = json!("The School of Fakes");
        assert!(matches!(
            verify(&changed, &public),
            Err(ProofError::SignatureMismatch)
        ));
        let mut changed = rdfc_signed_vector();
        changed["proof"]["created"] = json!("2023-02-24T23:36:39Z");
        assert!(matches!(
            verify(&changed, &public),
            Err(ProofError::SignatureMismatch)
        ));
    }

    #[test]
    fn open_badges_rdfc_vector_canonical_forms_match_byte_for_byte() {
        // The Open Badges 3.0 eddsa-rdfc-2022 example; the vector gives its canonical forms.
        let document = json!({
            "@context": [
                "https://www.w3.org/ns/credentials/v2",
                "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
            ],
            "id": "http://example.com/credentials/3527",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": {
                "id": "https://example.edu/issuers/565049",
                "type": ["Profile"],
                "name": "Example Corp",
                "url": "https://www.imsglobal.org"
            },
            "validFrom": "2010-01-01T00:00:00Z",
            "name": "Teamwork Badge",
            "credentialSubject": {
                "id": "did:example:ebfeb1f712ebc6f1c276e12ec21",
                "type": ["AchievementSubject"],
                "achievement": {
                    "id": "https://example.com/achievements/21st-century-skills/teamwork",
                    "type": ["Achievement"],
                    "criteria": {
                        "narrative": "Team members are nominated for this badge by their peers and recognized upon review by Example Corp management."
                    },
                    "description": "This badge recognizes the development of the capacity to collaborate within a group environment.",
                    "name": "Teamwork"
                }
            }
        });
        let vm =
            "https://example.edu/issuers/565049#z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi";
        let created = "2010-01-01T19:23:24Z".parse().unwrap();
        let config = proof_config(&document, vm, created, RDFC).unwrap();
        let input = signing_input(document.as_object().unwrap(), &config, RDFC).unwrap();
        macro_rules! ob {
            ($name:literal) => {
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/fixtures/credentials/ob-v3p0-rdfc/",
                    $name
                ))
            };
        }
        assert_eq!(
            std::str::from_utf8(&input.canonical_document).unwrap(),
            ob!("document-canon.txt")
        );
        assert_eq!(
            std::str::from_utf8(&input.canonical_proof_config).unwrap(),
            ob!("proof-canon.txt")
        );
    }

    #[test]
    fn rdfc_proof_sets_verify_only_when_every_proof_does() {
        let key = vector_key();
        let unsigned: Value = serde_json::from_str(vector!("unsigned.json")).unwrap();
        let a = sign(&unsigned, &key, &vector_vm(), vector_created(), RDFC).unwrap();
        let b = sign(&unsigned, &key, &vector_vm(), vector_created(), JCS).unwrap();
        let mut set = unsigned.clone();
        set["proof"] = json!([a["proof"], b["proof"]]);
        verify(&set, &key.verifying_key()).unwrap();
        assert_eq!(ParsedProof::parse_all(&set).unwrap().len(), 2);
        set["proof"][1]["proofValue"] = a["proof"]["proofValue"].clone();
        assert!(matches!(
            verify(&set, &key.verifying_key()),
            Err(ProofError::SignatureMismatch)
        ));
    }

    #[test]
    fn rdfc_refuses_to_sign_undefined_terms() {
        let mut unsigned: Value = serde_json::from_str(vector!("unsigned.json")).unwrap();
        unsigned["@context"] = json!(["https://www.w3.org/ns/credentials/v2"]);
        let err = sign(
            &unsigned,
            &vector_key(),
            &vector_vm(),
            vector_created(),
            RDFC,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "terms not defined by the credential's contexts (JSON-LD safe mode): AlumniCredential, alumniOf"
        );
    }
}
