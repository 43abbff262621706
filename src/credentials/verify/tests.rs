use super::outcome::CHECK_ORDER;
use super::*;
use crate::credentials::badge::tests::{sample_input, sample_key, ISSUER_DID};
use crate::credentials::badge::{build_credential, issue_credential};
use crate::credentials::did;
use crate::credentials::keys::IssuerKey;
use crate::credentials::status_list::{self, status_list_credential, Bitstring, REVOCATION};
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
    assert!(
        verify_status_list_credential(&good, LIST_URL, ISSUER_DID, &keys, REVOCATION, now())
            .is_ok()
    );
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
    let key = sample_key().with_cryptosuite(crate::credentials::proof::Cryptosuite::EddsaJcs2022);
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
