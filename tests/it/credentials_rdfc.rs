//! eddsa-rdfc-2022: new vendors issue it (credentials and status lists), an independent
//! implementation (PyLD + cryptography, offline, same contexts) accepts what we issue, the vendor
//! setting switches suites without breaking issued credentials, the W3C vector through the API
//! and the CLI, safe mode at verify, and the poison-graph bound.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::credentials::{self as cred, certify, check, credential_json, verify};
use crate::common::{csrf_token_in, TestApp};
use serde_json::{json, Value};

fn vector(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/credentials/vc-di-eddsa")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs the independent verifier; (exit code, its JSON answer).
fn python_verify(document: &Path, did_document: &Path) -> (i32, Value) {
    let script =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/verify_eddsa_rdfc.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(document)
        .arg(did_document)
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let answer = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!(
            "verifier output is not JSON ({e}): {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), answer)
}

#[actix_web::test]
async fn new_vendors_issue_rdfc_credentials_and_lists_an_independent_verifier_accepts() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "git", 12, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    let vc = credential_json(&app, &certify(&app, &exam, &holder).await).await;
    assert_eq!(vc["proof"]["cryptosuite"], "eddsa-rdfc-2022");
    assert!(vc["proof"].get("@context").is_none(), "{vc}");

    let answer = verify(&app, &vc).await;
    assert_eq!(answer["status"], "valid", "{answer}");
    assert_eq!(answer["issuer_hosted_here"], true);
    assert_eq!(
        check(&answer, "proof")["detail"],
        "eddsa-rdfc-2022 signature verified"
    );
    let list = app.get("/status/acme/1", None).await.expect(200).json();
    assert_eq!(list["proof"]["cryptosuite"], "eddsa-rdfc-2022");

    let dir = tempfile::tempdir().unwrap();
    let save = |name: &str, value: &Value| {
        let path = dir.path().join(name);
        std::fs::write(&path, value.to_string()).unwrap();
        path
    };
    let did = app
        .get("/issuers/acme/did.json", None)
        .await
        .expect(200)
        .json();
    let did = save("did.json", &did);
    for (name, document) in [("credential.json", &vc), ("list.json", &list)] {
        let (code, answer) = python_verify(&save(name, document), &did);
        assert_eq!(code, 0, "{name}: {answer}");
        assert_eq!(answer["verified"], true, "{name}: {answer}");
    }
    // The independent verifier does fail: one changed value.
    let mut tampered = vc.clone();
    tampered["credentialSubject"]["achievement"]["name"] = json!("Something else");
    let (code, answer) = python_verify(&save("tampered.json", &tampered), &did);
    assert_eq!(code, 1, "{answer}");
    assert_eq!(answer["verified"], false);
    app.stop().await;
}

#[actix_web::test]
async fn vendor_setting_picks_the_suite_and_issued_credentials_keep_verifying() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let path = "/api/v1/vendors/acme/credential-settings";
    let owner = Some(vendor.owner.token.as_str());
    let settings = app.get(path, owner).await.expect(200).json();
    assert_eq!(settings, json!({"cryptosuite": "eddsa-rdfc-2022"}));

    let exam = cred::exam(&app, &vendor, "git", 12, None).await;
    let first = app.user("first@example.org", "First").await;
    let rdfc = credential_json(&app, &certify(&app, &exam, &first).await).await;

    // Only owners; only known suites.
    let examiner = app.user("examiner@example.org", "Examiner").await;
    app.add_member("acme", &vendor.owner, &examiner, "examiner")
        .await;
    app.put(
        path,
        Some(&examiner.token),
        json!({"cryptosuite": "eddsa-jcs-2022"}),
    )
    .await
    .expect(403);
    let refused = app
        .put(path, owner, json!({"cryptosuite": "ecdsa-rdfc-2019"}))
        .await
        .expect(422);
    assert_eq!(refused.error_fields(), vec!["cryptosuite"]);
    let set = app
        .put(path, owner, json!({"cryptosuite": "eddsa-jcs-2022"}))
        .await
        .expect(200)
        .json();
    assert_eq!(set["cryptosuite"], "eddsa-jcs-2022");
    assert_eq!(app.get(path, owner).await.expect(200).json(), set);

    let second = app.user("second@example.org", "Second").await;
    let jcs = credential_json(&app, &certify(&app, &exam, &second).await).await;
    assert_eq!(jcs["proof"]["cryptosuite"], "eddsa-jcs-2022");
    for vc in [&rdfc, &jcs] {
        let answer = verify(&app, vc).await;
        assert_eq!(answer["status"], "valid", "{answer}");
    }

    // A proof set: both proofs must verify.
    let mut set = rdfc.clone();
    set["proof"] = json!([rdfc["proof"], rdfc["proof"]]);
    assert_eq!(verify(&app, &set).await["status"], "valid");
    set["proof"][1]["proofValue"] = jcs["proof"]["proofValue"].clone();
    let answer = verify(&app, &set).await;
    assert_eq!(answer["status"], "invalid", "{answer}");
    assert!(check(&answer, "proof")["detail"]
        .as_str()
        .unwrap()
        .starts_with("proof 2:"));
    app.stop().await;
}

