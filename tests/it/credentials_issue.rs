//! Issuing credentials (as grading calls it), issuer keys and DID documents, status lists,
//! superseding, key rotation, expiry reminders and the referral-tier query.

use crate::common::credentials::{self as cred, certify, check, credential_json, verify};
use crate::common::{job_pass, TestApp};
use credo::audit::Actor;
use credo::credentials::{self, service, IssueRequest, PreparedCredential};
use serde_json::json;

#[actix_web::test]
async fn issued_credential_has_the_designed_shape_is_mailed_and_verifies() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "cloud-architect", 24, None).await;
    let holder = app.user("Jane.Doe@Example.org", "Jane Doe").await;
    let now = app.state.clock.now();
    let attempt = cred::passed_attempt(&app, &exam, &holder.id, now).await;
    let id = cred::issue_attempt(&app, cred::request(&exam, &attempt, &holder.id)).await;

    // Idempotent per attempt.
    let again = cred::issue_attempt(&app, cred::request(&exam, &attempt, &holder.id)).await;
    assert_eq!(again, id);

    let vc = credential_json(&app, &id).await;
    let did = format!(
        "did:web:127.0.0.1%3A{}:issuers:acme",
        app.base.rsplit(':').next().unwrap()
    );
    assert_eq!(
        vc["@context"],
        json!([
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
        ])
    );
    assert_eq!(vc["id"], format!("urn:uuid:{id}"));
    assert_eq!(
        vc["type"],
        json!(["VerifiableCredential", "OpenBadgeCredential"])
    );
    assert_eq!(vc["issuer"]["id"], did.as_str());
    assert_eq!(vc["issuer"]["type"], json!(["Profile"]));
    assert_eq!(vc["issuer"]["name"], "acme Inc.");
    let subject = &vc["credentialSubject"];
    assert_eq!(subject["id"], format!("urn:uuid:{}", holder.id));
    let achievement = &subject["achievement"];
    assert_eq!(achievement["achievementType"], "Certification");
    assert_eq!(
        achievement["id"],
        app.url("/exams/acme/cloud-architect").as_str()
    );
    assert!(achievement["criteria"]["narrative"]
        .as_str()
        .unwrap()
        .contains("pass mark of 70%"));
    let email = &subject["identifier"][0];
    assert_eq!(email["identityType"], "emailAddress");
    assert_eq!(email["hashed"], true);
    let salt = email["salt"].as_str().unwrap();
    assert_eq!(
        email["identityHash"],
        credo::credentials::badge::identity_hash("jane.doe@example.org", salt)
    );
    assert_eq!(subject["identifier"][1]["identityHash"], "Jane Doe");
    assert!(!vc.to_string().contains("jane.doe@example.org"));
    assert_eq!(
        vc["evidence"][0]["id"],
        app.url(&format!("/attempts/{attempt}/result")).as_str()
    );
    assert!(vc["evidence"][0]["description"]
        .as_str()
        .unwrap()
        .contains("84.5%"));
    // validFrom is the graded time in whole seconds; validUntil 24 months later.
    let from = vc["validFrom"].as_str().unwrap();
    assert_eq!(from, credo::clock::rfc3339_seconds(now));
    let until = vc["validUntil"].as_str().unwrap();
    assert_eq!(
        until[..4].parse::<i32>().unwrap(),
        from[..4].parse::<i32>().unwrap() + 2
    );
    assert_eq!(&until[4..], &from[4..]);
    let status = &vc["credentialStatus"];
    assert_eq!(status["type"], "BitstringStatusListEntry");
    assert_eq!(status["statusPurpose"], "revocation");
    assert_eq!(
        status["statusListCredential"],
        app.url("/status/acme/1").as_str()
    );
    let index: u64 = status["statusListIndex"].as_str().unwrap().parse().unwrap();
    assert!(index < 131_072);
    assert_eq!(vc["proof"]["cryptosuite"], "eddsa-rdfc-2022");
    assert!(vc["proof"]["verificationMethod"]
        .as_str()
        .unwrap()
        .starts_with(&format!("{did}#z6Mk")));

    // The JSON served is the exact stored text (not a re-serialization).
    let raw = app.get(&format!("/api/v1/credentials/{id}"), None).await;
    assert_eq!(
        raw.header("content-type").as_deref(),
        Some("application/json")
    );
    let download = app
        .get(&format!("/api/v1/credentials/{id}?download=1"), None)
        .await
        .expect(200);
    assert_eq!(download.text, raw.text);
    assert!(download
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment"));
    app.get("/api/v1/credentials/nope", None).await.expect(404);

    // The holder got the mail with the page link and the JSON attached.
    let mail = app
        .smtp
        .wait_for(&holder.email, |m| m.subject.contains("certificate"))
        .await;
    assert!(
        mail.text.contains(&app.url(&format!("/c/{id}"))),
        "{}",
        mail.text
    );
    let (name, content) = &mail.attachments[0];
    assert!(name.ends_with(".json"), "{name}");
    assert_eq!(std::str::from_utf8(content).unwrap(), raw.text);

    let answer = verify(&app, &vc).await;
    assert_eq!(answer["verified"], true, "{answer}");
    assert_eq!(answer["status"], "valid");
    assert_eq!(answer["credential_id"], id.as_str());
    for name in [
        "format",
        "proof",
        "verification_method",
        "controller",
        "validity",
        "status",
    ] {
        assert_eq!(check(&answer, name)["ok"], true, "{name}: {answer}");
    }
    app.stop().await;
}

