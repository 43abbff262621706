//! Verification behind its doors: `POST /api/v1/verify` (tampering, revoked, expired, foreign
//! keys, unavailable status lists, bad input) and `credo verify` offline from saved files.

use crate::common::credentials::{self as cred, certify, check, credential_json, verify};
use crate::common::TestApp;
use credo::credentials::IssuerKey;
use serde_json::{json, Value};

/// Every scalar leaf of a JSON value with its pointer.
fn leaves(value: &Value, path: String, out: &mut Vec<(String, Value)>) {
    match value {
        Value::Object(map) => map
            .iter()
            .for_each(|(k, v)| leaves(v, format!("{path}/{k}"), out)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .for_each(|(i, v)| leaves(v, format!("{path}/{i}"), out)),
        scalar => out.push((path, scalar.clone())),
    }
}

fn mutate(value: &Value) -> Value {
    match value {
        Value::String(s) => json!(format!("{s}x")),
        Value::Bool(b) => json!(!b),
        Value::Number(n) => json!(n.as_i64().unwrap_or_default() + 1),
        _ => json!("x"),
    }
}

/// The vendor's current signing key, as the server holds it (for re-signing altered documents).
async fn vendor_key(app: &TestApp, slug: &str) -> IssuerKey {
    let ctx = app.state.issue_context();
    let now = app.state.clock.now();
    let slug = slug.to_string();
    app.state
        .tx(move |conn| {
            let vendor = credo::credentials::service::find_vendor_by_slug(conn, &slug)?;
            credo::credentials::service::signing_key(conn, &ctx, &vendor, now).map(|(_, key)| key)
        })
        .await
        .unwrap()
}

fn resign(vc: &Value, key: &IssuerKey, edit: impl FnOnce(&mut Value)) -> Value {
    let mut unsigned = vc.clone();
    unsigned.as_object_mut().unwrap().remove("proof");
    edit(&mut unsigned);
    key.sign(&unsigned, chrono::Utc::now()).unwrap()
}

#[actix_web::test]
async fn changing_any_single_value_of_an_issued_credential_fails_naming_the_check() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "git", 12, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    let vc = credential_json(&app, &certify(&app, &exam, &holder).await).await;
    let mut all = Vec::new();
    leaves(&vc, String::new(), &mut all);
    for prefix in [
        "/credentialSubject/id",
        "/credentialSubject/achievement/name",
        "/credentialSubject/achievement/criteria/narrative",
        "/issuer/name",
        "/validFrom",
        "/validUntil",
        "/proof/created",
        "/proof/proofValue",
    ] {
        assert!(all.iter().any(|(p, _)| p == prefix), "no leaf {prefix}");
    }
    for (path, value) in &all {
        let mut doc = vc.clone();
        *doc.pointer_mut(path).unwrap() = mutate(value);
        let answer = verify(&app, &doc).await;
        assert_eq!(answer["verified"], false, "{path} changed, still valid");
        let expected = match path.as_str() {
            "/@context/0" | "/type/0" => "format",
            "/issuer/id" | "/proof/verificationMethod" => "verification_method",
            _ => "proof",
        };
        assert_eq!(check(&answer, expected)["ok"], false, "{path}: {answer}");
        assert!(
            matches!(
                answer["status"].as_str(),
                Some("invalid" | "could_not_check")
            ),
            "{path}: {answer}"
        );
        assert!(answer.get("credential_id").is_none(), "{path}: {answer}");
    }
    app.stop().await;
}

