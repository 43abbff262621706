//! Data Integrity `DataIntegrityProof` with the `eddsa-jcs-2022` cryptosuite.
//!
//! hashData = SHA-256(JCS(proof config)) ‖ SHA-256(JCS(document without `proof`)); the signature
//! is Ed25519 over those 64 bytes, written as `proofValue = "z" + base58btc(sig)`. Verification
//! follows the cryptosuite spec: the proof config is the proof minus `proofValue`, the document's
//! `@context` must start with the proof's, and the proof's `@context` is what gets hashed.

use chrono::{DateTime, FixedOffset, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::jcs::{self, JcsError};
use super::multibase;

pub const PROOF_TYPE: &str = "DataIntegrityProof";
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";
pub const ASSERTION_METHOD: &str = "assertionMethod";
/// A 64-byte signature is at most 88 base58 characters; anything much longer is refused unread.
const MAX_PROOF_VALUE_CHARS: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("the document must be a JSON object")]
    DocumentNotObject,
    #[error("the document already has a proof; proof sets and chains are not supported")]
    AlreadySigned,
    #[error("the document has no proof")]
    MissingProof,
    #[error("proof must be a single object (proof sets and chains are not supported)")]
    ProofNotObject,
    #[error("proof.{0} is missing")]
    MissingField(&'static str),
    #[error("proof.{field} must be {expected}")]
    FieldType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("proof.type is {0:?}; expected \"DataIntegrityProof\"")]
    UnsupportedProofType(String),
    #[error("proof.cryptosuite is {0:?}; expected \"eddsa-jcs-2022\"")]
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
    #[error("the signature does not match the document and proof options")]
    SignatureMismatch,
}

/// Everything that goes into an eddsa-jcs-2022 signature, exposed so tests can compare each
/// stage byte for byte with the W3C vectors.
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

/// The proof options we sign with; `@context` is the document's own.
pub fn proof_config(
    document: &Value,
    verification_method: &str,
    created: DateTime<Utc>,
) -> Result<Map<String, Value>, ProofError> {
    let document = document.as_object().ok_or(ProofError::DocumentNotObject)?;
    let mut config = Map::new();
    config.insert("type".into(), PROOF_TYPE.into());
    config.insert("cryptosuite".into(), CRYPTOSUITE.into());
    config.insert("created".into(), super::format_timestamp(created).into());
    config.insert("verificationMethod".into(), verification_method.into());
    config.insert("proofPurpose".into(), ASSERTION_METHOD.into());
    if let Some(context) = document.get("@context") {
        config.insert("@context".into(), context.clone());
    }
    Ok(config)
}

/// Canonicalizes and hashes `document` (ignoring any `proof`) and `proof` (ignoring any
/// `proofValue`). The hashed `@context` of both is the proof's if it has one, else the document's.
pub fn signing_input(
    document: &Map<String, Value>,
    proof: &Map<String, Value>,
) -> Result<SigningInput, ProofError> {
    let context = proof.get("@context").or_else(|| document.get("@context"));
    let canonical_proof_config = jcs::canonicalize_object_view(proof, "proofValue", context)?;
    let canonical_document = jcs::canonicalize_object_view(document, "proof", context)?;
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
) -> Result<Value, ProofError> {
    let map = document.as_object().ok_or(ProofError::DocumentNotObject)?;
    if map.contains_key("proof") {
        return Err(ProofError::AlreadySigned);
    }
    jcs::check_signable_numbers(document)?;
    let mut proof = proof_config(document, verification_method, created)?;
    let input = signing_input(map, &proof)?;
    let signature = key.sign(&input.hash_data());
    proof.insert(
        "proofValue".into(),
        multibase::encode_base58btc(&signature.to_bytes()).into(),
    );
    let mut signed = map.clone();
    signed.insert("proof".into(), Value::Object(proof));
    Ok(Value::Object(signed))
}

/// Verifies the document's single eddsa-jcs-2022 proof with `public_key`. Does not look at time
/// or at who the key belongs to; the verification engine does that.
pub fn verify(document: &Value, public_key: &VerifyingKey) -> Result<(), ProofError> {
    ParsedProof::parse(document)?.verify(public_key)
}

/// A structurally checked proof, borrowed from its document.
#[derive(Debug)]
pub struct ParsedProof<'a> {
    document: &'a Map<String, Value>,
    proof: &'a Map<String, Value>,
    pub verification_method: &'a str,
    pub created: Option<DateTime<FixedOffset>>,
    pub expires: Option<DateTime<FixedOffset>>,
    pub signature: Signature,
}

impl<'a> ParsedProof<'a> {
    /// Checks every proof field we rely on; never panics on malformed input.
    pub fn parse(document: &'a Value) -> Result<Self, ProofError> {
        let document = document.as_object().ok_or(ProofError::DocumentNotObject)?;
        let proof = match document.get("proof") {
            None => return Err(ProofError::MissingProof),
            Some(Value::Object(proof)) => proof,
            Some(_) => return Err(ProofError::ProofNotObject),
        };
        let proof_type = required_str(proof, "type")?;
        if proof_type != PROOF_TYPE {
            return Err(ProofError::UnsupportedProofType(proof_type.into()));
        }
        let cryptosuite = required_str(proof, "cryptosuite")?;
        if cryptosuite != CRYPTOSUITE {
            return Err(ProofError::UnsupportedCryptosuite(cryptosuite.into()));
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
            verification_method,
            created,
            expires,
            signature,
        })
    }

    pub fn signing_input(&self) -> Result<SigningInput, ProofError> {
        signing_input(self.document, self.proof)
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
        let config = proof_config(&unsigned, &vector_vm(), vector_created()).unwrap();
        let expected_config: Value =
            serde_json::from_str(vector!("eddsa-jcs-2022/proofConfigJCS.json")).unwrap();
        assert_eq!(Value::Object(config.clone()), expected_config);

        let input = signing_input(unsigned.as_object().unwrap(), &config).unwrap();
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
        let signed = sign(&unsigned, &vector_key(), &vector_vm(), vector_created()).unwrap();
        assert_eq!(signed, expected);

        let public = vector_key().verifying_key();
        verify(&expected, &public).unwrap();
        // The verifier's view of the signed vector reproduces the same intermediates.
        let parsed = ParsedProof::parse(&expected).unwrap();
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
            sign(&json!([1]), &key, "x", at),
            Err(ProofError::DocumentNotObject)
        ));
        assert!(matches!(
            sign(&json!({"proof": {}}), &key, "x", at),
            Err(ProofError::AlreadySigned)
        ));
        assert!(matches!(
            sign(&json!({"score": 0.5}), &key, "x", at),
            Err(ProofError::Jcs(JcsError::UnsafeNumber { .. }))
        ));
    }

    #[test]
    fn created_is_whole_seconds_utc() {
        let created: DateTime<Utc> = "2024-05-06T07:08:09.987654Z".parse().unwrap();
        let config = proof_config(&json!({}), "did:web:x#k", created).unwrap();
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
        let mut proof_set = signed_vector();
        proof_set["proof"] = json!([proof_set["proof"].clone()]);
        assert!(check(proof_set).contains("single object"));

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
            check(with_proof_field("cryptosuite", json!("eddsa-rdfc-2022")))
                .contains("eddsa-rdfc-2022")
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
}