#[actix_web::test]
async fn did_document_and_status_list_are_served_with_cache_headers() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "git", 0, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    let id = certify(&app, &exam, &holder).await;
    let vc = credential_json(&app, &id).await;
    assert!(vc.get("validUntil").is_none(), "validity 0 = no expiry");

    let answer = app.get("/issuers/acme/did.json", None).await.expect(200);
    assert!(answer
        .header("content-type")
        .unwrap()
        .starts_with("application/did+json"));
    assert!(answer.header("cache-control").unwrap().contains("max-age="));
    assert_eq!(
        answer.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    let doc = answer.json();
    let did = vc["issuer"]["id"].as_str().unwrap();
    assert_eq!(doc["id"], did);
    assert_eq!(
        doc["@context"],
        json!([
            "https://www.w3.org/ns/did/v1",
            "https://w3id.org/security/multikey/v1"
        ])
    );
    let method = &doc["verificationMethod"][0];
    assert_eq!(method["type"], "Multikey");
    assert_eq!(method["controller"], did);
    assert!(method["publicKeyMultibase"]
        .as_str()
        .unwrap()
        .starts_with("z6Mk"));
    assert_eq!(doc["assertionMethod"], json!([method["id"].clone()]));
    assert_eq!(method["id"], vc["proof"]["verificationMethod"]);
    app.get("/issuers/nobody/did.json", None).await.expect(404);

    let list = app.get("/status/acme/1", None).await.expect(200);
    assert_eq!(
        list.header("cache-control").as_deref(),
        Some("public, max-age=300")
    );
    let list = list.json();
    assert_eq!(list["id"], app.url("/status/acme/1").as_str());
    assert_eq!(
        list["type"],
        json!(["VerifiableCredential", "BitstringStatusListCredential"])
    );
    assert_eq!(list["issuer"]["id"], did);
    assert_eq!(list["credentialSubject"]["type"], "BitstringStatusList");
    assert_eq!(list["credentialSubject"]["ttl"], 300_000);
    let bits = credo::credentials::status_list::Bitstring::decode(
        list["credentialSubject"]["encodedList"].as_str().unwrap(),
    )
    .unwrap();
    assert!(bits.bit_len() >= 131_072);
    assert_eq!(
        list["proof"]["verificationMethod"],
        vc["proof"]["verificationMethod"]
    );
    app.get("/status/acme/2", None).await.expect(404);
    let openapi = app.get("/api/openapi.json", None).await.expect(200).json();
    for path in [
        "/issuers/{vendor}/did.json",
        "/status/{vendor}/{list}",
        "/api/v1/credentials/{id}",
        "/api/v1/verify",
        "/api/v1/vendors/{vendor}/credentials/{id}/revoke",
    ] {
        assert!(
            openapi["paths"].get(path).is_some(),
            "{path} missing from OpenAPI"
        );
    }
    assert!(openapi["components"]["schemas"]
        .get("Verification")
        .is_some());
    app.get("/status/acme/x", None).await.expect(404);
    app.stop().await;
}