#[actix_web::test]
async fn vendor_console_shows_and_saves_the_cryptosuite() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let (browser, csrf) = app.browser_session(&vendor.owner.email).await;
    let page = browser
        .get(app.url("/vendor/acme"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"<option value="eddsa-rdfc-2022" selected>"#),
        "{page}"
    );
    let saved = browser
        .post(app.url("/vendor/acme/credential-settings"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("cryptosuite", "eddsa-jcs-2022"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    let page = browser
        .get(app.url("/vendor/acme"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(r#"<option value="eddsa-jcs-2022" selected>"#),
        "{page}"
    );
    app.stop().await;
}

#[actix_web::test]
async fn w3c_rdfc_vector_verifies_through_the_api_and_the_cli() {
    let app = TestApp::start().await;
    let signed = vector("eddsa-rdfc-2022/signedDataInt.json");
    let answer = verify(&app, &signed).await;
    // The signature verifies with the did:key the proof names. The vector's issuer is an https
    // URL, not a DID, so nothing binds the key to it: valid (as the W3C and Open Badges
    // verifiers report it), with the unconfirmed binding said in the check and as a warning.
    assert_eq!(check(&answer, "proof")["ok"], true, "{answer}");
    assert_eq!(
        check(&answer, "proof")["detail"],
        "eddsa-rdfc-2022 signature verified"
    );
    assert_eq!(check(&answer, "verification_method")["ok"], true);
    assert_eq!(check(&answer, "controller")["ok"], true);
    let controller = check(&answer, "controller")["detail"].as_str().unwrap();
    assert!(
        controller
            .starts_with("unconfirmed: the issuer \"https://vc.example/issuers/5678\" is a URL"),
        "{controller}"
    );
    assert_eq!(answer["warnings"], json!([controller]));
    assert_eq!(answer["status"], "valid");
    assert_eq!(answer["verified"], true);
    assert_eq!(answer["issuer_hosted_here"], false);

    // The verify page says the same in words.
    let browser = app.browser();
    let form = browser.get(app.url("/verify")).send().await.unwrap();
    let token = csrf_token_in(&form.text().await.unwrap());
    let page = browser
        .post(app.url("/verify"))
        .form(&[("csrf_token", token), ("credential", signed.to_string())])
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("status-banner valid"), "{page}");
    assert!(page.contains("This credential was not issued on this site."));
    assert!(
        page.contains("<p class=\"verify-warning\"><strong>Note:</strong> unconfirmed: the issuer"),
        "{page}"
    );

    let mut changed = signed.clone();
    changed["credentialSubject"]["alumniOf"] = json!("The School of Fakes");
    let answer = verify(&app, &changed).await;
    assert_eq!(answer["status"], "invalid");
    assert_eq!(
        check(&answer, "proof")["detail"],
        "the signature does not match the document and proof options"
    );

    let dir = tempfile::tempdir().unwrap();
    for (name, doc, verified) in [
        ("signed.json", &signed, true),
        ("changed.json", &changed, false),
    ] {
        let file = dir.path().join(name);
        std::fs::write(&file, doc.to_string()).unwrap();
        let out = std::process::Command::new(crate::common::credo_binary())
            .args(["verify", "--json"])
            .arg(&file)
            .env_clear()
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(if verified { 0 } else { 1 }));
        let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(check(&answer, "proof")["ok"], verified, "{answer}");
        assert_eq!(answer["status"], if verified { "valid" } else { "invalid" });
    }
    app.stop().await;
}

#[actix_web::test]
async fn safe_mode_names_undefined_terms_and_unknown_contexts_at_verify() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "git", 12, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    let vc = credential_json(&app, &certify(&app, &exam, &holder).await).await;

    // A term the contexts do not define would be dropped by JSON-LD, so the signature would not
    // cover it: refused by name.
    let mut added = vc.clone();
    added["credentialSubject"]["favouriteColour"] = json!("blue");
    let answer = verify(&app, &added).await;
    assert_eq!(answer["status"], "invalid", "{answer}");
    assert_eq!(
        check(&answer, "proof")["detail"],
        "terms not defined by the credential's contexts (JSON-LD safe mode): favouriteColour"
    );
    // A context with no local copy is never fetched: could_not_check.
    let mut unknown = vc.clone();
    unknown["@context"]
        .as_array_mut()
        .unwrap()
        .push(json!("https://contexts.example/extra.jsonld"));
    let answer = verify(&app, &unknown).await;
    assert_eq!(answer["status"], "could_not_check", "{answer}");
    assert!(check(&answer, "proof")["detail"]
        .as_str()
        .unwrap()
        .contains("https://contexts.example/extra.jsonld"));
    app.stop().await;
}

#[actix_web::test]
async fn poison_graph_credential_is_refused_quickly() {
    let app = TestApp::start().await;
    // Ten blank nodes, each linked to all ten (W3C rdf-canon test074c as a credential).
    let nodes: Vec<Value> = (0..10)
        .map(|i| {
            let links: Vec<Value> = (0..10).map(|j| json!({"id": format!("_:b{j}")})).collect();
            json!({"id": format!("_:b{i}"), "knows": links})
        })
        .collect();
    let key = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
    let did = format!("did:key:{key}");
    let poison = json!({
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "type": ["VerifiableCredential"],
        "issuer": did,
        "credentialSubject": nodes,
        "proof": {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "verificationMethod": format!("{did}#{key}"),
            "proofPurpose": "assertionMethod",
            "proofValue": format!("z{}", "1".repeat(64)),
        }
    });
    // A baseline in the same test: a well-formed credential's verification.
    let baseline = vector("eddsa-rdfc-2022/signedDataInt.json");
    let started = Instant::now();
    verify(&app, &baseline).await;
    let normal = started.elapsed();

    let started = Instant::now();
    let refused = app.post("/api/v1/verify", None, poison).await.expect(422);
    let elapsed = started.elapsed();
    assert!(
        refused.text.contains("too complex to canonicalize"),
        "{}",
        refused.text
    );
    assert!(
        elapsed < Duration::from_millis(100) + normal,
        "refusal took {elapsed:?}; a normal verification {normal:?}"
    );
    app.stop().await;
}