#[actix_web::test]
async fn revoked_expired_and_foreign_keys() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "git", 1, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    let id = certify(&app, &exam, &holder).await;
    let kept = certify(
        &app,
        &cred::exam(&app, &vendor, "other", 1, None).await,
        &holder,
    )
    .await;
    let vc = credential_json(&app, &id).await;
    assert_eq!(verify(&app, &vc).await["status"], "valid");

    // Revoked, with the reason, from the API; revoking again keeps the first reason.
    let revoked = app
        .post(
            &format!("/api/v1/vendors/acme/credentials/{id}/revoke"),
            Some(&vendor.owner.token),
            json!({"reason": "exam content was leaked"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(revoked["status"], "revoked");
    assert_eq!(revoked["revocation_reason"], "exam content was leaked");
    let again = app
        .post(
            &format!("/api/v1/vendors/acme/credentials/{id}/revoke"),
            Some(&vendor.owner.token),
            json!({"reason": "another reason"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(again["revocation_reason"], "exam content was leaked");
    assert_eq!(again["revoked_at"], revoked["revoked_at"]);
    let answer = verify(&app, &vc).await;
    assert_eq!(answer["status"], "revoked", "{answer}");
    assert_eq!(answer["verified"], false);
    assert_eq!(answer["revocation_reason"], "exam content was leaked");
    assert_eq!(check(&answer, "status")["ok"], false);
    // The holder was told, once.
    let mail = app
        .smtp
        .wait_for(&holder.email, |m| m.subject.contains("revoked"))
        .await;
    assert!(mail.text.contains("exam content was leaked"));
    // Only the revoked credential's bit is set.
    let other = credential_json(&app, &kept).await;
    assert_eq!(verify(&app, &other).await["status"], "valid");

    // Past validUntil: expired (revoked outranks it, so check the other credential).
    app.state.clock.advance(chrono::Duration::days(40));
    let answer = verify(&app, &other).await;
    assert_eq!(answer["status"], "expired", "{answer}");
    assert_eq!(check(&answer, "validity")["ok"], false);
    assert!(check(&answer, "validity")["detail"]
        .as_str()
        .unwrap()
        .contains("expired at"));

    // Signed by a key the issuer's DID document does not list: invalid.
    let did = vc["issuer"]["id"].as_str().unwrap();
    let stranger = IssuerKey::new(did, ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]));
    let forged = resign(&vc, &stranger, |_| {});
    let answer = verify(&app, &forged).await;
    assert_eq!(answer["status"], "invalid", "{answer}");
    assert_eq!(check(&answer, "verification_method")["ok"], false);
    assert!(check(&answer, "verification_method")["detail"]
        .as_str()
        .unwrap()
        .contains("not listed"));
    // Another vendor's key claiming to sign for acme: its method is not in acme's document.
    let beta = cred::vendor(&app, "beta").await;
    let beta_exam = cred::exam(&app, &beta, "git", 12, None).await;
    certify(&app, &beta_exam, &holder).await;
    let beta_key = vendor_key(&app, "beta").await;
    let answer = verify(&app, &resign(&vc, &beta_key, |_| {})).await;
    assert_eq!(answer["status"], "invalid", "{answer}");
    assert_eq!(check(&answer, "verification_method")["ok"], false);
    app.stop().await;
}

#[actix_web::test]
async fn status_list_unavailable_or_remote_issuer_gives_could_not_check() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "git", 12, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    let vc = credential_json(&app, &certify(&app, &exam, &holder).await).await;
    let key = vendor_key(&app, "acme").await;

    // Genuinely signed, but its status list (on this instance) does not exist.
    let missing_list = resign(&vc, &key, |doc| {
        doc["credentialStatus"]["statusListCredential"] = json!(app.url("/status/acme/99"));
        doc["credentialStatus"]["id"] = json!(app.url("/status/acme/99#5"));
    });
    let answer = verify(&app, &missing_list).await;
    assert_eq!(answer["status"], "could_not_check", "{answer}");
    assert_eq!(answer["verified"], false);
    assert_eq!(check(&answer, "proof")["ok"], true);
    assert_eq!(check(&answer, "status")["ok"], false);

    // A list of another vendor of this instance is not the issuer's own.
    let beta = cred::vendor(&app, "beta").await;
    certify(
        &app,
        &cred::exam(&app, &beta, "git", 12, None).await,
        &holder,
    )
    .await;
    let borrowed = resign(&vc, &key, |doc| {
        doc["credentialStatus"]["statusListCredential"] = json!(app.url("/status/beta/1"));
        doc["credentialStatus"]["id"] = json!(app.url("/status/beta/1#5"));
    });
    let answer = verify(&app, &borrowed).await;
    assert_eq!(answer["status"], "could_not_check", "{answer}");
    assert_eq!(check(&answer, "status")["ok"], false);

    // An issuer hosted elsewhere while remote resolution is off: could not check, saying why.
    let remote_did = "did:web:issuer.example:issuers:acme";
    let remote_key = IssuerKey::new(
        remote_did,
        ed25519_dalek::SigningKey::from_bytes(&[4u8; 32]),
    );
    let remote = resign(&vc, &remote_key, |doc| {
        doc["issuer"]["id"] = json!(remote_did);
        doc["credentialStatus"]["statusListCredential"] =
            json!("https://issuer.example/status/acme/1");
        doc["credentialStatus"]["id"] = json!("https://issuer.example/status/acme/1#5");
    });
    let answer = verify(&app, &remote).await;
    assert_eq!(answer["status"], "could_not_check", "{answer}");
    assert!(check(&answer, "verification_method")["detail"]
        .as_str()
        .unwrap()
        .contains("resolve_remote_dids is off"));
    app.stop().await;
}

#[actix_web::test]
async fn remote_resolution_refuses_private_addresses_and_fails_closed() {
    let app = TestApp::builder()
        .env("CREDO_RESOLVE_REMOTE_DIDS", "true")
        .start()
        .await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "git", 12, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    let vc = credential_json(&app, &certify(&app, &exam, &holder).await).await;
    // Our own credentials still resolve locally.
    assert_eq!(verify(&app, &vc).await["status"], "valid");
    for remote_did in [
        "did:web:127.0.0.1%3A9:issuers:acme",
        "did:web:10.0.0.1:issuers:acme",
        "did:web:no-such-host.invalid:issuers:acme",
    ] {
        let key = IssuerKey::new(
            remote_did,
            ed25519_dalek::SigningKey::from_bytes(&[4u8; 32]),
        );
        let remote = resign(&vc, &key, |doc| doc["issuer"]["id"] = json!(remote_did));
        let started = std::time::Instant::now();
        let answer = verify(&app, &remote).await;
        assert!(started.elapsed() < std::time::Duration::from_secs(8));
        assert_eq!(
            answer["status"], "could_not_check",
            "{remote_did}: {answer}"
        );
        assert_eq!(check(&answer, "verification_method")["ok"], false);
    }
    app.stop().await;
}

#[actix_web::test]
async fn bad_input_gets_4xx_problems_never_5xx() {
    let app = TestApp::start().await;
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("empty body", Vec::new(), 400),
        ("not JSON", b"this is not json".to_vec(), 400),
        ("truncated JSON", b"{\"@context\": [".to_vec(), 400),
        ("over the limit", {
            let mut big = b"{\"pad\": \"".to_vec();
            big.extend(std::iter::repeat_n(b'a', 300 * 1024));
            big.extend_from_slice(b"\"}");
            big
        }, 413),
        ("10,000 levels of nesting", {
            let mut deep = "[".repeat(10_000).into_bytes();
            deep.extend("]".repeat(10_000).into_bytes());
            deep
        }, 400),
        ("10,000 nested objects", {
            let mut deep = "{\"a\":".repeat(10_000).into_bytes();
            deep.extend_from_slice(b"1");
            deep.extend("}".repeat(10_000).into_bytes());
            deep
        }, 400),
        ("an array", b"[1, 2]".to_vec(), 422),
        ("a string", b"\"credential\"".to_vec(), 422),
        ("a number", b"42".to_vec(), 422),
        ("wrong types", serde_json::to_vec(&json!({
            "@context": 5, "type": {"a": 1}, "issuer": 7, "credentialSubject": "me",
            "validFrom": 2024, "proof": {"type": 1, "proofValue": ["z"]}
        })).unwrap(), 422),
        ("a 1 MB proofValue", serde_json::to_vec(&json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "issuer": "did:web:example.com",
            "credentialSubject": {"id": "urn:x"},
            "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022",
                      "verificationMethod": "did:web:example.com#k", "proofPurpose": "assertionMethod",
                      "proofValue": format!("z{}", "2".repeat(1 << 20))}
        })).unwrap(), 413),
    ];
    for (what, body, status) in cases {
        let answer = app
            .post_raw("/api/v1/verify", None, "application/json", body)
            .await;
        assert_eq!(answer.status.as_u16(), status, "{what}: {}", answer.text);
        assert_eq!(
            answer.header("content-type").as_deref(),
            Some("application/problem+json"),
            "{what}"
        );
    }
    let answer = app
        .post_raw(
            "/api/v1/verify",
            None,
            "application/json",
            serde_json::to_vec(&json!({"@context": 5, "issuer": 7, "proof": {"type": 1}})).unwrap(),
        )
        .await
        .expect(422);
    let fields = answer.error_fields();
    for field in ["@context", "issuer", "proof.type"] {
        assert!(fields.contains(&field.to_string()), "{fields:?}");
    }
    // A long but under-the-limit proofValue is a quick "invalid", naming the proof.
    let answer = verify(
        &app,
        &json!({
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "type": ["VerifiableCredential"],
            "issuer": "did:web:example.com",
            "credentialSubject": {"id": "urn:x"},
            "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022",
                      "verificationMethod": "did:web:example.com#k", "proofPurpose": "assertionMethod",
                      "proofValue": format!("z{}", "2".repeat(200_000))}
        }),
    )
    .await;
    assert_eq!(answer["verified"], false);
    assert_eq!(check(&answer, "proof")["ok"], false);
    // An object that is not a credential is a verdict, never "valid".
    let answer = verify(&app, &json!({})).await;
    assert_eq!(answer["status"], "invalid");
    assert_eq!(check(&answer, "format")["ok"], false);
    app.stop().await;
}