#[actix_web::test]
async fn status_list_ttl_follows_the_setting() {
    let app = TestApp::builder()
        .env("CREDO_STATUS_LIST_TTL_SECONDS", "60")
        .start()
        .await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "git", 12, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    certify(&app, &exam, &holder).await;
    let list = app.get("/status/acme/1", None).await.expect(200);
    assert_eq!(
        list.header("cache-control").as_deref(),
        Some("public, max-age=60")
    );
    assert_eq!(list.json()["credentialSubject"]["ttl"], 60_000);
    app.stop().await;
}

#[actix_web::test]
async fn passing_again_or_the_renewal_exam_supersedes_the_old_credential() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let renewal = cred::exam(&app, &vendor, "admin-renewal", 24, None).await;
    let admin = cred::exam(&app, &vendor, "admin", 24, Some("admin-renewal")).await;
    let other = cred::exam(&app, &vendor, "other", 24, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    let stranger = app.user("stranger@example.org", "Stranger").await;

    let first = certify(&app, &admin, &holder).await;
    let unrelated = certify(&app, &other, &holder).await;
    let strangers = certify(&app, &admin, &stranger).await;
    let second = certify(&app, &admin, &holder).await;
    let first_answer = verify(&app, &credential_json(&app, &first).await).await;
    // Superseded credentials stay valid until they expire, and say what replaced them.
    assert_eq!(first_answer["status"], "valid");
    assert_eq!(first_answer["superseded_by"], second.as_str());
    for id in [&unrelated, &strangers, &second] {
        let answer = verify(&app, &credential_json(&app, id).await).await;
        assert!(answer.get("superseded_by").is_none(), "{id}: {answer}");
    }
    // Passing the exam that renews `admin` supersedes the current `admin` credential.
    let renewed = certify(&app, &renewal, &holder).await;
    let answer = verify(&app, &credential_json(&app, &second).await).await;
    assert_eq!(answer["superseded_by"], renewed.as_str());
    // The first one keeps pointing at its own successor.
    let answer = verify(&app, &credential_json(&app, &first).await).await;
    assert_eq!(answer["superseded_by"], second.as_str());

    // The referral tiers see the exams with current credentials.
    let (user, vendor_id) = (holder.id.clone(), vendor.id.clone());
    let now = app.state.clock.now();
    let slugs = app
        .state
        .db(move |c| {
            credo::credentials::service::current_exam_slugs(c, &user, &vendor_id, now)
                .map_err(credo::db::DbError::from)
        })
        .await
        .unwrap();
    assert_eq!(slugs, vec!["admin", "admin-renewal", "other"]);
    app.stop().await;
}

#[actix_web::test]
async fn key_rotation_keeps_old_credentials_valid_and_signs_new_ones_with_the_new_key() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "git", 12, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    let old = credential_json(&app, &certify(&app, &exam, &holder).await).await;

    // Rotate with the CLI against the same database.
    let out = std::process::Command::new(crate::common::credo_binary())
        .args(["keys", "rotate", "--vendor", "acme"])
        .env("CREDO_DATABASE_URL", &app.database_url)
        .env("CREDO_DATA_DIR", app.dir.path().join("cli"))
        .env("CREDO_BASE_URL", &app.base)
        .env("CREDO_MASTER_KEY", "42".repeat(32))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed = std::process::Command::new(crate::common::credo_binary())
        .args(["keys", "list", "--vendor", "acme"])
        .env("CREDO_DATABASE_URL", &app.database_url)
        .env("CREDO_DATA_DIR", app.dir.path().join("cli"))
        .env("CREDO_BASE_URL", &app.base)
        .env("CREDO_MASTER_KEY", "42".repeat(32))
        .output()
        .unwrap();
    assert!(listed.status.success());
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert_eq!(
        listed.lines().filter(|l| l.contains("#z6Mk")).count(),
        2,
        "{listed}"
    );
    assert!(
        listed.contains("active") && listed.contains("retired"),
        "{listed}"
    );

    let new = credential_json(&app, &certify(&app, &exam, &holder).await).await;
    let old_vm = old["proof"]["verificationMethod"].as_str().unwrap();
    let new_vm = new["proof"]["verificationMethod"].as_str().unwrap();
    assert_ne!(old_vm, new_vm);
    let doc = app
        .get("/issuers/acme/did.json", None)
        .await
        .expect(200)
        .json();
    assert_eq!(doc["assertionMethod"], json!([old_vm, new_vm]));
    for vc in [&old, &new] {
        let answer = verify(&app, vc).await;
        assert_eq!(answer["status"], "valid", "{answer}");
    }
    // The status list, re-signed after a revocation, carries the new key too.
    let new_id = new["id"].as_str().unwrap().trim_start_matches("urn:uuid:");
    app.post(
        &format!("/api/v1/vendors/acme/credentials/{new_id}/revoke"),
        Some(&vendor.owner.token),
        json!({"reason": "issued in error"}),
    )
    .await
    .expect(200);
    let list = app.get("/status/acme/1", None).await.json();
    assert_eq!(list["proof"]["verificationMethod"], new_vm);
    assert_eq!(verify(&app, &old).await["status"], "valid");
    assert_eq!(verify(&app, &new).await["status"], "revoked");
    app.stop().await;
}

