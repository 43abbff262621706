//! Verification caches seen from outside: a revocation on this node shows on the very next
//! `POST /api/v1/verify`, another node sees it once the status list's `ttl` has passed on its
//! clock, a key rotated in elsewhere is picked up at once, a remembered valid proof never
//! makes altered bytes valid, and the steady state is answered from memory.

use crate::common::credentials::{self as cred, certify, check, credential_json, verify};
use crate::common::TestApp;
use credo::audit::Actor;
use credo::credentials::resolver::{verify_from_memory, Fetched};
use credo::credentials::service;
use credo::credentials::verify::Status;
use serde_json::{json, Value};

async fn revoke(app: &TestApp, owner_token: &str, id: &str) {
    let answer = app
        .post(
            &format!("/api/v1/vendors/acme/credentials/{id}/revoke"),
            Some(owner_token),
            json!({"reason": "exam content was leaked"}),
        )
        .await
        .expect(200)
        .json();
    assert_eq!(answer["status"], "revoked");
}

fn assert_valid(answer: &Value) {
    assert_eq!(answer["status"], "valid", "{answer}");
    assert_eq!(check(answer, "status")["ok"], true, "{answer}");
}

fn assert_revoked(answer: &Value) {
    assert_eq!(answer["status"], "revoked", "{answer}");
    assert_eq!(check(answer, "status")["ok"], false, "{answer}");
    assert!(
        check(answer, "status")["detail"]
            .as_str()
            .unwrap()
            .starts_with("revoked"),
        "{answer}"
    );
}

#[actix_web::test]
async fn a_revocation_here_shows_on_the_next_verify() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "git", 12, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    let id = certify(&app, &exam, &holder).await;
    let other = certify(
        &app,
        &cred::exam(&app, &vendor, "svn", 12, None).await,
        &holder,
    )
    .await;
    let vc = credential_json(&app, &id).await;
    let kept = credential_json(&app, &other).await;
    // Twice: the second answer comes from the caches (issuer, status bits, proof).
    for _ in 0..2 {
        assert_valid(&verify(&app, &vc).await);
        assert_valid(&verify(&app, &kept).await);
    }
    revoke(&app, &vendor.owner.token, &id).await;
    let answer = verify(&app, &vc).await;
    assert_revoked(&answer);
    assert_eq!(answer["revocation_reason"], "exam content was leaked");
    assert_eq!(check(&answer, "proof")["ok"], true);
    // The other credential on the same list is untouched.
    assert_valid(&verify(&app, &kept).await);
    app.stop().await;
}

#[actix_web::test]
async fn another_node_sees_a_revocation_within_the_lists_ttl() {
    let ttl = 60;
    let a = TestApp::builder()
        .env("CREDO_STATUS_LIST_TTL_SECONDS", &ttl.to_string())
        .start()
        .await;
    // The second node: same database, same public address and keys, its own process state.
    let b = TestApp::builder()
        .env("CREDO_STATUS_LIST_TTL_SECONDS", &ttl.to_string())
        .env("CREDO_DATABASE_URL", &a.database_url)
        .env("CREDO_BASE_URL", &a.base)
        .start()
        .await;
    let vendor = cred::vendor(&a, "acme").await;
    let exam = cred::exam(&a, &vendor, "git", 12, None).await;
    let holder = a.user("holder@example.org", "Holder").await;
    let id = certify(&a, &exam, &holder).await;
    let vc = credential_json(&a, &id).await;
    assert_valid(&verify(&b, &vc).await);
    assert_valid(&verify(&a, &vc).await);

    revoke(&a, &vendor.owner.token, &id).await;
    assert_revoked(&verify(&a, &vc).await);
    // B still holds what it read: the list's bits and the credential's stored facts, from
    // before the revocation (one consistent, older answer).
    let stale = verify(&b, &vc).await;
    assert_valid(&stale);
    assert!(stale.get("revocation_reason").is_none(), "{stale}");
    // Once the ttl has passed on B's clock, B reads the list again.
    b.state.clock.advance(chrono::Duration::seconds(ttl + 1));
    assert_revoked(&verify(&b, &vc).await);

    // A key rotated in elsewhere: B knows the old key set, and still accepts the new key at once.
    let ctx = a.state.issue_context();
    let now = a.state.clock.now();
    a.state
        .tx(move |conn| {
            let vendor = service::find_vendor_by_slug(conn, "acme")?;
            service::rotate_key(conn, &ctx, &vendor, &Actor::system("test"), now)
        })
        .await
        .expect("rotate the key");
    let fresh = certify(&a, &cred::exam(&a, &vendor, "svn", 12, None).await, &holder).await;
    let fresh = credential_json(&a, &fresh).await;
    assert_ne!(
        fresh["proof"]["verificationMethod"],
        vc["proof"]["verificationMethod"]
    );
    assert_valid(&verify(&b, &fresh).await);
    b.stop().await;
    a.stop().await;
}