fn run_verify(args: &[&std::path::Path]) -> (i32, String, String) {
    let out = std::process::Command::new(crate::common::credo_binary())
        .arg("verify")
        .args(args)
        .env_clear()
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[actix_web::test]
async fn credo_verify_offline_with_saved_did_document_and_status_list() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "git", 12, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    let id = certify(&app, &exam, &holder).await;
    let dir = tempfile::tempdir().unwrap();
    let save = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let vc = save(
        "credential.json",
        &app.get(&format!("/api/v1/credentials/{id}"), None)
            .await
            .text,
    );
    let did_text = app.get("/issuers/acme/did.json", None).await.text;
    let did = save("did.json", &did_text);
    let list = save("list.json", &app.get("/status/acme/1", None).await.text);
    // The server may go away: everything needed is in the files.
    app.stop().await;

    let (code, out, err) = run_verify(&[
        &vc,
        std::path::Path::new("--did"),
        &did,
        std::path::Path::new("--status-list"),
        &list,
    ]);
    assert_eq!(code, 0, "{out}{err}");
    for name in [
        "format",
        "proof",
        "verification_method",
        "controller",
        "validity",
        "status",
    ] {
        assert!(out.contains(&format!("[ok  ] {name}:")), "{out}");
    }
    assert!(out.contains("status: valid"), "{out}");

    // Without the status list it cannot be checked: not valid.
    let (code, out, _) = run_verify(&[&vc, std::path::Path::new("--did"), &did]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("status: could_not_check"), "{out}");

    // A DID document whose key is controlled by someone else: invalid, naming the controller.
    let mut foreign: Value = serde_json::from_str(&did_text).unwrap();
    foreign["verificationMethod"][0]["controller"] = json!("did:web:evil.example");
    let foreign = save("foreign.json", &foreign.to_string());
    let (code, out, _) = run_verify(&[
        &vc,
        std::path::Path::new("--did"),
        &foreign,
        std::path::Path::new("--status-list"),
        &list,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("[FAIL] controller:"), "{out}");
    assert!(out.contains("status: invalid"), "{out}");

    // A DID document without the signing key: invalid.
    let mut other: Value = serde_json::from_str(&did_text).unwrap();
    let stranger = IssuerKey::new(
        other["id"].as_str().unwrap(),
        ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]),
    );
    other = credo::credentials::did::did_document(
        other["id"].as_str().unwrap(),
        &[stranger.verifying_key()],
    );
    let other = save("other.json", &other.to_string());
    let (code, out, _) = run_verify(&[&vc, std::path::Path::new("--did"), &other]);
    assert_eq!(code, 1);
    assert!(out.contains("[FAIL] verification_method:"), "{out}");

    // Usage and I/O errors exit with 2.
    let (code, _, err) = run_verify(&[&dir.path().join("missing.json")]);
    assert_eq!(code, 2, "{err}");
    let (code, _, _) = run_verify(&[&vc, std::path::Path::new("--did")]);
    assert_eq!(code, 2);
    let garbage = save("garbage.json", "not json");
    let (code, _, err) = run_verify(&[&garbage]);
    assert_eq!(code, 2, "{err}");
}

#[actix_web::test]
async fn revoked_credential_verifies_as_revoked_offline_with_the_fresh_list() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "git", 12, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    let id = certify(&app, &exam, &holder).await;
    app.post(
        &format!("/api/v1/vendors/acme/credentials/{id}/revoke"),
        Some(&vendor.owner.token),
        json!({"reason": "fraud"}),
    )
    .await
    .expect(200);
    let dir = tempfile::tempdir().unwrap();
    let vc = dir.path().join("vc.json");
    std::fs::write(
        &vc,
        app.get(&format!("/api/v1/credentials/{id}"), None)
            .await
            .text,
    )
    .unwrap();
    let did = dir.path().join("did.json");
    std::fs::write(&did, app.get("/issuers/acme/did.json", None).await.text).unwrap();
    let list = dir.path().join("list.json");
    std::fs::write(&list, app.get("/status/acme/1", None).await.text).unwrap();
    let (code, out, _) = run_verify(&[
        &vc,
        std::path::Path::new("--did"),
        &did,
        std::path::Path::new("--status-list"),
        &list,
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("status: revoked"), "{out}");
    app.stop().await;
}