/// Grading prepares a pass's credential before its transaction; the transaction records it only
/// while the vendor's key and the pass are what it was built from.
#[actix_web::test]
async fn a_credential_prepared_ahead_is_recorded_as_signed_unless_its_key_or_pass_changed() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "git", 12, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    // The vendor's first credential creates its key and status list, so none can be prepared.
    let now = app.state.clock.now();
    let first = cred::passed_attempt(&app, &exam, &holder.id, now).await;
    assert!(prepare(&app, cred::request(&exam, &first, &holder.id))
        .await
        .is_none());
    let first = cred::issue_attempt(&app, cred::request(&exam, &first, &holder.id)).await;
    let first = credential_json(&app, &first).await;

    // Nothing moved: the prepared credential is the one stored.
    let attempt = cred::passed_attempt(&app, &exam, &holder.id, now).await;
    let request = cred::request(&exam, &attempt, &holder.id);
    let prepared = prepare(&app, request.clone()).await.expect("prepared");
    let prepared_id = prepared.credential_id().to_owned();
    assert_eq!(issue(&app, request, prepared).await, prepared_id);
    let vc = credential_json(&app, &prepared_id).await;
    assert_eq!(verify(&app, &vc).await["status"], "valid");
    // The recorded one went through everything that follows an issuance: it supersedes the first.
    assert_eq!(
        verify(&app, &first).await["superseded_by"],
        prepared_id.as_str()
    );

    // Graded with another score than the one prepared: built again with the recorded score.
    let attempt = cred::passed_attempt(&app, &exam, &holder.id, now).await;
    let request = cred::request(&exam, &attempt, &holder.id);
    let prepared = prepare(&app, request.clone()).await.expect("prepared");
    let prepared_id = prepared.credential_id().to_owned();
    let regraded = IssueRequest {
        score_bp: 9150,
        ..request
    };
    let id = issue(&app, regraded, prepared).await;
    assert_ne!(id, prepared_id);
    let vc = credential_json(&app, &id).await;
    let evidence = vc["evidence"][0]["description"].as_str().unwrap();
    assert!(evidence.contains("a score of 91.5%"), "{evidence}");
    assert_eq!(verify(&app, &vc).await["status"], "valid");

    // The key rotated between preparing and grading: signed again with the new key.
    let attempt = cred::passed_attempt(&app, &exam, &holder.id, now).await;
    let request = cred::request(&exam, &attempt, &holder.id);
    let prepared = prepare(&app, request.clone()).await.expect("prepared");
    let prepared_id = prepared.credential_id().to_owned();
    let ctx = app.state.issue_context();
    app.state
        .tx(move |conn| {
            let vendor = service::find_vendor_by_slug(conn, "acme")?;
            service::rotate_key(conn, &ctx, &vendor, &Actor::system("test"), now)
        })
        .await
        .expect("rotate the key");
    let id = issue(&app, request, prepared).await;
    assert_ne!(id, prepared_id);
    let vc = credential_json(&app, &id).await;
    assert_ne!(
        vc["proof"]["verificationMethod"],
        first["proof"]["verificationMethod"]
    );
    assert_eq!(verify(&app, &vc).await["status"], "valid");
    // Only what was recorded exists: no credential under a prepared id that was not used.
    app.get(&format!("/api/v1/credentials/{prepared_id}"), None)
        .await
        .expect(404);
    app.stop().await;
}