#[actix_web::test]
async fn a_remembered_proof_never_makes_altered_bytes_valid() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "git", 12, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    for suite in ["eddsa-rdfc-2022", "eddsa-jcs-2022"] {
        app.put(
            "/api/v1/vendors/acme/credential-settings",
            Some(&vendor.owner.token),
            json!({"cryptosuite": suite}),
        )
        .await
        .expect(200);
        let id = certify(
            &app,
            &cred::exam(&app, &vendor, suite, 12, None).await,
            &holder,
        )
        .await;
        let vc = credential_json(&app, &id).await;
        assert_eq!(vc["proof"]["cryptosuite"], suite);
        assert_valid(&verify(&app, &vc).await);
        assert_valid(&verify(&app, &vc).await);
        let mut altered = vc.clone();
        altered["credentialSubject"]["achievement"]["name"] = json!("Grand Master of Everything");
        for _ in 0..2 {
            let answer = verify(&app, &altered).await;
            assert_eq!(answer["status"], "invalid", "{suite}: {answer}");
            assert_eq!(check(&answer, "proof")["ok"], false, "{suite}: {answer}");
        }
        // The original is still valid after the altered copy was refused.
        assert_valid(&verify(&app, &vc).await);
    }
    drop(exam);
    app.stop().await;
}

#[actix_web::test]
async fn a_credential_verified_before_is_verified_again_from_memory_until_it_changes() {
    let app = TestApp::start().await;
    let vendor = cred::vendor(&app, "acme").await;
    let exam = cred::exam(&app, &vendor, "git", 12, None).await;
    let holder = app.user("holder@example.org", "Holder").await;
    let id = certify(&app, &exam, &holder).await;
    let vc = credential_json(&app, &id).await;
    let state = &app.state;
    let from_memory = |credential: &Value| {
        let now = state.clock.now();
        verify_from_memory(
            &state.links,
            &state.verifier,
            &Fetched::default(),
            credential,
            now,
        )
    };
    // Nothing is known yet: the issuer, the status bits, the stored facts and the proof.
    assert!(from_memory(&vc).is_none());
    assert_valid(&verify(&app, &vc).await);
    let report = from_memory(&vc).expect("answered from memory after one verification");
    assert!(report.verification.verified(), "{:?}", report.verification);
    assert_eq!(report.stored.expect("stored facts").id, id);
    // Other bytes are another proof: their cryptography is never skipped.
    let mut altered = vc.clone();
    altered["credentialSubject"]["achievement"]["name"] = json!("Grand Master of Everything");
    assert!(from_memory(&altered).is_none());
    // A revocation here clears what memory holds; the next verification reads it again.
    revoke(&app, &vendor.owner.token, &id).await;
    assert!(from_memory(&vc).is_none());
    assert_revoked(&verify(&app, &vc).await);
    let report = from_memory(&vc).expect("answered from memory again");
    assert_eq!(report.verification.status, Status::Revoked);
    assert_eq!(
        report
            .stored
            .expect("stored facts")
            .revocation_reason
            .as_deref(),
        Some("exam content was leaked")
    );
    app.stop().await;
}