async fn prepare(app: &TestApp, request: IssueRequest) -> Option<PreparedCredential> {
    let (ctx, now) = (app.state.issue_context(), app.state.clock.now());
    app.state
        .db(move |conn| credentials::prepare_issue(conn, &ctx, &request, now))
        .await
        .expect("prepare_issue")
}

async fn issue(app: &TestApp, request: IssueRequest, prepared: PreparedCredential) -> String {
    let (ctx, now) = (app.state.issue_context(), app.state.clock.now());
    app.state
        .tx(move |conn| credentials::issue_for_pass(conn, &ctx, &request, Some(prepared), now))
        .await
        .expect("issue_for_pass")
}

fn reminders_to(app: &TestApp, email: &str) -> Vec<String> {
    app.smtp
        .messages_to(email)
        .into_iter()
        .filter(|m| m.subject.contains("expires"))
        .map(|m| m.subject)
        .collect()
}

#[actix_web::test]
async fn expiry_reminders_are_sent_once_per_threshold_and_skip_revoked_or_superseded() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "git", 12, None).await;
    let other = cred::exam(&app, &vendor, "other", 12, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    let revoked_holder = app.user("revoked@example.org", "Revoked").await;
    let renewed_holder = app.user("renewed@example.org", "Renewed").await;
    let never = cred::exam(&app, &vendor, "forever", 0, None).await;
    certify(&app, &exam, &holder).await;
    certify(&app, &never, &holder).await;
    let revoked = certify(&app, &other, &revoked_holder).await;
    app.post(
        &format!("/api/v1/vendors/acme/credentials/{revoked}/revoke"),
        Some(&vendor.owner.token),
        json!({"reason": "cheating"}),
    )
    .await
    .expect(200);
    certify(&app, &exam, &renewed_holder).await;

    // 300 days in: the 60-day reminder is not due yet (12 months ≈ 365 days).
    app.state.clock.advance(chrono::Duration::days(290));
    // The renewed holder passes again: the first credential is superseded.
    certify(&app, &exam, &renewed_holder).await;
    job_pass(&app).await;
    assert!(reminders_to(&app, &holder.email).is_empty());

    // 310 days: within 60 days of expiry; exactly one reminder, however many passes run.
    app.state.clock.advance(chrono::Duration::days(20));
    let mail = app
        .smtp
        .wait_for(&holder.email, |m| m.subject.contains("expires in"))
        .await;
    assert!(mail.text.contains("/c/"), "{}", mail.text);
    job_pass(&app).await;
    assert_eq!(reminders_to(&app, &holder.email).len(), 1);

    // 355 days: the 14-day reminder, once.
    app.state.clock.advance(chrono::Duration::days(45));
    crate::common::eventually(
        "the 14-day reminder",
        std::time::Duration::from_secs(10),
        || async { (reminders_to(&app, &holder.email).len() == 2).then_some(()) },
    )
    .await;
    job_pass(&app).await;
    let subjects = reminders_to(&app, &holder.email);
    assert_eq!(subjects.len(), 2, "{subjects:?}");
    assert!(
        subjects[1].contains("expires in 10 days") || subjects[1].contains("days"),
        "{subjects:?}"
    );
    // Revoked credentials and superseded ones get none; the renewal's own expiry is a year off.
    assert!(reminders_to(&app, &revoked_holder.email).is_empty());
    assert!(reminders_to(&app, &renewed_holder.email).is_empty());
    app.stop().await;
}

#[actix_web::test]
async fn reminders_are_queued_once_even_when_two_passes_race() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "git", 1, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    certify(&app, &exam, &holder).await;
    app.state.clock.advance(chrono::Duration::days(20));
    let now = app.state.clock.now();
    let run = || {
        let links = app.state.links.clone();
        app.state.tx(move |conn| {
            credo::credentials::service::send_expiry_reminders(conn, &links, &[60, 14], now, 100)
        })
    };
    let (a, b, c, d) = tokio::join!(run(), run(), run(), run());
    let total = a.unwrap() + b.unwrap() + c.unwrap() + d.unwrap();
    // Issued with one month of validity: the 60-day point fell before issuance, so only the
    // 14-day reminder exists, queued by exactly one of the passes (or by the job).
    assert!(total <= 1, "{total}");
    app.smtp
        .wait_for(&holder.email, |m| m.subject.contains("expires in"))
        .await;
    job_pass(&app).await;
    assert_eq!(reminders_to(&app, &holder.email).len(), 1);
    app.stop().await;
}
